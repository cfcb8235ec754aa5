"""What `make doctor` checks before a first `pulumi up`: the cluster a stack names, read
with kubectl, against what the stack needs of it. Each check returns findings; a check that
cannot be made says so instead of guessing."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

from infra.config import StackConfig
from infra.doctor.kubectl import Kubectl, Obj, labels_of, name_of, namespace_of
from infra.engine import Recorded
from infra.manifests.common import POOL_TAINT
from infra.manifests.peers import DNS_PODS
from infra.manifests.topology import EG_NAMESPACE, GPU_NAMESPACE, HTTP_PORT, HTTPS_PORT

Level = Literal["ok", "warn", "fail", "skip"]

# pulumi-kubernetes creates objects with this field manager (provider/pkg/await/await.go,
# `Creation`), and server-side apply updates them as `pulumi-kubernetes-<suffix>`: an object
# that no such manager ever wrote was not created by Pulumi, and creating it again fails
# with "already exists".
PULUMI_FIELD_MANAGER = "pulumi-kubernetes"
DEFAULT_CLASS_ANNOTATIONS = (
    "storageclass.kubernetes.io/is-default-class",
    "storageclass.beta.kubernetes.io/is-default-class",
)
K3S_INSTANCE_TYPE = "k3s"  # the node.kubernetes.io/instance-type label k3s nodes carry
# What can give a LoadBalancer Service its address on a cluster without a cloud: the CRDs
# and workloads each installs.
LOAD_BALANCER_CRDS = {
    "ipaddresspools.metallb.io": "MetalLB",
    "ciliumloadbalancerippools.cilium.io": "Cilium LB IPAM",
}
LOAD_BALANCER_WORKLOADS = ("kube-vip", "metallb", "cloud-provider-kind")
DEVICE_PLUGIN_NAMES = ("nvidia-device-plugin",)
_QUANTITY = re.compile(r"^([0-9.]+)([a-zA-Z]*)$")
_UNITS = {
    "": 1.0,
    "m": 1e-3,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
    "Ki": 2.0**10,
    "Mi": 2.0**20,
    "Gi": 2.0**30,
    "Ti": 2.0**40,
}


@dataclass(frozen=True)
class Finding:
    level: Level
    subject: str
    text: str


Check = Callable[[StackConfig, list[Recorded], Kubectl], list[Finding]]


def quantity(text: str) -> float:
    """A Kubernetes resource quantity ("31500m", "131072Ki") as a number."""
    match = _QUANTITY.match(str(text).strip())
    if not match or match.group(2) not in _UNITS:
        raise ValueError(f"not a quantity: {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def created_by_pulumi(obj: Obj) -> bool:
    managers = obj.get("metadata", {}).get("managedFields") or []
    return any(str(m.get("manager", "")).startswith(PULUMI_FIELD_MANAGER) for m in managers)


def _gpu_models(cfg: StackConfig) -> bool:
    return any(m.device == "gpu" for m in cfg.models)


# --------------------------------------------------------------------------- nodes


def _ready(node: Obj) -> bool:
    conditions = node.get("status", {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def _node_size(at: str, node: Obj, cpu: float | None, memory_gib: float | None) -> list[Finding]:
    allocatable = node.get("status", {}).get("allocatable") or {}
    found: list[Finding] = []
    if cpu is not None and "cpu" in allocatable and quantity(allocatable["cpu"]) < cpu:
        found.append(
            Finding(
                "fail",
                f"{at}.nodeCpu",
                f"{cpu:g} cores, but node {name_of(node)!r} offers pods "
                f"{quantity(allocatable['cpu']):g} (its allocatable)",
            )
        )
    memory = allocatable.get("memory")
    if memory_gib is not None and memory and quantity(memory) / 2**30 < memory_gib:
        found.append(
            Finding(
                "fail",
                f"{at}.nodeMemoryGib",
                f"{memory_gib:g} GiB, but node {name_of(node)!r} offers pods "
                f"{quantity(memory) / 2**30:.1f} GiB (its allocatable)",
            )
        )
    return found


def _node_gpus(at: str, node: Obj, gpus: int) -> Finding:
    advertised = (node.get("status", {}).get("capacity") or {}).get("nvidia.com/gpu")
    name = name_of(node)
    if advertised is None:
        return Finding(
            "skip",
            f"{at}.gpusPerNode",
            f"node {name!r} advertises no nvidia.com/gpu yet: the device plugin this stack "
            "installs will (after pulumi up, check `kubectl describe node " + name + "`)",
        )
    count = int(quantity(advertised))
    if count != gpus:
        return Finding(
            "fail", f"{at}.gpusPerNode", f"{gpus}, but node {name!r} advertises {count} GPUs"
        )
    return Finding("ok", f"{at}.gpusPerNode", f"node {name!r} advertises {count} GPUs")


def _foreign_taints(at: str, node: Obj) -> list[Finding]:
    taints = node.get("spec", {}).get("taints") or []
    other = [t for t in taints if t.get("key") != POOL_TAINT]
    if not other:
        return []
    listed = ", ".join(f"{t.get('key')}:{t.get('effect')}" for t in other)
    return [
        Finding(
            "warn",
            f"{at}.nodes",
            f"node {name_of(node)!r} has taints the program will replace ({listed}): it owns "
            "the taint list of pool nodes",
        )
    ]


def check_nodes(cfg: StackConfig, _: list[Recorded], kube: Kubectl) -> list[Finding]:
    """Every pool node exists, is Ready, has the CPU, memory and GPUs the stack says."""
    nodes = {name_of(n): n for n in kube.all("nodes")}
    found: list[Finding] = []
    for i, pool in enumerate(cfg.node_pools):
        at = f"nodePools[{i}]"
        for name in pool.nodes:
            node = nodes.get(name)
            if node is None:
                known = ", ".join(sorted(nodes)) or "none"
                found.append(
                    Finding(
                        "fail", f"{at}.nodes", f"no node {name!r} in the cluster (it has: {known})"
                    )
                )
                continue
            if not _ready(node):
                found.append(Finding("fail", f"{at}.nodes", f"node {name!r} is not Ready"))
            found += _node_size(at, node, pool.node_cpu, pool.node_memory_gib)
            found.append(_node_gpus(at, node, pool.gpus_per_node))
            found += _foreign_taints(at, node)
    return found or [Finding("ok", "nodePools", "no pool nodes to check")]


# --------------------------------------------------------------------------- GPU runtime


def _pool_nodes(cfg: StackConfig, kube: Kubectl) -> list[Obj]:
    wanted = {n for pool in cfg.node_pools for n in pool.nodes}
    return [n for n in kube.all("nodes") if name_of(n) in wanted]


def check_runtime(cfg: StackConfig, _: list[Recorded], kube: Kubectl) -> list[Finding]:
    """The RuntimeClass GPU pods name exists; k3s without one is pointed at it; no other
    NVIDIA device plugin competes with the stack's."""
    if not _gpu_models(cfg):
        return []
    found: list[Finding] = []
    name = cfg.cluster.runtime_class_name
    classes = {name_of(c): c for c in kube.all("runtimeclasses")}
    if name and name in classes:
        handler = classes[name].get("handler", "?")
        found.append(Finding("ok", "cluster.runtimeClassName", f"{name!r} (handler {handler})"))
    elif name:
        found.append(
            Finding(
                "fail",
                "cluster.runtimeClassName",
                f"no RuntimeClass {name!r} in the cluster: k3s creates `nvidia` when it finds "
                "the NVIDIA Container Toolkit at start (install it on the GPU nodes, restart "
                "k3s); elsewhere create it for your runtime's NVIDIA handler",
            )
        )
    elif any(K3S_INSTANCE_TYPE in labels_of(n).values() for n in _pool_nodes(cfg, kube)):
        found.append(
            Finding(
                "warn",
                "cluster.runtimeClassName",
                "unset on k3s: k3s registers the NVIDIA runtime as RuntimeClass `nvidia` but "
                "does not make it the default; set cluster.runtimeClassName: nvidia",
            )
        )
    found += _other_device_plugins(kube)
    return found


def _other_device_plugins(kube: Kubectl) -> list[Finding]:
    others = [
        f"{namespace_of(d)}/{name_of(d)}"
        for d in kube.all("daemonsets")
        if any(p in name_of(d) for p in DEVICE_PLUGIN_NAMES) and namespace_of(d) != GPU_NAMESPACE
    ]
    if not others:
        return []
    return [
        Finding(
            "warn",
            "gpu",
            f"another NVIDIA device plugin runs ({', '.join(others)}): with the stack's in "
            f"{GPU_NAMESPACE}, two plugins advertise the same GPUs; remove one (or the GPU "
            "Operator's plugin)",
        )
    ]


# --------------------------------------------------------------------------- storage


def storage_needs(cfg: StackConfig) -> Iterator[tuple[str, str | None]]:
    """(key path, StorageClass or None for the cluster default) of every volume."""
    for i, m in enumerate(cfg.models):
        yield f"models[{i}].cache.storageClass", m.cache.storage_class
    o = cfg.observability
    if o.enabled and o.persistence.enabled:
        yield "observability.persistence.storageClass", o.persistence.storage_class
    if o.enabled and o.log_persistence.enabled:
        yield "observability.logPersistence.storageClass", o.log_persistence.storage_class
    if cfg.chat_ui.enabled:
        yield "chatUi.storageClass", cfg.chat_ui.storage_class
    g = cfg.gateway
    own_redis = g.enabled and g.limits == "global" and g.redis.url is None
    if own_redis and cfg.environment == "production":
        yield "gateway.redis.storageClass", g.redis.storage_class
    for j, name in enumerate(cfg.cluster.read_write_many_storage_classes):
        yield f"cluster.readWriteManyStorageClasses[{j}]", name


def _default_class(classes: list[Obj]) -> str | None:
    for c in classes:
        annotations = c.get("metadata", {}).get("annotations") or {}
        if any(annotations.get(a) == "true" for a in DEFAULT_CLASS_ANNOTATIONS):
            return name_of(c)
    return None


def check_storage(cfg: StackConfig, _: list[Recorded], kube: Kubectl) -> list[Finding]:
    """Every StorageClass a volume names exists, and a default one where a volume names none."""
    classes = kube.all("storageclasses")
    names = {name_of(c) for c in classes}
    known = ", ".join(sorted(names)) or "none"
    found: list[Finding] = []
    unnamed: list[str] = []
    for at, name in storage_needs(cfg):
        if name is None:
            unnamed.append(at)
        elif name in names:
            found.append(Finding("ok", at, f"StorageClass {name!r}"))
        else:
            found.append(
                Finding("fail", at, f"no StorageClass {name!r} (the cluster has: {known})")
            )
    if unnamed:
        default = _default_class(classes)
        if default:
            found.append(Finding("ok", "storage", f"default StorageClass {default!r}"))
        else:
            found.append(
                Finding(
                    "fail",
                    unnamed[0],
                    f"unset (the cluster default), but no StorageClass is the default (it has: "
                    f"{known}); mark one default or name one here"
                    + (f" and in {len(unnamed) - 1} other keys" if len(unnamed) > 1 else ""),
                )
            )
    return found


# --------------------------------------------------------------------------- network


def _load_balancer_sources(cfg: StackConfig, kube: Kubectl) -> list[str]:
    sources = [
        f"Service {namespace_of(s)}/{name_of(s)} has an address"
        for s in kube.all("services")
        if s.get("spec", {}).get("type") == "LoadBalancer"
        and (s.get("status", {}).get("loadBalancer") or {}).get("ingress")
    ]
    crds = {name_of(c) for c in kube.all("customresourcedefinitions")}
    sources += [what for crd, what in LOAD_BALANCER_CRDS.items() if crd in crds]
    for kind in ("daemonsets", "deployments"):
        sources += [
            f"{namespace_of(w)}/{name_of(w)}"
            for w in kube.all(kind)
            if any(p in name_of(w) for p in LOAD_BALANCER_WORKLOADS)
        ]
    if any(K3S_INSTANCE_TYPE in labels_of(n).values() for n in kube.all("nodes")):
        sources.append("k3s ServiceLB (unless k3s runs with --disable servicelb)")
    return sources


def _port_holders(kube: Kubectl) -> list[str]:
    """LoadBalancer Services outside the gateway's namespace on the gateway's ports."""
    return [
        f"{namespace_of(s)}/{name_of(s)}"
        for s in kube.all("services")
        if s.get("spec", {}).get("type") == "LoadBalancer"
        and namespace_of(s) != EG_NAMESPACE
        and {p.get("port") for p in s.get("spec", {}).get("ports") or []} & {HTTP_PORT, HTTPS_PORT}
    ]


def check_load_balancer(cfg: StackConfig, _: list[Recorded], kube: Kubectl) -> list[Finding]:
    """Something gives the gateway's LoadBalancer Service an address, and on k3s no other
    LoadBalancer holds its ports (ServiceLB gives each node port to one Service)."""
    g = cfg.gateway
    if not g.enabled or g.service_type != "LoadBalancer" or cfg.cluster.provider == "gke":
        return []
    sources = _load_balancer_sources(cfg, kube)
    k3s = any(K3S_INSTANCE_TYPE in labels_of(n).values() for n in kube.all("nodes"))
    holders = _port_holders(kube) if k3s else []
    if holders:
        return [
            Finding(
                "fail",
                "gateway.serviceType",
                f"k3s ServiceLB gives ports {HTTP_PORT}/{HTTPS_PORT} to one LoadBalancer and "
                f"{', '.join(holders)} holds them: the gateway's would stay <pending>; install "
                "k3s with --disable traefik (or remove that Service), or use NodePort",
            )
        ]
    if sources:
        return [Finding("ok", "cluster.loadBalancers", "; ".join(sources))]
    hint = "cloud-provider-kind on the host, " if cfg.cluster.provider == "kind" else ""
    return [
        Finding(
            "warn",
            "cluster.loadBalancers",
            "nothing known here assigns LoadBalancer addresses (MetalLB, kube-vip, Cilium LB "
            f"IPAM, k3s ServiceLB, {hint}or a LoadBalancer Service that has one): the "
            "gateway's Service would stay <pending>; install one, or set "
            "gateway.serviceType: NodePort",
        )
    ]


def check_dns(cfg: StackConfig, _: list[Recorded], kube: Kubectl) -> list[Finding]:
    """The cluster DNS pods carry the labels the NetworkPolicies allow DNS to."""
    selector = ",".join(f"{k}={v}" for k, v in DNS_PODS.items())
    dns = kube.all("pods", "kube-system", selector)
    running = [p for p in dns if p.get("status", {}).get("phase") == "Running"]
    if running:
        return [Finding("ok", "dns", f"{len(running)} cluster DNS pods ({selector}) running")]
    level: Level = "fail" if cfg.security.network_policies else "warn"
    why = (
        "; the NetworkPolicies allow DNS only to those pods, so every lookup would fail"
        if cfg.security.network_policies
        else ""
    )
    return [Finding(level, "dns", f"no running pod labelled {selector} in kube-system{why}")]


# --------------------------------------------------------------------------- what exists


def _declared(resources: list[Recorded], kind: str) -> list[str]:
    return sorted(
        {
            str(r.inputs.get("metadata", {}).get("name"))
            for r in resources
            if r.type.endswith(f":{kind}") and r.inputs.get("metadata", {}).get("name")
        }
    )


def check_existing(cfg: StackConfig, resources: list[Recorded], kube: Kubectl) -> list[Finding]:
    """What the first pulumi up creates must not exist already (unless Pulumi made it)."""
    existing = {name_of(n): n for n in kube.all("namespaces")}
    found: list[Finding] = []
    for name in _declared(resources, "Namespace"):
        ns = existing.get(name)
        if ns is not None and not created_by_pulumi(ns):
            found.append(
                Finding(
                    "fail",
                    "namespaces",
                    f"namespace {name!r} exists and Pulumi did not create it: creating it "
                    "fails with 'already exists'; delete it, or adopt it with `pulumi import`",
                )
            )
    ours = {n for n, ns in existing.items() if created_by_pulumi(ns)}
    releases = {(namespace_of(s), labels_of(s).get("name")) for s in _helm_release_secrets(kube)}
    for r in resources:
        if not r.type.endswith(":Release"):
            continue
        where, release = str(r.inputs.get("namespace", "")), str(r.inputs.get("name", ""))
        if (where, release) in releases and where not in ours:
            found.append(
                Finding(
                    "warn",
                    "helm",
                    f"a Helm release {where}/{release} is installed already: fine if this stack "
                    "installed it, else pulumi up fails to install it ('cannot re-use a name')",
                )
            )
    return found or [Finding("ok", "existing", "nothing the stack creates exists yet")]


def _helm_release_secrets(kube: Kubectl) -> list[Obj]:
    return kube.all("secrets", selector="owner=helm")


CLUSTER_CHECKS: tuple[Check, ...] = (
    check_nodes,
    check_runtime,
    check_storage,
    check_load_balancer,
    check_dns,
    check_existing,
)
