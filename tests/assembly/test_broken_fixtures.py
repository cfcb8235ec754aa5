"""Each deploy-order check catches the mistake it exists for: a recording of a builder
config is broken in one place (one wait removed, one setting undone) and the check must
name it. (Timeouts below their budget: test_await_budgets.py.)"""

from __future__ import annotations

import copy
from collections.abc import Callable

from infra.engine import Recorded, RunResult
from tests.assembly import order, runtime
from tests.assembly.graph import Assembly, plurals
from tests.builders import gke_region, gpu_box, gpu_racks, rendered


def _broken(run: RunResult, edit: Callable[[dict[str, Recorded]], None]) -> Assembly:
    resources = copy.deepcopy(run.resources)
    edit({r.label: r for r in resources})
    return Assembly(resources, "1.31")


def _drop(r: Recorded, on: Callable[[str], bool]) -> None:
    r.depends_on = [d for d in r.depends_on if not on(d)]


def test_a_custom_resource_created_before_its_release_is_caught() -> None:
    def edit(by: dict[str, Recorded]) -> None:
        _drop(by["kubernetes:keda.sh/v1alpha1:ScaledObject llm-serving/qwen2-5-7b"], lambda d: True)

    problems = order.crd_installers(_broken(rendered(gpu_box()), edit))
    assert problems == [
        "ScaledObject llm-serving/qwen2-5-7b: created without waiting for "
        "kubernetes:helm.sh/v3:Release keda/keda (its CRD)"
    ]


def test_an_object_whose_namespace_comes_later_is_caught() -> None:
    def edit(by: dict[str, Recorded]) -> None:
        _drop(by["kubernetes:core/v1:ConfigMap monitoring/llm-platform-gpu"], lambda d: True)

    problems = order.namespaces(_broken(rendered(gpu_box()), edit))
    assert problems == [
        "ConfigMap monitoring/llm-platform-gpu: created without waiting for Namespace monitoring"
    ]


def test_a_pod_naming_a_claim_created_after_it_is_caught() -> None:
    """Two deployments sharing one download: the second mounts the first one's claim."""

    def edit(by: dict[str, Recorded]) -> None:
        claim = by["kubernetes:core/v1:PersistentVolumeClaim llm-serving/qwen-a-model-cache"]
        _drop(by["llm-platform:serving:ModelServer qwen-b"], lambda d: d == claim.urn)

    a = _broken(rendered(gpu_racks()), edit)
    problems = order.pod_references(a, runtime.Provided(a, "nvidia"))
    assert problems == [
        "Deployment llm-serving/qwen-b: names PersistentVolumeClaim qwen-a-model-cache in "
        "llm-serving, created after it"
    ]


def test_pods_a_fail_webhook_admits_before_it_is_served_are_caught() -> None:
    def edit(by: dict[str, Recorded]) -> None:
        ai = by["kubernetes:helm.sh/v3:Release envoy-ai-gateway-system/ai-gateway"]
        _drop(by["kubernetes:gateway.networking.k8s.io/v1:Gateway llm-gateway/llm-gateway"],
              lambda d: d == ai.urn)  # fmt: skip

    a = _broken(rendered(gpu_box()), edit)
    [problem] = order.webhooks(a, plurals(a))
    assert problem.startswith(
        "Gateway llm-gateway/llm-gateway: Pod envoy-llm-gateway is admitted by webhook "
        "ai-gateway-controller.envoy-ai-gateway-system.svc.cluster.local (failurePolicy Fail)"
    )


def test_a_loader_started_before_its_cloud_grants_is_caught() -> None:
    def edit(by: dict[str, Recorded]) -> None:
        grants = {r.urn for r in by.values() if "IAMMember" in r.type}
        for r in by.values():  # nothing waits for the grants any more
            _drop(r, lambda d: d in grants)

    problems = order.cloud_grants(_broken(rendered(gke_region()), edit))
    assert {p.split(":", 1)[0] for p in problems} == {
        "Deployment llm-serving/qwen2-5-7b",
        "Job llm-serving/qwen2-5-7b-snapshot-a09a3545",
        "Deployment cert-manager/cert-manager (in release cert-manager)",
    }
    assert any("workloadIdentityUser" in p for p in problems)
    assert any("storage.objectAdmin" in p for p in problems)


def test_an_awaited_claim_without_a_class_is_caught() -> None:
    def edit(by: dict[str, Recorded]) -> None:
        claim = by["kubernetes:core/v1:PersistentVolumeClaim llm-serving/qwen2-5-7b-model-cache"]
        claim.inputs["metadata"].pop("annotations")
        claim.inputs["spec"].pop("storageClassName")

    [problem] = order.hangs(_broken(rendered(gpu_box()), edit))
    assert problem.startswith("PersistentVolumeClaim llm-serving/qwen2-5-7b-model-cache: awaited")


def test_a_load_balancer_where_nothing_assigns_addresses_is_caught() -> None:
    [problem] = order.load_balancers(Assembly(rendered(gpu_box()).resources, "1.31"), False)
    assert problem.startswith("EnvoyProxy llm-gateway/llm-gateway: the gateway's Service")
