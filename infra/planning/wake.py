"""Scale to zero: how long a sleeping model takes to answer its first request, how long the
gateway holds that request, and whether the gateway's own deadline leaves room for it. Pure.

The first request waits for: a node with a free GPU (a new cloud node when the pool may
have scaled to none), the image (only a new node lacks it), the weights (a pod with its own
cache volume downloads them again), then the server's start: read weights, compile,
capture CUDA graphs (the startup estimate of budgets.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from infra.catalog.vllm import VLLM_IMAGE_PULL_GB
from infra.config import Problem
from infra.planning.budgets import budgets, startup_parts
from infra.planning.plans import ServingPlan

# A pod on a node that stays up: scheduling, volume attach, container start.
SCHEDULE_SECONDS = 5
# A new GKE GPU node: create, boot, install the NVIDIA driver (an estimate: GKE says
# "several minutes"; measure yours and raise serving.startupSafetyFactor if slower).
CLOUD_GPU_NODE_SECONDS = 300


@dataclass(frozen=True)
class WakePlan:
    parts: dict[str, float]  # seconds per phase, in order
    estimate_seconds: int  # the sum: what the first caller waits, typically
    hold_seconds: int  # how long the first request is held before a 503 (padded)


def new_node(plan: ServingPlan) -> bool:
    """The model may wake where no node is: a cloud pool allowed to shrink to zero nodes."""
    return plan.pool is not None and plan.pool.cloud and plan.pool.min_nodes == 0


def wake_parts(plan: ServingPlan) -> dict[str, float]:
    bandwidth = plan.model.serving.download_gbps
    fresh = new_node(plan)
    parts: dict[str, float] = {
        "schedule": CLOUD_GPU_NODE_SECONDS if fresh else SCHEDULE_SECONDS,
        "imagePull": round(VLLM_IMAGE_PULL_GB / bandwidth, 1) if fresh else 0,
        "download": round(plan.weights_on_disk_bytes / (bandwidth * 1e9), 1)
        if plan.cache_per_pod
        else 0,
    }
    return parts | startup_parts(plan)


def wake_plan(plan: ServingPlan) -> WakePlan:
    """The hold is the startup probe's budget (the padded start) plus the phases before
    it, padded alike: past it the replica is not merely slow but failing."""
    parts = wake_parts(plan)
    before_start = parts["schedule"] + parts["imagePull"] + parts["download"]
    factor = plan.model.serving.startup_safety_factor
    estimate = math.ceil(sum(parts.values()))
    return WakePlan(
        parts=parts,
        estimate_seconds=estimate,
        hold_seconds=math.ceil(before_start * factor) + budgets(plan).startup.budget_seconds,
    )


def wake_problems(request_timeout_seconds: int, plans: list[ServingPlan]) -> list[Problem]:
    """A held request still has to be answered inside the gateway's deadline: refuse a
    sleeping model whose wake-up alone may use it up."""
    problems = []
    for p in plans:
        if p.scaling is None or not p.sleeps:
            continue
        wake = wake_plan(p)
        if wake.hold_seconds < request_timeout_seconds:
            continue
        phases = ", ".join(f"{k} {v:g}" for k, v in wake.parts.items() if v)
        problems.append(
            Problem(
                p.scaling.min_path,
                f"0: waking {p.model.name!r} may take up to {wake.hold_seconds} s (estimate "
                f"{wake.estimate_seconds} s: {phases}; padded like the startup probe), "
                f"but gateway.requestTimeoutSeconds is {request_timeout_seconds}: the "
                "gateway would give up before the first request is answered; raise it above "
                f"{wake.hold_seconds} or keep minReplicas ≥ 1",
            )
        )
    return problems
