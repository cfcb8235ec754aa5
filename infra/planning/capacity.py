"""Capacity planner: does each model fit, how much KV cache, how many concurrent requests,
where do its replicas go. Pure: a function of StackConfig and the catalog.
The memory model is in memory.py, placement in placement.py, the records in plans.py.
"""

from __future__ import annotations

import math
from dataclasses import replace

from infra.catalog.gpus import GPUS, GpuSpec
from infra.catalog.models import ModelGeometry
from infra.catalog.vllm import (
    GIB,
    TTFT_DEFAULT_BUCKETS,
    WEIGHT_OVERHEAD_GIB,
)
from infra.config import (
    ConfigError,
    ModelConfig,
    NodePoolConfig,
    Problem,
    StackConfig,
    failure_domains,
)
from infra.planning.autoscaling import resolve_scaling
from infra.planning.awaits import await_plan
from infra.planning.cache import cache_layouts
from infra.planning.engine_rules import (
    batching_problem,
    downloaded_bytes,
    quantization_problem,
    tensor_parallel_problem,
    valid_tensor_parallel,
)
from infra.planning.memory import (
    MemoryPlan,
    batch_defaults,
    cpu_memory_plan,
    cpu_pod_resources,
    default_utilization,
    gpu_memory_plan,
    gpu_pod_resources,
    startup_baseline_gib,
    weight_bytes,
)
from infra.planning.placement import (
    node_fit_problems,
    place,
    pool_node_names,
    rollout,
    time_slices,
    zone_loss_problems,
)
from infra.planning.plans import PlatformPlan, PoolPlan, Problems, Rollout, ServingPlan
from infra.planning.releases import release_plans
from infra.planning.wake import wake_problems

__all__ = ["PlatformPlan", "PoolPlan", "ServingPlan", "plan_platform"]


def _context_length(m: ModelConfig, g: ModelGeometry, at: str, out: Problems) -> int | None:
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


def _shape_problems(
    m: ModelConfig, g: ModelGeometry, pool: NodePoolConfig, at: str
) -> list[Problem]:
    """Parallelism and sharing vLLM or the pool refuses, before any memory is counted."""
    tp, pp, per_node = m.tensor_parallel, m.pipeline_parallel, pool.gpus_per_node
    valid = ", ".join(map(str, valid_tensor_parallel(g, per_node))) or "none"
    problems: list[Problem] = []
    why = tensor_parallel_problem(g, tp)
    if why is not None:
        problems.append(
            Problem(
                f"{at}.tensorParallel",
                f"{tp} is not valid for {m.model}: it {why} (vLLM refuses it when it loads "
                f"the model); valid on pool {pool.name!r} ({per_node} GPUs/node): {valid}",
            )
        )
    if pp > g.layers:
        problems.append(
            Problem(f"{at}.pipelineParallel", f"{pp} is more than the model's {g.layers} layers")
        )
    if tp * pp > per_node:
        problems.append(
            Problem(
                f"{at}.tensorParallel",
                f"a replica needs tensorParallel × pipelineParallel = {tp * pp} GPUs but pool "
                f"{pool.name!r} nodes have {per_node}; a replica must fit on one node: valid "
                f"tensorParallel: {valid}",
            )
        )
    if m.gpu_share > 1 and tp * pp > 1:
        problems.append(
            Problem(
                f"{at}.gpuShare",
                f"GPU sharing needs one GPU per replica; got tensorParallel × pipelineParallel "
                f"= {tp * pp}: keep the parallelism with gpuShare: 1, or share with "
                "tensorParallel: 1 if the weights fit in one share of a GPU",
            )
        )
    return problems


def _utilization_problem(m: ModelConfig, gpu: GpuSpec, util: float, at: str) -> Problem | None:
    """vLLM starts only if the GPU's free memory at its snapshot covers total × utilization;
    time-sliced sharers each hold their own share and baseline."""
    ranks = m.tensor_parallel * m.pipeline_parallel
    sharers = m.gpu_share
    needed = sharers * (gpu.memory_gib * util + startup_baseline_gib(ranks))
    if needed <= gpu.memory_gib:
        return None
    most = (gpu.memory_gib / sharers - startup_baseline_gib(ranks)) / gpu.memory_gib
    most = math.floor(most * 100) / 100
    what = f" × gpuShare {sharers}" if sharers > 1 else ""
    return Problem(
        f"{at}.gpuMemoryUtilization",
        f"{util}{what} leaves no room for the CUDA context and NCCL that each vLLM process "
        f"holds before its memory snapshot ({startup_baseline_gib(ranks):.2f} GiB of "
        f"{gpu.memory_gib} GiB); vLLM refuses to start: use ≤ {most:.2f}",
    )


def _gpu_fit(
    m: ModelConfig,
    g: ModelGeometry,
    pool: NodePoolConfig,
    *,
    at: str,
    out: Problems,
    max_model_len: int,
) -> MemoryPlan | None:
    gpu = GPUS[pool.gpu]
    tp, pp = m.tensor_parallel, m.pipeline_parallel
    valid = valid_tensor_parallel(g, pool.gpus_per_node)
    problems = _shape_problems(m, g, pool, at)
    util = m.gpu_memory_utilization or default_utilization(m.gpu_share)
    if m.gpu_share > 1 and util * m.gpu_share >= 1.0:
        problems.append(
            Problem(
                f"{at}.gpuMemoryUtilization",
                f"{util} × gpuShare {m.gpu_share} = {util * m.gpu_share:.2f} of one GPU; "
                "time-slicing has no memory isolation, so the sum must stay below 1: use ≤ "
                f"{default_utilization(m.gpu_share):.2f}",
            )
        )
    elif (baseline := _utilization_problem(m, gpu, util, at)) is not None:
        problems.append(baseline)
    for problem in problems:
        out.add(*problem)
    if problems:
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
        if m.gpu_share > 1:
            # Sharing needs TP=1 (refused otherwise): the way out is a smaller share.
            fix = f"each of {m.gpu_share} sharers gets {util} of the GPU: lower gpuShare"
            fix += f" (gpuShare: 1 with tensorParallel {fitting[0]})" if fitting else ""
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
            + (
                "use kvCacheDtype: fp8 or lower gpuShare"
                if m.gpu_share > 1
                else "raise gpuMemoryUtilization, use kvCacheDtype: fp8 or more tensorParallel"
            ),
        )
        return None
    return memory


def ttft_buckets(objective_seconds: float) -> tuple[float, ...]:
    """vLLM's TTFT bounds plus the objective, so the SLO is read off a bucket exactly."""
    return tuple(sorted({*TTFT_DEFAULT_BUCKETS, float(objective_seconds)}))


def cache_size_gib(model: ModelConfig, on_disk: int) -> int:
    if model.cache.size_gib is not None:
        return model.cache.size_gib
    return math.ceil(on_disk * model.cache.headroom_ratio / GIB)


def _batching(
    m: ModelConfig, gpu: GpuSpec | None, at: str, out: Problems
) -> tuple[int, int] | None:
    """(max_num_batched_tokens, max_num_seqs): the stack's, or the device's defaults."""
    tokens_default, seqs_default = batch_defaults(gpu)
    tokens = m.max_num_batched_tokens or tokens_default
    seqs = m.max_num_seqs or seqs_default
    why = batching_problem(tokens, seqs)
    if why is None:
        return tokens, seqs
    key = "maxNumBatchedTokens" if m.max_num_batched_tokens is not None else "maxNumSeqs"
    out.add(f"{at}.{key}", why)
    return None


def _plan_cpu(
    m: ModelConfig, g: ModelGeometry, at: str, length: int, out: Problems
) -> ServingPlan | None:
    batching = _batching(m, None, at, out)
    memory = cpu_memory_plan(g, m, length)
    if memory.kv_tokens < length:
        out.add(
            f"{at}.cpu.kvCacheGib",
            f"{m.cpu.kv_cache_gib} GiB holds {memory.kv_tokens} tokens, less than one "
            f"{length}-token request; raise it to "
            f"{math.ceil(length * memory.kv_bytes_per_token / GIB)} or lower maxModelLen",
        )
        return None
    if batching is None:
        return None
    on_disk = downloaded_bytes(g)
    return ServingPlan(
        m,
        g,
        None,
        None,
        length,
        batching[1],
        batching[0],
        memory,
        cpu_pod_resources(m, memory),
        Rollout(1, 0),
        on_disk,
        cache_size_gib(m, on_disk),
    )


def _plan_gpu(
    m: ModelConfig, g: ModelGeometry, pool: NodePoolConfig, at: str, length: int, out: Problems
) -> ServingPlan | None:
    gpu = GPUS[pool.gpu]
    batching = _batching(m, gpu, at, out)
    memory = _gpu_fit(m, g, pool, at=at, out=out, max_model_len=length)
    if memory is None or batching is None:
        return None
    on_disk = downloaded_bytes(g)
    return ServingPlan(
        m,
        g,
        gpu,
        pool,
        length,
        batching[1],
        batching[0],
        memory,
        gpu_pod_resources(m, m.tensor_parallel * m.pipeline_parallel),
        Rollout(0, 1),
        on_disk,
        cache_size_gib(m, on_disk),
    )


def _plan_model(
    m: ModelConfig, at: str, pools: dict[str, NodePoolConfig], out: Problems
) -> ServingPlan | None:
    g = m.geometry_or_catalog
    why = quantization_problem(m.model, g, m.quantization)
    if why is not None:
        out.add(f"{at}.quantization", why)
    length = _context_length(m, g, at, out)
    if why is not None or length is None:
        # Memory depends on them; the parallelism vLLM refuses does not: say it now too.
        if m.device == "gpu" and m.pool is not None:
            for problem in _shape_problems(m, g, pools[m.pool], at):
                out.add(*problem)
        return None
    if m.device == "cpu":
        return _plan_cpu(m, g, at, length, out)
    assert m.pool is not None  # checked by config
    return _plan_gpu(m, g, pools[m.pool], at, length, out)


def plan_platform(cfg: StackConfig, source: str) -> PlatformPlan:
    """Plan every model, or raise ConfigError naming each problem and its fix."""
    out = Problems()
    pools = {p.name: p for p in cfg.node_pools}
    index = {m.name: i for i, m in enumerate(cfg.models)}
    slices = time_slices(cfg, out)
    plans: list[ServingPlan] = []
    for i, m in enumerate(cfg.models):
        planned = _plan_model(m, f"models[{i}]", pools, out)
        if planned is not None:
            plans.append(planned)
    # Every problem in one run: the models that planned go on to scaling and placement
    # (what does not plan takes no GPUs there, so nothing is refused in its name).
    node_names = {p.name: pool_node_names(cfg, p) for p in cfg.node_pools}
    gpu_slots = {n: len(node_names[n]) * p.gpus_per_node * slices[n] for n, p in pools.items()}
    scaling, problems = resolve_scaling(
        cfg, gpu_slots, {p.model.name: p.gpu_request for p in plans}
    )
    for problem in problems:
        out.add(*problem)
    standby = cfg.dr.standby_replicas if cfg.dr is not None and cfg.dr.standby else None
    buckets = ttft_buckets(cfg.observability.slo.ttft_p95_seconds)
    if not cfg.observability.enabled:
        buckets = ()
    plans = [
        replace(
            p,
            scaling=scaling.get(p.model.name),
            standby_replicas=standby,
            ttft_buckets=buckets,
            zones=tuple(failure_domains(cfg.cluster, p.pool)) if p.pool else (),
        )
        for p in plans
    ]
    layouts = cache_layouts(cfg, plans)
    plans = [replace(p, cache=layouts[p.model.name]) for p in plans]
    pool_plans = place(pools, node_names, plans, slices, out, index)
    pool_index = {p.name: i for i, p in enumerate(cfg.node_pools)}
    for problem in (
        zone_loss_problems(plans, index)
        + node_fit_problems(pool_plans, plans, pool_index)
        + wake_problems(cfg.gateway.request_timeout_seconds, plans)
    ):
        out.add(*problem)
    if out.items:
        raise ConfigError(out.items, source)
    plans = [replace(p, rollout=rollout(p, pool_plans)) for p in plans]
    snapshot = cfg.dr is not None and cfg.dr.role == "primary"
    build = cfg.images.build
    plans = [replace(p, awaits=await_plan(p, loader_image=build, snapshot=snapshot)) for p in plans]
    return PlatformPlan(plans, pool_plans, release_plans(cfg, plans))
