"""Awaits against budgets: every object the provider awaits gets at least as long as it
needs on a first install (the plan's first-install budget, or for a Helm release the pull
of the images Helm renders for it), the way the provider reads its timeout (provider.py)."""

from __future__ import annotations

from typing import Any

from infra.catalog.chart_images import CHART_IMAGES, repository
from infra.catalog.versions import CHARTS
from infra.config import StackConfig
from infra.engine import RunResult
from infra.planning.awaits import release_budget_seconds
from policies.helm import chart_of
from tests.assembly.graph import Assembly, pod_spec
from tests.assembly.provider import await_seconds, is_awaited

# Awaited objects of ours that keep the provider's default, and why it is enough.
DEFAULT_AWAIT_ENOUGH = {
    ("StatefulSet", "redis"): "the rate-limit Redis: a 15 MB image, no data to load",
    ("Service", "redis"): "its endpoint is the Redis pod above",
}


def _chart_key(release: Any) -> str:
    ref = chart_of(release)
    return next(k for k, v in CHARTS.items() if v == ref)


def rendered_images(a: Assembly, release: Any) -> set[str]:
    """Every image a release's pods (those Helm waits for, hooks included) run."""
    found: set[str] = set()
    for o in a.chart_objects.get(release.urn, []):
        spec = pod_spec(o.manifest)
        for c in (spec.get("initContainers") or []) + spec.get("containers", []) if spec else []:
            found.add(str(c["image"]))
    return found


def release_problems(a: Assembly, cfg: StackConfig) -> list[str]:
    """Each release's `timeout` covers pulling the images Helm renders for it (sizes from
    the catalog, which must know each one), at the stack's slowest link, then starting."""
    link = min(m.serving.download_gbps for m in cfg.models)
    factor = max(m.serving.startup_safety_factor for m in cfg.models)
    problems = []
    for release in a.releases():
        key = _chart_key(release)
        sizes = CHART_IMAGES[key]
        images = rendered_images(a, release)
        unknown = sorted(i for i in images if repository(i) not in sizes)
        problems += [
            f"{release.label}: runs {i}, which catalog/chart_images.py lacks" for i in unknown
        ]
        pulled = sum(sizes.get(repository(i), 0.0) for i in images)
        budget = release_budget_seconds(pulled, link, factor)
        timeout = int(release.inputs.get("timeout") or 0)
        if release.inputs.get("skipAwait"):
            continue
        if timeout < budget:
            problems.append(f"{release.label}: timeout {timeout} s below its budget {budget} s")
    return problems


def workload_problems(a: Assembly, result: RunResult) -> list[str]:
    """A model's Deployment gets its first install (create) and a rollout (update); a DR
    primary's snapshot Job its copy; anything else awaited is written down as quick."""
    models = result.outputs.get("models", {})
    problems = []
    for o in a.objects:
        if o.from_chart or not is_awaited(o.manifest):
            continue
        timeouts = o.origin.custom_timeouts
        create = await_seconds(o.manifest, timeouts, "create")
        update = await_seconds(o.manifest, timeouts, "update")
        labels = o.manifest["metadata"].get("labels") or {}
        model = models.get(labels.get("app.kubernetes.io/instance"))
        if o.kind == "Deployment" and model is not None:
            needed = (model["firstInstallBudgetSeconds"], model["rolloutTimeoutSeconds"])
            if create < needed[0] or update < needed[1]:
                problems.append(
                    f"{o.label}: awaited {create} s (create) / {update} s (update), below its "
                    f"first-install budget {needed[0]} s / rollout {needed[1]} s"
                )
        elif o.kind == "Job" and model is not None:
            needed_job = int(model.get("snapshotTimeoutSeconds") or 0)
            if create < needed_job or not needed_job:
                problems.append(f"{o.label}: awaited {create} s, below its copy's {needed_job} s")
        elif (o.kind, o.name) not in DEFAULT_AWAIT_ENOUGH:
            problems.append(f"{o.label}: awaited {create} s with no budget behind it")
    return problems
