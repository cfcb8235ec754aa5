"""StackConfig: the validated stack configuration, and the only reader of Pulumi config.

One module per config section holds its model and its cross-field checks (cluster, models,
gateway, observability, autoscaling, dr, images, charts, security); `stack` composes them and
`parse` runs every check; `errors` turns problems into one line each
(`stacks/Pulumi.<stack>.yaml: llm-platform:<key.path>: <what is wrong>`); `reader` is the
only reader of Pulumi config; `schema` exports the JSON Schema. Every default lives in
these models.
"""

from infra.config.autoscaling import AUTOSCALING_TARGETS, AutoscalingConfig, ModelAutoscaling
from infra.config.base import (
    DNS_LABEL_PATTERN,
    DURATION_PATTERN,
    PROJECT,
    STACK_CONFIG_DIR,
    DnsLabel,
    Duration,
    Problem,
    RepoId,
    duration_seconds,
)
from infra.config.charts import ChartsConfig
from infra.config.cluster import (
    ClusterConfig,
    NodePoolConfig,
    SystemPoolConfig,
    failure_domains,
    pool_zones,
)
from infra.config.dr import DnsConfig, DrConfig, Rfc2136Config, SnapshotStoreConfig
from infra.config.errors import ConfigError, stack_file
from infra.config.gateway import (
    LETS_ENCRYPT,
    ApiClientConfig,
    ChatUiConfig,
    GatewayConfig,
    OutlierConfig,
    RateLimitConfig,
    RedisConfig,
    RouteBackendConfig,
    RouteConfig,
    TlsConfig,
    TokenLimitConfig,
)
from infra.config.images import Digest, ImagesConfig
from infra.config.loadtest import LoadTestConfig
from infra.config.models import (
    MANAGED_VLLM_ARGS,
    CacheConfig,
    CpuBackendConfig,
    KvCacheDtype,
    ModelConfig,
    Quantization,
    RopeScaling,
    ServingPolicy,
)
from infra.config.observability import (
    AlertingConfig,
    AlertThresholds,
    EmailReceiver,
    ObservabilityConfig,
    PagerDutyReceiver,
    PersistenceConfig,
    ReceiverConfig,
    SlackReceiver,
    SloConfig,
    WebhookReceiver,
)
from infra.config.reader import load, secret, secret_object
from infra.config.schema import json_schema
from infra.config.security import SecurityConfig
from infra.config.stack import SECRET_KEYS, TOP_LEVEL_KEYS, StackConfig, parse

__all__ = [
    "AUTOSCALING_TARGETS",
    "DNS_LABEL_PATTERN",
    "DURATION_PATTERN",
    "LETS_ENCRYPT",
    "MANAGED_VLLM_ARGS",
    "PROJECT",
    "SECRET_KEYS",
    "STACK_CONFIG_DIR",
    "TOP_LEVEL_KEYS",
    "AlertThresholds",
    "AlertingConfig",
    "ApiClientConfig",
    "AutoscalingConfig",
    "CacheConfig",
    "ChartsConfig",
    "ChatUiConfig",
    "ClusterConfig",
    "ConfigError",
    "CpuBackendConfig",
    "Digest",
    "DnsConfig",
    "DnsLabel",
    "DrConfig",
    "Duration",
    "EmailReceiver",
    "GatewayConfig",
    "ImagesConfig",
    "KvCacheDtype",
    "LoadTestConfig",
    "ModelAutoscaling",
    "ModelConfig",
    "NodePoolConfig",
    "ObservabilityConfig",
    "OutlierConfig",
    "PagerDutyReceiver",
    "PersistenceConfig",
    "Problem",
    "Quantization",
    "RateLimitConfig",
    "ReceiverConfig",
    "RedisConfig",
    "RepoId",
    "Rfc2136Config",
    "RopeScaling",
    "RouteBackendConfig",
    "RouteConfig",
    "SecurityConfig",
    "ServingPolicy",
    "SlackReceiver",
    "SloConfig",
    "SnapshotStoreConfig",
    "StackConfig",
    "SystemPoolConfig",
    "TlsConfig",
    "TokenLimitConfig",
    "WebhookReceiver",
    "duration_seconds",
    "failure_domains",
    "json_schema",
    "load",
    "parse",
    "pool_zones",
    "secret",
    "secret_object",
    "stack_file",
]
