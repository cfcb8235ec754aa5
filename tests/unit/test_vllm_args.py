"""The vLLM command line and environment for the pinned version."""

import json

from infra.planning.vllm_args import hf_overrides, vllm_args, vllm_env
from tests.builders import cpu_laptop, gpu_box
from tests.helpers import arg_value, fixed_replicas, plan_of


def single_4090d(**changes: object) -> list[str]:
    raw = gpu_box()
    raw["models"][0].update(changes)
    return vllm_args(plan_of(raw).models[0], shutdown_timeout_seconds=60)


def test_single_4090d_arguments() -> None:
    args = single_4090d()
    # `vllm serve MODEL`: the directory the loader filled with the pinned revision.
    assert args[0] == "/models/Qwen/Qwen2.5-7B-Instruct/a09a35458c702b33eeacc393d103063234e8bc28"
    assert "--revision" not in args
    assert arg_value(args, "--tensor-parallel-size") == "2"
    assert arg_value(args, "--max-model-len") == "32768"
    assert arg_value(args, "--gpu-memory-utilization") == "0.92"
    assert arg_value(args, "--served-model-name") == "Qwen/Qwen2.5-7B-Instruct"
    assert arg_value(args, "--shutdown-timeout") == "60"
    # vLLM's EngineArgs.get_batch_defaults: GPUs under 70 GiB get 2048 tokens, 256 sequences.
    assert arg_value(args, "--max-num-batched-tokens") == "2048"
    assert arg_value(args, "--max-num-seqs") == "256"
    assert "--disable-custom-all-reduce" in args
    assert "--model" not in args and "--hf-overrides" not in args


def test_no_p2p_cards_get_nccl_p2p_disabled_only_with_several_gpus() -> None:
    raw = gpu_box()
    env = vllm_env(plan_of(raw).models[0])
    assert env["NCCL_P2P_DISABLE"] == "1" and env["HF_HUB_OFFLINE"] == "1"
    raw["models"][0].update(tensorParallel=1)
    single = plan_of(raw).models[0]
    assert "NCCL_P2P_DISABLE" not in vllm_env(single)
    assert "--disable-custom-all-reduce" not in vllm_args(single, 60)


def test_p2p_cards_keep_custom_all_reduce() -> None:
    raw = gpu_box()
    raw["nodePools"][0]["gpu"] = "h100-80gb"
    plan = plan_of(raw).models[0]
    assert "--disable-custom-all-reduce" not in vllm_args(plan, 60)
    assert "NCCL_P2P_DISABLE" not in vllm_env(plan)
    # vLLM's EngineArgs.get_batch_defaults: GPUs of 70 GiB and more get 8192 / 1024.
    assert arg_value(vllm_args(plan, 60), "--max-num-batched-tokens") == "8192"


def test_an_a100_80gb_keeps_the_small_batch_defaults_as_vllm_does() -> None:
    raw = gpu_box()
    raw["nodePools"][0]["gpu"] = "a100-80gb"
    args = vllm_args(plan_of(raw).models[0], 60)
    assert arg_value(args, "--max-num-batched-tokens") == "2048"
    assert arg_value(args, "--max-num-seqs") == "256"


def test_yarn_emits_the_033_hf_overrides_form() -> None:
    raw = gpu_box()
    raw["models"][0].update(
        ropeScaling={"type": "yarn", "factor": 4}, maxModelLen=131072, tensorParallel=4
    )
    fixed_replicas(raw, 1)
    plan = plan_of(raw).models[0]
    expected = (
        '{"rope_parameters":{"rope_theta":1000000,"rope_type":"yarn","factor":4.0,'
        '"original_max_position_embeddings":32768},"max_position_embeddings":131072}'
    )
    assert hf_overrides(plan) == expected
    args = vllm_args(plan, 60)
    assert json.loads(arg_value(args, "--hf-overrides") or "") == json.loads(expected)
    assert "--rope-scaling" not in args  # gone since 0.12


def test_quantization_kv_dtype_and_extra_args_are_passed() -> None:
    args = single_4090d(kvCacheDtype="fp8", quantization="fp8", extraArgs=["--enable-lora"])
    assert arg_value(args, "--kv-cache-dtype") == "fp8"
    assert arg_value(args, "--quantization") == "fp8"
    assert args[-1] == "--enable-lora"


def test_cpu_backend_arguments_and_kv_space() -> None:
    plan = plan_of(cpu_laptop()).models[0]
    args = vllm_args(plan, 60)
    assert arg_value(args, "--dtype") == "bfloat16"
    assert "--tensor-parallel-size" not in args and "--gpu-memory-utilization" not in args
    assert vllm_env(plan)["VLLM_CPU_KVCACHE_SPACE"] == "1"
