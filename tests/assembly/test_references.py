"""Every name and namespace an object points at resolves, by the defaulting rules of the
referrer's own API (tests/assembly/references.py), over our objects, the rendered chart
objects and the controllers' pods; across namespaces only with the grant the API asks."""

from __future__ import annotations

import copy
from collections.abc import Callable

import pytest

from infra.engine import Recorded, RunResult
from tests.assembly import references
from tests.assembly.cases import NAMES, assembly
from tests.assembly.graph import Assembly
from tests.builders import gpu_box, pooled_and_sleeping, rendered

GRANT = "kubernetes:gateway.networking.k8s.io/v1:ReferenceGrant"

CHECKS = {
    "routes": references.routes,
    "gateway objects": references.gateway_objects,
    "autoscalers": references.autoscalers,
    "issuers": references.issuers,
    "services": references.services,
    "monitors": references.monitors,
    "disruption budgets": references.disruption_budgets,
    "network policy selectors": references.network_policy_selectors,
    "service urls": references.service_urls,
}


@pytest.mark.parametrize("check", sorted(CHECKS))
@pytest.mark.parametrize("name", NAMES)
def test_every_reference_resolves(name: str, check: str) -> None:
    assert CHECKS[check](assembly(name)) == []


def _broken(run: RunResult, edit: Callable[[dict[str, Recorded]], None]) -> Assembly:
    resources = copy.deepcopy(run.resources)
    edit({r.label: r for r in resources})
    return Assembly(resources, "1.31")


def test_a_route_to_a_pool_in_another_namespace_without_a_grant_is_caught() -> None:
    def edit(by: dict[str, Recorded]) -> None:
        grant = by[f"{GRANT} llm-serving/qwen2-5-7b-pool-from-gateway"]
        grant.inputs["spec"]["from"] = grant.inputs["spec"]["from"][:1]  # the AI Gateway's only

    problems = references.routes(_broken(rendered(pooled_and_sleeping()), edit))
    assert problems == [
        "AIGatewayRoute llm-gateway/models: InferencePool llm-serving/qwen2-5-7b-pool is in "
        "another namespace and no ReferenceGrant there admits HTTPRoutes from llm-gateway"
    ]


def test_a_pool_named_without_its_namespace_is_caught() -> None:
    """What the route said before: an empty namespace is the route's own."""

    def edit(by: dict[str, Recorded]) -> None:
        route = by["kubernetes:aigateway.envoyproxy.io/v1beta1:AIGatewayRoute llm-gateway/models"]
        for rule in route.inputs["spec"]["rules"]:
            for ref in rule["backendRefs"]:
                ref.pop("namespace", None)

    problems = references.routes(_broken(rendered(pooled_and_sleeping()), edit))
    assert problems == [
        "AIGatewayRoute llm-gateway/models: backend InferencePool llm-gateway/qwen2-5-7b-pool "
        "does not exist"
    ]


def test_a_service_whose_target_port_names_no_container_port_is_caught() -> None:
    def edit(by: dict[str, Recorded]) -> None:
        service = by["kubernetes:core/v1:Service llm-serving/qwen2-5-7b"]
        service.inputs["spec"]["ports"][0]["targetPort"] = "metrics"

    problems = references.services(_broken(rendered(gpu_box()), edit))
    assert problems == [
        "Service llm-serving/qwen2-5-7b: targetPort 'metrics' is no port of its pods"
    ]


def test_a_monitor_on_a_port_its_pods_lack_and_a_peer_selecting_nothing_are_caught() -> None:
    def edit(by: dict[str, Recorded]) -> None:
        monitor = by["kubernetes:monitoring.coreos.com/v1:PodMonitor llm-serving/vllm"]
        monitor.inputs["spec"]["podMetricsEndpoints"][0]["port"] = "metrics"
        policy = by["kubernetes:networking.k8s.io/v1:NetworkPolicy llm-serving/allow-prometheus"]
        policy.inputs["spec"]["ingress"][0]["from"][0]["podSelector"] = {
            "matchLabels": {"app.kubernetes.io/name": "prometheus-server"}
        }

    a = _broken(rendered(gpu_box()), edit)
    assert references.monitors(a) == [
        "PodMonitor llm-serving/vllm: port 'metrics' is no port of its pods"
    ]
    [problem] = references.network_policy_selectors(a)
    assert problem.startswith("NetworkPolicy llm-serving/allow-prometheus: peer")
