"""What vLLM (the pinned version) does, as the planner must model it. Sources are vLLM
0.33.0's own files (paths below are inside the `vllm` package); the engine conformance
suite (tests/engines) reads the defaults back from vLLM itself."""

from __future__ import annotations

GIB = 1024**3

# --gpu-memory-utilization default in 0.33 (0.9 up to 0.12): a fraction of TOTAL memory.
DEFAULT_GPU_MEMORY_UTILIZATION = 0.92
# KV cache is allocated in blocks of this many tokens (GPU); the CPU backend uses larger
# blocks and holds one back as its null block.
KV_BLOCK_TOKENS = 16
KV_BLOCK_TOKENS_CPU = 128
CPU_NULL_BLOCKS = 1

# Scheduler defaults of the OpenAI server by the GPU's total memory and name
# (engine/arg_utils.py, EngineArgs.get_batch_defaults): 160 GiB and more get the largest;
# 70 GiB and more the large ones, except A100s (vLLM PR #17885: large batches cost them
# throughput); the rest the small ones.
HUGE_GPU_GIB = 160.0
LARGE_GPU_GIB = 70.0
LARGE_BATCH_EXCLUDED = ("a100",)  # lowercase parts of a device name kept on the small tier
BATCH_DEFAULTS_SMALL_GPU = (2048, 256)  # (max_num_batched_tokens, max_num_seqs)
BATCH_DEFAULTS_LARGE_GPU = (8192, 1024)
BATCH_DEFAULTS_HUGE_GPU = (16384, 1024)
# CPU backend: chunked prefill budget and sequence cap we pass explicitly (no GPU heuristic).
BATCH_DEFAULTS_CPU = (2048, 64)

# What a worker holds before vLLM's baseline memory snapshot (CUDA context, cuBLAS handles,
# and NCCL's buffers when there are several ranks; v1/worker/gpu_worker.py takes the
# snapshot after all of them). Not charged to the KV budget: it must fit in the part of
# the GPU that gpu_memory_utilization leaves out (vLLM refuses to start when free memory
# at the snapshot is below total x utilization).
STARTUP_BASELINE_GIB = 0.5
NCCL_BASELINE_GIB_PER_RANK = 0.25
# Memory allocated outside torch after the snapshot (attention-backend and communication
# buffers created during the profiling run): charged to the budget. Estimate.
POST_SNAPSHOT_NON_TORCH_GIB = 0.1
# CUDA-graph memory: 0.33 profiles it (VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS=1, the
# default) and subtracts it from the KV budget. Estimate for the default capture sizes
# (up to 512 tokens); not yet calibrated against 0.33 logs (see the issue tracker).
CUDA_GRAPH_GIB = 0.5
# Extra non-parameter tensors allocated with the weights (rotary caches, buffers):
# "Model loading took 14.25 GiB" for Qwen2.5-7B whose parameters are 14.18 GiB.
WEIGHT_OVERHEAD_GIB = 0.07

# Quantization in 0.33 (`--quantization`), two kinds:
# - on the fly: vLLM quantizes a bf16 checkpoint's linear layers while loading it (the
#   full checkpoint is still downloaded and read); bytes per linear weight in memory.
ON_THE_FLY_QUANTIZATION: dict[str, float] = {
    "fp8": 1.0,
    "fp8_per_tensor": 1.0,
    "fp8_per_channel": 1.0,
    "fp8_per_block": 1.0,
}
# - pre-quantized: the checkpoint's config.json names the method; these flags only pick
#   the kernel for it, and vLLM refuses them on a checkpoint that is not quantized.
PREQUANTIZED_KERNELS: dict[str, tuple[str, ...]] = {
    "awq": ("awq", "awq_marlin"),
    "gptq": ("gptq", "gptq_marlin"),
}
KV_DTYPE_BYTES: dict[str, int | None] = {
    "auto": None,  # the model's dtype
    "fp8": 1,
    "fp8_e4m3": 1,
    "fp8_e5m2": 1,
}

# vLLM 0.33's default time-to-first-token histogram bounds (v1/metrics/buckets.py). The
# platform adds the TTFT objective to them (--custom-histogram-buckets), so "share of
# requests within the objective" is read off a bucket exactly, never interpolated.
TTFT_DEFAULT_BUCKETS: tuple[float, ...] = (
    0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5,
    10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0,
)  # fmt: skip

# Container port of the OpenAI-compatible server and its health endpoint.
SERVER_PORT = 8000
HEALTH_PATH = "/health"

# Shared memory for tensor parallelism: NCCL's SHM transport (used when P2P is off) keeps
# per-peer buffers there, and vLLM's multiprocessing broadcast queue lives there too.
SHM_BASE_GIB = 1
SHM_PER_PEER_GIB = 1

# Host memory per vLLM process (API server, engine core, one worker per GPU when TP > 1):
# Python, torch and CUDA libraries resident, measured ~2.5-3 GiB RSS each.
HOST_GIB_PER_PROCESS = 3

# The model loader (init container) requests, as the manifests set them.
LOADER_CPU = 0.5
LOADER_MEMORY_GIB = 1

# Cold-start phases after the weights are read, for a 7B model from local NVMe, as vLLM's
# startup log times them ("torch.compile takes … s in total", "Graph capturing finished in
# … secs"): torch.compile ~15 s, CUDA-graph capture ~20 s. The CPU backend compiles but
# captures none.
TORCH_COMPILE_SECONDS = 15
CUDA_GRAPH_CAPTURE_SECONDS = 20
# What a node without it pulls for the CUDA server image: "around 12 GB" for
# vllm/vllm-openai (vllm-project/vllm#27154, 2025-10). Counted only where a model may wake
# on a new node (a cloud pool that scales to zero nodes); a node that stays keeps the image.
VLLM_IMAGE_PULL_GB = 12.0
# vLLM's CPU release image (x86_64): torch's CPU build without CUDA; an estimate.
VLLM_CPU_IMAGE_PULL_GB = 3.0
# Our model-loader image (python slim + boto3, images/model-loader): an estimate.
LOADER_IMAGE_PULL_GB = 0.1

# vLLM's compile cache (VLLM_CACHE_ROOT: torch.compile artifacts per model and config hash,
# and Triton kernels): kept on a volume that outlives the pod, so a rollout or scale-up
# loads compiled graphs instead of compiling again. Sized for a few revisions.
COMPILE_CACHE_GIB = 4

# Writable scratch for HOME, torch.compile and Triton kernel caches (root fs is read-only).
SCRATCH_GIB = 8
