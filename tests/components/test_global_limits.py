"""Per-client limits counted once across proxy replicas, in requests and in LLM tokens:
Envoy Gateway's rate-limit service on Redis, the AI Gateway counting tokens per response."""

from __future__ import annotations

from typing import Any

import pytest

from infra.config import ConfigError
from infra.engine import RunResult
from infra.plan import manifest_of
from policies import config as policy_config
from policies.helm import render_release
from policies.review import review
from tests import crd_schema
from tests.builders import gpu_box, rendered
from tests.helpers import by_type, one, plan_of
from tests.pod_security import restricted_violations

DIGEST = "sha256:" + "ab" * 32
TOKENS = [
    {"tokens": "total", "limit": 2_000_000, "unit": "Day"},
    {"tokens": "output", "limit": 20_000, "unit": "Minute"},
]


def global_limits(**gateway: Any) -> dict[str, Any]:
    raw = gpu_box()
    raw["gateway"].update(limits="global", tokenLimits=TOKENS, **gateway)
    raw["gateway"]["clients"][1]["tokenLimits"] = [
        {"tokens": "total", "limit": 10_000_000, "unit": "Day"}
    ]
    raw["images"]["redisDigest"] = DIGEST
    return raw


def manifests(result: RunResult, kind: str) -> list[dict[str, Any]]:
    return [m for r in result.resources if (m := manifest_of(r)) and m["kind"] == kind]


@pytest.fixture(scope="module")
def result() -> RunResult:
    return rendered(global_limits())


def test_limits_are_counted_once_per_client_in_requests_and_tokens(result: RunResult) -> None:
    [policy] = [p for p in manifests(result, "BackendTrafficPolicy")]
    crd_schema.validate(policy)
    limits = policy["spec"]["rateLimit"]
    assert list(limits) == ["global"]
    rules = limits["global"]["rules"]
    assert all(r["shared"] for r in rules)  # one bucket per client, not per route
    request_rules = [r for r in rules if "cost" not in r]
    assert [r["limit"] for r in request_rules] == [
        {"requests": 120, "unit": "Minute"},  # everyone else, a bucket each
        {"requests": 600, "unit": "Minute"},  # batch's own
    ]
    token_rules = [r for r in rules if "cost" in r]
    keys = [(r["limit"]["unit"], r["cost"]["response"]["metadata"]["key"]) for r in token_rules]
    assert keys == [
        ("Day", "llm_total_token"),
        ("Minute", "llm_output_token"),
        ("Day", "llm_total_token"),
    ]
    assert all(r["cost"]["request"] == {"from": "Number", "number": 0} for r in token_rules)
    batch = token_rules[-1]["clientSelectors"][0]["headers"]
    assert batch == [{"name": "x-llm-client", "type": "Exact", "value": "batch"}]
    [route] = manifests(result, "AIGatewayRoute")
    crd_schema.validate(route)
    assert route["spec"]["llmRequestCosts"] == [
        {"metadataKey": "llm_output_token", "type": "OutputToken"},
        {"metadataKey": "llm_total_token", "type": "TotalToken"},
    ]


def test_envoy_gateway_runs_its_rate_limit_service_on_the_stacks_redis(result: RunResult) -> None:
    release = one(result, "helm.sh/v3:Release", "envoy-gateway-system/envoy-gateway")
    config = release.inputs["values"]["config"]["envoyGateway"]
    assert config["rateLimit"]["backend"] == {
        "type": "Redis",
        "redis": {"url": "redis.llm-ratelimit.svc.cluster.local:6379"},
    }
    [env] = config["provider"]["kubernetes"]["rateLimitDeployment"]["container"]["env"]
    assert env["name"] == "REDIS_AUTH" and "secretKeyRef" in env["valueFrom"]
    # Helm itself renders the values into the EnvoyGateway configuration it installs.
    objects = render_release(release, "1.31")
    [config_map] = [
        o
        for o in objects
        if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "envoy-gateway-config"
    ]
    assert "redis.llm-ratelimit.svc.cluster.local:6379" in str(config_map["data"])
    assert "REDIS_AUTH" in str(config_map["data"])


def test_the_stacks_redis_is_restricted_persistent_and_closed(result: RunResult) -> None:
    [redis] = manifests(result, "StatefulSet")
    pod = redis["spec"]["template"]["spec"]
    assert not restricted_violations(pod)
    assert pod["containers"][0]["image"].endswith(f"@{DIGEST}")
    assert redis["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] == "data"  # production
    [conf] = [r for r in by_type(result, "core/v1:Secret") if r.name.endswith("redis-config")]
    assert conf.secret_paths  # the password is only ever in a Pulumi secret
    policies = {
        p["metadata"]["name"]: p
        for p in manifests(result, "NetworkPolicy")
        if p["metadata"]["namespace"] == "llm-ratelimit"
    }
    assert set(policies) == {"default-deny", "allow-dns", "allow-ratelimit"}
    policy = policies["allow-ratelimit"]
    assert policy["spec"]["policyTypes"] == ["Ingress"]  # out: nothing but DNS
    [peer] = policy["spec"]["ingress"][0]["from"]
    assert peer["podSelector"]["matchLabels"] == {"app.kubernetes.io/component": "ratelimit"}
    found = review(result.resources, policy_config.load("production"))
    assert not [v for v in found if v.level == "mandatory"], found


def test_outside_production_the_counts_are_not_kept_on_a_volume() -> None:
    raw = global_limits()
    raw["environment"] = "staging"
    [redis] = manifests(rendered(raw), "StatefulSet")
    assert "volumeClaimTemplates" not in redis["spec"]


def test_an_existing_redis_is_used_with_its_password() -> None:
    raw = global_limits(redis={"url": "redis.shared.example:6380"})
    del raw["images"]["redisDigest"]
    result = rendered(raw, secure={"redisPassword": "s3cret"})
    assert not manifests(result, "StatefulSet")  # no Redis of our own
    release = one(result, "helm.sh/v3:Release", "envoy-gateway-system/envoy-gateway")
    redis = release.inputs["values"]["config"]["envoyGateway"]["rateLimit"]["backend"]["redis"]
    assert redis == {"url": "redis.shared.example:6380"}
    auth = one(result, "core/v1:Secret", "envoy-gateway-system/llm-ratelimit-redis")
    assert auth.secret_paths


def test_production_refuses_a_redis_pinned_by_tag_only() -> None:
    raw = global_limits()
    del raw["images"]["redisDigest"]
    found = review(rendered(raw).resources, policy_config.load("production"))
    assert any(v.policy == "images-pinned" and "redis" in v.message for v in found)


def local_limits(raw: dict[str, Any]) -> None:
    """Back to per-replica limits with no token budgets (the digest is left behind)."""
    raw["gateway"].update(limits="local", tokenLimits=[])
    raw["gateway"]["clients"][1].pop("tokenLimits")


@pytest.mark.parametrize(
    ("change", "path", "words"),
    [
        (lambda r: r["gateway"].update(limits="local"), "gateway.limits", "set limits: global"),
        (local_limits, "images.redisDigest", "runs no Redis"),
    ],
    ids=["token budgets on local limits", "an unused Redis digest"],
)
def test_limits_that_cannot_work_are_refused(change: Any, path: str, words: str) -> None:
    raw = global_limits()
    change(raw)
    with pytest.raises(ConfigError) as caught:
        plan_of(raw)
    [line] = [x for x in caught.value.lines() if f"llm-platform:{path}:" in x]
    assert words in line
