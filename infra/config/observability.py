"""The `observability` section: metrics, logs, SLOs and alert thresholds."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from pydantic import Field, StringConstraints

from infra.config.base import (
    EMAIL_PATTERN,
    INT32_MAX,
    DnsLabel,
    DnsSubdomain,
    Duration,
    Problem,
    Section,
    duration_seconds,
    problems_if,
)

if TYPE_CHECKING:
    from infra.config.stack import StackConfig


class PersistenceConfig(Section):
    """A volume that keeps data across pod restarts."""

    enabled: bool = Field(default=True, description="off: data lives as long as the pod")
    storage_class: DnsSubdomain | None = Field(
        default=None, description="None = the cluster default"
    )
    size_gib: int = Field(default=50, ge=1, le=65536, description="volume size, GiB")


class SloConfig(Section):
    """Service-level objectives the SLO alerts burn against."""

    ttft_p95_seconds: float = Field(
        default=1.5, gt=0, description="P95 time to first token objective (seconds)"
    )
    availability: float = Field(
        default=0.999, gt=0.9, lt=1.0, description="share of requests that must not fail"
    )


class AlertThresholds(Section):
    """When the platform's alerts fire."""

    gpu_utilization_percent: float = Field(
        default=90, gt=0, le=100, description="GPU busy above this, percent, warns of saturation"
    )
    gpu_utilization_for: Duration = Field(
        default="5m", description="for this long before the GPU alert fires"
    )
    kv_cache_usage: float = Field(default=0.9, gt=0, le=1, description="fraction of KV blocks")
    requests_waiting: int = Field(
        default=10, ge=1, le=INT32_MAX, description="queued requests on one replica"
    )
    request_rate_increase: float = Field(
        default=2.0, gt=0, description="alert when the rate rises by this much (2.0 = +200%)"
    )
    request_rate_baseline: Duration = Field(
        default="1h", description="the surge compares with the average rate of the window before"
    )
    request_rate_floor: float = Field(
        default=1.0,
        gt=0,
        description="req/s a surge is measured against at least (0 -> 1 req/s is no surge)",
    )
    min_request_rate: float = Field(
        default=0.1, ge=0, description="req/s below which rate and error alerts stay quiet"
    )
    error_ratio: float = Field(default=0.05, gt=0, lt=1, description="failed / finished requests")


Email = Annotated[str, StringConstraints(pattern=EMAIL_PATTERN)]
# A key of the secret `alertingSecrets` map: credentials never sit in plain config.
SecretRef = Annotated[str, StringConstraints(pattern=r"^[a-zA-Z0-9_.-]{1,63}$")]


class EmailReceiver(Section):
    """Alerts by e-mail through an SMTP server."""

    to: list[Email] = Field(min_length=1, description="recipients")
    sender: Email = Field(description="the From address")
    smarthost: Annotated[str, StringConstraints(pattern=r"^[a-z0-9.-]+:[0-9]{1,5}$")] = Field(
        description="SMTP relay host:port, e.g. smtp.example.com:587"
    )
    auth_username: str | None = Field(
        default=None, description="SMTP user; None = no authentication"
    )
    auth_password_secret: SecretRef | None = Field(
        default=None, description="key in alertingSecrets holding the SMTP password"
    )
    require_tls: bool = Field(default=True, description="refuse to send without STARTTLS")


class SlackReceiver(Section):
    """Alerts to a Slack channel through an incoming webhook."""

    channel: Annotated[str, StringConstraints(pattern=r"^#[a-z0-9_-]{1,80}$")] = Field(
        description="the channel, e.g. #llm-alerts"
    )
    api_url_secret: SecretRef = Field(description="key in alertingSecrets: the webhook URL")


class PagerDutyReceiver(Section):
    """Alerts to a PagerDuty service (Events API v2)."""

    routing_key_secret: SecretRef = Field(
        description="key in alertingSecrets: the Events API v2 routing key"
    )


class WebhookReceiver(Section):
    """Alerts as Alertmanager's webhook JSON to a URL."""

    url: Annotated[str, StringConstraints(pattern=r"^https?://[^\s]+$")] = Field(
        description="where Alertmanager POSTs; keep tokens out of it (bearerTokenSecret)"
    )
    bearer_token_secret: SecretRef | None = Field(
        default=None, description="key in alertingSecrets: sent as Authorization: Bearer"
    )


class ReceiverConfig(Section):
    """A named destination of alerts: one of email, slack, pagerduty, webhook."""

    name: DnsLabel = Field(description="what page, ticket and watchdog refer to")
    email: EmailReceiver | None = Field(default=None, description=EmailReceiver.__doc__)
    slack: SlackReceiver | None = Field(default=None, description=SlackReceiver.__doc__)
    pagerduty: PagerDutyReceiver | None = Field(default=None, description=PagerDutyReceiver.__doc__)
    webhook: WebhookReceiver | None = Field(default=None, description=WebhookReceiver.__doc__)

    @property
    def secret_refs(self) -> dict[str, str]:
        """key path (below the receiver) -> alertingSecrets key it references."""
        refs = {
            "email.authPasswordSecret": self.email.auth_password_secret if self.email else None,
            "slack.apiUrlSecret": self.slack.api_url_secret if self.slack else None,
            "pagerduty.routingKeySecret": (
                self.pagerduty.routing_key_secret if self.pagerduty else None
            ),
            "webhook.bearerTokenSecret": (
                self.webhook.bearer_token_secret if self.webhook else None
            ),
        }
        return {path: key for path, key in refs.items() if key is not None}


class AlertingConfig(Section):
    """Where alerts go: Alertmanager receivers, by severity."""

    receivers: list[ReceiverConfig] = Field(
        default_factory=list, description="where alerts can go; production needs a paging one"
    )
    page: list[DnsLabel] = Field(
        default_factory=list, description="receivers of critical alerts (wake someone up)"
    )
    ticket: list[DnsLabel] = Field(
        default_factory=list, description="receivers of warnings (look during work hours)"
    )
    watchdog: DnsLabel | None = Field(
        default=None,
        description="receiver of the always-firing Watchdog alert: a dead-man's switch that "
        "pages when it stops hearing from Alertmanager",
    )
    group_wait: Duration = Field(
        default="30s", description="wait this long to batch the first alerts of a group"
    )
    group_interval: Duration = Field(
        default="5m", description="wait this long before telling of new alerts in a group"
    )
    repeat_interval: Duration = Field(default="4h", description="re-notify an open alert")
    watchdog_interval: Duration = Field(default="1m", description="how often Watchdog repeats")
    runbook_base_url: Annotated[str, StringConstraints(pattern=r"^https?://[^\s#]+$")] | None = (
        Field(default=None, description="alerts link <base>#<alert name, lowercase>")
    )


class ObservabilityConfig(Section):
    """Prometheus, Grafana, Loki, DCGM metrics, the platform's alerts and where they go."""

    enabled: bool = Field(default=True, description="deploy the monitoring and logging stack")
    retention: Duration = Field(default="15d", description="Prometheus retention")
    persistence: PersistenceConfig = Field(
        default_factory=PersistenceConfig, description="Prometheus's volume"
    )
    scrape_interval: Duration = Field(default="15s", description="how often metrics are read")
    log_retention: Duration = Field(default="30d", description="Loki retention (whole days)")
    log_persistence: PersistenceConfig = Field(
        default_factory=PersistenceConfig, description="Loki's volume"
    )
    slo: SloConfig = Field(default_factory=SloConfig, description=SloConfig.__doc__)
    alerts: AlertThresholds = Field(
        default_factory=AlertThresholds, description=AlertThresholds.__doc__
    )
    alerting: AlertingConfig = Field(
        default_factory=AlertingConfig, description=AlertingConfig.__doc__
    )


def _check_receivers(cfg: StackConfig) -> list[Problem]:
    alerting, at = cfg.observability.alerting, "observability.alerting"
    names = [r.name for r in alerting.receivers]
    secrets = set(cfg.alerting_secrets or {})
    problems: list[Problem] = []
    for i, r in enumerate(alerting.receivers):
        problems += problems_if(
            names.index(r.name) != i, f"{at}.receivers[{i}].name", f"duplicate {r.name!r}"
        )
        problems += problems_if(
            not (r.email or r.slack or r.pagerduty or r.webhook),
            f"{at}.receivers[{i}]",
            "say how to reach it: email, slack, pagerduty or webhook",
        )
        for path, key in r.secret_refs.items():
            problems += problems_if(
                key not in secrets,
                f"{at}.receivers[{i}].{path}",
                f"{key!r} is not in alertingSecrets; set it with pulumi config set --secret "
                f"--path 'alertingSecrets.{key}' VALUE",
            )
    for key in ("page", "ticket"):
        for j, name in enumerate(getattr(alerting, key)):
            problems += problems_if(
                name not in names,
                f"{at}.{key}[{j}]",
                f"no receiver named {name!r}; receivers: {', '.join(names) or '(none)'}",
            )
    problems += problems_if(
        alerting.watchdog is not None and alerting.watchdog not in names,
        f"{at}.watchdog",
        f"no receiver named {alerting.watchdog!r}; receivers: {', '.join(names) or '(none)'}",
    )
    return problems


def check_observability(cfg: StackConfig) -> list[Problem]:
    """Autoscaling needs Prometheus; Loki keeps whole days; receivers are complete."""
    scaled = cfg.autoscaling.enabled or any(
        m.autoscaling is not None and m.autoscaling.enabled for m in cfg.models
    )
    days = duration_seconds(cfg.observability.log_retention) / 86400
    return (
        problems_if(
            scaled and not cfg.observability.enabled,
            "observability.enabled",
            "autoscaling reads vLLM's metrics from Prometheus: keep observability on, or turn "
            "autoscaling off",
        )
        + problems_if(
            days < 1 or days != int(days),
            "observability.logRetention",
            f"{cfg.observability.log_retention!r}: Loki deletes whole index periods; use whole "
            "days, e.g. 30d or 720h",
        )
        + _check_receivers(cfg)
    )
