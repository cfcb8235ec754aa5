"""Values for the NVIDIA device plugin Helm release."""

from __future__ import annotations

from collections.abc import Iterable

import yaml

from infra.manifests.common import GPU_RESOURCE, Manifest, gpu_pool_placement

# The device plugin is a tiny Go daemon; these bound it without starving it.
DEVICE_PLUGIN_RESOURCES: Manifest = {
    "requests": {"cpu": "50m", "memory": "64Mi"},
    "limits": {"cpu": "500m", "memory": "256Mi"},
}


def device_plugin_config_name(time_slices: int) -> str:
    return "exclusive" if time_slices <= 1 else f"time-sliced-{time_slices}"


def device_plugin_config(time_slices: int) -> str:
    """One named device-plugin config; nodes choose theirs by label."""
    config: Manifest = {"version": "v1", "flags": {"migStrategy": "none"}}
    if time_slices > 1:
        config["sharing"] = {
            "timeSlicing": {
                # A pod asking for 2 slices could get two slices of one GPU: refuse it.
                "failRequestsGreaterThanOne": True,
                "resources": [{"name": GPU_RESOURCE, "replicas": time_slices}],
            }
        }
    return yaml.safe_dump(config, sort_keys=False)


def device_plugin_values(
    pools: Iterable[str], time_slices: Iterable[int], runtime_class: str | None
) -> Manifest:
    slices = sorted({1, *time_slices})
    values: Manifest = {
        "config": {
            "map": {device_plugin_config_name(n): device_plugin_config(n) for n in slices},
            "default": device_plugin_config_name(1),
        },
        # Only on our GPU pools, whose taint it tolerates.
        **gpu_pool_placement(pools),
        "priorityClassName": "system-node-critical",
        "resources": DEVICE_PLUGIN_RESOURCES,
    }
    if runtime_class:
        values["runtimeClassName"] = runtime_class
    return values
