"""Memory of one replica: weights, runtime reserves, activation peak, KV cache. Pure.

Per GPU, as vLLM 0.33 sizes it (v1/worker/gpu_worker.py, utils/mem_utils.py):
    budget   = total (as CUDA reports it) × gpu_memory_utilization
    kv       = budget − weights − non-torch after the baseline snapshot
                      − transient activation peak − CUDA graphs (profiled)
    tokens   = floor(kv / (block × kv bytes per token per GPU)) × block
What a worker holds before the snapshot (CUDA context, cuBLAS, NCCL) is not charged: it
must fit in total × (1 − utilization), or vLLM refuses to start.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from infra.catalog.gpus import GpuSpec
from infra.catalog.models import ModelGeometry
from infra.catalog.vllm import (
    BATCH_DEFAULTS_CPU,
    BATCH_DEFAULTS_HUGE_GPU,
    BATCH_DEFAULTS_LARGE_GPU,
    BATCH_DEFAULTS_SMALL_GPU,
    CPU_NULL_BLOCKS,
    CUDA_GRAPH_GIB,
    DEFAULT_GPU_MEMORY_UTILIZATION,
    GIB,
    HOST_GIB_PER_PROCESS,
    HUGE_GPU_GIB,
    KV_BLOCK_TOKENS,
    KV_BLOCK_TOKENS_CPU,
    KV_DTYPE_BYTES,
    LARGE_BATCH_EXCLUDED,
    LARGE_GPU_GIB,
    NCCL_BASELINE_GIB_PER_RANK,
    ON_THE_FLY_QUANTIZATION,
    POST_SNAPSHOT_NON_TORCH_GIB,
    SHM_BASE_GIB,
    SHM_PER_PEER_GIB,
    STARTUP_BASELINE_GIB,
    WEIGHT_OVERHEAD_GIB,
)
from infra.config import (
    ModelConfig,
)

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
    block_tokens: int = KV_BLOCK_TOKENS  # tokens per KV block on this device

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
    """Weights in GPU memory: the checkpoint as published (pre-quantized ones are already
    small), or its linear layers shrunk by on-the-fly quantization."""
    if quantization not in ON_THE_FLY_QUANTIZATION or geometry.quantization is not None:
        return geometry.weight_bytes
    linear = geometry.linear_params * ON_THE_FLY_QUANTIZATION[quantization]
    rest = (geometry.embedding_params + geometry.other_params) * geometry.dtype_bytes
    return int(linear + rest)


def startup_baseline_gib(ranks: int) -> float:
    """What one worker holds before vLLM's memory snapshot (not in the KV budget)."""
    return STARTUP_BASELINE_GIB + (NCCL_BASELINE_GIB_PER_RANK if ranks > 1 else 0.0)


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
    """vLLM's (max_num_batched_tokens, max_num_seqs) for the OpenAI server on this GPU."""
    if gpu is None:
        return BATCH_DEFAULTS_CPU
    if gpu.memory_gib >= HUGE_GPU_GIB:
        return BATCH_DEFAULTS_HUGE_GPU
    excluded = any(part in gpu.name.lower() for part in LARGE_BATCH_EXCLUDED)
    if gpu.memory_gib >= LARGE_GPU_GIB and not excluded:
        return BATCH_DEFAULTS_LARGE_GPU
    return BATCH_DEFAULTS_SMALL_GPU


def default_utilization(gpu_share: int) -> float:
    """vLLM's default, divided among the replicas that share one GPU (sum stays below 1)."""
    share = DEFAULT_GPU_MEMORY_UTILIZATION / gpu_share
    return math.floor(share / _UTIL_STEP) * _UTIL_STEP


def kv_tokens(
    kv_budget_bytes: float, bytes_per_token: int, block: int = KV_BLOCK_TOKENS, held: int = 0
) -> int:
    """Whole blocks that fit the budget, less the ones the engine holds back, in tokens."""
    if kv_budget_bytes <= 0:
        return 0
    blocks = math.floor(kv_budget_bytes / (block * bytes_per_token)) - held
    return max(blocks, 0) * block


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
    non_torch = POST_SNAPSHOT_NON_TORCH_GIB
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
        kv_tokens=kv_tokens(
            cpu.kv_cache_gib * GIB, per_token, KV_BLOCK_TOKENS_CPU, CPU_NULL_BLOCKS
        ),
        max_model_len=max_model_len,
        block_tokens=KV_BLOCK_TOKENS_CPU,
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
