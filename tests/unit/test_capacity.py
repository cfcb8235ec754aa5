"""Capacity planner numbers against worked examples."""

import math

import pytest

from infra.catalog.gpus import GPUS
from infra.catalog.models import MODELS
from infra.catalog.vllm import GIB
from infra.planning.engine_rules import downloaded_bytes
from infra.planning.memory import (
    activation_peak_bytes,
    default_utilization,
    gpu_memory_plan,
    kv_bytes_per_token,
    kv_heads_per_gpu,
    kv_tokens,
    weight_bytes,
)
from tests.builders import cpu_laptop, gpu_box
from tests.helpers import fixed_replicas, plan_of

QWEN7B = MODELS["Qwen/Qwen2.5-7B-Instruct"]
QWEN05B = MODELS["Qwen/Qwen2.5-0.5B-Instruct"]


def test_kv_heads_split_across_tp_and_replicated_beyond_kv_heads() -> None:
    assert [kv_heads_per_gpu(QWEN7B, tp) for tp in (1, 2, 4, 7, 14)] == [4, 2, 1, 1, 1]


@pytest.mark.parametrize(("tp", "expected"), [(1, 57_344), (2, 28_672), (4, 14_336), (7, 14_336)])
def test_kv_bytes_per_token_per_gpu_for_qwen_7b(tp: int, expected: int) -> None:
    # TP=4: one KV head per GPU; TP=7: the 4 KV heads are replicated, still one per GPU.
    assert kv_bytes_per_token(QWEN7B, tp) == expected


def test_fp8_kv_cache_halves_the_bytes() -> None:
    assert kv_bytes_per_token(QWEN7B, 2, kv_cache_dtype="fp8") == 28_672 // 2


def test_pipeline_parallel_holds_a_share_of_the_layers() -> None:
    assert kv_bytes_per_token(QWEN7B, 1, pp=2) == 57_344 // 2


def test_kv_tokens_reproduce_the_third_party_log_line() -> None:
    # A vLLM log for Qwen2-7B's geometry: "Available KV cache memory: 3.41 GiB" -> 63,776 tokens.
    # 3.41 is rounded for display, so the true budget lies within ±0.005 GiB of it.
    low, high = kv_tokens(3.405 * GIB, 57_344), kv_tokens(3.415 * GIB, 57_344)
    assert low <= 63_776 <= high
    assert 63_776 % 16 == 0 and low % 16 == 0  # whole 16-token blocks


def test_unquantized_weights_match_vllm_model_loading_log() -> None:
    # vLLM: "Model loading took 14.25 GiB" for Qwen2.5-7B-Instruct (bf16, TP=1).
    plan = gpu_memory_plan(
        QWEN7B,
        GPUS["h100-80gb"],
        tp=1,
        pp=1,
        utilization=0.92,
        max_model_len=32768,
        max_num_batched_tokens=8192,
        max_num_seqs=1024,
        quantization=None,
        kv_cache_dtype="auto",
    )
    assert plan.weights_gib == pytest.approx(14.25, abs=0.02)


def test_a_prequantized_checkpoint_is_small_on_disk_and_in_memory() -> None:
    awq = MODELS["Qwen/Qwen2.5-7B-Instruct-AWQ"]
    # The published AWQ checkpoint of Qwen2.5-7B-Instruct is about 5.6 GB.
    assert downloaded_bytes(awq) == pytest.approx(5.6e9, rel=0.05)
    assert downloaded_bytes(awq) > QWEN7B.embedding_params * 2  # embeddings stay bf16
    assert weight_bytes(awq, None) == weight_bytes(awq, "awq_marlin") == awq.weight_bytes


def test_fp8_on_the_fly_shrinks_memory_but_not_the_download() -> None:
    in_memory = QWEN7B.linear_params + (QWEN7B.params - QWEN7B.linear_params) * 2
    assert weight_bytes(QWEN7B, "fp8") == pytest.approx(in_memory, rel=1e-6)
    assert downloaded_bytes(QWEN7B) == QWEN7B.weight_bytes  # the bf16 checkpoint
    raw = gpu_box()
    raw["models"][0]["quantization"] = "fp8"
    plan = plan_of(raw).models[0]
    assert plan.weights_on_disk_bytes == QWEN7B.weight_bytes
    assert plan.memory.weights_gib == pytest.approx(in_memory / 2 / GIB + 0.07)


def test_activation_peak_is_dominated_by_sampler_logits_for_qwen_7b() -> None:
    peak = activation_peak_bytes(QWEN7B, tp=2, max_num_batched_tokens=2048, max_num_seqs=256)
    logits = 2 * 256 * 152_064 * 4
    residual = 2 * 2048 * 3584 * 2
    assert peak == residual + logits


def test_single_4090d_replica_memory_plan_worked_example() -> None:
    plan = plan_of(gpu_box()).models[0]
    mem = plan.memory
    weights = QWEN7B.weight_bytes / 2 / GIB + 0.07  # TP=2 halves the weights
    activation = (2 * 2048 * 3584 * 2 + 2 * 256 * 152_064 * 4) / GIB
    # 23.64 GiB as CUDA reports it; CUDA context and NCCL come before vLLM's snapshot and
    # are not charged; 0.1 GiB non-torch after it; 0.5 GiB CUDA-graph estimate.
    kv_budget = 23.64 * 0.92 - weights - 0.1 - activation - 0.5
    assert mem.weights_gib == pytest.approx(weights)
    assert mem.kv_budget_gib == pytest.approx(kv_budget)
    assert mem.kv_bytes_per_token == 28_672
    assert mem.kv_tokens == math.floor(kv_budget * GIB / (16 * 28_672)) * 16 == 511_872
    assert mem.max_concurrency == pytest.approx(511_872 / 32_768)  # ~15.6 requests at 32K


def test_dev_cpu_replica_sizes_the_pod_from_weights_kv_and_runtime() -> None:
    plan = plan_of(cpu_laptop()).models[0]
    assert plan.gpu is None
    # vLLM's CPU platform prefers 128-token blocks (platforms/cpu.py) and the block pool holds
    # one back as its null block (v1/core/block_pool.py):
    # floor(1 GiB / (128 x 12,288 B)) = 682 blocks, 681 usable.
    assert plan.memory.kv_tokens == kv_tokens(1 * GIB, 12_288, 128, 1) == 681 * 128 == 87_168
    assert plan.memory.block_tokens == 128
    weights = QWEN05B.weight_bytes / GIB
    assert plan.resources.memory_gib == math.ceil(weights + 1 + 2)


def test_sharing_divides_the_default_utilization_below_one() -> None:
    assert default_utilization(1) == pytest.approx(0.92)
    assert default_utilization(2) == pytest.approx(0.46)
    assert default_utilization(3) * 3 < 1.0


def test_shared_gpu_pool_places_sharers_on_slices() -> None:
    raw = gpu_box()
    raw["autoscaling"]["enabled"] = False
    raw["models"] = [
        {
            "name": "small",
            "model": "Qwen/Qwen2.5-0.5B-Instruct",
            "pool": "rtx4090d",
            "replicas": 8,
            "gpuShare": 2,
            "maxModelLen": 32768,
        }
    ]
    plan = plan_of(raw)
    pool = plan.pools["rtx4090d"]
    assert pool.time_slices == 2 and pool.slots == 8 and pool.used_slots == 8
    model = plan.models[0]
    assert model.gpu_request == 1
    assert model.memory.utilization == pytest.approx(0.46)


def test_no_surge_when_the_pool_has_no_spare_gpu() -> None:
    plan = plan_of(gpu_box()).models[0]
    assert (plan.rollout.max_surge, plan.rollout.max_unavailable) == (0, 1)


def test_surge_when_a_node_has_room_for_one_more_replica() -> None:
    plan = plan_of(fixed_replicas(gpu_box(), 1)).models[0]
    assert (plan.rollout.max_surge, plan.rollout.max_unavailable) == (1, 0)


def test_default_context_is_native_and_yarn_extends_it() -> None:
    raw = gpu_box()
    del raw["models"][0]["maxModelLen"]
    assert plan_of(raw).models[0].max_model_len == 32_768
    raw["models"][0]["ropeScaling"] = {"type": "yarn", "factor": 4.0}
    raw["models"][0]["tensorParallel"] = 4
    fixed_replicas(raw, 1)
    plan = plan_of(raw).models[0]
    assert plan.max_model_len == 131_072
    assert plan.memory.kv_tokens >= 131_072


def test_placement_first_fit_across_nodes() -> None:
    raw = gpu_box()
    raw["nodePools"][0]["nodes"] = ["a", "b"]
    fixed_replicas(raw, 4)
    pool = plan_of(raw).pools["rtx4090d"]
    assert {n: len(r) for n, r in pool.placement.items()} == {"a": 2, "b": 2}
    # local-path is node-local: no shared volume across the two nodes (planning/cache.py)
    assert plan_of(raw).models[0].cache_per_pod
