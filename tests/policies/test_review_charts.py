"""The offline review judges what Helm releases install, not only what the stack declares:
each release is rendered by Helm itself and every object goes through the pack's rules."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from infra.engine import Recorded
from policies import config as policy_config
from policies.exceptions import EXCEPTIONS, ChartException, accepted
from policies.helm import RELEASE_TYPE, chart_resources
from policies.review import review, review_stack, stack_names
from tests.builders import gpu_box, gpu_racks, rendered

KUBE = "1.31"


def _with_release_values(resources: list[Recorded], name: str, change: Any) -> list[Recorded]:
    out = []
    for r in resources:
        if r.type == RELEASE_TYPE and r.inputs["name"] == name:
            inputs = copy.deepcopy(r.inputs)
            change(inputs["values"])
            out.append(Recorded(r.type, r.name, r.urn, r.parent, inputs, r.secret_paths))
        else:
            out.append(r)
    return out


def test_every_release_object_reaches_the_rules() -> None:
    resources = rendered(gpu_box()).resources
    charts = chart_resources(resources, KUBE)
    releases = {str(r.inputs["name"]) for r in resources if r.type == RELEASE_TYPE}
    assert {c.name.split("/")[0] for c in charts} == releases
    kinds = {c.type for c in charts}
    assert "kubernetes:apps/v1:DaemonSet" in kinds  # device plugin, DCGM exporter
    assert all(c.parent in {r.urn for r in resources} for c in charts)


def test_a_chart_container_without_resources_is_a_violation() -> None:
    def drop_resources(values: dict[str, Any]) -> None:
        # null removes a chart default in Helm's merge
        values["resources"] = {"operator": None, "metricServer": None, "webhooks": None}

    resources = _with_release_values(rendered(gpu_box()).resources, "keda", drop_resources)
    found = review(resources + chart_resources(resources, KUBE), policy_config.load("production"))
    keda = [v for v in found if v.policy == "container-resources" and " keda/" in v.resource]
    assert any("keda/Deployment/keda-operator" in v.resource for v in keda), found
    assert all(accepted(v.policy, v.resource.split(" ", 1)[1], v.message) is None for v in keda)


def test_a_privileged_chart_pod_outside_the_allow_list_is_a_violation() -> None:
    def privileged_alloy(values: dict[str, Any]) -> None:
        values["alloy"]["securityContext"] = {"privileged": True}

    resources = _with_release_values(rendered(gpu_box()).resources, "alloy", privileged_alloy)
    found = review(resources + chart_resources(resources, KUBE), policy_config.load("production"))
    assert any(
        v.policy == "no-privileged-workloads" and "is privileged" in v.message for v in found
    ), found


def test_exceptions_match_only_their_release_object_and_message() -> None:
    e = ChartException("r", "rule", "Kind/obj", "fragment", "why")
    assert e.matches("rule", "r/Kind/obj", "a fragment here")
    assert not e.matches("rule", "other/Kind/obj", "a fragment here")
    assert not e.matches("rule", "r/Kind/other", "a fragment here")
    assert not e.matches("other-rule", "r/Kind/obj", "a fragment here")
    assert not e.matches("rule", "r/Kind/obj", "something else")


@pytest.fixture(scope="module")
def shipped_reviews() -> dict[str, tuple[str, list[Any], list[Any]]]:
    return {stack: review_stack(stack) for stack in stack_names()}


def test_shipped_stacks_pass_with_chart_objects_included(
    shipped_reviews: dict[str, tuple[str, list[Any], list[Any]]],
) -> None:
    for stack, (_, violations, _) in shipped_reviews.items():
        assert not [v for v in violations if v.level == "mandatory"], stack


def test_every_written_exception_is_still_needed(
    shipped_reviews: dict[str, tuple[str, list[Any], list[Any]]],
) -> None:
    used = {
        accepted(v.policy, v.resource.split(" ", 1)[1], v.message)
        for _, _, excepted in shipped_reviews.values()
        for v in excepted
    }
    assert set(EXCEPTIONS) <= used, set(EXCEPTIONS) - used
    assert all(e.reason for e in EXCEPTIONS)


def test_every_optional_feature_together_passes_production_with_chart_objects() -> None:
    """Global limits on the stack's Redis, the chat UI on its own hostname, the load test,
    racks and shared storage, at production strictness, charts included."""
    resources = rendered(gpu_racks()).resources
    charts = [c for c in chart_resources(resources, KUBE) if c.type != "kubernetes:core/v1:Secret"]
    found = review(resources + charts, policy_config.load("production"))
    left = [
        v
        for v in found
        if v.level == "mandatory" and not accepted(v.policy, v.resource.split(" ", 1)[1], v.message)
    ]
    assert not left, left
