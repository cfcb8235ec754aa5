"""Node sizes: GKE machine types that carry GPUs, and what a node leaves to pods."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NodeSize:
    cpu: float  # cores
    memory_gib: float


# GKE machine types (vCPUs, memory GiB) of the GPU families the catalog offers.
MACHINE_TYPES: dict[str, NodeSize] = {
    "g2-standard-4": NodeSize(4, 16),
    "g2-standard-8": NodeSize(8, 32),
    "g2-standard-12": NodeSize(12, 48),
    "g2-standard-16": NodeSize(16, 64),
    "g2-standard-24": NodeSize(24, 96),
    "g2-standard-32": NodeSize(32, 128),
    "g2-standard-48": NodeSize(48, 192),
    "g2-standard-96": NodeSize(96, 384),
    "a2-highgpu-1g": NodeSize(12, 85),
    "a2-highgpu-2g": NodeSize(24, 170),
    "a2-highgpu-4g": NodeSize(48, 340),
    "a2-highgpu-8g": NodeSize(96, 680),
    "a2-ultragpu-1g": NodeSize(12, 170),
    "a2-ultragpu-2g": NodeSize(24, 340),
    "a2-ultragpu-4g": NodeSize(48, 680),
    "a2-ultragpu-8g": NodeSize(96, 1360),
    "a3-highgpu-8g": NodeSize(208, 1872),
}

# GKE reserves for the kubelet and system (docs, "node allocatable"): memory in tiers,
# CPU in tiers, plus the kubelet's 100 MiB hard eviction threshold.
_GKE_MEMORY_TIERS = ((4, 0.25), (4, 0.20), (8, 0.10), (112, 0.06), (float("inf"), 0.02))
_GKE_CPU_TIERS = ((1, 0.06), (1, 0.01), (2, 0.005), (float("inf"), 0.0025))
_GKE_EVICTION_GIB = 100 / 1024


def _tiered(total: float, tiers: tuple[tuple[float, float], ...]) -> float:
    reserved, left = 0.0, total
    for size, share in tiers:
        part = min(left, size)
        reserved += part * share
        left -= part
    return reserved


def gke_allocatable(machine: NodeSize) -> NodeSize:
    """What a GKE node of this machine type offers to pods."""
    return NodeSize(
        machine.cpu - _tiered(machine.cpu, _GKE_CPU_TIERS),
        machine.memory_gib - _tiered(machine.memory_gib, _GKE_MEMORY_TIERS) - _GKE_EVICTION_GIB,
    )


# Requests of the per-node agents the platform puts on every GPU node (device plugin, DCGM
# exporter, node-exporter), rounded up; tests/unit/test_node_fit.py holds it above the sum.
NODE_AGENTS = NodeSize(0.5, 1.0)
