"""GPU node pools, two backends behind one interface: `GpuNodePool` labels and taints
existing nodes; `GkeGpuNodePool` creates a GKE node pool over several zones with the same
labels and taint. Either way GPU pods select and tolerate exactly their pool."""

from __future__ import annotations

from typing import Any, TypedDict, cast

import pulumi
import pulumi_gcp as gcp

from infra.catalog.gpus import GPUS
from infra.components.cluster import node_config_base
from infra.components.declare import declare
from infra.config import ClusterConfig, NodePoolConfig, pool_zones
from infra.manifests.common import GPU_LABEL, POOL_LABEL
from infra.manifests.node_pools import node_patch, pool_taint
from infra.planning.capacity import PoolPlan


class GpuNodePoolArgs(TypedDict):
    pool: NodePoolConfig
    time_slices: int  # device-plugin time-slicing replicas for this pool (1 = exclusive)


class GpuNodePool(pulumi.ComponentResource):
    """Patches each named node (server-side apply) with the pool's labels and taint, so GPU
    pods select and tolerate exactly this pool. Removing the pool removes only our fields."""

    def __init__(
        self, name: str, args: GpuNodePoolArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("llm-platform:nodes:GpuNodePool", name, None, opts)
        pool = args["pool"]
        child = pulumi.ResourceOptions(parent=self)
        self.nodes = [
            declare(node_patch(node, pool, args["time_slices"]), child, patch=True)
            for node in pool.nodes
        ]
        self.register_outputs({"nodes": pool.nodes})


class GkeGpuNodePoolArgs(TypedDict):
    pool: NodePoolConfig
    time_slices: int
    cluster: pulumi.Input[str]  # the GKE cluster's name
    project: str
    region: str
    zones: list[str]


class GkeGpuNodePool(pulumi.ComponentResource):
    """A GKE node pool: autoscaled per zone, GKE-installed drivers and device plugin."""

    def __init__(
        self, name: str, args: GkeGpuNodePoolArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("llm-platform:nodes:GkeGpuNodePool", name, None, opts)
        pool = args["pool"]
        accelerator: dict[str, object] = {
            "type": GPUS[pool.gpu].gke_accelerator,
            "count": pool.gpus_per_node,
            "gpu_driver_installation_config": {"gpu_driver_version": "LATEST"},
        }
        if args["time_slices"] > 1:
            accelerator["gpu_sharing_config"] = {
                "gpu_sharing_strategy": "TIME_SHARING",
                "max_shared_clients_per_gpu": args["time_slices"],
            }
        taint = pool_taint(pool)
        node_config = {
            **node_config_base(pool.machine_type or ""),
            "spot": pool.spot,
            "guest_accelerators": [accelerator],
            "labels": {POOL_LABEL: pool.name, GPU_LABEL: pool.gpu},
            "taints": [{"key": taint["key"], "value": taint["value"], "effect": "NO_SCHEDULE"}],
        }
        self.node_pool = gcp.container.NodePool(
            pool.name,
            cluster=args["cluster"],
            project=args["project"],
            location=args["region"],
            node_locations=args["zones"],
            initial_node_count=pool.min_nodes,
            # Per zone; BALANCED keeps the zones even, which the zone-loss check assumes.
            autoscaling={
                "min_node_count": pool.min_nodes,
                "max_node_count": pool.max_nodes,
                "location_policy": "BALANCED",
            },
            node_config=cast(Any, node_config),
            management={"auto_repair": True, "auto_upgrade": True},
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"zones": args["zones"]})


def gpu_node_pool(
    plan: PoolPlan,
    cluster: ClusterConfig,
    cluster_name: pulumi.Input[str] | None,
    opts: pulumi.ResourceOptions,
) -> pulumi.ComponentResource:
    """The pool's backend for the stack's cluster. Callers see only the pool's labels and
    taint (planning), never the backend: a new cloud adds a branch here."""
    if cluster.provider == "gke":
        assert cluster.project and cluster.region and cluster_name is not None
        return GkeGpuNodePool(
            plan.pool.name,
            {
                "pool": plan.pool,
                "time_slices": plan.time_slices,
                "cluster": cluster_name,
                "project": cluster.project,
                "region": cluster.region,
                "zones": pool_zones(cluster, plan.pool),
            },
            opts,
        )
    return GpuNodePool(plan.pool.name, {"pool": plan.pool, "time_slices": plan.time_slices}, opts)
