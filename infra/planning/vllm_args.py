"""vLLM command-line arguments and environment for the pinned version (0.33)."""

from __future__ import annotations

import json

from infra.catalog.vllm import SERVER_PORT
from infra.planning.capacity import ServingPlan

# Where the model cache volume is mounted, and the Hugging Face cache inside it.
CACHE_MOUNT = "/models"
# Writable scratch for a read-only root filesystem: HOME, torch.compile, Triton caches.
SCRATCH_MOUNT = "/tmp"
# Hugging Face libraries still want a writable home; the weights come from model_path().
HF_HOME = f"{SCRATCH_MOUNT}/hf"
# vLLM's compile cache: its own volume where one outlives the pod (shared caches), else
# scratch (per-pod caches on cloud pools, which are recreated with the pod anyway).
COMPILE_CACHE_MOUNT = "/var/cache/vllm"


def compile_cache_dir(plan: ServingPlan) -> str:
    return f"{SCRATCH_MOUNT}/vllm" if plan.cache_per_pod else COMPILE_CACHE_MOUNT


def model_path(plan: ServingPlan) -> str:
    """Where the model loader put this revision: vLLM loads it as a local directory."""
    return f"{CACHE_MOUNT}/{plan.model.model}/{plan.model.revision}"


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def hf_overrides(plan: ServingPlan) -> str | None:
    """Static YaRN for 0.33: rope_parameters plus the raised max_position_embeddings."""
    rope, longest = plan.model.rope_scaling, plan.yarn_max_position
    if rope is None or longest is None:
        return None
    native = plan.geometry.max_position_embeddings
    return json.dumps(
        {
            "rope_parameters": {
                "rope_theta": _number(plan.geometry.rope_theta),
                "rope_type": rope.type,
                "factor": float(rope.factor),
                "original_max_position_embeddings": native,
            },
            "max_position_embeddings": longest,
        },
        separators=(",", ":"),
    )


# `vllm serve MODEL`: the positional form (`--model` with `serve` is deprecated).
VLLM_COMMAND = ["vllm", "serve"]


def vllm_args(plan: ServingPlan, shutdown_timeout_seconds: int) -> list[str]:
    m = plan.model
    args = [
        model_path(plan),
        "--served-model-name",
        m.served_name,
        "--port",
        str(SERVER_PORT),
        "--max-model-len",
        str(plan.max_model_len),
        "--max-num-seqs",
        str(plan.max_num_seqs),
        "--max-num-batched-tokens",
        str(plan.max_num_batched_tokens),
        "--shutdown-timeout",
        str(shutdown_timeout_seconds),
    ]
    if plan.gpu is None:
        args += ["--dtype", "bfloat16"]
    else:
        args += [
            "--tensor-parallel-size",
            str(m.tensor_parallel),
            "--gpu-memory-utilization",
            f"{plan.memory.utilization:.2f}",
        ]
        if m.pipeline_parallel > 1:
            args += ["--pipeline-parallel-size", str(m.pipeline_parallel)]
    if m.kv_cache_dtype != "auto":
        args += ["--kv-cache-dtype", m.kv_cache_dtype]
    if m.quantization is not None and plan.geometry.quantization is None:
        # On-the-fly only: a pre-quantized checkpoint names its method in config.json, and
        # vLLM picks the kernel for the GPU from it (0.33 maps awq/awq_marlin and
        # gptq/gptq_marlin to the same configs), so the flag adds nothing there.
        args += ["--quantization", m.quantization]
    if plan.no_p2p_tp:
        # Custom all-reduce needs P2P; say so rather than let vLLM probe and warn.
        args += ["--disable-custom-all-reduce"]
    if plan.ttft_buckets:
        buckets = {"time_to_first_token": [_number(b) for b in plan.ttft_buckets]}
        args += ["--custom-histogram-buckets", json.dumps(buckets, separators=(",", ":"))]
    overrides = hf_overrides(plan)
    if overrides is not None:
        args += ["--hf-overrides", overrides]
    return [*args, *m.extra_args]


def vllm_env(plan: ServingPlan) -> dict[str, str]:
    env = {
        "HF_HOME": HF_HOME,
        "HF_HUB_OFFLINE": "1",  # the loader filled the cache volume; never call the hub
        "HOME": SCRATCH_MOUNT,
        "VLLM_CACHE_ROOT": compile_cache_dir(plan),
        "TRITON_CACHE_DIR": f"{compile_cache_dir(plan)}/triton",
        "VLLM_NO_USAGE_STATS": "1",
        "DO_NOT_TRACK": "1",
    }
    if plan.no_p2p_tp:
        env["NCCL_P2P_DISABLE"] = "1"  # no P2P on these cards: NCCL hangs without this
    if plan.gpu is None:
        env["VLLM_CPU_KVCACHE_SPACE"] = str(plan.model.cpu.kv_cache_gib)
    return env
