"""The memory model against vLLM's own startup logs, as published.

Each row holds what one public log shows: the model, the GPU total vLLM printed, the
utilization, the context and batch settings in force, and what vLLM logged for the KV cache.
The planner, given the same inputs, must land within ±5 % of the logged KV memory, and its
block arithmetic must turn the logged GiB into the logged token count.

Versions differ in one way the planner models for 0.33 only: from v0.21 vLLM reserves the
profiled CUDA-graph memory inside the budget; before that the graphs were captured after the
KV cache was sized, outside it. Rows from older versions say so (`graphs_in_budget=False`)
and the comparison adds the planner's graph reserve back. Rows whose version charged memory
that 0.33 no longer charges (NCCL and the CUDA context before the baseline snapshot, e.g.
TP=2 in vllm-project/vllm#10511) are left out, not bent to fit.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from infra.catalog.gpus import GpuSpec
from infra.catalog.models import MODELS, ModelGeometry
from infra.catalog.vllm import CUDA_GRAPH_GIB, GIB
from infra.planning.memory import gpu_memory_plan, kv_bytes_per_token, kv_tokens

TOLERANCE = 0.05
LLAMA_31_8B = MODELS["meta-llama/Llama-3.1-8B-Instruct"]


@dataclass(frozen=True)
class PublishedLog:
    label: str
    geometry: ModelGeometry
    gpu_total_gib: float  # "total_gpu_memory" as the log prints it
    utilization: float
    max_model_len: int
    max_num_batched_tokens: int  # in force for that version and context
    max_num_seqs: int
    logged_kv_gib: float
    logged_kv_tokens: int | None
    vllm_version: str
    graphs_in_budget: bool
    source: str
    tp: int = 1


LOGS = (
    PublishedLog(
        label="Llama-3.1-8B on A10, 0.90, 128K",
        geometry=LLAMA_31_8B,
        gpu_total_gib=22.07,
        utilization=0.90,
        max_model_len=131072,
        # V0 turned chunked prefill on above 32K context, with 2048 batched tokens.
        max_num_batched_tokens=2048,
        max_num_seqs=256,
        logged_kv_gib=4.60,
        logged_kv_tokens=37696,  # "# CUDA blocks: 2356" × 16
        vllm_version="0.7 (V0 worker.py)",
        graphs_in_budget=False,
        source="oracle-samples/oci-data-science-ai-samples, ai-quick-actions troubleshooting "
        "(log of a 131072-token Llama 3.1 8B deployment on an A10 shape)",
    ),
    PublishedLog(
        label="Llama-3-8B on H100 80GB, 0.90, 8K",
        # Llama 3 8B and 3.1 8B share every figure the memory model reads.
        geometry=LLAMA_31_8B,
        gpu_total_gib=79.22,
        utilization=0.90,
        max_model_len=8192,
        max_num_batched_tokens=8192,  # no chunked prefill: the whole context in one pass
        max_num_seqs=256,
        logged_kv_gib=53.29,
        logged_kv_tokens=None,
        vllm_version="0.6.5.dev (V0)",
        graphs_in_budget=False,
        source="vllm-project/vllm#10511 (memory profiling overhaul, sanity check, TP=1)",
    ),
    PublishedLog(
        label="DeepSeek-R1-Distill-Qwen-14B on 2x RTX 4090, TP=2, 0.98, 128K",
        # The distill is Qwen2.5-14B's architecture (same config.json figures).
        geometry=MODELS["Qwen/Qwen2.5-14B-Instruct"],
        gpu_total_gib=23.55,  # logged: total × 0.98 = 23.08 GiB
        utilization=0.98,
        max_model_len=131072,
        max_num_batched_tokens=2048,
        max_num_seqs=256,
        logged_kv_gib=8.69,
        logged_kv_tokens=None,  # the refusal quotes the smallest rank's blocks
        vllm_version="0.7 (V0 worker.py)",
        graphs_in_budget=False,
        source="vllm-project/vllm#13061 (KV cache on two 4090s)",
        tp=2,
    ),
)


def _planned_kv_gib(log: PublishedLog) -> float:
    gpu = GpuSpec("published", log.gpu_total_gib, True, None, False)
    plan = gpu_memory_plan(
        log.geometry,
        gpu,
        tp=log.tp,
        pp=1,
        utilization=log.utilization,
        max_model_len=log.max_model_len,
        max_num_batched_tokens=log.max_num_batched_tokens,
        max_num_seqs=log.max_num_seqs,
        quantization=None,
        kv_cache_dtype="auto",
    )
    return plan.kv_budget_gib + (0.0 if log.graphs_in_budget else CUDA_GRAPH_GIB)


@pytest.mark.parametrize("log", LOGS, ids=lambda log: log.label)
def test_kv_budget_within_five_percent_of_the_log(log: PublishedLog) -> None:
    planned = _planned_kv_gib(log)
    error = planned / log.logged_kv_gib - 1
    assert abs(error) <= TOLERANCE, (
        f"{log.label}: planner {planned:.2f} GiB vs logged {log.logged_kv_gib} GiB "
        f"({error:+.1%}, vLLM {log.vllm_version}; {log.source})"
    )


@pytest.mark.parametrize(
    "log", [row for row in LOGS if row.logged_kv_tokens], ids=lambda log: log.label
)
def test_logged_memory_becomes_the_logged_tokens(log: PublishedLog) -> None:
    """The log rounds GiB to two decimals: the token count must fall inside that rounding."""
    per_token = kv_bytes_per_token(log.geometry)
    low = kv_tokens((log.logged_kv_gib - 0.005) * GIB, per_token)
    high = kv_tokens((log.logged_kv_gib + 0.005) * GIB, per_token)
    assert low <= (log.logged_kv_tokens or 0) <= high


def test_qwen2_7b_third_party_figure() -> None:
    """A vLLM log for Qwen2-7B's geometry (28 layers, 4 KV heads of 128): "Available KV cache
    memory: 3.41 GiB", "GPU KV cache size: 63,776 tokens", at 56 KiB a token."""
    per_token = kv_bytes_per_token(MODELS["Qwen/Qwen2.5-7B-Instruct"])
    assert per_token == 56 * 1024
    low = kv_tokens(3.405 * GIB, per_token)
    high = kv_tokens(3.415 * GIB, per_token)
    assert low <= 63776 <= high
