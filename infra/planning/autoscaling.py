"""Autoscaling bounds per model: the stack's `autoscaling` section with per-model overrides,
resolved to numbers the capacity planner can place. Pure."""

from __future__ import annotations

from dataclasses import dataclass

from infra.config import ModelConfig, Problem, StackConfig

# KEDA's ScaledObject CRD, as its chart installs it, caps HPA stabilization windows at an
# hour (charts/keda-2.20.2/templates/crds/crd-scaledobjects.yaml);
# the HPA API caps a scaling policy's period at 30 minutes.
MAX_STABILIZATION_SECONDS = 3600
MAX_POLICY_PERIOD_SECONDS = 1800
MIN_POLICY_PERIOD_SECONDS = 15


@dataclass(frozen=True)
class ScalingPlan:
    min_replicas: int
    max_replicas: int
    max_path: str  # the config key that set (or should set) the maximum
    min_path: str  # the config key that set the minimum
    targets: dict[str, float]
    polling_interval_seconds: int
    cooldown_seconds: int
    idle_seconds: int  # at minReplicas 0: the last replica outlives the last request so long

    @property
    def sleeps(self) -> bool:
        """Scales to zero when idle, and wakes on a request (through the gateway)."""
        return self.min_replicas == 0


def _effective(
    cfg: StackConfig, i: int, m: ModelConfig
) -> tuple[bool, int | None, int | None, str, dict[str, float]]:
    own = m.autoscaling
    top = cfg.autoscaling
    enabled = own.enabled if own and own.enabled is not None else top.enabled
    low = own.min_replicas if own and own.min_replicas is not None else top.min_replicas
    high = own.max_replicas if own and own.max_replicas is not None else top.max_replicas
    path = (
        f"models[{i}].autoscaling.maxReplicas"
        if own and own.max_replicas is not None
        else "autoscaling.maxReplicas"
    )
    targets = own.targets if own and own.targets is not None else top.targets
    return enabled, low, high, path, targets


def _min_path(cfg: StackConfig, i: int, m: ModelConfig) -> str:
    if m.autoscaling is not None and m.autoscaling.min_replicas is not None:
        return f"models[{i}].autoscaling.minReplicas"
    if cfg.autoscaling.min_replicas is not None:
        return "autoscaling.minReplicas"
    return f"models[{i}].replicas"


def resolve_scaling(
    cfg: StackConfig, gpu_slots: dict[str, int], requests: dict[str, int]
) -> tuple[dict[str, ScalingPlan | None], list[Problem]]:
    """Per model name, its bounds (None: fixed replicas). `gpu_slots` is each pool's
    nvidia.com/gpu total, `requests` each model's nvidia.com/gpu per replica."""
    problems: list[Problem] = []
    resolved: dict[str, ScalingPlan | None] = {}
    fixed_use: dict[str, int] = {}
    scaled_on: dict[str, list[str]] = {}
    settings = {}
    for i, m in enumerate(cfg.models):
        enabled, low, high, path, targets = _effective(cfg, i, m)
        settings[m.name] = (i, enabled, low, high, path, targets)
        if m.pool is None:
            continue
        if enabled:
            scaled_on.setdefault(m.pool, []).append(m.name)
        else:
            fixed_use[m.pool] = fixed_use.get(m.pool, 0) + m.replicas * requests.get(m.name, 1)

    for m in cfg.models:
        i, enabled, low, high, path, targets = settings[m.name]
        if not enabled:
            resolved[m.name] = None
            continue
        at = f"models[{i}]"
        if low is not None and "replicas" in m.model_fields_set:
            problems.append(
                Problem(
                    f"{at}.replicas",
                    "autoscaling sets the replica count; "
                    "remove replicas or disable autoscaling for this model",
                )
            )
            continue
        minimum = m.replicas if low is None else low
        if high is None:
            if m.pool is None:
                problems.append(
                    Problem(
                        path,
                        f"model {m.name!r} runs on CPU: no pool bounds it, "
                        "so set autoscaling.maxReplicas",
                    )
                )
                continue
            room = gpu_slots[m.pool] - fixed_use.get(m.pool, 0)
            share = room // len(scaled_on[m.pool])
            high = share // requests[m.name]
            if high < 1:
                problems.append(
                    Problem(
                        path,
                        f"pool {m.pool!r} has no room left for {m.name!r} "
                        "after the fixed-size models on it",
                    )
                )
                continue
        if minimum == 0:
            refused = sleep_problems(cfg, m, _min_path(cfg, i, m))
            if refused:
                problems += refused
                continue
        if minimum > high:
            problems.append(Problem(path, f"maxReplicas {high} is below minReplicas {minimum}"))
            continue
        resolved[m.name] = ScalingPlan(
            minimum,
            high,
            path,
            _min_path(cfg, i, m),
            dict(targets),
            cfg.autoscaling.polling_interval_seconds,
            cfg.autoscaling.cooldown_seconds,
            _idle_seconds(cfg, m),
        )
    return resolved, problems


def _idle_seconds(cfg: StackConfig, m: ModelConfig) -> int:
    own = m.autoscaling.idle_seconds if m.autoscaling is not None else None
    return own if own is not None else cfg.autoscaling.idle_seconds


def sleep_problems(cfg: StackConfig, m: ModelConfig, path: str) -> list[Problem]:
    """Where minReplicas 0 cannot work: the first request must reach something that holds
    it while a replica starts (the gateway hands it to the KEDA HTTP add-on's interceptor)."""
    keep = "keep minReplicas ≥ 1"
    if not cfg.gateway.enabled:
        return [
            Problem(
                path,
                f"0 needs the gateway: it holds the first request for {m.name!r} while a "
                "replica starts (vLLM's own metrics vanish with the last pod, so nothing "
                f"else would wake it); enable gateway or {keep}",
            )
        ]
    if cfg.dr is not None:
        return [
            Problem(
                path,
                f"0 is refused in a DR pair: the standby keeps warm replicas and a flip must "
                f"serve at once, not after a cold start; {keep}",
            )
        ]
    if m.routing == "inferencePool":
        return [
            Problem(
                path,
                f"0 cannot serve {m.name!r} through its InferencePool: the endpoint picker "
                "chooses among running pods and has none to wake; use routing: backend for "
                f"a model that sleeps, or {keep}",
            )
        ]
    return []


@dataclass(frozen=True)
class Behavior:
    scale_up_period_seconds: int  # one replica per period: the last one must finish starting
    scale_down_period_seconds: int  # one replica per period: the last one must finish draining
    scale_down_stabilization_seconds: int


def behavior(
    startup_estimate_seconds: int, termination_grace_seconds: int, cooldown_seconds: int
) -> Behavior:
    def clamp(value: int, high: int) -> int:
        return max(MIN_POLICY_PERIOD_SECONDS, min(value, high))

    return Behavior(
        scale_up_period_seconds=clamp(startup_estimate_seconds, MAX_POLICY_PERIOD_SECONDS),
        scale_down_period_seconds=clamp(termination_grace_seconds, MAX_POLICY_PERIOD_SECONDS),
        scale_down_stabilization_seconds=min(
            max(cooldown_seconds, termination_grace_seconds), MAX_STABILIZATION_SECONDS
        ),
    )
