"""routing: inferencePool — the request path gateway → InferencePool → endpoint picker → pods,
the flows it needs, the picker hardened and observed; judged by the CRDs and Helm's render."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.catalog.metrics import KNOWN_SERIES
from infra.config import ConfigError
from infra.engine import RunResult
from infra.manifests.inference_pool import epp_pods
from infra.plan import manifest_of
from infra.planning.promql import vector_selectors
from infra.postrender.harden import harden
from infra.root import PROJECT_ROOT
from policies.helm import render_release
from policies.review import review_with_charts
from tests import crd_schema
from tests.builders import gpu_box, rendered
from tests.engines.prom_tools import PROMTOOL, run, tool
from tests.helpers import one, plan_of
from tests.pod_security import restricted_violations

POOL = "qwen2-5-7b-pool"


def pooled() -> dict[str, Any]:
    raw = gpu_box()
    raw["models"][0]["routing"] = "inferencePool"
    return raw


@pytest.fixture(scope="module")
def result() -> RunResult:
    return rendered(pooled())


def manifests(result: RunResult, kind: str) -> list[dict[str, Any]]:
    return [m for r in result.resources if (m := manifest_of(r)) and m["kind"] == kind]


def rendered_pool(result: RunResult) -> list[dict[str, Any]]:
    return render_release(one(result, "helm.sh/v3:Release", f"llm-serving/{POOL}"), "1.31")


def test_the_route_sends_the_model_to_its_pool(result: RunResult) -> None:
    [route] = manifests(result, "AIGatewayRoute")
    crd_schema.validate(route)
    [rule] = route["spec"]["rules"]
    # The pool lives in the model's namespace: named with it, admitted by a grant there.
    ref = {"group": "inference.networking.k8s.io", "kind": "InferencePool", "name": POOL}
    assert rule["backendRefs"] == [{**ref, "namespace": "llm-serving"}]
    [grant] = manifests(result, "ReferenceGrant")
    crd_schema.validate(grant)
    assert grant["metadata"]["namespace"] == "llm-serving"
    assert {f["kind"] for f in grant["spec"]["from"]} == {"AIGatewayRoute", "HTTPRoute"}
    assert not manifests(result, "AIServiceBackend")  # no Envoy-balanced backend beside it
    release = one(result, "helm.sh/v3:Release", "envoy-gateway-system/envoy-gateway")
    manager = release.inputs["values"]["config"]["envoyGateway"]["extensionManager"]
    assert manager["backendResources"] == [
        {"group": "inference.networking.k8s.io", "kind": "InferencePool", "version": "v1"}
    ]
    assert (
        one(result, "CustomResourceDefinition").name == "inferencepools.inference.networking.k8s.io"
    )


def test_the_pool_selects_the_models_pods_and_names_its_picker(result: RunResult) -> None:
    objects = rendered_pool(result)
    [pool] = [o for o in objects if o["kind"] == "InferencePool"]
    crd_schema.validate(pool)
    [deployment] = manifests(result, "Deployment")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert pool["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert pool["spec"]["targetPorts"] == [{"number": 8000}]
    picker = pool["spec"]["endpointPickerRef"]
    [service] = [o for o in objects if o["kind"] == "Service"]
    assert service["metadata"]["name"] == picker["name"]
    assert picker["port"]["number"] in [p["port"] for p in service["spec"]["ports"]]


def test_the_picker_is_hardened_to_the_restricted_level(result: RunResult) -> None:
    [epp] = [o for o in rendered_pool(result) if o["kind"] == "Deployment"]
    assert not restricted_violations(epp["spec"]["template"]["spec"])
    # The labels our NetworkPolicies and PodMonitor select are the chart's own.
    assert epp_pods(plan_of(pooled()).models[0]).items() <= (
        epp["spec"]["template"]["metadata"]["labels"].items()
    )
    # Without the post-renderer the chart's pod would not be admitted there.
    bare = yaml.safe_load(yaml.safe_dump(epp))
    for c in bare["spec"]["template"]["spec"]["containers"]:
        c.pop("securityContext", None)
    bare["spec"]["template"]["spec"].pop("securityContext", None)
    assert restricted_violations(bare["spec"]["template"]["spec"])


def test_the_post_render_command_is_the_function_the_tests_apply() -> None:
    document = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "x"},
        "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}},
    }
    out = subprocess.run(
        [PROJECT_ROOT / "scripts" / "harden-pods"],
        input=yaml.safe_dump(document),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert yaml.safe_load(out) == harden(yaml.safe_load(yaml.safe_dump(document)))


def test_only_the_gateway_reaches_the_picker_and_the_picker_only_the_pods(
    result: RunResult,
) -> None:
    policies = {p["metadata"]["name"]: p["spec"] for p in manifests(result, "NetworkPolicy")}
    ingress = policies[f"{POOL}-epp-ingress"]["ingress"]
    assert ingress[0]["from"][0]["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "envoy-gateway-system"
    }
    assert ingress[0]["ports"] == [{"protocol": "TCP", "port": 9002}]
    egress = policies[f"{POOL}-epp-egress"]["egress"]
    assert egress[0]["ports"] == [{"protocol": "TCP", "port": 8000}]
    from_epp = policies[f"{POOL}-vllm-from-epp"]["ingress"][0]
    assert from_epp["from"] == [{"podSelector": {"matchLabels": {"inferencepool": f"{POOL}-epp"}}}]
    [monitor] = [
        m for m in manifests(result, "PodMonitor") if m["metadata"]["name"] == f"{POOL}-epp"
    ]
    crd_schema.validate(monitor)


def test_a_pooled_stack_passes_production_with_chart_objects(result: RunResult) -> None:
    left, _ = review_with_charts(result.resources, "1.31", "production")
    assert not [v for v in left if v.level == "mandatory"], left


def test_a_weighted_split_cannot_include_a_pool() -> None:
    raw = pooled()
    raw["models"].append({**raw["models"][0], "name": "other", "servedModelName": "other",
                          "routing": "backend"})  # fmt: skip
    raw["gateway"]["routes"] = [
        {"model": "qwen", "backends": [
            {"deployment": "qwen2-5-7b", "weight": 50}, {"deployment": "other", "weight": 50}]}
    ]  # fmt: skip
    raw["autoscaling"] = {"enabled": False}
    with pytest.raises(ConfigError) as caught:
        plan_of(raw)
    [line] = [x for x in caught.value.lines() if "gateway.routes[0].backends" in x]
    assert "accepts only alone in a route" in line


def test_the_plan_says_how_each_model_is_routed(result: RunResult) -> None:
    assert result.outputs["models"]["qwen2-5-7b"]["routing"] == "inferencePool"
    assert rendered(gpu_box()).outputs["models"]["qwen2-5-7b"]["routing"] == "backend"


def test_the_pickers_view_is_on_the_dashboard_and_promtool_accepts_it(
    result: RunResult, tmp_path: Path
) -> None:
    [board] = [
        m for m in manifests(result, "ConfigMap") if m["metadata"]["name"] == "llm-platform-vllm"
    ]
    panels = json.loads(next(iter(board["data"].values())))["panels"]
    exprs = [
        t["expr"] for p in panels if p["title"].startswith("Endpoint picker") for t in p["targets"]
    ]
    assert exprs and all('name="qwen2-5-7b-pool"' in e for e in exprs)
    for expr in exprs:
        assert {name for name, _ in vector_selectors(expr)} <= KNOWN_SERIES
    records = [{"record": f"llm_platform:check_{i}", "expr": e} for i, e in enumerate(exprs)]
    path = tmp_path / "queries.yaml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "queries", "rules": records}]}))
    done = run([tool(PROMTOOL), "check", "rules", path.name], tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_crd_the_program_installs_is_the_vendored_upstream_one() -> None:
    shipped = PROJECT_ROOT / "infra" / "catalog" / "crds" / "inferencepools.yaml"
    vendored = PROJECT_ROOT / "tests" / "crds" / "inference.networking.k8s.io"
    vendored = vendored / "inferencepools.yaml"
    assert shipped.read_bytes() == vendored.read_bytes()
