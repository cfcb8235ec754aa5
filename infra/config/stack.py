"""StackConfig: the sections composed into one stack, and `parse`, which checks them all."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, ValidationError

from infra.config.autoscaling import AutoscalingConfig, check_autoscaling
from infra.config.base import Problem, Section
from infra.config.cluster import ClusterConfig, NodePoolConfig, check_cluster, check_node_pools
from infra.config.dr import DrConfig, check_dr
from infra.config.errors import ConfigError, problem_from_pydantic
from infra.config.gateway import ChatUiConfig, GatewayConfig, check_gateway
from infra.config.images import ImagesConfig, check_images
from infra.config.loadtest import LoadTestConfig, check_load_test
from infra.config.models import ModelConfig, check_models
from infra.config.observability import ObservabilityConfig, check_observability
from infra.config.security import SecurityConfig


class StackConfig(Section):
    environment: Literal["dev", "staging", "production"] = Field(
        default="production", description="production turns policy rules mandatory"
    )
    cluster: ClusterConfig = Field(default_factory=ClusterConfig)
    node_pools: list[NodePoolConfig] = Field(default_factory=list)
    models: list[ModelConfig] = Field(min_length=1)
    gateway: GatewayConfig = Field(default_factory=GatewayConfig)
    security: SecurityConfig = Field(default_factory=SecurityConfig)
    chat_ui: ChatUiConfig = Field(default_factory=ChatUiConfig)
    api_keys: dict[str, str] | None = Field(
        default=None,
        description="client -> API key, instead of generated keys; set each with "
        "`pulumi config set --secret --path 'apiKeys.<client>' <key>`",
    )
    alerting_secrets: dict[str, str] | None = Field(
        default=None,
        description="name -> credential for alert receivers (SMTP password, Slack or "
        "webhook URL, PagerDuty key); set each with `pulumi config set --secret --path "
        "'alertingSecrets.<name>' <value>`",
    )
    images: ImagesConfig = Field(default_factory=ImagesConfig)
    dr: DrConfig | None = Field(default=None, description="disaster recovery between two stacks")
    observability: ObservabilityConfig = Field(default_factory=ObservabilityConfig)
    autoscaling: AutoscalingConfig = Field(default_factory=AutoscalingConfig)
    load_test: LoadTestConfig = Field(default_factory=LoadTestConfig)
    snapshot_credentials: dict[str, str] | None = Field(
        default=None,
        description="on-prem DR: the S3 store's keys {accessKeyId, secretAccessKey}; set each "
        "with `pulumi config set --secret --path 'snapshotCredentials.<key>' <value>`",
    )
    dns_credentials: str | None = Field(
        default=None,
        description="on-prem DR: the TSIG secret (rfc2136) or API token (cloudflare); set it "
        "with `pulumi config set --secret dnsCredentials`",
    )
    redis_password: str | None = Field(
        default=None,
        description="password of an existing Redis (gateway.redis.url); set it with "
        "`pulumi config set --secret redisPassword`",
    )
    hf_token: str | None = Field(
        default=None,
        description="Hugging Face token for gated models; set it with `pulumi config set "
        "--secret hfToken`",
    )


TOP_LEVEL_KEYS = frozenset(f.alias or n for n, f in StackConfig.model_fields.items())
# Keys that must be set as secrets, and how.
SECRET_KEYS = {
    "hfToken": "pulumi config set --secret hfToken",
    "apiKeys": "pulumi config set --secret --path 'apiKeys.<client>' <key>",
    "alertingSecrets": "pulumi config set --secret --path 'alertingSecrets.<name>' <value>",
    "redisPassword": "pulumi config set --secret redisPassword",
    "snapshotCredentials": "pulumi config set --secret --path 'snapshotCredentials.<key>' <value>",
    "dnsCredentials": "pulumi config set --secret dnsCredentials",
}
# Cross-field checks, each beside the section it checks, in the order problems are listed.
CHECKS = (
    check_node_pools,
    check_models,
    check_observability,
    check_gateway,
    check_images,
    check_cluster,
    check_dr,
    check_autoscaling,
    check_load_test,
)


def parse(raw: dict[str, Any], source: str) -> StackConfig:
    """Validate raw config (top-level keys without namespace) or raise ConfigError."""
    problems = [
        Problem(key, f"unknown key; accepted keys: {', '.join(sorted(TOP_LEVEL_KEYS))}")
        for key in raw
        if key not in TOP_LEVEL_KEYS
    ]
    known = {k: v for k, v in raw.items() if k in TOP_LEVEL_KEYS}
    try:
        cfg = StackConfig.model_validate(known)
    except ValidationError as exc:
        problems += [problem_from_pydantic(e, StackConfig) for e in exc.errors()]
        raise ConfigError(problems, source) from None
    for check in CHECKS:
        problems += check(cfg)
    if problems:
        raise ConfigError(problems, source)
    return cfg
