"""Two models on one box: one routed by its InferencePool, one asleep at zero and woken by
its first request. The request path gateway → interceptor → model, the autoscaler that
wakes it, the flows and the give-up answer; judged by the CRDs, Helm's render of the pinned
KEDA HTTP add-on chart and the production review."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from infra.config import ConfigError
from infra.engine import RunResult
from infra.manifests.topology import EG_NAMESPACE, KEDA_NAMESPACE
from infra.plan import manifest_of
from infra.planning.wake import wake_plan
from policies.helm import chart_of, chart_resources, render_release, validate_schema
from policies.review import review_with_charts
from tests import crd_schema
from tests.builders import pooled_and_sleeping, rendered
from tests.crd_schema import CRD_DIR
from tests.helpers import one, plan_of
from tests.pod_security import restricted_violations

SLEEPER, POOLED = "qwen2-5-05b", "qwen2-5-7b"
ADD_ON = f"{KEDA_NAMESPACE}/keda-http-add-on"


@pytest.fixture(scope="module")
def result() -> RunResult:
    return rendered(pooled_and_sleeping())


@pytest.fixture(scope="module")
def add_on(result: RunResult) -> list[dict[str, Any]]:
    """The add-on as Helm renders it from the vendored chart."""
    return render_release(one(result, "helm.sh/v3:Release", ADD_ON), "1.31")


def manifests(result: RunResult, kind: str) -> list[dict[str, Any]]:
    return [m for r in result.resources if (m := manifest_of(r)) and m["kind"] == kind]


def named(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    [found] = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    return found


def rule_for(result: RunResult, served: str) -> dict[str, Any]:
    [route] = manifests(result, "AIGatewayRoute")
    rules: list[dict[str, Any]] = route["spec"]["rules"]
    [rule] = [r for r in rules if r["matches"][0]["headers"][0]["value"] == served]
    return rule


def labels_of(deployment: dict[str, Any]) -> Any:
    return deployment["spec"]["template"]["metadata"]["labels"].items()


def port_of(service: dict[str, Any], name: str) -> int:
    [port] = [p["port"] for p in service["spec"]["ports"] if p["name"] == name]
    return int(port)


def test_the_sleeping_models_requests_go_through_the_interceptor(
    result: RunResult, add_on: list[dict[str, Any]]
) -> None:
    """gateway rule → AIServiceBackend (marks the deployment) → Backend (the interceptor's
    proxy Service, as Helm renders it) → InterceptorRoute (matches the mark) → the model's
    Service → its pods."""
    rule = rule_for(result, "Qwen/Qwen2.5-0.5B-Instruct")
    [ref] = rule["backendRefs"]
    ai_backend = named(manifests(result, "AIServiceBackend"), "AIServiceBackend", ref["name"])
    backend = named(
        manifests(result, "Backend"), "Backend", ai_backend["spec"]["backendRef"]["name"]
    )
    [mark] = ai_backend["spec"]["headerMutation"]["set"]
    [endpoint] = backend["spec"]["endpoints"]
    proxy = named(add_on, "Service", "keda-add-ons-http-interceptor-proxy")
    assert endpoint["fqdn"] == {
        "hostname": f"{proxy['metadata']['name']}.{KEDA_NAMESPACE}.svc.cluster.local",
        "port": port_of(proxy, "proxy"),
    }
    route = named(manifests(result, "InterceptorRoute"), "InterceptorRoute", SLEEPER)
    [match] = route["spec"]["rules"]
    assert match["headers"] == [mark] and match["hosts"] == ["*"]
    service = named(manifests(result, "Service"), "Service", route["spec"]["target"]["service"])
    assert route["spec"]["target"]["port"] in [p["port"] for p in service["spec"]["ports"]]
    deployment = named(manifests(result, "Deployment"), "Deployment", SLEEPER)
    pods = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pods.items()
    for obj in (ai_backend, backend, route):
        crd_schema.validate(obj)


def test_the_pooled_model_keeps_its_pool_and_the_direct_path(result: RunResult) -> None:
    assert rule_for(result, "Qwen/Qwen2.5-7B-Instruct")["backendRefs"] == [
        {
            "group": "inference.networking.k8s.io",
            "kind": "InferencePool",
            "name": f"{POOLED}-pool",
            "namespace": "llm-serving",
        }
    ]
    assert [r["metadata"]["name"] for r in manifests(result, "InterceptorRoute")] == [SLEEPER]


def test_the_request_is_held_for_the_wake_up_within_the_gateways_deadline(
    result: RunResult,
) -> None:
    plan = next(p for p in plan_of(pooled_and_sleeping()).models if p.model.name == SLEEPER)
    wake = wake_plan(plan)
    timeouts = named(manifests(result, "InterceptorRoute"), "InterceptorRoute", SLEEPER)["spec"][
        "timeouts"
    ]
    assert timeouts == {
        "readiness": f"{wake.hold_seconds}s",
        "request": "600s",
        "responseHeader": "600s",
    }
    # The hold covers the padded start (the startup probe's budget) and is below the deadline.
    assert wake.estimate_seconds < wake.hold_seconds < 600
    assert rule_for(result, "Qwen/Qwen2.5-0.5B-Instruct")["timeouts"] == {"request": "600s"}
    [client] = manifests(result, "ClientTrafficPolicy")
    assert client["spec"]["timeout"]["http"]["streamIdleTimeout"] == "600s"  # silent while held


def test_keda_wakes_it_from_the_interceptors_count(
    result: RunResult, add_on: list[dict[str, Any]]
) -> None:
    """One ScaledObject (one HPA) per Deployment: vLLM's triggers for 1..max, the add-on's
    push trigger for 0 → 1, which names the scaler Helm renders and our InterceptorRoute."""
    objects = {o["spec"]["scaleTargetRef"]["name"]: o for o in manifests(result, "ScaledObject")}
    assert set(objects) == {SLEEPER}  # the pooled model has fixed replicas here
    scaled = objects[SLEEPER]
    crd_schema.validate(scaled)
    spec = scaled["spec"]
    plan = next(p for p in plan_of(pooled_and_sleeping()).models if p.model.name == SLEEPER)
    assert (spec["minReplicaCount"], spec["maxReplicaCount"]) == (0, 1)
    assert spec["cooldownPeriod"] == 900  # the idle window
    # A new Deployment is not put to sleep before its first replica filled the caches.
    assert spec["initialCooldownPeriod"] == wake_plan(plan).hold_seconds + 900
    [push] = [t for t in spec["triggers"] if t["type"] == "external-push"]
    scaler = named(add_on, "Service", "keda-add-ons-http-external-scaler")
    assert push["metadata"] == {
        "scalerAddress": f"keda-add-ons-http-external-scaler.{KEDA_NAMESPACE}:"
        f"{port_of(scaler, 'grpc')}",
        "interceptorRoute": SLEEPER,
    }
    assert {t["type"] for t in spec["triggers"]} == {"prometheus", "external-push"}
    assert not manifests(result, "HTTPScaledObject")  # would create a second HPA


def test_helm_renders_the_add_on_restricted_with_its_crds(
    result: RunResult, add_on: list[dict[str, Any]]
) -> None:
    release = one(result, "helm.sh/v3:Release", ADD_ON)
    validate_schema(chart_of(release), release.inputs["values"])
    deployments = [o for o in add_on if o["kind"] == "Deployment"]
    assert len(deployments) == 3  # operator, scaler, interceptor
    for d in deployments:
        assert not restricted_violations(d["spec"]["template"]["spec"]), d["metadata"]["name"]
    # What the chart installs is the schema our InterceptorRoutes are validated against.
    installed = named(add_on, "CustomResourceDefinition", "interceptorroutes.http.keda.sh")
    vendored = yaml.safe_load((CRD_DIR / "http.keda.sh" / "interceptorroutes.yaml").read_text())
    assert installed["spec"] == vendored["spec"]
    # The chart's own ScaledObject (the interceptors scale on their load) fits KEDA's CRD.
    crd_schema.validate(named(add_on, "ScaledObject", "keda-add-ons-http-interceptor"))


def test_only_the_gateway_reaches_the_interceptor_and_the_interceptor_the_model(
    result: RunResult, add_on: list[dict[str, Any]]
) -> None:
    policies = {p["metadata"]["name"]: p for p in manifests(result, "NetworkPolicy")}
    inbound = policies["interceptor-ingress"]
    interceptor = named(add_on, "Deployment", "keda-add-ons-http-interceptor")
    scaler = named(add_on, "Deployment", "keda-add-ons-http-external-scaler")
    assert inbound["spec"]["podSelector"]["matchLabels"].items() <= labels_of(interceptor)
    from_gateway, from_scaler = inbound["spec"]["ingress"]
    assert from_gateway["from"][0]["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": EG_NAMESPACE
    }
    proxy = named(add_on, "Service", "keda-add-ons-http-interceptor-proxy")
    admin = named(add_on, "Service", "keda-add-ons-http-interceptor-admin")
    assert from_gateway["ports"] == [{"protocol": "TCP", "port": port_of(proxy, "proxy")}]
    assert from_scaler["from"][0]["podSelector"]["matchLabels"].items() <= labels_of(scaler)
    assert from_scaler["ports"] == [{"protocol": "TCP", "port": port_of(admin, "admin")}]
    to_model = policies[f"{SLEEPER}-from-interceptor"]["spec"]
    pods = named(manifests(result, "Deployment"), "Deployment", SLEEPER)
    assert to_model["podSelector"]["matchLabels"].items() <= labels_of(pods)
    assert to_model["ingress"][0]["from"][0]["podSelector"]["matchLabels"].items() <= (
        labels_of(interceptor)
    )
    assert to_model["ingress"][0]["ports"] == [{"protocol": "TCP", "port": 8000}]
    assert f"{POOLED}-from-interceptor" not in policies


def test_a_model_that_did_not_wake_in_time_is_a_503_with_retry_after(result: RunResult) -> None:
    [traffic] = manifests(result, "BackendTrafficPolicy")
    crd_schema.validate(traffic)
    [override] = traffic["spec"]["responseOverride"]
    assert override["source"] == "Backend"  # the interceptor's answer, not Envoy's own
    assert override["match"]["statusCodes"] == [{"type": "Value", "value": 504}]
    response = override["response"]
    assert response["statusCode"] == 503
    plan = next(p for p in plan_of(pooled_and_sleeping()).models if p.model.name == SLEEPER)
    retry = str(wake_plan(plan).estimate_seconds)
    assert response["header"]["set"] == [{"name": "Retry-After", "value": retry}]
    error = json.loads(response["body"]["inline"])["error"]
    assert error["code"] == "model_waking" and retry in error["message"]


def test_the_plan_shows_routing_wake_up_and_idle_window(result: RunResult) -> None:
    models = result.outputs["models"]
    sleeper, pooled = models[SLEEPER], models[POOLED]
    assert (sleeper["routing"], pooled["routing"]) == ("backend", "inferencePool")
    assert (sleeper["idleWindow"], pooled["idleWindow"]) == ("900 s", "always on")
    assert sleeper["replicas"] == {"min": 0, "max": 1}
    parts = sleeper["wakeUpParts"]
    assert set(parts) == {
        "schedule",
        "imagePull",
        "download",
        "readWeights",
        "torchCompile",
        "cudaGraphCapture",
    }
    assert sleeper["wakeUpEstimateSeconds"] == pytest.approx(sum(parts.values()), abs=1)
    assert sleeper["firstRequestHeldSeconds"] > sleeper["wakeUpEstimateSeconds"]
    assert pooled.get("firstRequestHeldSeconds") is None


def test_the_stack_passes_production_with_chart_objects(result: RunResult) -> None:
    charts = chart_resources(result.resources, "1.31")
    assert any(c.name.startswith("keda-http-add-on/") for c in charts)
    left, _ = review_with_charts(result.resources, "1.31", "production")
    assert not [v for v in left if v.level == "mandatory"], left


def test_without_network_policies_no_flow_is_declared() -> None:
    raw = pooled_and_sleeping(security={"networkPolicies": False})
    names = [m["metadata"]["name"] for m in manifests(rendered(raw), "NetworkPolicy")]
    assert not [n for n in names if "interceptor" in n]


def test_a_stack_without_sleepers_installs_no_add_on() -> None:
    raw = pooled_and_sleeping()
    raw["models"][1]["autoscaling"]["minReplicas"] = 1
    result = rendered(raw)
    assert not [r for r in result.resources if r.name == ADD_ON]
    assert not manifests(result, "InterceptorRoute")
    [traffic] = manifests(result, "BackendTrafficPolicy")
    assert "responseOverride" not in traffic["spec"]


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (
            lambda r: (r["gateway"].update(enabled=False), r["models"][0].pop("routing")),
            ["needs the gateway"],
        ),
        (
            lambda r: r["models"][1].update(routing="inferencePool"),
            ["endpoint picker", "routing: backend"],
        ),
        (
            lambda r: r["gateway"].update(requestTimeoutSeconds=60),
            ["may take up to", "gateway.requestTimeoutSeconds is 60", "raise it above"],
        ),
    ],
    ids=["no gateway", "pooled", "hold beyond the deadline"],
)
def test_where_sleeping_cannot_work_it_is_refused_with_the_way_out(
    change: Any, words: list[str]
) -> None:
    raw = pooled_and_sleeping()
    change(raw)
    with pytest.raises(ConfigError) as refused:
        plan_of(raw)
    [line] = [line for line in refused.value.lines() if "models[1].autoscaling.minReplicas" in line]
    for word in words:
        assert word in line
