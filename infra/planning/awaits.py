"""How long a first `pulumi up` may wait for each thing it creates, derived from what that
thing does before it is ready. Pure.

The provider awaits a Deployment until its replicas are ready, a Job until it completes,
and a Helm release until Helm's wait is over; unless told otherwise it gives up after 10
minutes (a release: 5 per phase), and the update fails with "created, but failed to fully
initialize" while the pods go on starting (infra/catalog/provider.py). So each awaited
workload gets a timeout of at least its first-install budget:

- a model's replica on an empty node: schedule (a new cloud node first where the pool may
  start at none), pull the server image (and the loader's), download the weights, then
  start (read them, compile, capture CUDA graphs), all padded by the model's
  `serving.startupSafetyFactor`; a rollout replaces the replicas in waves of maxSurge +
  maxUnavailable, each wave a first install at worst (a new revision downloads again);
- a DR primary's snapshot Job: pull its image, download the weights, upload them;
- a Helm release: pull the chart's images (catalog/chart_images.py) and start, padded,
  never below Helm's default.
Bandwidths are the model's `serving.downloadGbps`; for a release, the stack's slowest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from infra.catalog.chart_images import CHART_IMAGES
from infra.catalog.provider import HELM_DEFAULT_TIMEOUT_SECONDS
from infra.catalog.vllm import (
    LOADER_IMAGE_PULL_GB,
    VLLM_CPU_IMAGE_PULL_GB,
    VLLM_IMAGE_PULL_GB,
)
from infra.planning.budgets import startup_parts
from infra.planning.plans import ServingPlan
from infra.planning.wake import CLOUD_GPU_NODE_SECONDS, SCHEDULE_SECONDS

# A chart's controllers, once pulled: start, pass readiness, run their hooks.
RELEASE_START_SECONDS = 60
MINUTE = 60


@dataclass(frozen=True)
class AwaitPlan:
    """A model's first install and the awaits it gets."""

    parts: dict[str, float]  # seconds per phase of one replica's first install, in order
    estimate_seconds: int  # the sum: a first install, typically
    budget_seconds: int  # padded by serving.startupSafetyFactor: past it, it is failing
    create_seconds: int  # the Deployment's create timeout (the budget, whole minutes)
    update_seconds: int  # its update timeout: a rollout in waves, each a first install
    snapshot_seconds: int | None  # a DR primary's snapshot Job; None without one


def _minutes(seconds: float) -> int:
    """Rounded up to whole minutes (timeouts read as minutes)."""
    return math.ceil(seconds / MINUTE) * MINUTE


def server_image_gb(plan: ServingPlan) -> float:
    return VLLM_IMAGE_PULL_GB if plan.gpu is not None else VLLM_CPU_IMAGE_PULL_GB


def install_parts(plan: ServingPlan, loader_image: bool) -> dict[str, float]:
    """One replica's first install on a node that has nothing yet, phase by phase.
    `loader_image`: the loader runs from its own image (built), pulled beside the server's."""
    bandwidth = plan.model.serving.download_gbps
    cloud_from_zero = plan.pool is not None and plan.pool.cloud and plan.pool.min_nodes == 0
    images = server_image_gb(plan) + (LOADER_IMAGE_PULL_GB if loader_image else 0)
    parts: dict[str, float] = {
        "schedule": CLOUD_GPU_NODE_SECONDS if cloud_from_zero else SCHEDULE_SECONDS,
        "imagePull": round(images / bandwidth, 1),
        "download": round(plan.weights_on_disk_bytes / (bandwidth * 1e9), 1),
    }
    return parts | startup_parts(plan)


def _waves(plan: ServingPlan) -> int:
    """Rollout waves: replicas replaced maxSurge + maxUnavailable at a time."""
    step = max(1, plan.rollout.max_surge + plan.rollout.max_unavailable)
    return math.ceil(plan.max_replicas / step)


def _snapshot_seconds(plan: ServingPlan, loader_image: bool) -> int:
    """The snapshot Job: its image (the loader's, or the server's it runs on), the
    download from the Hub and the upload into the store, padded like the replicas."""
    serving = plan.model.serving
    image = LOADER_IMAGE_PULL_GB if loader_image else server_image_gb(plan)
    transfer = 2 * plan.weights_on_disk_bytes / (serving.download_gbps * 1e9)
    estimate = SCHEDULE_SECONDS + image / serving.download_gbps + transfer
    return _minutes(estimate * serving.startup_safety_factor)


def await_plan(plan: ServingPlan, *, loader_image: bool, snapshot: bool) -> AwaitPlan:
    """`loader_image`: the stack builds the loader's image; `snapshot`: a DR primary,
    whose Job copies the weights into its store before the model starts."""
    parts = install_parts(plan, loader_image)
    estimate = sum(parts.values())
    budget = math.ceil(estimate * plan.model.serving.startup_safety_factor)
    return AwaitPlan(
        parts=parts,
        estimate_seconds=math.ceil(estimate),
        budget_seconds=budget,
        create_seconds=_minutes(budget),
        update_seconds=_minutes(budget) * _waves(plan),
        snapshot_seconds=_snapshot_seconds(plan, loader_image) if snapshot else None,
    )


def release_budget_seconds(images_gb: float, link_gbps: float, safety_factor: float) -> int:
    """A release: its images' pull at the site's link, then its controllers' start,
    padded; never below Helm's own default."""
    padded = (images_gb / link_gbps + RELEASE_START_SECONDS) * safety_factor
    return max(HELM_DEFAULT_TIMEOUT_SECONDS, _minutes(padded))


def release_timeouts(plans: list[ServingPlan]) -> dict[str, int]:
    """Per chart (versions.CHARTS key), the timeout its release gets: the stack's slowest
    download link and largest safety factor over the chart's images."""
    link = min(p.model.serving.download_gbps for p in plans)
    factor = max(p.model.serving.startup_safety_factor for p in plans)
    return {
        key: release_budget_seconds(sum(images.values()), link, factor)
        for key, images in CHART_IMAGES.items()
    }
