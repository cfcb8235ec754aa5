"""The gateway: Envoy Gateway + Envoy AI Gateway objects, TLS, API keys and traffic policy.

Clients use one OpenAI-compatible base URL. The AI Gateway reads `model` from the request
body into the `x-ai-eg-model` header; an AIGatewayRoute rule per public model name sends
the request to weighted AIServiceBackends, each an Envoy Gateway Backend that resolves the
model's headless Service, so Envoy balances (and ejects, and hashes sessions) per pod.
"""

from __future__ import annotations

from typing import Any

from infra.catalog.metrics import AI_CLIENT_ATTRIBUTE
from infra.catalog.versions import ENVOY_GATEWAY_IMAGE
from infra.catalog.vllm import SERVER_PORT
from infra.config import GatewayConfig
from infra.manifests.common import HELPER_RESOURCES, Manifest, labels, opaque_secret
from infra.manifests.inference_pool import backend_ref as pool_backend_ref
from infra.manifests.model_server import pod_service_name
from infra.manifests.ratelimit import envoy_gateway_rate_limit, llm_request_costs, rate_limit_spec
from infra.manifests.topology import (
    AI_GATEWAY_API,
    AI_GATEWAY_EXTENSION,
    AI_GATEWAY_EXTENSION_PORT,
    API_KEYS_SECRET,
    CHAT_HTTP_LISTENER,
    CHAT_LISTENER,
    CLIENT_HEADER,
    EG_API,
    EG_NAMESPACE,
    GATEWAY,
    GATEWAY_API,
    GATEWAY_CLASS,
    GATEWAY_NAMESPACE,
    HTTP_PORT,
    HTTPS_PORT,
    INTERCEPTOR_PROXY_PORT,
    POOL_API,
    PROXY_SERVICE,
    TLS_SECRET,
    service_host,
)
from infra.manifests.wake import WAKE_HEADER, interceptor_host, wake_response_override
from infra.planning.routing import PublicRoute

# The AI Gateway controller's extension server, which Envoy Gateway calls while translating.
MODEL_HEADER = "x-ai-eg-model"  # where the AI Gateway puts the request's `model`
# Retry only failures that happened before vLLM saw the request: a completion is not
# idempotent, so a reset mid-generation is returned to the client, never replayed.
RETRY_TRIGGERS = ["connect-failure", "refused-stream", "reset-before-request"]
# New replicas appear in DNS within this; CoreDNS answers headless names with a 5 s TTL.
DNS_REFRESH = "5s"
PROXY_RESOURCES: Manifest = {
    "requests": {"cpu": "250m", "memory": "256Mi"},
    "limits": {"cpu": "2", "memory": "1Gi"},
}
CONTROLLER_RESOURCES: Manifest = {
    "requests": {"cpu": "100m", "memory": "256Mi"},
    "limits": {"cpu": "1", "memory": "1Gi"},
}


def gateway_meta(name: str, component: str, namespace: str | None = GATEWAY_NAMESPACE) -> Manifest:
    meta: Manifest = {"name": name, "labels": labels("llm-gateway", name, component)}
    if namespace:
        meta["namespace"] = namespace
    return meta


def listener(gw: GatewayConfig) -> str:
    """The listener clients use: https with TLS, else http."""
    return "http" if gw.tls.mode == "none" else "https"


def endpoint(gw: GatewayConfig) -> str:
    host = gw.hostname or service_host(PROXY_SERVICE, EG_NAMESPACE)
    return f"{listener(gw)}://{host}/v1"


# --------------------------------------------------------------------------- Helm values


def envoy_gateway_values(
    gw: GatewayConfig, redis_password: bool = False, pools: bool = False
) -> Manifest:
    """Envoy Gateway with the AI Gateway's extension server hooked in (its install guide),
    its rate-limit service on Redis when the limits are global, and InferencePools as
    backends the extension resolves when a model routes through one."""
    values = _envoy_gateway_base()
    if pools:
        manager = values["config"]["envoyGateway"]["extensionManager"]
        manager["backendResources"] = [
            {"group": POOL_API, "kind": "InferencePool", "version": "v1"}
        ]
    if gw.limits == "global":
        limits = envoy_gateway_rate_limit(gw, redis_password)
        config = values["config"]["envoyGateway"]
        config["rateLimit"] = limits["rateLimit"]
        config["provider"]["kubernetes"].update(limits["provider"]["kubernetes"])
    return values


def _envoy_gateway_base() -> Manifest:
    return {
        "config": {
            "envoyGateway": {
                "gateway": {"controllerName": f"{EG_API}/gatewayclass-controller"},
                "extensionApis": {"enableBackend": True, "enableEnvoyPatchPolicy": True},
                "extensionManager": {
                    "hooks": {
                        "xdsTranslator": {
                            "translation": {
                                k: {"includeAll": True}
                                for k in ("listener", "route", "cluster", "secret")
                            },
                            "post": ["Translation", "Cluster", "Route"],
                        }
                    },
                    "service": {
                        "fqdn": {
                            "hostname": AI_GATEWAY_EXTENSION,
                            "port": AI_GATEWAY_EXTENSION_PORT,
                        }
                    },
                },
                # The compiled-in default is a mutable dev tag: pin it.
                "provider": {
                    "type": "Kubernetes",
                    "kubernetes": {"shutdownManager": {"image": ENVOY_GATEWAY_IMAGE}},
                },
            }
        },
        "deployment": {"envoyGateway": {"resources": CONTROLLER_RESOURCES}},
        "certgen": {"job": {"resources": HELPER_RESOURCES}},
    }


def ai_gateway_values() -> Manifest:
    """The controller; its usage metrics carry the client the API key named."""
    return {
        "controller": {
            "resources": CONTROLLER_RESOURCES,
            "metricsRequestHeaderAttributes": f"{CLIENT_HEADER}:{AI_CLIENT_ATTRIBUTE}",
        }
    }


# --------------------------------------------------------------------------- Gateway


def envoy_proxy(gw: GatewayConfig, address: Any = None) -> Manifest:
    kubernetes: Manifest = {
        "envoyDeployment": {"replicas": gw.replicas, "container": {"resources": PROXY_RESOURCES}},
        "envoyService": {"name": PROXY_SERVICE, "type": gw.service_type},
    }
    if address is not None:
        # DR: DNS points at this reserved address, so it must not change with the Service.
        kubernetes["envoyService"]["loadBalancerIP"] = address
    if gw.replicas > 1:
        kubernetes["envoyPDB"] = {"minAvailable": 1}
    return {
        "apiVersion": f"{EG_API}/v1alpha1",
        "kind": "EnvoyProxy",
        "metadata": gateway_meta(GATEWAY, "proxy-config"),
        "spec": {"provider": {"type": "Kubernetes", "kubernetes": kubernetes}},
    }


def gateway_class() -> Manifest:
    return {
        "apiVersion": f"{GATEWAY_API}/v1",
        "kind": "GatewayClass",
        "metadata": gateway_meta(GATEWAY_CLASS, "gateway-class", None),
        "spec": {
            "controllerName": f"{EG_API}/gatewayclass-controller",
            "parametersRef": {
                "group": EG_API,
                "kind": "EnvoyProxy",
                "name": GATEWAY,
                "namespace": GATEWAY_NAMESPACE,
            },
        },
    }


def _listeners(gw: GatewayConfig, http: str, https: str, hostname: str | None) -> list[Manifest]:
    listeners: list[Manifest] = [
        {
            "name": http,
            "protocol": "HTTP",
            "port": HTTP_PORT,
            "allowedRoutes": {"namespaces": {"from": "Same"}},
        }
    ]
    if gw.tls.mode != "none":
        listeners.append(
            {
                "name": https,
                "protocol": "HTTPS",
                "port": HTTPS_PORT,
                "tls": {
                    "mode": "Terminate",
                    "certificateRefs": [{"group": "", "kind": "Secret", "name": TLS_SECRET}],
                },
                "allowedRoutes": {"namespaces": {"from": "Same"}},
            }
        )
    if hostname:
        for item in listeners:
            item["hostname"] = hostname
    return listeners


def gateway(gw: GatewayConfig, chat_hostname: str | None = None) -> Manifest:
    """The API's listeners, and the chat UI's own pair on its hostname (no API keys there:
    policies attach to the API's listener by name)."""
    listeners = _listeners(gw, "http", "https", gw.hostname)
    if chat_hostname:
        listeners += _listeners(gw, CHAT_HTTP_LISTENER, CHAT_LISTENER, chat_hostname)
    return {
        "apiVersion": f"{GATEWAY_API}/v1",
        "kind": "Gateway",
        "metadata": gateway_meta(GATEWAY, "gateway"),
        "spec": {"gatewayClassName": GATEWAY_CLASS, "listeners": listeners},
    }


# --------------------------------------------------------------------------- routing


def backend_name(plan_name: str) -> str:
    return f"vllm-{plan_name}"


def backend(name: str, namespace: str, sleeps: bool = False) -> Manifest:
    """Envoy resolves the headless Service: one endpoint per ready vLLM pod. A model that
    sleeps is reached through the KEDA HTTP add-on's interceptor, which wakes and waits."""
    host = service_host(pod_service_name(name), namespace)
    port = SERVER_PORT
    if sleeps:
        host, port = interceptor_host(), INTERCEPTOR_PROXY_PORT
    return {
        "apiVersion": f"{EG_API}/v1alpha1",
        "kind": "Backend",
        "metadata": gateway_meta(backend_name(name), "backend"),
        "spec": {"endpoints": [{"fqdn": {"hostname": host, "port": port}}]},
    }


def ai_service_backend(name: str, sleeps: bool = False) -> Manifest:
    spec: Manifest = {
        "schema": {"name": "OpenAI"},  # vLLM speaks the OpenAI API
        "backendRef": {"group": EG_API, "kind": "Backend", "name": backend_name(name)},
    }
    if sleeps:
        # The interceptor holds requests for several deployments: this one is for `name`.
        spec["headerMutation"] = {"set": [{"name": WAKE_HEADER, "value": name}]}
    return {
        "apiVersion": f"{AI_GATEWAY_API}/v1beta1",
        "kind": "AIServiceBackend",
        "metadata": gateway_meta(backend_name(name), "backend"),
        "spec": spec,
    }


def ai_gateway_route(gw: GatewayConfig, routes: list[PublicRoute]) -> Manifest:
    rules = []
    for route in routes:
        refs = []
        pooled = [b for b in route.backends if b.plan.model.routing == "inferencePool"]
        if pooled:  # validated: a pooled deployment is alone in its route
            refs.append(pool_backend_ref(pooled[0].plan))
        for b in route.backends if not pooled else []:
            ref: Manifest = {"name": backend_name(b.plan.model.name), "weight": b.weight}
            if b.plan.model.served_name != route.model:
                # The deployment serves its own name (and its metrics carry it).
                ref["modelNameOverride"] = b.plan.model.served_name
            refs.append(ref)
        rules.append(
            {
                "matches": [
                    {"headers": [{"type": "Exact", "name": MODEL_HEADER, "value": route.model}]}
                ],
                "backendRefs": refs,
                "timeouts": {"request": f"{gw.request_timeout_seconds}s"},
            }
        )
    spec: Manifest = {
        "parentRefs": [
            {"group": GATEWAY_API, "kind": "Gateway", "name": GATEWAY, "sectionName": listener(gw)}
        ],
        "rules": rules,
    }
    if gw.hostname:
        spec["hostnames"] = [gw.hostname]
    costs = llm_request_costs(gw)
    if costs:
        spec["llmRequestCosts"] = costs
    return {
        "apiVersion": f"{AI_GATEWAY_API}/v1beta1",
        "kind": "AIGatewayRoute",
        "metadata": gateway_meta("models", "route"),
        "spec": spec,
    }


# --------------------------------------------------------------------------- policy


def _client_listener(gw: GatewayConfig) -> list[Manifest]:
    """Policies attach to the clients' listener only: port 80 keeps serving the redirect
    and ACME challenges without a key."""
    return [{"group": GATEWAY_API, "kind": "Gateway", "name": GATEWAY, "sectionName": listener(gw)}]


def security_policy(gw: GatewayConfig) -> Manifest:
    return {
        "apiVersion": f"{EG_API}/v1alpha1",
        "kind": "SecurityPolicy",
        "metadata": gateway_meta("api-keys", "auth"),
        "spec": {
            "targetRefs": _client_listener(gw),
            "apiKeyAuth": {
                "credentialRefs": [{"group": "", "kind": "Secret", "name": API_KEYS_SECRET}],
                # OpenAI clients send `Authorization: Bearer <key>`; Envoy strips "Bearer ".
                "extractFrom": [{"headers": ["Authorization"]}],
                "forwardClientIDHeader": CLIENT_HEADER,
                "sanitize": True,  # vLLM never sees the key
            },
        },
    }


def traffic_policy(gw: GatewayConfig, wake_retry_after: int | None = None) -> Manifest:
    """`wake_retry_after`: with a sleeping model, the Retry-After (seconds) a request gets
    when its model did not wake within the hold (the longest wake-up of the stack's)."""
    outlier = gw.outlier_detection
    policy: Manifest = {
        "apiVersion": f"{EG_API}/v1alpha1",
        "kind": "BackendTrafficPolicy",
        "metadata": gateway_meta("serving", "traffic"),
        "spec": {
            "targetRefs": _client_listener(gw),
            "rateLimit": rate_limit_spec(gw),
            # A conversation keeps its replica, so its prefix stays in that KV cache.
            "loadBalancer": {
                "type": "ConsistentHash",
                "consistentHash": {"type": "Headers", "headers": [{"name": gw.session_header}]},
            },
            "healthCheck": {
                "passive": {
                    "consecutive5XxErrors": outlier.consecutive_errors,
                    "baseEjectionTime": f"{outlier.ejection_seconds}s",
                    "maxEjectionPercent": outlier.max_ejection_percent,
                }
            },
            "retry": {"numRetries": gw.retries, "retryOn": {"triggers": RETRY_TRIGGERS}},
            "timeout": {"http": {"requestTimeout": f"{gw.request_timeout_seconds}s"}},
            "requestBuffer": {"limit": f"{gw.max_request_body_mib}Mi"},
            "dns": {"dnsRefreshRate": DNS_REFRESH, "respectDnsTtl": True},
        },
    }
    if wake_retry_after is not None:
        policy["spec"]["responseOverride"] = [wake_response_override(wake_retry_after)]
    return policy


def client_policy(gw: GatewayConfig) -> Manifest:
    """Envoy resets a stream that moves no byte for 5 minutes (its default stream idle
    timeout): a non-streamed completion sends nothing until it is done, so any generation
    longer than that would be cut inside gateway.requestTimeoutSeconds. The request timeout
    is the one deadline."""
    return {
        "apiVersion": f"{EG_API}/v1alpha1",
        "kind": "ClientTrafficPolicy",
        "metadata": gateway_meta("clients", "traffic"),
        "spec": {
            "targetRefs": _client_listener(gw),
            "timeout": {"http": {"streamIdleTimeout": f"{gw.request_timeout_seconds}s"}},
        },
    }


def api_keys_secret(keys: dict[str, Any]) -> Manifest:
    """client id -> key; values are Pulumi secret Outputs."""
    return opaque_secret(gateway_meta(API_KEYS_SECRET, "api-keys"), keys)
