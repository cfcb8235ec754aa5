"""What vLLM (the pinned version) does, as the planner must model it. See FACTS.md."""

from __future__ import annotations

GIB = 1024**3

# --gpu-memory-utilization default in 0.33 (0.9 up to 0.12): a fraction of TOTAL memory.
DEFAULT_GPU_MEMORY_UTILIZATION = 0.92
# KV cache is allocated in blocks of this many tokens.
KV_BLOCK_TOKENS = 16

# Scheduler defaults depend on the GPU's memory (FACTS.md: < 70 GiB vs >= 70 GiB).
LARGE_GPU_GIB = 70.0
BATCH_DEFAULTS_SMALL_GPU = (2048, 256)  # (max_num_batched_tokens, max_num_seqs)
BATCH_DEFAULTS_LARGE_GPU = (8192, 1024)
# CPU backend: chunked prefill budget and sequence cap we pass explicitly (no GPU heuristic).
BATCH_DEFAULTS_CPU = (2048, 64)

# Memory vLLM uses outside torch's allocator, per GPU: CUDA context and cuBLAS workspace;
# NCCL adds its buffers when there is more than one rank.
NON_TORCH_GIB = 0.5
NCCL_GIB_PER_RANK = 0.25
# CUDA-graph memory, subtracted from the KV budget by default in 0.33. vLLM logs it at
# capture time; 7B-class models at the default capture sizes take about 0.5 GiB.
CUDA_GRAPH_GIB = 0.5
# Extra non-parameter tensors allocated with the weights (rotary caches, buffers):
# "Model loading took 14.25 GiB" for Qwen2.5-7B whose parameters are 14.18 GiB.
WEIGHT_OVERHEAD_GIB = 0.07

# Quantization: bytes per linear-layer weight, including group scales/zeros
# (int4 with group size 128: 4 bits + fp16 scale/128 + 4-bit zero/128 ≈ 4.16 bits).
QUANTIZED_LINEAR_BYTES: dict[str, float] = {
    "awq": 4.16 / 8,
    "awq_marlin": 4.16 / 8,
    "gptq": 4.16 / 8,
    "gptq_marlin": 4.16 / 8,
    "fp8": 1.0,
}
KV_DTYPE_BYTES: dict[str, int | None] = {
    "auto": None,  # the model's dtype
    "fp8": 1,
    "fp8_e4m3": 1,
    "fp8_e5m2": 1,
}

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

# Cold-start phases after the weights are read (FACTS.md, 7B from local NVMe):
# torch.compile ~15 s, CUDA-graph capture ~20 s. The CPU backend compiles but captures none.
TORCH_COMPILE_SECONDS = 15
CUDA_GRAPH_CAPTURE_SECONDS = 20

# Writable scratch for HOME, torch.compile and Triton kernel caches (root fs is read-only).
SCRATCH_GIB = 8
