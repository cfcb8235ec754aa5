"""Capacity planner: does each model fit, how much KV cache, how many concurrent requests,
where do its replicas go. Pure: a function of StackConfig and the catalog.

Memory model (per GPU, as vLLM 0.33 sizes it, FACTS.md):
    budget   = total × gpu_memory_utilization
    kv       = budget − weights − non-torch − activation peak − CUDA graphs
    tokens   = floor(kv / (block × kv bytes per token per GPU)) × block
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from infra.catalog.gpus import GPUS, GpuSpec
from infra.catalog.models import ModelGeometry
from infra.catalog.vllm import (
    BATCH_DEFAULTS_CPU,
    BATCH_DEFAULTS_LARGE_GPU,
    BATCH_DEFAULTS_SMALL_GPU,
    CUDA_GRAPH_GIB,
    DEFAULT_GPU_MEMORY_UTILIZATION,
    GIB,
    HOST_GIB_PER_PROCESS,
    KV_BLOCK_TOKENS,
    KV_DTYPE_BYTES,
    LARGE_GPU_GIB,
    NCCL_GIB_PER_RANK,
    NON_TORCH_GIB,
    QUANTIZED_LINEAR_BYTES,
    SHM_BASE_GIB,
    SHM_PER_PEER_GIB,
    WEIGHT_OVERHEAD_GIB,
)
from infra.config import (
    ConfigError,
    ModelConfig,
    NodePoolConfig,
    Problem,
    StackConfig,
    pool_zones,
)
from infra.planning.autoscaling import ScalingPlan, resolve_scaling

# Utilization is rounded down to this step when divided among GPU sharers.
_UTIL_STEP = 0.01


@dataclass(frozen=True)
class MemoryPlan:
    """Memory of one GPU of one replica (or of one CPU replica), in GiB unless named."""

    total_gib: float
    utilization: float
    weights_gib: float
    non_torch_gib: float
    activation_gib: float
    cuda_graph_gib: float
    kv_budget_gib: float
    kv_bytes_per_token: int  # on this GPU (KV heads and layers it holds)
    kv_tokens: int  # per replica
    max_model_len: int

    @property
    def budget_gib(self) -> float:
        return self.total_gib * self.utilization

    @property
    def max_concurrency(self) -> float:
        """Requests of max_model_len tokens that fit in the KV cache at once."""
        return self.kv_tokens / self.max_model_len


@dataclass(frozen=True)
class Resources:
    cpu: int  # cores
    memory_gib: int
    shm_gib: int | None  # in-memory /dev/shm (counted in memory_gib); None = not mounted


@dataclass(frozen=True)
class Rollout:
    max_surge: int
    max_unavailable: int


@dataclass(frozen=True)
class ServingPlan:
    model: ModelConfig
    geometry: ModelGeometry
    gpu: GpuSpec | None  # None: CPU backend
    pool: NodePoolConfig | None
    max_model_len: int
    max_num_seqs: int
    max_num_batched_tokens: int
    memory: MemoryPlan
    resources: Resources
    rollout: Rollout
    weights_on_disk_bytes: int
    cache_size_gib: int
    scaling: ScalingPlan | None = None  # None: a fixed number of replicas
    zones: tuple[str, ...] = ()  # a cloud pool's zones; empty on-prem
    standby_replicas: int | None = None  # DR standby side: the warm minimum it runs

    @property
    def active_replicas(self) -> int:
        """What the model serves with when active: the fixed count or the autoscaling floor."""
        return self.scaling.min_replicas if self.scaling else self.model.replicas

    @property
    def cache_per_pod(self) -> bool:
        """Cloud pools: each pod loads its own cache (from the snapshot bucket)."""
        return bool(self.zones)

    @property
    def max_replicas(self) -> int:
        """Replicas the pool must have room for: the autoscaling maximum, or the fixed count."""
        return self.scaling.max_replicas if self.scaling else self.model.replicas

    @property
    def gpus_per_replica(self) -> int:
        return self.model.tensor_parallel * self.model.pipeline_parallel if self.gpu else 0

    @property
    def gpu_request(self) -> int:
        """`nvidia.com/gpu` per pod: physical GPUs, or one time-slice when sharing."""
        return 1 if self.model.gpu_share > 1 else self.gpus_per_replica

    @property
    def no_p2p_tp(self) -> bool:
        """Several GPUs talk over NCCL on cards without P2P: NCCL must be told."""
        return self.gpu is not None and not self.gpu.p2p and self.gpus_per_replica > 1

    @property
    def cache_access_mode(self) -> str:
        """The shared cache volume (not per-pod caches): RWO while every replica lands on
        one node."""
        one_node = (len(self.pool.nodes) == 1) if self.pool else self.max_replicas == 1
        return "ReadWriteOnce" if one_node else "ReadWriteMany"

    @property
    def yarn_max_position(self) -> int | None:
        rope = self.model.rope_scaling
        if rope is None:
            return None
        return int(self.geometry.max_position_embeddings * rope.factor)


@dataclass(frozen=True)
class PoolPlan:
    pool: NodePoolConfig
    gpu: GpuSpec
    time_slices: int  # replicas per GPU advertised by the device plugin (1 = exclusive)
    nodes: list[str] = field(default_factory=list)  # existing nodes, or a cloud pool's slots
    placement: dict[str, list[str]] = field(default_factory=dict)  # node -> replica ids
    free_slots: dict[str, int] = field(default_factory=dict)  # node -> unused nvidia.com/gpu

    @property
    def slots(self) -> int:
        return len(self.nodes) * self.pool.gpus_per_node * self.time_slices

    @property
    def used_slots(self) -> int:
        return self.slots - sum(self.free_slots.values())


@dataclass(frozen=True)
class PlatformPlan:
    models: list[ServingPlan]
    pools: dict[str, PoolPlan]


# --------------------------------------------------------------------------- pure numbers


def valid_tensor_parallel(geometry: ModelGeometry, limit: int) -> list[int]:
    """TP sizes vLLM accepts for this model (they divide the attention heads), up to limit."""
    return [tp for tp in range(1, limit + 1) if geometry.attention_heads % tp == 0]


def kv_heads_per_gpu(geometry: ModelGeometry, tp: int) -> int:
    """KV heads are split across TP ranks, and replicated when TP exceeds them."""
    return max(1, geometry.kv_heads // tp)


def kv_bytes_per_token(
    geometry: ModelGeometry, tp: int = 1, pp: int = 1, kv_cache_dtype: str = "auto"
) -> int:
    """K and V for one token on one GPU: 2 × layers × kv_heads_per_gpu × head_dim × bytes."""
    dtype = KV_DTYPE_BYTES[kv_cache_dtype] or geometry.dtype_bytes
    layers = math.ceil(geometry.layers / pp)
    return 2 * layers * kv_heads_per_gpu(geometry, tp) * geometry.head_size * dtype


def weight_bytes(geometry: ModelGeometry, quantization: str | None) -> int:
    """Weights as loaded: quantization shrinks the linear layers, not embeddings or norms."""
    if quantization is None:
        return geometry.weight_bytes
    linear = geometry.linear_params * QUANTIZED_LINEAR_BYTES[quantization]
    rest = (geometry.embedding_params + geometry.other_params) * geometry.dtype_bytes
    return int(linear + rest)


def activation_peak_bytes(
    geometry: ModelGeometry, tp: int, max_num_batched_tokens: int, max_num_seqs: int
) -> int:
    """Closed-form estimate of vLLM's profiling forward pass peak on one GPU.

    The residual stream (hidden states + residual) persists through a layer; on top of it
    the largest transient is the MLP (gate/up output and its activation), the attention
    projections, or the sampler's fp32 logits and probabilities over the vocabulary.
    """
    tokens, d = max_num_batched_tokens, geometry.dtype_bytes
    residual = 2 * tokens * geometry.hidden_size * d
    mlp = 3 * tokens * (geometry.intermediate_size // tp) * d
    qkv_heads = geometry.attention_heads // tp + 2 * kv_heads_per_gpu(geometry, tp)
    attention = tokens * qkv_heads * geometry.head_size * d
    logits = 2 * max_num_seqs * geometry.vocab_size * 4
    return residual + max(mlp, attention, logits)


def batch_defaults(gpu: GpuSpec | None) -> tuple[int, int]:
    if gpu is None:
        return BATCH_DEFAULTS_CPU
    return BATCH_DEFAULTS_LARGE_GPU if gpu.memory_gib >= LARGE_GPU_GIB else BATCH_DEFAULTS_SMALL_GPU


def default_utilization(gpu_share: int) -> float:
    """vLLM's default, divided among the replicas that share one GPU (sum stays below 1)."""
    share = DEFAULT_GPU_MEMORY_UTILIZATION / gpu_share
    return math.floor(share / _UTIL_STEP) * _UTIL_STEP


def kv_tokens(kv_budget_bytes: float, bytes_per_token: int) -> int:
    if kv_budget_bytes <= 0:
        return 0
    blocks = math.floor(kv_budget_bytes / (KV_BLOCK_TOKENS * bytes_per_token))
    return blocks * KV_BLOCK_TOKENS


def gpu_memory_plan(
    geometry: ModelGeometry,
    gpu: GpuSpec,
    *,
    tp: int,
    pp: int,
    utilization: float,
    max_model_len: int,
    max_num_batched_tokens: int,
    max_num_seqs: int,
    quantization: str | None,
    kv_cache_dtype: str,
) -> MemoryPlan:
    ranks = tp * pp
    weights = weight_bytes(geometry, quantization) / ranks / GIB + WEIGHT_OVERHEAD_GIB
    non_torch = NON_TORCH_GIB + (NCCL_GIB_PER_RANK if ranks > 1 else 0.0)
    activation = activation_peak_bytes(geometry, tp, max_num_batched_tokens, max_num_seqs) / GIB
    kv_budget = gpu.memory_gib * utilization - weights - non_torch - activation - CUDA_GRAPH_GIB
    per_token = kv_bytes_per_token(geometry, tp, pp, kv_cache_dtype)
    return MemoryPlan(
        total_gib=gpu.memory_gib,
        utilization=utilization,
        weights_gib=weights,
        non_torch_gib=non_torch,
        activation_gib=activation,
        cuda_graph_gib=CUDA_GRAPH_GIB,
        kv_budget_gib=kv_budget,
        kv_bytes_per_token=per_token,
        kv_tokens=kv_tokens(kv_budget * GIB, per_token),
        max_model_len=max_model_len,
    )


def cpu_memory_plan(geometry: ModelGeometry, model: ModelConfig, max_model_len: int) -> MemoryPlan:
    cpu = model.cpu
    weights = geometry.weight_bytes / GIB
    per_token = kv_bytes_per_token(geometry, kv_cache_dtype=model.kv_cache_dtype)
    total = weights + cpu.kv_cache_gib + cpu.runtime_overhead_gib
    return MemoryPlan(
        total_gib=total,
        utilization=1.0,
        weights_gib=weights,
        non_torch_gib=float(cpu.runtime_overhead_gib),
        activation_gib=0.0,
        cuda_graph_gib=0.0,
        kv_budget_gib=float(cpu.kv_cache_gib),
        kv_bytes_per_token=per_token,
        kv_tokens=kv_tokens(cpu.kv_cache_gib * GIB, per_token),
        max_model_len=max_model_len,
    )


def shm_gib(gpus: int) -> int | None:
    """/dev/shm for TP/PP > 1 (the container default of 64 MiB ends in "Bus error")."""
    return SHM_BASE_GIB + SHM_PER_PEER_GIB * (gpus - 1) if gpus > 1 else None


def gpu_pod_resources(model: ModelConfig, gpus: int) -> Resources:
    # API server and engine core, plus one worker process per GPU when there are several.
    processes = 2 + (gpus if gpus > 1 else 0)
    shm = shm_gib(gpus)
    memory = HOST_GIB_PER_PROCESS * processes + (shm or 0)
    return Resources(cpu=model.serving.cpu_per_gpu * max(gpus, 1), memory_gib=memory, shm_gib=shm)


def cpu_pod_resources(model: ModelConfig, memory: MemoryPlan) -> Resources:
    return Resources(cpu=model.cpu.cores, memory_gib=math.ceil(memory.total_gib), shm_gib=None)


# --------------------------------------------------------------------------- checks


class _Problems:
    def __init__(self) -> None:
        self.items: list[Problem] = []

    def add(self, path: str, message: str) -> None:
        self.items.append(Problem(path, message))


def _context_length(m: ModelConfig, g: ModelGeometry, at: str, out: _Problems) -> int | None:
    native = g.max_position_embeddings
    rope = m.rope_scaling
    if rope is None:
        if m.max_model_len is not None and m.max_model_len > native:
            hint = (
                f"set {at}.ropeScaling: {{type: yarn, factor: "
                f"{math.ceil(m.max_model_len / native)}}}"
                if g.yarn_max_factor and m.max_model_len <= native * g.yarn_max_factor
                else f"use maxModelLen ≤ {native}"
            )
            out.add(
                f"{at}.maxModelLen",
                f"{m.max_model_len} is above {m.model}'s native context "
                f"of {native} tokens; vLLM refuses it; {hint}",
            )
            return None
        return m.max_model_len or native
    if g.yarn_max_factor is None:
        out.add(
            f"{at}.ropeScaling",
            f"{m.model} does not support YaRN; remove ropeScaling and keep maxModelLen ≤ {native}",
        )
        return None
    if rope.factor > g.yarn_max_factor:
        out.add(
            f"{at}.ropeScaling.factor",
            f"{rope.factor} is above the {g.yarn_max_factor} {m.model} supports",
        )
        return None
    limit = int(native * rope.factor)
    wanted = m.max_model_len or limit
    if wanted > limit:
        out.add(
            f"{at}.maxModelLen",
            f"{wanted} is above {limit} ({native} × YaRN factor "
            f"{rope.factor}); raise ropeScaling.factor or lower maxModelLen",
        )
        return None
    if wanted <= native:
        out.add(
            f"{at}.ropeScaling",
            f"maxModelLen {wanted} fits the native {native}-token "
            "context; remove ropeScaling (static YaRN degrades short prompts)",
        )
        return None
    return wanted


def _gpu_fit(
    m: ModelConfig,
    g: ModelGeometry,
    pool: NodePoolConfig,
    *,
    at: str,
    out: _Problems,
    max_model_len: int,
) -> MemoryPlan | None:
    gpu = GPUS[pool.gpu]
    tp, pp = m.tensor_parallel, m.pipeline_parallel
    per_node = pool.gpus_per_node
    valid = valid_tensor_parallel(g, per_node)
    ok = True
    if g.attention_heads % tp:
        out.add(
            f"{at}.tensorParallel",
            f"{tp} does not divide {m.model}'s {g.attention_heads} "
            f"attention heads (vLLM refuses it); valid on pool {pool.name!r} "
            f"({per_node} GPUs/node): {', '.join(map(str, valid))}",
        )
        ok = False
    if pp > g.layers:
        out.add(f"{at}.pipelineParallel", f"{pp} is more than the model's {g.layers} layers")
        ok = False
    if tp * pp > per_node:
        out.add(
            f"{at}.tensorParallel",
            f"a replica needs tensorParallel × pipelineParallel = "
            f"{tp * pp} GPUs but pool {pool.name!r} nodes have {per_node}; a replica must fit "
            f"on one node: valid tensorParallel: {', '.join(map(str, valid))}",
        )
        ok = False
    if m.gpu_share > 1 and tp * pp > 1:
        out.add(
            f"{at}.gpuShare",
            f"GPU sharing needs one GPU per replica; got tensorParallel × "
            f"pipelineParallel = {tp * pp}; set gpuShare: 1 or tensorParallel: 1",
        )
        ok = False
    util = m.gpu_memory_utilization or default_utilization(m.gpu_share)
    if m.gpu_share > 1 and util * m.gpu_share >= 1.0:
        out.add(
            f"{at}.gpuMemoryUtilization",
            f"{util} × gpuShare {m.gpu_share} = "
            f"{util * m.gpu_share:.2f} of one GPU; time-slicing has no memory isolation, so "
            f"the sum must stay below 1: use ≤ {default_utilization(m.gpu_share):.2f}",
        )
        ok = False
    if not ok:
        return None

    tokens_default, seqs_default = batch_defaults(gpu)
    memory = gpu_memory_plan(
        g,
        gpu,
        tp=tp,
        pp=pp,
        utilization=util,
        max_model_len=max_model_len,
        max_num_batched_tokens=m.max_num_batched_tokens or tokens_default,
        max_num_seqs=m.max_num_seqs or seqs_default,
        quantization=m.quantization,
        kv_cache_dtype=m.kv_cache_dtype,
    )
    reserves = memory.non_torch_gib + memory.activation_gib + memory.cuda_graph_gib
    if memory.weights_gib + reserves >= memory.budget_gib:
        fitting = [
            t
            for t in valid
            if weight_bytes(g, m.quantization) / (t * pp) / GIB + WEIGHT_OVERHEAD_GIB + reserves
            < memory.budget_gib
        ]
        fix = (
            f"use tensorParallel {fitting[0]}"
            if fitting
            else "use a quantized variant or a GPU with more memory"
        )
        out.add(
            f"{at}.tensorParallel",
            f"weights do not fit: {memory.weights_gib:.2f} GiB per GPU "
            f"+ {reserves:.2f} GiB runtime reserves > {memory.budget_gib:.2f} GiB "
            f"({gpu.memory_gib} GiB {pool.gpu} × {util}); {fix}",
        )
        return None
    if memory.kv_tokens < max_model_len:
        most = memory.kv_tokens
        out.add(
            f"{at}.maxModelLen",
            f"KV cache too small for one {max_model_len}-token "
            f"request: {memory.kv_budget_gib:.2f} GiB per GPU holds {most} tokens "
            f"({memory.kv_bytes_per_token} B/token); set maxModelLen ≤ {most}, "
            "raise gpuMemoryUtilization, use kvCacheDtype: fp8 or more tensorParallel",
        )
        return None
    return memory


def _place(
    pools: dict[str, NodePoolConfig],
    node_names: dict[str, list[str]],
    plans: list[ServingPlan],
    slices: dict[str, int],
    out: _Problems,
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


def _time_slices(cfg: StackConfig, out: _Problems) -> dict[str, int]:
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
                    f"gpuShare values {sorted(values)}; the device plugin slices a whole "
                    f"pool alike: use one value (got {s})",
                )
        slices[pool.name] = max(values, default=1)
    return slices


def _rollout(plan: ServingPlan, pools: dict[str, PoolPlan]) -> Rollout:
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


def _zone_loss(plans: list[ServingPlan], index: dict[str, int]) -> list[Problem]:
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


def cache_size_gib(model: ModelConfig, on_disk: int) -> int:
    if model.cache.size_gib is not None:
        return model.cache.size_gib
    return math.ceil(on_disk * model.cache.headroom_ratio / GIB)


def plan_platform(cfg: StackConfig, source: str) -> PlatformPlan:
    """Plan every model, or raise ConfigError naming each problem and its fix."""
    out = _Problems()
    pools = {p.name: p for p in cfg.node_pools}
    index = {m.name: i for i, m in enumerate(cfg.models)}
    slices = _time_slices(cfg, out)
    plans: list[ServingPlan] = []
    for i, m in enumerate(cfg.models):
        at = f"models[{i}]"
        g = m.geometry_or_catalog
        length = _context_length(m, g, at, out)
        if length is None:
            continue
        on_disk = weight_bytes(g, m.quantization)
        if m.device == "cpu":
            memory = cpu_memory_plan(g, m, length)
            if memory.kv_tokens < length:
                out.add(
                    f"{at}.cpu.kvCacheGib",
                    f"{m.cpu.kv_cache_gib} GiB holds "
                    f"{memory.kv_tokens} tokens, less than one {length}-token request; "
                    f"raise it to {math.ceil(length * memory.kv_bytes_per_token / GIB)} or "
                    f"lower maxModelLen",
                )
                continue
            tokens, seqs = batch_defaults(None)
            plans.append(
                ServingPlan(
                    m,
                    g,
                    None,
                    None,
                    length,
                    m.max_num_seqs or seqs,
                    m.max_num_batched_tokens or tokens,
                    memory,
                    cpu_pod_resources(m, memory),
                    Rollout(1, 0),
                    on_disk,
                    cache_size_gib(m, on_disk),
                )
            )
            continue
        assert m.pool is not None  # checked by config
        pool = pools[m.pool]
        gpu = GPUS[pool.gpu]
        memory_or_none = _gpu_fit(m, g, pool, at=at, out=out, max_model_len=length)
        if memory_or_none is None:
            continue
        tokens, seqs = batch_defaults(gpu)
        gpus = m.tensor_parallel * m.pipeline_parallel
        plans.append(
            ServingPlan(
                m,
                g,
                gpu,
                pool,
                length,
                m.max_num_seqs or seqs,
                m.max_num_batched_tokens or tokens,
                memory_or_none,
                gpu_pod_resources(m, gpus),
                Rollout(0, 1),
                on_disk,
                cache_size_gib(m, on_disk),
            )
        )
    if out.items:
        raise ConfigError(out.items, source)
    node_names = {p.name: pool_node_names(cfg, p) for p in cfg.node_pools}
    gpu_slots = {n: len(node_names[n]) * p.gpus_per_node * slices[n] for n, p in pools.items()}
    scaling, problems = resolve_scaling(
        cfg, gpu_slots, {p.model.name: p.gpu_request for p in plans}
    )
    if problems:
        raise ConfigError(problems, source)
    standby = cfg.dr.standby_replicas if cfg.dr is not None and cfg.dr.standby else None
    plans = [
        replace(
            p,
            scaling=scaling.get(p.model.name),
            standby_replicas=standby,
            zones=tuple(pool_zones(cfg.cluster, p.pool)) if p.pool and p.pool.cloud else (),
        )
        for p in plans
    ]
    pool_plans = _place(pools, node_names, plans, slices, out, index)
    for problem in _zone_loss(plans, index):
        out.add(*problem)
    if out.items:
        raise ConfigError(out.items, source)
    return PlatformPlan([replace(p, rollout=_rollout(p, pool_plans)) for p in plans], pool_plans)
