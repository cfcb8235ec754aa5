"""Where each model's weights are cached, and why. Pure.

- One node (a single-node pool, a kind cluster, or one replica at most): one volume,
  ReadWriteOnce, shared by every replica on that node.
- Several nodes, and a storage class the stack lists as ReadWriteMany
  (`cluster.readWriteManyStorageClasses`): one ReadWriteMany volume for all.
- Several nodes otherwise (local-path and other node-local storage cannot be shared across
  nodes): a volume per pod, filled by the pod's own loader. Cloud pools over zones always
  take this layout (a zonal disk cannot follow a replica to another zone).

Deployments of the same model and revision in one namespace, on the same storage class
with a shared layout, use one volume: one download serves them all (the model loader lets
one loader fill a directory at a time; the others wait and find it complete).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from infra.config import StackConfig
    from infra.planning.plans import ServingPlan

RWO: Literal["ReadWriteOnce"] = "ReadWriteOnce"
RWX: Literal["ReadWriteMany"] = "ReadWriteMany"


@dataclass(frozen=True)
class CacheLayout:
    per_pod: bool
    access_mode: Literal["ReadWriteOnce", "ReadWriteMany"]
    owner: str  # the deployment whose claim holds the weights (itself unless grouped)
    size_gib: int  # the claim's size (the largest any user of it asks for)
    reason: str

    def summary(self, name: str) -> dict[str, str | int | bool]:
        return {
            "layout": "per-pod" if self.per_pod else "shared",
            "accessMode": self.access_mode,
            "claim": "" if self.per_pod else f"{self.owner}-model-cache",
            "sharedWith": "" if self.owner == name else self.owner,
            "sizeGiB": self.size_gib,
            "reason": self.reason,
        }


def _nodes(cfg: StackConfig, plan: ServingPlan) -> int:
    if plan.pool is not None:
        return len(plan.pool.nodes)
    return 1 if cfg.cluster.provider == "kind" else 2  # CPU pods: kind has one node


def _layout(cfg: StackConfig, plan: ServingPlan) -> CacheLayout:
    name, size = plan.model.name, plan.cache_size_gib
    storage = plan.model.cache.storage_class or "the cluster default"
    if plan.pool is not None and plan.pool.cloud:
        why = "the pool spans zones: a disk per pod (a zonal disk cannot follow a replica)"
        return CacheLayout(True, RWO, name, size, why)
    if plan.max_replicas == 1 or _nodes(cfg, plan) == 1:
        where = "one replica" if plan.max_replicas == 1 else "every replica on one node"
        return CacheLayout(False, RWO, name, size, f"{where}: one ReadWriteOnce volume")
    if plan.model.cache.storage_class in cfg.cluster.read_write_many_storage_classes:
        why = f"replicas on several nodes, {storage} gives ReadWriteMany: one volume for all"
        return CacheLayout(False, RWX, name, size, why)
    why = (
        f"replicas on several nodes and {storage} is not listed in "
        "cluster.readWriteManyStorageClasses: a volume per pod, each filled by its own "
        "download (list a ReadWriteMany class to share one)"
    )
    return CacheLayout(True, RWO, name, size, why)


def cache_layouts(cfg: StackConfig, plans: list[ServingPlan]) -> dict[str, CacheLayout]:
    """Per model name, its cache layout, shared volumes grouped by model and revision."""
    layouts = {p.model.name: _layout(cfg, p) for p in plans}
    groups: dict[tuple[str, ...], list[ServingPlan]] = {}
    for p in sorted(plans, key=lambda p: p.model.name):
        layout = layouts[p.model.name]
        if layout.per_pod:
            continue
        key = (
            p.model.namespace,
            p.model.model,
            p.model.revision,
            p.model.cache.storage_class or "",
            layout.access_mode,
        )
        groups.setdefault(key, []).append(p)
    for members in groups.values():
        if len(members) < 2:
            continue
        owner = members[0].model.name
        size = max(m.cache_size_gib for m in members)
        names = ", ".join(m.model.name for m in members)
        for m in members:
            own = layouts[m.model.name]
            why = f"{own.reason}; one download shared by {names} (same model and revision)"
            layouts[m.model.name] = CacheLayout(False, own.access_mode, owner, size, why)
    return layouts
