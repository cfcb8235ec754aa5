"""The gateway and the closed serving path, under the mock engine."""

from pathlib import Path
from typing import Any

import pytest

from infra.config import ConfigError
from infra.engine import RunResult
from infra.manifests.gateway import MODEL_HEADER
from infra.manifests.topology import CLIENT_HEADER
from infra.plan import manifest_of, plan_stack
from tests import crd_schema
from tests.builders import cpu_laptop, gpu_box, rendered, write_stack_file
from tests.helpers import STACKS, fixed_replicas, planned, pod_spec
from tests.pod_security import restricted_violations


def objects(result: RunResult, kind: str) -> list[dict[str, Any]]:
    return [m for r in result.resources if (m := manifest_of(r)) and m["kind"] == kind]


def named(result: RunResult, kind: str, name: str) -> dict[str, Any]:
    [found] = [o for o in objects(result, kind) if o["metadata"]["name"] == name]
    return found


@pytest.mark.parametrize("stack", STACKS)
def test_every_model_has_a_request_path_to_its_pods(stack: str) -> None:
    result = planned(stack)
    [route] = objects(result, "AIGatewayRoute")
    served = {name: m["servedModelName"] for name, m in result.outputs["models"].items()}
    for name, model in served.items():
        [rule] = [
            r
            for r in route["spec"]["rules"]
            if r["matches"][0]["headers"][0]
            == {"type": "Exact", "name": MODEL_HEADER, "value": model}
        ]
        [ref] = rule["backendRefs"]
        ai_backend = named(result, "AIServiceBackend", ref["name"])
        assert ai_backend["spec"]["schema"]["name"] == "OpenAI"
        eg_backend = named(result, "Backend", ai_backend["spec"]["backendRef"]["name"])
        [endpoint] = eg_backend["spec"]["endpoints"]
        host = endpoint["fqdn"]["hostname"]
        service_name, namespace = host.split(".")[:2]
        service = next(
            o
            for o in objects(result, "Service")
            if o["metadata"]["name"] == service_name and o["metadata"]["namespace"] == namespace
        )
        assert service["spec"]["clusterIP"] == "None"  # per-pod endpoints for Envoy
        deployment = named(result, "Deployment", name)
        pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert service["spec"]["selector"].items() <= pod_labels.items()
        assert endpoint["fqdn"]["port"] == 8000


@pytest.mark.parametrize("stack", STACKS)
def test_auth_and_limits_cover_the_listener_every_model_route_uses(stack: str) -> None:
    result = planned(stack)
    [route] = objects(result, "AIGatewayRoute")
    [parent] = route["spec"]["parentRefs"]
    for kind in ("SecurityPolicy", "BackendTrafficPolicy"):
        [policy] = objects(result, kind)
        targets = [
            (t["kind"], t["name"], t.get("sectionName")) for t in policy["spec"]["targetRefs"]
        ]
        assert (parent["kind"], parent["name"], parent["sectionName"]) in targets
    [auth] = objects(result, "SecurityPolicy")
    key = auth["spec"]["apiKeyAuth"]
    assert key["extractFrom"] == [{"headers": ["Authorization"]}]
    assert key["forwardClientIDHeader"] == CLIENT_HEADER and key["sanitize"] is True
    secret = named(result, "Secret", key["credentialRefs"][0]["name"])
    assert secret["stringData"] == {c: "[secret]" for c in secret["stringData"]}


def test_rate_limits_are_per_client_with_overrides() -> None:
    [policy] = objects(rendered(gpu_box()), "BackendTrafficPolicy")
    default, batch = policy["spec"]["rateLimit"]["local"]["rules"]
    headers = default["clientSelectors"][0]["headers"]
    assert {"name": CLIENT_HEADER, "type": "Distinct"} in headers  # a bucket per client
    assert {"name": CLIENT_HEADER, "type": "Exact", "value": "batch", "invert": True} in headers
    assert default["limit"] == {"requests": 120, "unit": "Minute"}
    assert batch["limit"] == {"requests": 600, "unit": "Minute"}


def test_sessions_stick_and_failing_backends_are_ejected() -> None:
    spec = objects(rendered(gpu_box()), "BackendTrafficPolicy")[0]["spec"]
    assert spec["loadBalancer"] == {
        "type": "ConsistentHash",
        "consistentHash": {"type": "Headers", "headers": [{"name": "x-session-id"}]},
    }
    assert spec["healthCheck"]["passive"]["consecutive5XxErrors"] == 3
    assert spec["healthCheck"]["passive"]["baseEjectionTime"] == "30s"
    assert spec["retry"]["retryOn"]["triggers"] == [
        "connect-failure",
        "refused-stream",
        "reset-before-request",
    ]  # never mid-generation
    assert spec["timeout"]["http"]["requestTimeout"] == "600s"
    assert spec["requestBuffer"]["limit"] == "8Mi"


def test_a_silent_generation_is_not_cut_before_the_request_timeout() -> None:
    """A non-streamed completion sends no byte until it is done: Envoy's 5-minute stream
    idle default would reset it inside the request timeout."""
    raw = gpu_box()
    raw["gateway"]["requestTimeoutSeconds"] = 900
    [policy] = objects(rendered(raw), "ClientTrafficPolicy")
    crd_schema.validate(policy)
    assert policy["spec"]["timeout"]["http"]["streamIdleTimeout"] == "900s"
    [traffic] = objects(rendered(raw), "BackendTrafficPolicy")
    assert policy["spec"]["targetRefs"] == traffic["spec"]["targetRefs"]


def test_tls_with_acme_and_https_redirect() -> None:
    result = rendered(gpu_box())
    [issuer] = objects(result, "ClusterIssuer")
    assert issuer["spec"]["acme"]["email"] == "ops@example.com"
    solver = issuer["spec"]["acme"]["solvers"][0]["http01"]["gatewayHTTPRoute"]
    assert solver["parentRefs"][0]["sectionName"] == "http"  # challenges need no API key
    [cert] = objects(result, "Certificate")
    assert cert["spec"]["dnsNames"] == ["llm.example.com"]
    [gw] = objects(result, "Gateway")
    https = next(listener for listener in gw["spec"]["listeners"] if listener["name"] == "https")
    assert https["tls"]["certificateRefs"][0]["name"] == cert["spec"]["secretName"]
    [redirect] = objects(result, "HTTPRoute")
    assert redirect["spec"]["rules"][0]["filters"][0]["requestRedirect"]["scheme"] == "https"
    assert result.outputs["endpoint"] == "https://llm.example.com/v1"


def test_dev_serves_plain_http_without_cert_manager() -> None:
    result = rendered(cpu_laptop())
    assert objects(result, "Certificate") == [] and objects(result, "HTTPRoute") == []
    releases = {r.name for r in result.resources if r.type.endswith("helm.sh/v3:Release")}
    assert "cert-manager/cert-manager" not in releases
    assert result.outputs["endpoint"] == (
        "http://llm-gateway.envoy-gateway-system.svc.cluster.local/v1"
    )


def test_weighted_split_between_deployments_of_one_model(tmp_path: Path) -> None:
    raw = fixed_replicas(gpu_box(), 1)
    canary = {
        **raw["models"][0],
        "name": "qwen-canary",
        "servedModelName": "qwen-canary",
        "replicas": 1,
    }
    raw["models"].append(canary)
    raw["gateway"]["routes"] = [
        {
            "model": "Qwen/Qwen2.5-7B-Instruct",
            "backends": [
                {"deployment": "qwen2-5-7b", "weight": 90},
                {"deployment": "qwen-canary", "weight": 10},
            ],
        }
    ]
    result = rendered(raw)
    [route] = objects(result, "AIGatewayRoute")
    [rule] = route["spec"]["rules"]
    assert [(r["name"], r["weight"], r.get("modelNameOverride")) for r in rule["backendRefs"]] == [
        ("vllm-qwen2-5-7b", 90, None),
        ("vllm-qwen-canary", 10, "qwen-canary"),
    ]


def test_secrets_are_pulumi_secrets_and_never_plain_text() -> None:
    for stack in STACKS:
        result = planned(stack)
        for r in result.resources:
            if r.type == "kubernetes:core/v1:Secret":
                assert "stringData" in r.secret_paths, r.name
        text = str([r.inputs for r in result.resources])
        assert "offline-api-key" not in text and "offline-grafana" not in text
    assert "apiKeys" in rendered(cpu_laptop()).outputs


# ----------------------------------------------------------------------- NetworkPolicies


# Who reaches the vLLM pods, and what every namespace denies: judged by the analyzer over
# every stack (tests/assembly/test_connectivity.py).


def test_vllm_pods_reach_only_dns_and_public_https() -> None:
    result = rendered(gpu_box())
    egress = [
        (p["metadata"]["name"], rule)
        for p in objects(result, "NetworkPolicy")
        if p["metadata"]["namespace"] == "llm-serving"
        for rule in p["spec"].get("egress", [])
    ]
    assert [name for name, _ in egress] == ["allow-dns", "allow-model-download"]
    download = dict(egress)["allow-model-download"]
    assert download["ports"] == [{"protocol": "TCP", "port": 443}]
    block = download["to"][0]["ipBlock"]
    assert block["cidr"] == "0.0.0.0/0"
    assert {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16"} <= set(
        block["except"]
    )


def test_network_policies_can_be_switched_off(tmp_path: Path) -> None:
    raw = cpu_laptop()
    raw["security"] = {"networkPolicies": False}
    assert objects(rendered(raw), "NetworkPolicy") == []


# ----------------------------------------------------------------------- pod security


@pytest.mark.parametrize("stack", STACKS)
def test_every_declared_pod_meets_the_restricted_profile(stack: str) -> None:
    for r in planned(stack).resources:
        if r.type.endswith(("apps/v1:Deployment", "apps/v1:DaemonSet", "apps/v1:StatefulSet")):
            assert restricted_violations(pod_spec(r)) == [], r.name
    ns = named(planned(stack), "Namespace", "llm-serving")
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_restricted_check_catches_a_privileged_pod() -> None:
    pod = {
        "containers": [{"name": "x", "securityContext": {"privileged": True}}],
        "hostNetwork": True,
    }
    assert len(restricted_violations(pod)) >= 4


def test_privileged_namespaces_are_only_the_allow_listed_ones() -> None:
    privileged = {
        o["metadata"]["name"]
        for o in objects(rendered(gpu_box()), "Namespace")
        if o["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"
    }
    # device plugin and DCGM exporter (gpu-system); node-exporter (monitoring)
    assert privileged == {"gpu-system", "monitoring"}


# ----------------------------------------------------------------------- chat UI


def test_chat_ui_uses_the_gateway_with_its_own_key() -> None:
    result = rendered(cpu_laptop())
    release = next(r for r in result.resources if r.name == "chat/open-webui")
    values = release.inputs["values"]
    assert values["ollama"] == {"enabled": False} and values["pipelines"] == {"enabled": False}
    assert values["openaiBaseApiUrl"] == result.outputs["endpoint"]
    assert values["openaiApiKey"] == ""  # not the chart's public default
    env = values["extraEnvVars"][0]
    assert env["valueFrom"]["secretKeyRef"]["name"] == "chat-ui-api-key"
    [keys] = [o for o in objects(result, "Secret") if o["metadata"]["name"] == "llm-api-keys"]
    assert "chat-ui" in keys["stringData"]


def test_api_keys_from_secret_config_replace_generated_ones(tmp_path: Path) -> None:
    raw = gpu_box()
    path = write_stack_file(tmp_path, raw)
    text = path.read_text() + (
        "  llm-platform:apiKeys:\n"
        "    default: {secure: v1:AAAAencrypted1}\n"
        "    batch: {secure: v1:AAAAencrypted2}\n"
    )
    path.write_text(text)
    result = plan_stack("test", path)
    assert not [
        r
        for r in result.resources
        if r.type.startswith("random:") and r.name.startswith("api-key-")
    ]
    keys = named(result, "Secret", "llm-api-keys")
    assert keys["stringData"] == {"default": "[secret]", "batch": "[secret]"}


def test_plain_text_api_keys_are_refused() -> None:
    raw = gpu_box()
    raw["apiKeys"] = {"default": "sk-plain", "batch": "sk-plain"}
    with pytest.raises(ConfigError) as caught:
        rendered(raw)
    [line] = caught.value.lines()
    assert line.endswith(
        "/Pulumi.test.yaml: llm-platform:apiKeys: must be a secret: "
        "pulumi config set --secret --path 'apiKeys.<client>' <key>"
    )
