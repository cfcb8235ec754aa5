"""How each Helm release is installed: its pinned chart, where the chart comes from
(`charts.source`), and how long Helm waits for it. Pure."""

from __future__ import annotations

from infra.catalog.versions import CHARTS
from infra.config import StackConfig
from infra.planning.awaits import release_timeouts
from infra.planning.plans import ReleasePlan, ServingPlan


def release_plans(cfg: StackConfig, plans: list[ServingPlan]) -> dict[str, ReleasePlan]:
    """Per versions.CHARTS key, the release any component installs from that chart."""
    timeouts = release_timeouts(plans)
    vendored = cfg.charts.source == "vendored"
    return {key: ReleasePlan(ref, timeouts[key], vendored) for key, ref in CHARTS.items()}
