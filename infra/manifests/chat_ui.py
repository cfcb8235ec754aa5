"""Open WebUI, pointed at the gateway with its own API key; optionally served through the
gateway on its own hostname: HTTPS, the gateway's sign-in in front (basic auth, a generated
password), then Open WebUI's own accounts (new sign-ups wait for an admin's approval)."""

from __future__ import annotations

import base64
import hashlib

from infra.config import ChatUiConfig
from infra.manifests.common import HELPER_RESOURCES, Manifest, gib, labels, opaque_secret
from infra.manifests.network import Rule, allow, baseline, peer, public, tcp
from infra.manifests.peers import (
    ENVOY_PODS,
)
from infra.manifests.topology import (
    CHAT_CLIENT,
    CHAT_KEY_SECRET,
    CHAT_LISTENER,
    CHAT_NAMESPACE,
    CHAT_ROUTE,
    CHAT_SESSION_SECRET,
    CHAT_USERS_SECRET,
    EG_NAMESPACE,
    GATEWAY,
    GATEWAY_API,
    GATEWAY_NAMESPACE,
    HTTPS_PORT,
    OPEN_WEBUI_CONTAINER_PORT,
    OPEN_WEBUI_PODS,
    OPEN_WEBUI_PORT,
    OPEN_WEBUI_SERVICE,
)

CHAT_RESOURCES: Manifest = {
    "requests": {"cpu": "250m", "memory": "512Mi"},
    "limits": {"cpu": "2", "memory": "2Gi"},
}


def chat_key_secret(key: object) -> Manifest:
    return opaque_secret(
        {
            "name": CHAT_KEY_SECRET,
            "namespace": CHAT_NAMESPACE,
            "labels": labels("open-webui", CHAT_CLIENT, "api-key"),
        },
        {"api-key": key},
    )


def _meta(name: str, namespace: str, component: str) -> Manifest:
    return {"name": name, "namespace": namespace, "labels": labels("open-webui", name, component)}


def session_key_secret(key: object) -> Manifest:
    """Signs Open WebUI's sessions: generated, so sessions survive restarts and no image
    default is ever the key."""
    return opaque_secret(_meta(CHAT_SESSION_SECRET, CHAT_NAMESPACE, "session-key"), {"key": key})


def htpasswd_line(username: str, password: str) -> str:
    """The one htpasswd form Envoy's basic auth accepts: {SHA} (base64 of the SHA-1)."""
    digest = base64.b64encode(hashlib.sha1(password.encode()).digest()).decode()
    return f"{username}:{{SHA}}{digest}\n"


def users_secret(htpasswd: object) -> Manifest:
    return opaque_secret(
        _meta(CHAT_USERS_SECRET, GATEWAY_NAMESPACE, "sign-in"), {".htpasswd": htpasswd}
    )


def chat_route(hostname: str) -> Manifest:
    """The chat UI's hostname, on its own listener, to Open WebUI's Service."""
    return {
        "apiVersion": f"{GATEWAY_API}/v1",
        "kind": "HTTPRoute",
        "metadata": _meta(CHAT_ROUTE, GATEWAY_NAMESPACE, "route"),
        "spec": {
            "parentRefs": [
                {
                    "group": GATEWAY_API,
                    "kind": "Gateway",
                    "name": GATEWAY,
                    "sectionName": CHAT_LISTENER,
                }
            ],
            "hostnames": [hostname],
            "rules": [
                {
                    "backendRefs": [
                        {
                            "group": "",
                            "kind": "Service",
                            "name": OPEN_WEBUI_SERVICE,
                            "namespace": CHAT_NAMESPACE,
                            "port": OPEN_WEBUI_PORT,
                        }
                    ]
                }
            ],
        },
    }


def route_grant() -> Manifest:
    """Lets the route in the gateway's namespace reach Open WebUI's Service, and only it."""
    return {
        "apiVersion": f"{GATEWAY_API}/v1",
        "kind": "ReferenceGrant",
        "metadata": _meta(CHAT_ROUTE, CHAT_NAMESPACE, "route-grant"),
        "spec": {
            "from": [{"group": GATEWAY_API, "kind": "HTTPRoute", "namespace": GATEWAY_NAMESPACE}],
            "to": [{"group": "", "kind": "Service", "name": OPEN_WEBUI_SERVICE}],
        },
    }


def sign_in_policy() -> Manifest:
    """The gateway's sign-in in front of the chat UI (never open without auth)."""
    return {
        "apiVersion": "gateway.envoyproxy.io/v1alpha1",
        "kind": "SecurityPolicy",
        "metadata": _meta(CHAT_ROUTE, GATEWAY_NAMESPACE, "sign-in"),
        "spec": {
            "targetRefs": [{"group": GATEWAY_API, "kind": "HTTPRoute", "name": CHAT_ROUTE}],
            "basicAuth": {"users": {"group": "", "kind": "Secret", "name": CHAT_USERS_SECRET}},
        },
    }


def chat_policies(hostname: str | None, gateway: Rule) -> list[Manifest]:
    """Open WebUI takes connections from the gateway's proxies, and only when it is served
    on its own hostname (else it is reached by port-forward, which no policy sees); it
    reaches the gateway (`gateway`: how, gateway_network.gateway_client) and HTTPS on public
    addresses (its embedding model's download, web search)."""
    ingress: list[Rule] = (
        [([peer(EG_NAMESPACE, ENVOY_PODS)], [tcp(OPEN_WEBUI_CONTAINER_PORT)])] if hostname else []
    )
    return [
        *baseline(CHAT_NAMESPACE),
        allow("open-webui", CHAT_NAMESPACE, OPEN_WEBUI_PODS, ingress=ingress,
              egress=[gateway, ([public()], [tcp(HTTPS_PORT)])]),
    ]  # fmt: skip


def _env(cfg: ChatUiConfig) -> list[Manifest]:
    env: list[Manifest] = [
        {
            "name": "OPENAI_API_KEY",
            "valueFrom": {"secretKeyRef": {"name": CHAT_KEY_SECRET, "key": "api-key"}},
        },
        {
            "name": "WEBUI_SECRET_KEY",
            "valueFrom": {"secretKeyRef": {"name": CHAT_SESSION_SECRET, "key": "key"}},
        },
        # Accounts always: the first sign-up is the admin, later ones wait for approval.
        {"name": "WEBUI_AUTH", "value": "True"},
        {"name": "DEFAULT_USER_ROLE", "value": "pending"},
    ]
    if cfg.hostname:
        env += [
            {"name": "WEBUI_URL", "value": f"https://{cfg.hostname}"},
            {"name": "WEBUI_SESSION_COOKIE_SECURE", "value": "true"},
        ]
    return env


def open_webui_values(cfg: ChatUiConfig, gateway_url: str) -> Manifest:
    persistence: Manifest = {"enabled": True, "size": gib(cfg.size_gib)}
    if cfg.storage_class:
        persistence["storageClass"] = cfg.storage_class
    return {
        "ollama": {"enabled": False},
        "pipelines": {"enabled": False},
        "websocket": {"enabled": False},  # one replica needs no Redis
        "openaiBaseApiUrl": gateway_url,
        # The chart's default key is a public string; the real one comes from a Secret.
        "openaiApiKey": "",
        "extraEnvVars": _env(cfg),
        "persistence": persistence,
        "resources": CHAT_RESOURCES,
        "copyAppData": {"resources": HELPER_RESOURCES},
        "containerSecurityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
    }
