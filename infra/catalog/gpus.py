"""GPU specs. `memory_gib` is the total the driver reports (nvidia-smi MiB / 1024),
which is what vLLM's `--gpu-memory-utilization` is a fraction of."""

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


GPUS: dict[str, GpuSpec] = {
    # Consumer Ada cards: no P2P at all (NCCL must not try it), no DCGM profiling metrics.
    "rtx-4090d": GpuSpec("NVIDIA GeForce RTX 4090 D", 23.56, False, None, False),
    "rtx-4090": GpuSpec("NVIDIA GeForce RTX 4090", 23.56, False, None, False),
    "l4": GpuSpec("NVIDIA L4", 22.49, True, None, True, "nvidia-l4"),
    "l40s": GpuSpec("NVIDIA L40S", 44.99, True, None, True),
    "a10g": GpuSpec("NVIDIA A10G", 22.49, True, None, True),
    "a100-40gb": GpuSpec("NVIDIA A100-SXM4-40GB", 39.39, True, 600, True, "nvidia-tesla-a100"),
    "a100-80gb": GpuSpec("NVIDIA A100-SXM4-80GB", 79.15, True, 600, True, "nvidia-a100-80gb"),
    "h100-80gb": GpuSpec("NVIDIA H100 80GB HBM3", 79.11, True, 900, True, "nvidia-h100-80gb"),
    "h200": GpuSpec("NVIDIA H200", 139.8, True, 900, True, "nvidia-h200-141gb"),
}
