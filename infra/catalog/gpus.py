"""GPU specs. `memory_gib` is the total CUDA reports (cudaMemGetInfo, as vLLM logs it),
which is what `--gpu-memory-utilization` is a fraction of; it is a little below the
nvidia-smi figure. Where a CUDA figure was published it is used (sources beside it)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GpuSpec:
    name: str
    memory_gib: float
    p2p: bool  # GPU peer-to-peer (PCIe P2P or NVLink) usable by NCCL
    nvlink_gbps: float | None  # None: no NVLink
    dcgm_profiling: bool  # DCGM_FI_PROF_* metrics available
    gke_accelerator: str | None = None  # GKE accelerator type, where GKE offers it


# CUDA totals seen in public logs: RTX 4090 class 23.64 GiB and L4 22.03 GiB (PyTorch
# out-of-memory messages, "total capacity of …"), A10/A10G 22.07 GiB and H100 80GB
# 79.22 GiB (vLLM's memory profiling log; H100: vllm-project/vllm#10511). Others: nvidia-smi.
GPUS: dict[str, GpuSpec] = {
    # Consumer Ada cards: no P2P at all (NCCL must not try it), no DCGM profiling metrics.
    "rtx-4090d": GpuSpec("NVIDIA GeForce RTX 4090 D", 23.64, False, None, False),
    "rtx-4090": GpuSpec("NVIDIA GeForce RTX 4090", 23.64, False, None, False),
    "l4": GpuSpec("NVIDIA L4", 22.03, True, None, True, "nvidia-l4"),
    "l40s": GpuSpec("NVIDIA L40S", 44.99, True, None, True),
    "a10g": GpuSpec("NVIDIA A10G", 22.07, True, None, True),
    "a100-40gb": GpuSpec("NVIDIA A100-SXM4-40GB", 39.39, True, 600, True, "nvidia-tesla-a100"),
    "a100-80gb": GpuSpec("NVIDIA A100-SXM4-80GB", 79.15, True, 600, True, "nvidia-a100-80gb"),
    "h100-80gb": GpuSpec("NVIDIA H100 80GB HBM3", 79.22, True, 900, True, "nvidia-h100-80gb"),
    "h200": GpuSpec("NVIDIA H200", 139.8, True, 900, True, "nvidia-h200-141gb"),
}
