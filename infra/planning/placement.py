"""Where replicas go: node slots per pool, time-slicing, first-fit placement, rollout
room, and what losing a zone leaves. Pure."""

from __future__ import annotations

import math

from infra.catalog.gpus import GPUS
from infra.catalog.machines import MACHINE_TYPES, NODE_AGENTS, NodeSize, gke_allocatable
from infra.catalog.vllm import LOADER_CPU, LOADER_MEMORY_GIB
from infra.config import (
    NodePoolConfig,
    Problem,
    StackConfig,
    pool_zones,
)
from infra.planning.plans import PoolPlan, Problems, Rollout, ServingPlan


def place(
    pools: dict[str, NodePoolConfig],
    node_names: dict[str, list[str]],
    plans: list[ServingPlan],
    slices: dict[str, int],
    out: Problems,
    index: dict[str, int],
) -> dict[str, PoolPlan]:
    """First-fit decreasing placement of every replica on a node of its pool."""
    result: dict[str, PoolPlan] = {}
    for name, pool in pools.items():
        gpu = GPUS[pool.gpu]
        nodes = node_names[name]
        free = {node: pool.gpus_per_node * slices[name] for node in nodes}
        placement: dict[str, list[str]] = {node: [] for node in nodes}
        on_pool = [p for p in plans if p.pool is not None and p.pool.name == name]
        demands = sorted(
            ((p.gpu_request, p.model.name, r) for p in on_pool for r in range(p.max_replicas)),
            key=lambda d: -d[0],
        )
        unplaced: dict[str, int] = {}
        for need, model, replica in demands:
            node = next((n for n in nodes if free[n] >= need), None)
            if node is None:
                unplaced[model] = unplaced.get(model, 0) + 1
                continue
            free[node] -= need
            placement[node].append(f"{model}/{replica}")
        if unplaced:
            capacity = len(nodes) * pool.gpus_per_node
            asks = ", ".join(f"{p.model.name} {p.max_replicas}×{p.gpu_request}" for p in on_pool)
            by_name = {p.model.name: p for p in on_pool}
            unit = f" GPU slices ({slices[name]} per GPU)" if slices[name] > 1 else " GPUs"
            for model, count in unplaced.items():
                scaling = by_name[model].scaling
                out.add(
                    scaling.max_path if scaling else f"models[{index[model]}].replicas",
                    f"{count} replica(s) of {model!r} do not fit on pool {name!r}: it has "
                    f"{capacity * slices[name]}{unit} ({len(nodes)} node(s) × "
                    f"{pool.gpus_per_node}), the models on it ask for {asks}",
                )
        result[name] = PoolPlan(pool, gpu, slices[name], nodes, placement, free)
    return result


def time_slices(cfg: StackConfig, out: Problems) -> dict[str, int]:
    """Time-slicing is per pool: every model on a shared pool must share alike."""
    slices: dict[str, int] = {}
    for pool in cfg.node_pools:
        shares = {(i, m.gpu_share) for i, m in enumerate(cfg.models) if m.pool == pool.name}
        values = {s for _, s in shares}
        if len(values) > 1:
            for i, s in sorted(shares):
                out.add(
                    f"models[{i}].gpuShare",
                    f"models on pool {pool.name!r} ask for different "
                    f"gpuShare values {sorted(values)} (got {s}); time-slicing is set per "
                    "node (the device plugin advertises each GPU of a node as gpuShare "
                    "slices), so one pool cannot mix shared and exclusive GPUs: use one "
                    "value, or give the exclusive model a pool of its own",
                )
        slices[pool.name] = max(values, default=1)
    return slices


def rollout(plan: ServingPlan, pools: dict[str, PoolPlan]) -> Rollout:
    """Surge only when some node has room for one more replica; else replace in place."""
    if plan.pool is None:
        return Rollout(max_surge=1, max_unavailable=0)
    free = pools[plan.pool.name].free_slots
    if any(f >= plan.gpu_request for f in free.values()):
        return Rollout(max_surge=1, max_unavailable=0)
    return Rollout(max_surge=0, max_unavailable=1)


def pool_node_names(cfg: StackConfig, pool: NodePoolConfig) -> list[str]:
    """Existing nodes; for a cloud pool, its node slots at maxNodes, zone by zone in turn
    (so first-fit placement spreads like the zone topology constraint does)."""
    if not pool.cloud:
        return list(pool.nodes)
    zones = pool_zones(cfg.cluster, pool)
    return [f"{zone}/{i}" for i in range(pool.max_nodes or 0) for zone in zones]


def zone_loss(replicas: int, zones: int) -> tuple[int, int]:
    """(replicas left after losing the fullest zone of an even spread, ⌈2/3⌉ of them)."""
    return replicas - math.ceil(replicas / zones), math.ceil(2 * replicas / 3)


def zone_loss_problems(plans: list[ServingPlan], index: dict[str, int]) -> list[Problem]:
    """Losing any one zone must leave at least ⌈2/3⌉ of each model's serving replicas,
    with replicas spread evenly over the pool's zones (the topology constraint). Room for
    the spread needs no check of its own: placement fills every zone's slots alike."""
    problems = []
    for p in plans:
        if not p.zones or p.pool is None:
            continue
        replicas, zones = p.active_replicas, len(p.zones)
        left, needed = zone_loss(replicas, zones)
        if left < needed:
            path = p.scaling.min_path if p.scaling else f"models[{index[p.model.name]}].replicas"
            problems.append(
                Problem(
                    path,
                    (
                        f"{replicas} replica(s) of {p.model.name!r} over {zones} zone(s) "
                        f"({', '.join(p.zones)}): losing one zone leaves {left}, fewer "
                        f"than ⌈2/3 × {replicas}⌉ = {needed}; spread pool {p.pool.name!r} over 3+ "
                        "zones with at least one replica in each"
                    ),
                )
            )
    return problems


def node_size(pool: NodePoolConfig) -> NodeSize | None:
    """What each node of the pool offers pods: configured (on-prem), from the machine type
    (GKE), or None when nothing says (not checked)."""
    if pool.cloud:
        machine = MACHINE_TYPES.get(pool.machine_type or "")
        return gke_allocatable(machine) if machine else None
    if pool.node_cpu is None and pool.node_memory_gib is None:
        return None
    return NodeSize(pool.node_cpu or float("inf"), pool.node_memory_gib or float("inf"))


def _node_demand(replicas: list[str], by_name: dict[str, ServingPlan]) -> NodeSize:
    """Requests of the replicas placed on one node plus the platform's node agents. A pod
    asks for the larger of its init container (the model loader) and its server."""
    cpu, memory = NODE_AGENTS.cpu, NODE_AGENTS.memory_gib
    for replica in replicas:
        plan = by_name[replica.rsplit("/", 1)[0]]
        cpu += max(plan.resources.cpu, LOADER_CPU)
        memory += max(plan.resources.memory_gib, LOADER_MEMORY_GIB)
    return NodeSize(cpu, memory)


def node_fit_problems(
    pools: dict[str, PoolPlan], plans: list[ServingPlan], pool_index: dict[str, int]
) -> list[Problem]:
    """Every node holds the CPU and memory its replicas request (vLLM processes, /dev/shm in
    memory, the loader), or the pods stay Pending with the GPUs free."""
    by_name = {p.model.name: p for p in plans}
    problems: list[Problem] = []
    for name, pool_plan in pools.items():
        size = node_size(pool_plan.pool)
        if size is None:
            continue
        pool = pool_plan.pool
        at = f"nodePools[{pool_index[name]}]"
        for node, replicas in pool_plan.placement.items():
            need = _node_demand(replicas, by_name)
            for setting, needed, has, unit in (
                ("nodeCpu", need.cpu, size.cpu, "CPU cores"),
                ("nodeMemoryGib", need.memory_gib, size.memory_gib, "GiB memory"),
            ):
                if needed <= has:
                    continue
                key = "machineType" if pool.cloud else setting
                source = f"machineType {pool.machine_type}" if pool.cloud else setting
                problems.append(
                    Problem(
                        f"{at}.{key}",
                        f"node {node} would need {needed:g} {unit} for {', '.join(replicas)} "
                        f"and the node agents, but offers {has:g} ({source}); use bigger "
                        "nodes, fewer replicas per node or lower models[].serving.cpuPerGpu",
                    )
                )
    return problems
