"""The `cluster` and `nodePools` sections: where the platform runs and its GPU pools."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field, StringConstraints

from infra.catalog.gpus import GPUS
from infra.catalog.versions import SUPPORTED_KUBERNETES
from infra.config.base import (
    GCP_PROJECT_PATTERN,
    GCP_REGION_PATTERN,
    DnsLabel,
    DnsSubdomain,
    Problem,
    Section,
    Zone,
    problems_if,
)

if TYPE_CHECKING:
    from infra.config.stack import StackConfig


class SystemPoolConfig(Section):
    """gke: the node pool for the platform's own pods (gateway, monitoring, operators)."""

    machine_type: str = Field(default="e2-standard-4", description="GKE system node machine")
    nodes_per_zone: int = Field(
        default=1, ge=1, le=10, description="system nodes in each cluster zone"
    )


class ClusterConfig(Section):
    """The Kubernetes cluster the stack deploys to, or (gke) the one it creates."""

    provider: Literal["existing", "kind", "gke"] = Field(
        default="existing",
        description="existing: a cluster you run (k3s, kubeadm); kind: a local kind cluster; "
        "gke: a regional GKE cluster this stack creates",
    )
    context: str | None = Field(default=None, description="kubeconfig context; None = current")
    kubeconfig: str | None = Field(
        default=None, description="kubeconfig path; None = $KUBECONFIG or ~/.kube/config"
    )
    kubernetes_version: Literal[SUPPORTED_KUBERNETES] = Field(  # type: ignore[valid-type]
        default="1.31", description="the cluster's minor version; manifests are checked for it"
    )
    read_write_many_storage_classes: list[DnsSubdomain] = Field(
        default_factory=list,
        description="storage classes that give ReadWriteMany (e.g. NFS, CephFS): a model "
        "cache on one of them is one volume for replicas on several nodes",
    )
    kind_cluster_name: DnsLabel = Field(
        default="llm-platform", description="kind only: the cluster name (context kind-<name>)"
    )
    load_balancers: bool | None = Field(
        default=None,
        description="something in this cluster assigns LoadBalancer Services an address "
        "(k3s ServiceLB, MetalLB, kube-vip, a cloud); None = yes on gke, no elsewhere: an "
        "existing or kind cluster must say so before the gateway's Service may be a "
        "LoadBalancer",
    )
    runtime_class_name: DnsSubdomain | None = Field(
        default=None,
        description="RuntimeClass for GPU pods where the NVIDIA runtime is not the default "
        "(k3s: nvidia)",
    )
    project: Annotated[str, StringConstraints(pattern=GCP_PROJECT_PATTERN)] | None = Field(
        default=None, description="gke: the Google Cloud project"
    )
    region: Annotated[str, StringConstraints(pattern=GCP_REGION_PATTERN)] | None = Field(
        default=None, description="gke: the cluster's region (a regional control plane)"
    )
    zones: list[Zone] = Field(
        default_factory=list, description="gke: zones of the region the nodes spread over"
    )
    release_channel: Literal["RAPID", "REGULAR", "STABLE"] = Field(
        default="REGULAR", description="gke: the release channel the control plane and nodes follow"
    )
    system_pool: SystemPoolConfig = Field(default_factory=SystemPoolConfig)
    deletion_protection: bool = Field(
        default=True, description="gke: refuse to delete the cluster (turn off to tear down)"
    )

    @property
    def assigns_addresses(self) -> bool:
        """LoadBalancer Services get an address here (cluster.loadBalancers, or gke)."""
        return self.load_balancers if self.load_balancers is not None else self.provider == "gke"

    @property
    def effective_context(self) -> str | None:
        if self.context is None and self.provider == "kind":
            return f"kind-{self.kind_cluster_name}"
        return self.context


class NodePoolConfig(Section):
    """A GPU pool: existing nodes the program labels and taints (existing, kind), or a GKE
    node pool it creates over several zones (gke)."""

    name: DnsLabel = Field(description="pool name; part of node labels and GKE pool names")
    gpu: str = Field(description="GPU type, a key of the GPU catalog (e.g. rtx-4090d)")
    gpus_per_node: int = Field(ge=1, le=16, description="GPUs each node of the pool has")
    nodes: list[DnsSubdomain] = Field(
        default_factory=list, description="existing/kind: the Kubernetes nodes in this pool"
    )
    zones: list[Zone] = Field(
        default_factory=list, description="gke: zones of this pool; empty = all cluster zones"
    )
    node_zones: dict[DnsSubdomain, DnsLabel] = Field(
        default_factory=dict,
        description="existing: each node's failure domain (rack, room, power feed), set as "
        "topology.kubernetes.io/zone; nodes in several zones get the zone spread and "
        "zone-loss check GKE pools get",
    )
    machine_type: str | None = Field(default=None, description="gke: e.g. g2-standard-8")
    min_nodes: int = Field(default=0, ge=0, le=100, description="gke: per zone")
    max_nodes: int | None = Field(default=None, ge=1, le=100, description="gke: per zone")
    spot: bool = Field(default=False, description="gke: Spot VMs (cheaper, can be reclaimed)")
    node_cpu: float | None = Field(
        default=None,
        gt=0,
        le=4096,
        description="existing/kind: CPU cores each node offers pods (its allocatable); "
        "None = not checked. gke: derived from machineType",
    )
    node_memory_gib: float | None = Field(
        default=None,
        gt=0,
        le=65536,
        description="existing/kind: memory (GiB) each node offers pods (its allocatable); "
        "None = not checked. gke: derived from machineType",
    )

    @property
    def cloud(self) -> bool:
        return self.machine_type is not None or self.max_nodes is not None or bool(self.zones)


def pool_zones(cluster: ClusterConfig, pool: NodePoolConfig) -> list[str]:
    """A cloud pool's zones: its own, or the cluster's."""
    return pool.zones or cluster.zones


def failure_domains(cluster: ClusterConfig, pool: NodePoolConfig) -> list[str]:
    """The zones a pool's replicas spread over: a cloud pool's, or the distinct zones of an
    on-prem pool's nodes (empty when they are all in one, or none is given)."""
    if pool.cloud:
        return pool_zones(cluster, pool)
    zones = sorted(set(pool.node_zones.values()))
    return zones if len(zones) > 1 else []


# --------------------------------------------------------------------------- checks


def _check_gke_cluster(c: ClusterConfig) -> list[Problem]:
    problems: list[Problem] = []
    for key, value in (("project", c.project), ("region", c.region)):
        problems += problems_if(value is None, f"cluster.{key}", "required for provider gke")
    problems += problems_if(
        not c.zones,
        "cluster.zones",
        "required for provider gke: the zones the nodes spread over, "
        "e.g. [us-central1-a, us-central1-b]",
    )
    for i, zone in enumerate(c.zones):
        problems += problems_if(
            bool(c.region) and not zone.startswith(f"{c.region}-"),
            f"cluster.zones[{i}]",
            f"{zone!r} is not in region {c.region!r}",
        )
    return problems


def _check_gke_pool(c: ClusterConfig, pool: NodePoolConfig, at: str) -> list[Problem]:
    problems = problems_if(
        bool(pool.nodes),
        f"{at}.nodes",
        "a GKE pool's nodes are created by the node pool; "
        "use zones, machineType, minNodes, maxNodes",
    )
    for key, setting in (("machineType", pool.machine_type), ("maxNodes", pool.max_nodes)):
        problems += problems_if(setting is None, f"{at}.{key}", "required for a GKE node pool")
    for key, size in (("nodeCpu", pool.node_cpu), ("nodeMemoryGib", pool.node_memory_gib)):
        problems += problems_if(
            size is not None, f"{at}.{key}", "a GKE pool's node size comes from machineType"
        )
    for j, zone in enumerate(pool.zones):
        problems += problems_if(
            zone not in c.zones,
            f"{at}.zones[{j}]",
            f"{zone!r} is not one of the cluster's zones: {', '.join(c.zones)}",
        )
    problems += problems_if(
        pool.max_nodes is not None and pool.min_nodes > pool.max_nodes,
        f"{at}.minNodes",
        f"{pool.min_nodes} is above maxNodes {pool.max_nodes}",
    )
    gpu = GPUS.get(pool.gpu)
    if gpu is not None and gpu.gke_accelerator is None:
        offered = sorted(k for k, g in GPUS.items() if g.gke_accelerator)
        problems.append(
            Problem(f"{at}.gpu", f"GKE does not offer {pool.gpu!r}; GKE GPUs: {', '.join(offered)}")
        )
    return problems


def _check_node_zones(pool: NodePoolConfig, at: str) -> list[Problem]:
    """Every node or none: the zone spread ignores nodes without the label."""
    if not pool.node_zones:
        return []
    unknown = sorted(set(pool.node_zones) - set(pool.nodes))
    missing = [n for n in pool.nodes if n not in pool.node_zones]
    return problems_if(
        bool(unknown),
        f"{at}.nodeZones",
        f"{', '.join(unknown)} not in this pool's nodes ({', '.join(pool.nodes)})",
    ) + problems_if(
        bool(missing),
        f"{at}.nodeZones",
        f"give every node of the pool a zone (missing: {', '.join(missing)}): a spread over "
        "zones cannot place replicas on nodes without one",
    )


def _check_existing_pool(pool: NodePoolConfig, at: str) -> list[Problem]:
    return (
        problems_if(not pool.nodes, f"{at}.nodes", "name the existing nodes of this pool")
        + problems_if(
            pool.cloud,
            at,
            "zones, machineType, minNodes and maxNodes are for GKE pools (cluster.provider: gke)",
        )
        + _check_node_zones(pool, at)
    )


def check_cluster(cfg: StackConfig) -> list[Problem]:
    """Provider-specific keys: GKE needs its project/region/zones, others must not set them."""
    c = cfg.cluster
    gke = c.provider == "gke"
    problems: list[Problem] = []
    if gke:
        problems += _check_gke_cluster(c)
    else:
        for key, setting in (("project", c.project), ("region", c.region), ("zones", c.zones)):
            problems += problems_if(
                bool(setting),
                f"cluster.{key}",
                f"only for provider gke (this cluster is {c.provider!r})",
            )
    for i, pool in enumerate(cfg.node_pools):
        at = f"nodePools[{i}]"
        problems += _check_gke_pool(c, pool, at) if gke else _check_existing_pool(pool, at)
    gateway = cfg.gateway
    problems += problems_if(
        gateway.enabled and gateway.service_type == "LoadBalancer" and not c.assigns_addresses,
        "gateway.serviceType",
        f"LoadBalancer, but nothing is said to assign addresses on this {c.provider} cluster: "
        "set cluster.loadBalancers: true where k3s ServiceLB, MetalLB or kube-vip runs, or use "
        "serviceType NodePort or ClusterIP (the Service would stay pending, without an address)",
    )
    return problems


def check_node_pools(cfg: StackConfig) -> list[Problem]:
    """Unique pool names, known GPUs, and every node in one pool only."""
    problems: list[Problem] = []
    seen_pools: set[str] = set()
    seen_nodes: dict[str, str] = {}
    for i, pool in enumerate(cfg.node_pools):
        problems += problems_if(
            pool.name in seen_pools, f"nodePools[{i}].name", f"duplicate pool name {pool.name!r}"
        )
        seen_pools.add(pool.name)
        problems += problems_if(
            pool.gpu not in GPUS,
            f"nodePools[{i}].gpu",
            f"unknown GPU {pool.gpu!r}; known GPUs: {', '.join(sorted(GPUS))}",
        )
        for j, node in enumerate(pool.nodes):
            if node in seen_nodes:
                problems.append(
                    Problem(
                        f"nodePools[{i}].nodes[{j}]",
                        f"node {node!r} is already in pool {seen_nodes[node]!r}",
                    )
                )
            seen_nodes[node] = pool.name
    return problems
