"""PrometheusRules: per-model SLO and saturation alerts, GPU alerts, with runbooks."""

from __future__ import annotations

import math

from infra.catalog.metrics import (
    DCGM_BASE,
    DCGM_GPU_LABEL,
    DCGM_HOST_LABEL,
    KUBE,
)
from infra.config import ObservabilityConfig
from infra.manifests.common import Manifest, labels
from infra.manifests.model_server import APP
from infra.manifests.topology import (
    MONITORING_NAMESPACE,
)
from infra.planning import promql
from infra.planning.budgets import budgets
from infra.planning.capacity import ServingPlan

# Multiwindow burn-rate alerting (Google SRE workbook): (factor, long window, short window).
BURN_RATE_PAGE = (14.4, "1h", "5m")  # 2% of a 30-day budget in one hour
BURN_RATE_TICKET = (6.0, "6h", "30m")  # 5% of the budget in six hours
BURN_FOR = {"critical": "2m", "warning": "15m"}  # how long a burn lasts before it alerts
# How long a condition must hold before it alerts: saturation shows in minutes, a trend in ten.
PERSISTENT = "5m"
SUSTAINED = "10m"
RESTART_WINDOW = "15m"  # restarts counted over this window
NOT_READY_SMOOTHING = "1m"  # a pod flapping ready/not-ready within a minute still counts


# --------------------------------------------------------------------------- alert rules


def _rule(
    alert: str,
    expr: str,
    for_: str,
    severity: str,
    summary: str,
    runbook: str,
    extra: dict[str, str] | None = None,
) -> Manifest:

    return {
        "alert": alert,
        "expr": expr,
        "for": for_,
        "labels": {"severity": severity, **(extra or {})},
        "annotations": {"summary": summary, "runbook": runbook},
    }


def _minutes(seconds: int) -> str:
    return f"{math.ceil(seconds / 60)}m"


def model_rules(plan: ServingPlan, obs: ObservabilityConfig) -> list[Manifest]:
    m, served, thresholds, slo = plan.model, plan.model.served_name, obs.alerts, obs.slo
    who = {"model": m.name, "namespace": m.namespace}
    pods = {"namespace": m.namespace}
    pod_regex = {"pod": promql.pods_of(m.name)}
    b = budgets(plan)
    budget = 1 - slo.availability
    finished = promql.finished_rate(served)
    # The previous window, so the surge being measured is not in its own baseline.
    window = thresholds.request_rate_baseline
    baseline = promql.finished_rate(served, window, offset=window)
    not_ready = promql.selector(KUBE["pod_ready"], {**pods, "condition": "false"}, pod_regex)
    restarts = promql.selector(KUBE["container_restarts"], {**pods, "container": APP}, pod_regex)
    busy = f"{finished} > {thresholds.min_request_rate:g}"
    surge = f"{finished} > {1 + thresholds.request_rate_increase:g} * {baseline}"
    ttft_p95 = promql.quantile(0.95, "time_to_first_token_seconds", served)
    rules = [
        _rule(
            "VLLMPodNotReady",
            f"sum(max_over_time({not_ready}[{NOT_READY_SMOOTHING}])) > 0",
            # A cold start may legitimately take the whole startup budget.
            _minutes(b.startup.budget_seconds + b.readiness.budget_seconds),
            "critical",
            f"{m.name}: a vLLM pod fails its /health checks",
            "kubectl -n NS describe pod / logs -c vllm: look for CUDA OOM, a missing model in "
            "the cache (init container), or NCCL errors. The engine answers 503 on /health "
            "once it is dead; the pod restarts after the liveness budget.",
            who,
        ),
        _rule(
            "VLLMPodRestarting",
            f"sum(increase({restarts}[{RESTART_WINDOW}])) > 0",
            "0m",  # any restart in the window is news
            "warning",
            f"{m.name}: a vLLM container restarted in the last {RESTART_WINDOW}",
            "kubectl logs --previous -c vllm: an OOM kill (raise memory), a failed liveness "
            "probe (engine hang: check NCCL and GPU XID errors in the GPU dashboard) or a crash.",
            who,
        ),
        _rule(
            "VLLMRequestRateSurge",
            f"({surge}) and ({busy})",
            SUSTAINED,
            "warning",
            f"{m.name}: request rate is up {thresholds.request_rate_increase:.0%} over the "
            f"previous {thresholds.request_rate_baseline}",
            "Check who is calling (gateway logs by API key), whether autoscaling keeps up "
            "(replicas panel) and the queue; rate-limit the client if it is abuse.",
            who,
        ),
        _rule(
            "VLLMKVCacheNearlyFull",
            f"max({promql.vllm('kv_cache_usage_perc', served)}) > {thresholds.kv_cache_usage:g}",
            PERSISTENT,
            "warning",
            f"{m.name}: KV cache above {thresholds.kv_cache_usage:.0%}",
            "Requests will queue and be preempted. Add replicas, lower maxModelLen, or use "
            "kvCacheDtype: fp8; check the preemptions panel.",
            who,
        ),
        _rule(
            "VLLMRequestsQueued",
            f"max({promql.vllm('num_requests_waiting', served)}) > {thresholds.requests_waiting}",
            PERSISTENT,
            "warning",
            f"{m.name}: more than {thresholds.requests_waiting} requests waiting",
            "The replicas are saturated. Check autoscaling (maxReplicas reached?), KV-cache "
            "usage and GPU utilization; add capacity or shed load at the gateway.",
            who,
        ),
        _rule(
            "VLLMTimeToFirstTokenSLO",
            f"{ttft_p95} > {slo.ttft_p95_seconds:g}",
            SUSTAINED,
            "warning",
            f"{m.name}: P95 time to first token above {slo.ttft_p95_seconds:g} s",
            "Long prompts or a queue: compare queue time with TTFT, check prefix-cache hit "
            "rate and requests waiting; scale out or lower max-num-batched-tokens contention.",
            who,
        ),
        _rule(
            "VLLMErrorRatio",
            f"{promql.error_ratio(served)} > {thresholds.error_ratio:g} and "
            f"{finished} > {thresholds.min_request_rate:g}",
            PERSISTENT,
            "critical",
            f"{m.name}: more than {thresholds.error_ratio:.0%} of requests fail",
            "Look at vLLM logs for aborted or errored requests (client timeouts, OOM, "
            "preemption storms) and at the gateway for upstream resets.",
            who,
        ),
    ]
    for (factor, long, short), severity in (
        (BURN_RATE_PAGE, "critical"),
        (BURN_RATE_TICKET, "warning"),
    ):
        rules.append(
            _rule(
                "VLLMErrorBudgetBurn",
                f"{promql.error_ratio(served, long)} > {factor * budget:.6g} and "
                f"{promql.error_ratio(served, short)} > {factor * budget:.6g}",
                BURN_FOR[severity],
                severity,
                f"{m.name}: burning the {slo.availability:.1%} availability budget {factor:g}× "
                f"too fast ({long}/{short} windows)",
                "At this rate the month's error budget is gone early. Find the failing requests "
                "(VLLMErrorRatio runbook) and stop risky rollouts.",
                {**who, "window": long},
            )
        )
    return rules


def gpu_rules(obs: ObservabilityConfig) -> list[Manifest]:
    t = obs.alerts
    return [
        _rule(
            "GPUHighUtilization",
            f"avg by ({DCGM_HOST_LABEL}, {DCGM_GPU_LABEL}) ({DCGM_BASE['gpu_util']}) > "
            f"{t.gpu_utilization_percent:g}",
            t.gpu_utilization_for,
            "warning",
            f"a GPU has been above {t.gpu_utilization_percent:g}% for {t.gpu_utilization_for}",
            "Sustained saturation: latency rises next. Check requests waiting and TTFT of the "
            "models on that node; add replicas on other GPUs or another node.",
        )
    ]


def prometheus_rule(plans: list[ServingPlan], obs: ObservabilityConfig, has_gpus: bool) -> Manifest:
    groups = [{"name": f"vllm-{p.model.name}", "rules": model_rules(p, obs)} for p in plans]
    if has_gpus:
        groups.append({"name": "gpus", "rules": gpu_rules(obs)})
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {
            "name": "llm-platform",
            "namespace": MONITORING_NAMESPACE,
            "labels": labels("prometheus", "llm-platform", "alert-rules"),
        },
        "spec": {"groups": groups},
    }
