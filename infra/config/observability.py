"""The `observability` section: metrics, logs, SLOs and alert thresholds."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from infra.config.base import Duration, Problem, Section, duration_seconds

if TYPE_CHECKING:
    from infra.config.stack import StackConfig


class PersistenceConfig(Section):
    enabled: bool = True
    storage_class: str | None = Field(default=None, description="None = the cluster default")
    size_gib: int = Field(default=50, ge=1)


class SloConfig(Section):
    ttft_p95_seconds: float = Field(
        default=1.5, gt=0, description="P95 time to first token objective (seconds)"
    )
    availability: float = Field(
        default=0.999, gt=0.9, lt=1.0, description="share of requests that must not fail"
    )


class AlertThresholds(Section):
    gpu_utilization_percent: float = Field(default=90, gt=0, le=100)
    gpu_utilization_for: Duration = "5m"
    kv_cache_usage: float = Field(default=0.9, gt=0, le=1, description="fraction of KV blocks")
    requests_waiting: int = Field(default=10, ge=1, description="queued requests on one replica")
    request_rate_increase: float = Field(
        default=2.0, gt=0, description="alert when the rate rises by this much (2.0 = +200%)"
    )
    request_rate_baseline: Duration = Field(default="1h", description="the window compared to")
    min_request_rate: float = Field(
        default=0.1, ge=0, description="req/s below which rate and error alerts stay quiet"
    )
    error_ratio: float = Field(default=0.05, gt=0, lt=1, description="failed / finished requests")


class ObservabilityConfig(Section):
    enabled: bool = True
    retention: Duration = Field(default="15d", description="Prometheus retention")
    persistence: PersistenceConfig = Field(default_factory=PersistenceConfig)
    scrape_interval: Duration = "15s"
    log_retention: Duration = Field(default="30d", description="Loki retention (whole days)")
    log_persistence: PersistenceConfig = Field(default_factory=PersistenceConfig)
    slo: SloConfig = Field(default_factory=SloConfig)
    alerts: AlertThresholds = Field(default_factory=AlertThresholds)


def check_observability(cfg: StackConfig) -> list[Problem]:
    """Autoscaling needs Prometheus; Loki keeps whole days."""
    scaled = cfg.autoscaling.enabled or any(
        m.autoscaling is not None and m.autoscaling.enabled for m in cfg.models
    )
    if scaled and not cfg.observability.enabled:
        return [
            Problem(
                "observability.enabled",
                "autoscaling reads vLLM's metrics from "
                "Prometheus: keep observability on, or turn autoscaling off",
            )
        ]
    days = duration_seconds(cfg.observability.log_retention) / 86400
    if days < 1 or days != int(days):
        return [
            Problem(
                "observability.logRetention",
                f"{cfg.observability.log_retention!r}: Loki deletes whole index periods; "
                "use whole days, e.g. 30d or 720h",
            )
        ]
    return []
