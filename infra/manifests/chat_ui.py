"""Open WebUI, pointed at the gateway with its own API key."""

from __future__ import annotations

from infra.config import ChatUiConfig
from infra.manifests.common import HELPER_RESOURCES, Manifest, gib, labels, opaque_secret
from infra.manifests.topology import CHAT_CLIENT, CHAT_KEY_SECRET, CHAT_NAMESPACE

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
        "extraEnvVars": [
            {
                "name": "OPENAI_API_KEY",
                "valueFrom": {"secretKeyRef": {"name": CHAT_KEY_SECRET, "key": "api-key"}},
            }
        ],
        "persistence": persistence,
        "resources": CHAT_RESOURCES,
        "copyAppData": {"resources": HELPER_RESOURCES},
        "containerSecurityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
    }
