"""Every problem of a stack file in one run: when the config does not validate, the planner
still judges what did (the models without a problem, if every section the planner reads is
whole), so a wrong tensorParallel is reported with the typo beside it, not after it is
fixed."""

from __future__ import annotations

from collections.abc import Callable

from infra.config import ConfigError, Problem, StackConfig
from infra.planning.capacity import PlatformPlan, plan_platform

# Top-level keys whose values decide the planner's problems besides the models (it also
# reads observability and images, for figures that refuse nothing).
PLANNER_READS = frozenset({"cluster", "nodePools", "autoscaling", "dr", "gateway"})


def planner_problems(error: ConfigError) -> list[Problem]:
    """The planner's problems with what validated of a config that did not."""
    rest = error.partial
    if rest is None or rest.failed & PLANNER_READS:
        return []
    try:
        plan_platform(rest.config, error.source)
    except ConfigError as more:
        return [rest.own(p) for p in more.problems]
    return []


def checked(read: Callable[[], StackConfig], source: str) -> tuple[StackConfig, PlatformPlan]:
    """The validated config and its plan, or a ConfigError naming every problem."""
    try:
        config = read()
    except ConfigError as exc:
        raise ConfigError(exc.problems + planner_problems(exc), exc.source) from None
    return config, plan_platform(config, source)
