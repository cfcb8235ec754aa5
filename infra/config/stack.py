"""StackConfig: the sections composed into one stack, and `parse`, which checks them all."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field, ValidationError

from infra.config.autoscaling import AutoscalingConfig, check_autoscaling
from infra.config.base import Problem, Section
from infra.config.charts import ChartsConfig
from infra.config.cluster import ClusterConfig, NodePoolConfig, check_cluster, check_node_pools
from infra.config.dr import DrConfig, check_dr
from infra.config.errors import ConfigError, problem_from_pydantic, unknown_key
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
    node_pools: list[NodePoolConfig] = Field(
        default_factory=list, description=NodePoolConfig.__doc__
    )
    models: list[ModelConfig] = Field(min_length=1, description=ModelConfig.__doc__)
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
    charts: ChartsConfig = Field(default_factory=ChartsConfig)
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
Check = Callable[[StackConfig], list[Problem]]
# Cross-field checks, each beside the section it checks, in the order problems are listed,
# with the top-level keys each reads (a check runs while those validated, even when another
# section did not: every problem in one run; tests/unit/test_config_errors.py holds each
# check to its keys).
CHECKS: tuple[tuple[Check, frozenset[str]], ...] = (
    (check_node_pools, frozenset({"nodePools"})),
    (check_models, frozenset({"models", "nodePools"})),
    (check_observability, frozenset({"observability", "alertingSecrets", "autoscaling", "models"})),
    (
        check_gateway,
        frozenset({"gateway", "apiKeys", "chatUi", "cluster", "dr", "models", "redisPassword"}),
    ),
    (check_images, frozenset({"images", "gateway", "models"})),
    (check_cluster, frozenset({"cluster", "nodePools", "gateway"})),
    (
        check_dr,
        frozenset({"dr", "cluster", "dnsCredentials", "gateway", "images", "snapshotCredentials"}),
    ),
    (check_autoscaling, frozenset({"autoscaling", "models"})),
    (check_load_test, frozenset({"loadTest", "gateway", "models"})),
)


@dataclass(frozen=True)
class Partial:
    """What validated of a config that did not: the sections that failed replaced by their
    defaults, the models with a problem left out (`model_index` maps the remaining models'
    indices back to the stack file's)."""

    config: StackConfig
    failed: frozenset[str]  # top-level keys with a problem
    model_index: list[int]

    def own(self, problem: Problem) -> Problem:
        """A problem of the partial config, named by the stack file's own indices."""
        path = re.sub(
            r"^models\[(\d+)\]",
            lambda m: f"models[{self.model_index[int(m.group(1))]}]",
            problem.path,
        )
        return Problem(path, problem.message)

    def without(self, problems: list[Problem]) -> Partial | None:
        """Also without what these problems (of this partial config) name."""
        bad = {int(m.group(1)) for p in problems if (m := re.match(r"models\[(\d+)\]", p.path))}
        failed = self.failed | {re.split(r"[.\[]", p.path, maxsplit=1)[0] for p in problems}
        keep = [i for i in range(len(self.config.models)) if i not in bad]
        if not keep:
            return None
        models = [self.config.models[i] for i in keep]
        config = self.config.model_copy(update={"models": models})
        return Partial(config, frozenset(failed), [self.model_index[i] for i in keep])


def partial(known: dict[str, Any], errors: list[Any]) -> Partial | None:
    """The config without what failed; None when nothing of the models is left."""
    failed = {str(e["loc"][0]) for e in errors if e["loc"]}
    bad_models = {e["loc"][1] for e in errors if e["loc"][:1] == ("models",) and len(e["loc"]) > 1}
    raw = {k: v for k, v in known.items() if k not in failed - {"models"}}
    models = known.get("models")
    if not isinstance(models, list) or ("models" in failed and not bad_models):
        return None
    keep = [i for i in range(len(models)) if i not in bad_models]
    raw["models"] = [models[i] for i in keep]
    try:
        config = StackConfig.model_validate(raw)
    except ValidationError:
        return None
    return Partial(config, frozenset(failed), keep)


def _checks(rest: Partial) -> list[Problem]:
    """The cross-field checks of every section that validated (failed models are left
    out, not defaulted: the checks of the other models still run), in the partial
    config's indices."""
    problems: list[Problem] = []
    for check, reads in CHECKS:
        if not reads & (rest.failed - {"models"}):
            problems += check(rest.config)
    return problems


def parse(raw: dict[str, Any], source: str) -> StackConfig:
    """Validate raw config (top-level keys without namespace) or raise ConfigError naming
    every problem: schema problems, and the cross-field checks of every section the
    problems leave whole. The error carries what validated (`partial`) for the planner."""
    problems = [
        unknown_key(key, sorted(TOP_LEVEL_KEYS)) for key in raw if key not in TOP_LEVEL_KEYS
    ]
    known = {k: v for k, v in raw.items() if k in TOP_LEVEL_KEYS}
    try:
        cfg = StackConfig.model_validate(known)
        rest: Partial | None = Partial(cfg, frozenset(), list(range(len(cfg.models))))
    except ValidationError as exc:
        errors = exc.errors()
        problems += [problem_from_pydantic(e, StackConfig) for e in errors]
        rest = partial(known, list(errors))
    if rest is None:
        raise ConfigError(problems, source)
    checked = _checks(rest)
    problems += [rest.own(p) for p in checked]
    if problems:
        raise ConfigError(problems, source, rest.without(checked)) from None
    return rest.config
