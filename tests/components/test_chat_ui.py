"""The chat UI through the gateway: its own hostname and listener, HTTPS, the gateway's
sign-in in front, Open WebUI's own accounts behind, reachable from the proxies only."""

from __future__ import annotations

from typing import Any

import jsonschema
import kubernetes_validate
import pytest

from infra.config import ConfigError
from infra.engine import RunResult
from infra.manifests.chat_ui import htpasswd_line
from infra.manifests.topology import CHAT_LISTENER, CHAT_USERS_SECRET, OPEN_WEBUI_SERVICE
from infra.plan import manifest_of
from policies import config as policy_config
from policies.review import review
from tests import crd_schema
from tests.builders import gpu_box, rendered
from tests.helpers import plan_of

CHAT_HOST = "chat.example.com"


def _stack(**chat: Any) -> dict[str, Any]:
    return gpu_box(chatUi={"enabled": True, "storageClass": "local-path", **chat})


def objects(result: RunResult, kind: str) -> list[dict[str, Any]]:
    return [m for r in result.resources if (m := manifest_of(r)) and m["kind"] == kind]


def named(result: RunResult, kind: str, name: str) -> dict[str, Any]:
    [found] = [o for o in objects(result, kind) if o["metadata"]["name"] == name]
    return found


@pytest.fixture(scope="module")
def served() -> RunResult:
    return rendered(_stack(hostname=CHAT_HOST))


def test_the_chat_ui_has_its_own_https_listener_and_route(served: RunResult) -> None:
    [gateway] = objects(served, "Gateway")
    listeners = {item["name"]: item for item in gateway["spec"]["listeners"]}
    chat = listeners[CHAT_LISTENER]
    assert (chat["protocol"], chat["port"], chat["hostname"]) == ("HTTPS", 443, CHAT_HOST)
    assert listeners["https"]["hostname"] == "llm.example.com"
    route = named(served, "HTTPRoute", "chat-ui")
    assert route["spec"]["hostnames"] == [CHAT_HOST]
    assert [p["sectionName"] for p in route["spec"]["parentRefs"]] == [CHAT_LISTENER]
    [backend] = route["spec"]["rules"][0]["backendRefs"]
    assert (backend["name"], backend["namespace"]) == (OPEN_WEBUI_SERVICE, "chat")
    grant = named(served, "ReferenceGrant", "chat-ui")
    assert grant["metadata"]["namespace"] == "chat"
    assert grant["spec"]["to"] == [{"group": "", "kind": "Service", "name": OPEN_WEBUI_SERVICE}]
    [certificate] = objects(served, "Certificate")
    assert certificate["spec"]["dnsNames"] == ["llm.example.com", CHAT_HOST]
    redirect = named(served, "HTTPRoute", "https-redirect")
    assert CHAT_HOST in redirect["spec"]["hostnames"]
    [issuer] = objects(served, "ClusterIssuer")
    [solver] = issuer["spec"]["acme"]["solvers"]
    sections = [p["sectionName"] for p in solver["http01"]["gatewayHTTPRoute"]["parentRefs"]]
    assert sections == ["http", "chat-http"]  # the chat name's ACME challenge is reachable


def test_the_chat_ui_is_never_open_without_auth(served: RunResult) -> None:
    sign_in = named(served, "SecurityPolicy", "chat-ui")
    assert sign_in["spec"]["targetRefs"] == [
        {"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": "chat-ui"}
    ]
    assert sign_in["spec"]["basicAuth"]["users"]["name"] == CHAT_USERS_SECRET
    [users] = [
        r
        for r in served.resources
        if r.type == "kubernetes:core/v1:Secret" and r.name.endswith(CHAT_USERS_SECRET)
    ]
    assert users.secret_paths, "the htpasswd is a Pulumi secret"
    # The API keys stay on the API's listener; the chat listener has its own sign-in.
    api_keys = named(served, "SecurityPolicy", "api-keys")
    assert [t["sectionName"] for t in api_keys["spec"]["targetRefs"]] == ["https"]
    env = {
        e["name"]: e
        for e in next(
            r
            for r in served.resources
            if r.type.endswith("Release") and r.name == "chat/open-webui"
        ).inputs["values"]["extraEnvVars"]
    }
    assert env["WEBUI_AUTH"]["value"] == "True"
    assert env["DEFAULT_USER_ROLE"]["value"] == "pending"
    assert env["WEBUI_URL"]["value"] == f"https://{CHAT_HOST}"
    assert "secretKeyRef" in env["WEBUI_SECRET_KEY"]["valueFrom"]
    assert served.outputs["chatUi"]["url"] == f"https://{CHAT_HOST}"
    assert "chatUiPassword" in served.outputs


def test_only_the_gateway_proxies_reach_open_webui(served: RunResult) -> None:
    """(The analyzer judges the flows whole: tests/assembly/test_connectivity.py.)"""
    policies = {
        o["metadata"]["name"]: o
        for o in objects(served, "NetworkPolicy")
        if o["metadata"]["namespace"] == "chat"
    }
    assert set(policies) == {"default-deny", "allow-dns", "open-webui"}
    [rule] = policies["open-webui"]["spec"]["ingress"]
    [peer] = rule["from"]
    assert peer["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "envoy-gateway-system"
    }
    assert rule["ports"] == [{"protocol": "TCP", "port": 8080}]


def test_every_new_object_is_valid(served: RunResult) -> None:
    for kind in ("HTTPRoute", "ReferenceGrant", "SecurityPolicy", "Gateway", "Certificate"):
        for obj in objects(served, kind):
            try:
                crd_schema.validate(obj)
            except jsonschema.ValidationError as exc:
                pytest.fail(f"{kind}/{obj['metadata']['name']}: {exc.message}")
    for obj in objects(served, "NetworkPolicy"):
        kubernetes_validate.validate(obj, "1.31", strict=True)


def test_the_review_passes_at_production_strictness(served: RunResult) -> None:
    found = review(served.resources, policy_config.load("production"))
    assert not [v for v in found if v.level == "mandatory"], found


def test_without_a_hostname_the_chat_ui_stays_inside() -> None:
    result = rendered(_stack())
    assert not [o for o in objects(result, "HTTPRoute") if o["metadata"]["name"] == "chat-ui"]
    [gateway] = objects(result, "Gateway")
    assert CHAT_LISTENER not in {item["name"] for item in gateway["spec"]["listeners"]}
    assert "portForward" in result.outputs["chatUi"]


def test_the_sign_in_uses_the_htpasswd_form_envoy_accepts() -> None:
    """Apache's `htpasswd -s` output for the password "password" (a published vector)."""
    assert htpasswd_line("chat", "password") == "chat:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n"


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda r: r["gateway"].update(tls={"mode": "none"}), "only over HTTPS"),
        (lambda r: r["chatUi"].update(hostname="llm.example.com"), "a hostname of its own"),
    ],
    ids=["plain HTTP", "the API's hostname"],
)
def test_an_unsafe_chat_hostname_is_refused(change: Any, words: str) -> None:
    raw = _stack(hostname=CHAT_HOST)
    change(raw)
    with pytest.raises(ConfigError) as caught:
        plan_of(raw)
    [line] = [x for x in caught.value.lines() if "chatUi.hostname" in x]
    assert words in line
