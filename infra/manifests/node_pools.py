"""On-prem GPU pools: labels and taints patched onto existing nodes, and how pods target them."""

from __future__ import annotations

from infra.config import NodePoolConfig
from infra.manifests.common import GPU_LABEL, POOL_LABEL, POOL_TAINT, Manifest
from infra.manifests.gpu_runtime import device_plugin_config_name

# Lets the NVIDIA device plugin's own default affinity match the node too.
GPU_PRESENT_LABEL = "nvidia.com/gpu.present"
DEVICE_PLUGIN_CONFIG_LABEL = "nvidia.com/device-plugin.config"


def pool_labels(pool: NodePoolConfig, time_slices: int) -> dict[str, str]:
    return {
        POOL_LABEL: pool.name,
        GPU_LABEL: pool.gpu,
        GPU_PRESENT_LABEL: "true",
        DEVICE_PLUGIN_CONFIG_LABEL: device_plugin_config_name(time_slices),
    }


def pool_taint(pool: NodePoolConfig) -> Manifest:
    return {"key": POOL_TAINT, "value": pool.name, "effect": "NoSchedule"}


def node_selector(pool: NodePoolConfig) -> dict[str, str]:
    return {POOL_LABEL: pool.name}


def tolerations(pool: NodePoolConfig) -> list[Manifest]:
    return [{"key": POOL_TAINT, "operator": "Equal", "value": pool.name, "effect": "NoSchedule"}]


ZONE_LABEL = "topology.kubernetes.io/zone"


def node_patch(node: str, pool: NodePoolConfig, time_slices: int) -> Manifest:
    """A server-side apply patch of one Node: only the fields we own (its zone too, where
    the pool gives its nodes failure domains)."""
    node_labels = pool_labels(pool, time_slices)
    if node in pool.node_zones:
        node_labels[ZONE_LABEL] = pool.node_zones[node]
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": node,
            "labels": node_labels,
            # Take over the labels even if a person set them with kubectl before.
            "annotations": {"pulumi.com/patchForce": "true"},
        },
        "spec": {"taints": [pool_taint(pool)]},
    }
