"""Global per-client limits: Envoy Gateway's rate-limit service counting in Redis.

With `gateway.limits: global` every proxy replica asks one rate-limit service, so a client's
requests and tokens are counted once whatever replica serves them. The Redis is either one
the stack runs here (restricted pod, generated password in a config file, persistent in
production, reachable only from the rate-limit service) or an existing one
(`gateway.redis.url`, password from the `redisPassword` secret)."""

from __future__ import annotations

from typing import Any

from infra.config import GatewayConfig, RateLimitConfig, TokenLimitConfig
from infra.manifests.common import (
    Manifest,
    claim_spec,
    container_security_context,
    labels,
    opaque_secret,
    selector,
)
from infra.manifests.network import allow, baseline, peer, tcp
from infra.manifests.peers import (
    RATELIMIT_PODS,
)
from infra.manifests.topology import (
    CLIENT_HEADER,
    EG_NAMESPACE,
    RATELIMIT_NAMESPACE,
    service_host,
)

REDIS = "redis"
REDIS_PORT = 6379
# One instance: the counters are short-lived; losing them on a restart resets the windows.
REDIS_REPLICAS = 1
REDIS_PROBE_SECONDS = 10
REDIS_UID = 999  # the `redis` user of the official image
REDIS_GID = 1000
REDIS_CONFIG_SECRET = "redis-config"
REDIS_PODS = selector(REDIS, REDIS, "counters")
# The rate-limit service's copy of the password (it runs in Envoy Gateway's namespace).
RATELIMIT_AUTH_SECRET = "llm-ratelimit-redis"
REDIS_RESOURCES: Manifest = {
    "requests": {"cpu": "100m", "memory": "128Mi"},
    "limits": {"cpu": "1", "memory": "512Mi"},
}
# Counters expire on their own; keep Redis well inside its memory limit.
REDIS_MAX_MEMORY_MB = 384
RATELIMIT_RESOURCES: Manifest = {
    "requests": {"cpu": "100m", "memory": "64Mi"},
    "limits": {"cpu": "1", "memory": "256Mi"},
}


# Where the AI Gateway leaves each response's token counts (AIGatewayRoute llmRequestCosts).
AI_GATEWAY_METADATA = "io.envoy.ai_gateway"
TOKEN_COSTS = {"input": "InputToken", "output": "OutputToken", "total": "TotalToken"}


def cost_key(tokens: str) -> str:
    return f"llm_{tokens}_token"


def llm_request_costs(gw: GatewayConfig) -> list[Manifest]:
    """What the AI Gateway records per request for the token budgets to count."""
    kinds = {t.tokens for t in gw.token_limits}
    kinds |= {t.tokens for c in gw.clients for t in c.token_limits or []}
    return [{"metadataKey": cost_key(k), "type": TOKEN_COSTS[k]} for k in sorted(kinds)]


def _selectors(client: str | None, others: list[str]) -> list[Manifest]:
    """One client's own bucket, or (None) a bucket per client for everyone without one."""
    if client is not None:
        return [{"headers": [{"name": CLIENT_HEADER, "type": "Exact", "value": client}]}]
    excluded = [
        {"name": CLIENT_HEADER, "type": "Exact", "value": name, "invert": True}
        for name in sorted(others)
    ]
    return [{"headers": [{"name": CLIENT_HEADER, "type": "Distinct"}, *excluded]}]


def _request_rule(limit: RateLimitConfig, selectors: list[Manifest]) -> Manifest:
    return {
        "clientSelectors": selectors,
        "limit": {"requests": limit.requests, "unit": limit.unit},
    }


def _token_rule(limit: TokenLimitConfig, selectors: list[Manifest]) -> Manifest:
    """Checked before the request (cost 0), charged from the response's token count."""
    return {
        "clientSelectors": selectors,
        "limit": {"requests": limit.limit, "unit": limit.unit},
        "cost": {
            "request": {"from": "Number", "number": 0},
            "response": {
                "from": "Metadata",
                "metadata": {"namespace": AI_GATEWAY_METADATA, "key": cost_key(limit.tokens)},
            },
        },
    }


def rate_limit_rules(gw: GatewayConfig) -> list[Manifest]:
    """Every client gets the default limits on its own buckets, except clients with their
    own; token budgets (global only) the same way."""
    own = {c.name: c.rate_limit for c in gw.clients if c.rate_limit is not None}
    rules = [_request_rule(gw.rate_limit, _selectors(None, list(own)))]
    rules += [_request_rule(limit, _selectors(n, [])) for n, limit in sorted(own.items())]
    own_tokens = {c.name: c.token_limits for c in gw.clients if c.token_limits is not None}
    rules += [_token_rule(t, _selectors(None, list(own_tokens))) for t in gw.token_limits]
    for name, limits in sorted(own_tokens.items()):
        rules += [_token_rule(t, _selectors(name, [])) for t in limits]
    return rules


def rate_limit_spec(gw: GatewayConfig) -> Manifest:
    """Local: each proxy replica counts alone. Global: one count per client (and one
    bucket across the policy's routes), in the rate-limit service."""
    if gw.limits == "local":
        return {"local": {"rules": rate_limit_rules(gw)}}
    return {"global": {"rules": [{**r, "shared": True} for r in rate_limit_rules(gw)]}}


def redis_url(gw: GatewayConfig) -> str:
    return gw.redis.url or f"{service_host(REDIS, RATELIMIT_NAMESPACE)}:{REDIS_PORT}"


def redis_config(password: str, persistent: bool) -> str:
    """redis.conf: the password lives in a Secret-mounted file, never in the process args."""
    lines = [
        "bind * -::*",
        f"port {REDIS_PORT}",
        f"requirepass {password}",
        "dir /data",
        f"appendonly {'yes' if persistent else 'no'}",
        'save ""',
        f"maxmemory {REDIS_MAX_MEMORY_MB}mb",
        "maxmemory-policy volatile-ttl",
    ]
    return "\n".join(lines) + "\n"


def _meta(name: str, component: str, namespace: str = RATELIMIT_NAMESPACE) -> Manifest:
    return {"name": name, "namespace": namespace, "labels": labels(REDIS, name, component)}


def redis_config_secret(config: Any) -> Manifest:
    return opaque_secret(_meta(REDIS_CONFIG_SECRET, "config"), {"redis.conf": config})


def ratelimit_auth_secret(password: Any) -> Manifest:
    return opaque_secret(
        _meta(RATELIMIT_AUTH_SECRET, "ratelimit-auth", EG_NAMESPACE), {"password": password}
    )


def redis_service() -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(REDIS, "service"),
        "spec": {
            "selector": REDIS_PODS,
            "ports": [{"name": "redis", "port": REDIS_PORT, "targetPort": "redis"}],
        },
    }


def redis_stateful_set(gw: GatewayConfig, image: str, persistent: bool) -> Manifest:
    pod_labels = {**labels(REDIS, REDIS, "counters"), **REDIS_PODS}
    probe = {"tcpSocket": {"port": "redis"}, "periodSeconds": REDIS_PROBE_SECONDS}
    spec: Manifest = {
        "serviceName": REDIS,
        "replicas": REDIS_REPLICAS,
        "selector": {"matchLabels": REDIS_PODS},
        "template": {
            "metadata": {"labels": pod_labels},
            "spec": {
                "automountServiceAccountToken": False,
                "securityContext": {
                    "runAsNonRoot": True,
                    "runAsUser": REDIS_UID,
                    "runAsGroup": REDIS_GID,
                    "fsGroup": REDIS_GID,
                    "seccompProfile": {"type": "RuntimeDefault"},
                },
                "containers": [
                    {
                        "name": REDIS,
                        "image": image,
                        "command": ["redis-server", "/etc/redis/redis.conf"],
                        "ports": [{"name": "redis", "containerPort": REDIS_PORT}],
                        "resources": REDIS_RESOURCES,
                        "readinessProbe": probe,
                        "livenessProbe": probe,
                        "securityContext": container_security_context(),
                        "volumeMounts": [
                            {"name": "config", "mountPath": "/etc/redis", "readOnly": True},
                            {"name": "data", "mountPath": "/data"},
                        ],
                    }
                ],
                "volumes": [
                    {"name": "config", "secret": {"secretName": REDIS_CONFIG_SECRET}},
                    *([] if persistent else [{"name": "data", "emptyDir": {}}]),
                ],
            },
        },
    }
    if persistent:
        spec["volumeClaimTemplates"] = [
            {
                "metadata": {"name": "data"},
                "spec": claim_spec(gw.redis.size_gib, gw.redis.storage_class),
            }
        ]
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": _meta(REDIS, "counters"),
        "spec": spec,
    }


def redis_policies() -> list[Manifest]:
    """Nothing reaches Redis but the rate-limit service; Redis reaches nothing but DNS."""
    ratelimit = peer(EG_NAMESPACE, dict(RATELIMIT_PODS))
    return [
        *baseline(RATELIMIT_NAMESPACE),
        allow("allow-ratelimit", RATELIMIT_NAMESPACE, REDIS_PODS,
              ingress=[([ratelimit], [tcp(REDIS_PORT)])]),
    ]  # fmt: skip


def envoy_gateway_rate_limit(gw: GatewayConfig, with_password: bool) -> Manifest:
    """The EnvoyGateway settings (Helm values under config.envoyGateway) that turn the
    rate-limit service on, and hand it the Redis password (REDIS_AUTH) from a Secret."""
    env = (
        [
            {
                "name": "REDIS_AUTH",
                "valueFrom": {"secretKeyRef": {"name": RATELIMIT_AUTH_SECRET, "key": "password"}},
            }
        ]
        if with_password
        else []
    )
    return {
        "rateLimit": {"backend": {"type": "Redis", "redis": {"url": redis_url(gw)}}},
        "provider": {
            "kubernetes": {
                "rateLimitDeployment": {"container": {"env": env, "resources": RATELIMIT_RESOURCES}}
            }
        },
    }
