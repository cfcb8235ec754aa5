"""The `autoscaling` section (and each model's override): KEDA bounds and triggers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from infra.catalog.metrics import VLLM_RENAMED
from infra.config.base import Problem, Section, problems_if

if TYPE_CHECKING:
    from infra.config.stack import StackConfig

# Scale to zero: how long the last replica outlives the last request. Shorter than a few
# minutes, a conversation's pauses would each cost the next message a cold start.
DEFAULT_IDLE_SECONDS = 900
MIN_IDLE_SECONDS = 60
MAX_IDLE_SECONDS = 7 * 24 * 3600

# What a KEDA trigger may scale on, and the bound of each target.
AUTOSCALING_TARGETS: dict[str, tuple[str, float]] = {
    "num_requests_waiting": ("queued requests per replica", float("inf")),
    "kv_cache_usage_perc": ("average KV-cache usage, 0..1", 1.0),
    "gpu_utilization": ("average GPU utilization of the model's pods, percent", 100.0),
}


class ModelAutoscaling(Section):
    """Per-model overrides of the stack's `autoscaling` section."""

    enabled: bool | None = Field(default=None, description="None = the stack's")
    min_replicas: int | None = Field(
        default=None, ge=0, le=64, description="0: the model sleeps when idle (scale to zero)"
    )
    max_replicas: int | None = Field(default=None, ge=1, le=64, description="None = the stack's")
    targets: dict[str, float] | None = Field(
        default=None, description="trigger -> target, replacing the stack's; None = the stack's"
    )
    idle_seconds: int | None = Field(
        default=None, ge=MIN_IDLE_SECONDS, le=MAX_IDLE_SECONDS, description="None = the stack's"
    )


class AutoscalingConfig(Section):
    """KEDA scaling of every model on vLLM's queue and KV-cache metrics (and GPU use)."""

    enabled: bool = Field(default=False, description="scale models with KEDA ScaledObjects")
    min_replicas: int | None = Field(
        default=None,
        ge=0,
        le=64,
        description="None = the model's replicas; 0 = sleep when idle, wake on a request",
    )
    max_replicas: int | None = Field(
        default=None,
        ge=1,
        le=64,
        description="None = what the model's pool has room for (required on CPU)",
    )
    targets: dict[str, float] = Field(
        default_factory=lambda: {"num_requests_waiting": 5.0, "kv_cache_usage_perc": 0.8},
        description="trigger -> target; num_requests_waiting first (the primary trigger)",
    )
    polling_interval_seconds: int = Field(
        default=15, ge=5, le=300, description="how often KEDA reads the triggers"
    )
    cooldown_seconds: int = Field(
        default=300,
        ge=0,
        le=3600,
        description="how long load must stay low before a replica is removed",
    )
    idle_seconds: int = Field(
        default=DEFAULT_IDLE_SECONDS,
        ge=MIN_IDLE_SECONDS,
        le=MAX_IDLE_SECONDS,
        description="a model at minReplicas 0 keeps its last replica this long after the "
        "last request (KEDA's cooldownPeriod)",
    )


# --------------------------------------------------------------------------- checks


def _check_target(name: str, value: float, at: str, device: str) -> list[Problem]:
    if name not in AUTOSCALING_TARGETS:
        renamed = VLLM_RENAMED.get(name)
        hint = f"vLLM renamed it to {renamed[0]!r} in {renamed[1]}; " if renamed else ""
        known = ", ".join(AUTOSCALING_TARGETS)
        return [Problem(f"{at}.{name}", f"unknown metric for KEDA; {hint}known: {known}")]
    what, bound = AUTOSCALING_TARGETS[name]
    if not 0 < value <= bound:
        return [
            Problem(f"{at}.{name}", f"{value} is out of range for {what} (0 < target ≤ {bound:g})")
        ]
    return problems_if(
        name == "gpu_utilization" and device == "cpu",
        f"{at}.{name}",
        "a CPU model has no GPU utilization",
    )


def check_targets(
    targets: dict[str, float], at: str, device: str, enabled: bool = True
) -> list[Problem]:
    problems: list[Problem] = []
    for name, value in targets.items():
        problems += _check_target(name, value, at, device)
    return problems + problems_if(
        (enabled or bool(targets)) and "num_requests_waiting" not in targets,
        at,
        "num_requests_waiting is the primary trigger and must be set",
    )


def check_autoscaling(cfg: StackConfig) -> list[Problem]:
    """Known triggers in range, for the stack and for each model's own targets."""
    problems = check_targets(
        cfg.autoscaling.targets, "autoscaling.targets", "gpu", cfg.autoscaling.enabled
    )
    for i, m in enumerate(cfg.models):
        if m.autoscaling is not None and m.autoscaling.targets is not None:
            problems += check_targets(
                m.autoscaling.targets, f"models[{i}].autoscaling.targets", m.device
            )
        else:
            problems += problems_if(
                m.device == "cpu" and "gpu_utilization" in cfg.autoscaling.targets,
                "autoscaling.targets.gpu_utilization",
                f"model {m.name!r} runs on CPU; set its own targets",
            )
    return problems
