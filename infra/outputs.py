"""What a stack reports about its plan: stack outputs and the `plan` capacity table."""

from __future__ import annotations

from typing import Any

from infra.catalog.vllm import SERVER_PORT
from infra.planning.budgets import budgets
from infra.planning.capacity import PlatformPlan, ServingPlan


def _replicas(plan: ServingPlan) -> str | int:
    active: str | int = (
        f"{plan.scaling.min_replicas}–{plan.scaling.max_replicas}"
        if plan.scaling
        else plan.model.replicas
    )
    if plan.standby_replicas is not None:
        return f"{plan.standby_replicas} standby (active: {active})"
    return active


def capacity_summary(plan: ServingPlan) -> dict[str, Any]:
    mem = plan.memory
    return {
        "servedModelName": plan.model.served_name,
        "service": f"{plan.model.name}.{plan.model.namespace}.svc:{SERVER_PORT}",
        "device": plan.pool.gpu if plan.pool else "cpu",
        "replicas": _replicas(plan),
        "tensorParallel": plan.model.tensor_parallel,
        "maxModelLen": plan.max_model_len,
        "gpuMemoryUtilization": round(mem.utilization, 2) if plan.gpu else None,
        "weightsGiBPerGpu": round(mem.weights_gib, 2),
        "kvCacheGiBPerGpu": round(mem.kv_budget_gib, 2),
        "kvTokensPerReplica": mem.kv_tokens,
        "maxConcurrencyAtMaxLen": round(mem.max_concurrency, 2),
        "startupBudgetSeconds": budgets(plan).startup.budget_seconds,
    }


# (table header, key in capacity_summary)
TABLE_COLUMNS = [
    ("model", "name"),
    ("device", "device"),
    ("replicas", "replicas"),
    ("TP", "tensorParallel"),
    ("util", "gpuMemoryUtilization"),
    ("weights GiB/GPU", "weightsGiBPerGpu"),
    ("KV budget GiB/GPU", "kvCacheGiBPerGpu"),
    ("KV tokens", "kvTokensPerReplica"),
    ("max len", "maxModelLen"),
    ("max concurrency @max len", "maxConcurrencyAtMaxLen"),
    ("startup budget s", "startupBudgetSeconds"),
]
POOL_COLUMNS = [
    ("pool", "name"),
    ("gpu", "gpu"),
    ("nodes×GPUs", "shape"),
    ("slices/GPU", "timeSlices"),
    ("used", "used"),
    ("placement", "placement"),
]


def pool_summary(plan: PlatformPlan) -> dict[str, dict[str, Any]]:
    return {
        name: {
            "gpu": p.pool.gpu,
            "shape": f"{len(p.nodes)}×{p.pool.gpus_per_node}"
            + (" (at maxNodes)" if p.pool.cloud else ""),
            "timeSlices": p.time_slices,
            "used": f"{p.used_slots}/{p.slots}",
            "placement": "; ".join(f"{n}: {', '.join(r) or '-'}" for n, r in p.placement.items()),
        }
        for name, p in plan.pools.items()
    }
