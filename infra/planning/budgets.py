"""Probe and drain budgets, derived from the model's size and the serving policy."""

from __future__ import annotations

import math
from dataclasses import dataclass

from infra.catalog.vllm import CUDA_GRAPH_CAPTURE_SECONDS, TORCH_COMPILE_SECONDS
from infra.planning.plans import ServingPlan


@dataclass(frozen=True)
class Probe:
    period_seconds: int
    failure_threshold: int
    timeout_seconds: int

    @property
    def budget_seconds(self) -> int:
        return self.period_seconds * self.failure_threshold


@dataclass(frozen=True)
class Budgets:
    startup_estimate_seconds: int  # read weights + compile (+ CUDA graphs), unpadded
    startup: Probe
    readiness: Probe
    liveness: Probe
    pre_stop_seconds: int
    shutdown_timeout_seconds: int
    termination_grace_seconds: int


def _read_seconds(plan: ServingPlan) -> float:
    return plan.weights_on_disk_bytes / (plan.model.serving.cache_read_gbps * 1e9)


def startup_parts(plan: ServingPlan) -> dict[str, float]:
    """Cold start once weights are in the cache volume, phase by phase (seconds)."""
    return {
        "readWeights": round(_read_seconds(plan), 1),
        "torchCompile": TORCH_COMPILE_SECONDS,
        "cudaGraphCapture": CUDA_GRAPH_CAPTURE_SECONDS if plan.gpu is not None else 0,
    }


def startup_estimate_seconds(plan: ServingPlan) -> int:
    """Cold start once weights are in the cache volume: read them, compile, capture graphs."""
    parts = startup_parts(plan)
    return math.ceil(_read_seconds(plan) + parts["torchCompile"] + parts["cudaGraphCapture"])


def budgets(plan: ServingPlan) -> Budgets:
    policy = plan.model.serving
    period = policy.probe_period_seconds
    estimate = startup_estimate_seconds(plan)
    padded = estimate * policy.startup_safety_factor
    return Budgets(
        startup_estimate_seconds=estimate,
        startup=Probe(period, math.ceil(padded / period), policy.probe_timeout_seconds),
        readiness=Probe(period, policy.readiness_failure_threshold, policy.probe_timeout_seconds),
        liveness=Probe(period, policy.liveness_failure_threshold, policy.probe_timeout_seconds),
        pre_stop_seconds=policy.pre_stop_seconds,
        shutdown_timeout_seconds=policy.shutdown_timeout_seconds,
        # The kubelet counts preStop inside the grace period: SIGTERM comes after preStop,
        # then vLLM drains for --shutdown-timeout, then the process needs a moment to exit.
        termination_grace_seconds=policy.pre_stop_seconds
        + policy.shutdown_timeout_seconds
        + policy.termination_margin_seconds,
    )
