"""What waking a model from zero costs its first caller, phase by phase (planning/wake.py):
a box that stays up against a cloud pool that may have no node left."""

from __future__ import annotations

import math
from typing import Any

from infra.catalog.vllm import VLLM_IMAGE_PULL_GB
from infra.planning.budgets import budgets, startup_parts
from infra.planning.wake import CLOUD_GPU_NODE_SECONDS, SCHEDULE_SECONDS, wake_plan
from tests.builders import gpu_box
from tests.helpers import plan_of


def gke_l4(min_nodes: int) -> dict[str, Any]:
    """Qwen2.5-7B on one L4 per replica, in a GKE pool over three zones, asleep when idle."""
    raw = gpu_box(
        environment="staging",
        cluster={
            "provider": "gke",
            "project": "llm-platform-test",
            "region": "us-central1",
            "zones": ["us-central1-a", "us-central1-b", "us-central1-c"],
            "kubernetesVersion": "1.33",
        },
        nodePools=[
            {
                "name": "l4",
                "gpu": "l4",
                "gpusPerNode": 1,
                "machineType": "g2-standard-8",
                "minNodes": min_nodes,
                "maxNodes": 1,
            }
        ],
        autoscaling={"enabled": True, "minReplicas": 0, "maxReplicas": 3},
        images={"build": False},
    )
    # A new GPU node and its image take minutes: the gateway must wait that long.
    raw["gateway"]["requestTimeoutSeconds"] = 1800
    model = raw["models"][0]
    model.update(pool="l4", tensorParallel=1, serving={"downloadGbps": 0.25})
    model["cache"] = {"storageClass": "premium-rwo"}
    return raw


def test_on_a_box_that_stays_up_waking_is_scheduling_then_the_servers_start() -> None:
    raw = gpu_box(autoscaling={"enabled": True, "minReplicas": 0, "maxReplicas": 2})
    [plan] = plan_of(raw).models
    wake = wake_plan(plan)
    # The node keeps the image; the weights are on the shared cache volume.
    assert wake.parts == {"schedule": SCHEDULE_SECONDS, "imagePull": 0, "download": 0} | (
        startup_parts(plan)
    )
    assert wake.estimate_seconds == math.ceil(sum(wake.parts.values()))
    # Held as long as the startup probe waits, plus the (padded) scheduling.
    factor = plan.model.serving.startup_safety_factor
    assert wake.hold_seconds == math.ceil(SCHEDULE_SECONDS * factor) + (
        budgets(plan).startup.budget_seconds
    )


def test_a_cloud_pool_at_zero_nodes_adds_a_node_an_image_and_a_download() -> None:
    [plan] = plan_of(gke_l4(min_nodes=0)).models
    parts = wake_plan(plan).parts
    assert parts["schedule"] == CLOUD_GPU_NODE_SECONDS
    assert parts["imagePull"] == VLLM_IMAGE_PULL_GB / 0.25
    # A cloud pool gives each pod its own disk: the weights come down again.
    assert parts["download"] == round(plan.weights_on_disk_bytes / 0.25e9, 1)
    assert wake_plan(plan).estimate_seconds > 400


def test_a_cloud_pool_that_keeps_a_node_pulls_no_image() -> None:
    [plan] = plan_of(gke_l4(min_nodes=1)).models
    parts = wake_plan(plan).parts
    assert (parts["schedule"], parts["imagePull"]) == (SCHEDULE_SECONDS, 0)
    assert parts["download"] > 0
