"""PrometheusRules: the SLOs as clients see them (at the gateway), the engine-level causes
per model and per pod, scrape health, and GPUs. Every alert has a summary, a description
with the value and what to do (namespace and pod filled in), and a runbook link when the
stack names a runbook base URL. Severity decides the receiver: critical pages, warning
opens a ticket; label `component` plus namespace and model identify one incident."""

from __future__ import annotations

import math
from collections.abc import Callable

from infra.catalog.metrics import DCGM_BASE, DCGM_GPU_LABEL, DCGM_HOST_LABEL, KUBE, UP
from infra.config import ObservabilityConfig
from infra.manifests.common import Manifest, labels
from infra.manifests.topology import (
    DCGM_JOB,
    EG_NAMESPACE,
    GATEWAY_JOB,
    GPU_NAMESPACE,
    MONITORING_NAMESPACE,
    VLLM_APP,
    vllm_job,
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
ABSENT_FOR = "10m"  # no series at all for this long: the scrape is gone, not a blip
TTFT_QUANTILE = 0.95  # the objective is a P95
POD = "{{ $labels.pod }}"
NAMESPACE = "{{ $labels.namespace }}"
VALUE = "{{ $value | humanize }}"


def _rule(
    alert: str,
    expr: str,
    for_: str,
    severity: str,
    summary: str,
    description: str,
    extra: dict[str, str],
    runbook_base: str | None,
) -> Manifest:
    annotations = {"summary": summary, "description": description}
    if runbook_base:
        annotations["runbook_url"] = f"{runbook_base}#{alert.lower()}"
    return {
        "alert": alert,
        "expr": expr,
        "for": for_,
        "labels": {"severity": severity, **extra},
        "annotations": annotations,
    }


def _minutes(seconds: int) -> str:
    return f"{math.ceil(seconds / 60)}m"


def _pod_rules(plan: ServingPlan, who: dict[str, str], base: str | None) -> list[Manifest]:
    """Per pod: each alert names the pod, so the runbook's kubectl lines are ready to run."""
    m, b = plan.model, budgets(plan)
    pods = {"namespace": m.namespace}
    of_model = {"pod": promql.pods_of(m.name)}
    not_ready = promql.selector(KUBE["pod_ready"], {**pods, "condition": "false"}, of_model)
    restarts = promql.selector(
        KUBE["container_restarts"], {**pods, "container": VLLM_APP}, of_model
    )
    unschedulable = promql.selector(KUBE["pod_unschedulable"], pods, of_model)
    # A cold start may legitimately take the whole startup budget.
    starting = _minutes(b.startup.budget_seconds + b.readiness.budget_seconds)
    logs = f"kubectl -n {NAMESPACE} logs {POD}"
    return [
        _rule(
            "VLLMPodNotReady",
            f"max by (namespace, pod) (max_over_time({not_ready}[{NOT_READY_SMOOTHING}])) > 0",
            starting,
            "warning",
            f"{m.name}: pod {POD} has failed /health for {starting}",
            f"{POD} is not ready past its startup budget. {logs} -c {VLLM_APP} (CUDA OOM, NCCL "
            f"errors) and {logs} -c model-loader (a missing model); kubectl -n {NAMESPACE} "
            f"describe pod {POD}.",
            who,
            base,
        ),
        _rule(
            "VLLMPodRestarting",
            f"sum by (namespace, pod) (increase({restarts}[{RESTART_WINDOW}])) > 0",
            "0m",  # any restart in the window is news
            "warning",
            f"{m.name}: {POD} restarted {VALUE} times in {RESTART_WINDOW}",
            f"{logs} -c {VLLM_APP} --previous: an OOM kill (raise memory), a failed liveness "
            "probe (engine hang: NCCL, GPU XID errors on the GPU dashboard) or a crash.",
            who,
            base,
        ),
        _rule(
            "VLLMPodUnschedulable",
            f"max by (namespace, pod) ({unschedulable}) > 0",
            PERSISTENT,
            "warning",
            f"{m.name}: {POD} cannot be scheduled",
            f"No node has the GPUs, CPU or memory {POD} asks for: kubectl -n {NAMESPACE} "
            f"describe pod {POD} (Events). A GPU held by a stuck pod, a cordoned node, or "
            "autoscaling beyond the pool.",
            who,
            base,
        ),
        _rule(
            "VLLMTargetDown",
            f"{promql.selector(UP, {'job': vllm_job(m.namespace)}, of_model)} == 0",
            PERSISTENT,
            "warning",
            f"{m.name}: Prometheus cannot scrape {POD}",
            f"/metrics of {POD} does not answer: the engine may be wedged (its alerts are "
            "blind). kubectl -n {{ $labels.namespace }} port-forward {{ $labels.pod }} 8000 "
            "and curl /health and /metrics.",
            who,
            base,
        ),
    ]


def _model_health(plan: ServingPlan, who: dict[str, str], base: str | None) -> list[Manifest]:
    m, b = plan.model, budgets(plan)
    available = promql.deployment_series("deployment_available", m.namespace, m.name)
    scraped = promql.selector(UP, {"job": vllm_job(m.namespace)}, {"pod": promql.pods_of(m.name)})
    unavailable, absent = f"{available} < 1", f"absent({scraped})"
    if plan.sleeps:
        # Asleep is not down: only while a replica is wanted (waking, or awake).
        wanted = f"{promql.deployment_series('deployment_desired', m.namespace, m.name)} > 0"
        unavailable, absent = f"{unavailable} and {wanted}", f"{absent} and on() ({wanted})"
    return [
        _rule(
            "VLLMModelUnavailable",
            unavailable,
            _minutes(b.startup.budget_seconds + b.readiness.budget_seconds),
            "critical",
            f"{m.name}: no replica is ready",
            f"Requests for {m.served_name} fail. kubectl -n {m.namespace} get pods -l "
            f"app.kubernetes.io/instance={m.name}; see the per-pod alerts it holds back.",
            who,
            base,
        ),
        _rule(
            "VLLMMetricsAbsent",
            absent,
            ABSENT_FOR,
            "warning",
            f"{m.name}: no vLLM metrics at all",
            f"Prometheus scrapes no pod of {m.name}: every vLLM alert of this model is blind. "
            f"Check the PodMonitor in {m.namespace} and the NetworkPolicy letting Prometheus in.",
            who,
            base,
        ),
    ]


def _model_load(
    plan: ServingPlan, obs: ObservabilityConfig, who: dict[str, str], base: str | None
) -> list[Manifest]:
    m, served, t, slo = plan.model, plan.model.served_name, obs.alerts, obs.slo
    ttft = "time_to_first_token_seconds"
    within = promql.within_ratio(served, ttft, slo.ttft_p95_seconds, SUSTAINED)
    first_tokens = f"sum({promql.rate(promql.vllm(ttft, served, suffix='_count'), SUSTAINED)})"
    busy = f"{first_tokens} > {t.min_request_rate:g}"
    return [
        _rule(
            "VLLMKVCacheNearlyFull",
            f"max by (namespace, pod) ({promql.vllm('kv_cache_usage_perc', served)}) "
            f"> {t.kv_cache_usage:g}",
            PERSISTENT,
            "warning",
            f"{m.name}: KV cache of {POD} above {t.kv_cache_usage:.0%}",
            f"Usage {VALUE}: requests queue and get preempted. Add replicas, lower maxModelLen "
            "or use kvCacheDtype: fp8; check the preemptions panel.",
            who,
            base,
        ),
        _rule(
            "VLLMRequestsQueued",
            f"max by (namespace, pod) ({promql.vllm('num_requests_waiting', served)}) "
            f"> {t.requests_waiting}",
            PERSISTENT,
            "warning",
            f"{m.name}: {VALUE} requests waiting on {POD}",
            "The replicas are saturated. Check autoscaling (maxReplicas reached?), KV-cache "
            "usage and GPU utilization; add capacity or shed load at the gateway.",
            who,
            base,
        ),
        _rule(
            "VLLMTimeToFirstTokenSLO",
            f"{within} < {TTFT_QUANTILE:g} and {busy}",
            SUSTAINED,
            "warning",
            f"{m.name}: P95 time to first token above {slo.ttft_p95_seconds:g} s",
            f"Only {{{{ $value | humanizePercentage }}}} of first tokens came within "
            f"{slo.ttft_p95_seconds:g} s (objective: {TTFT_QUANTILE:.0%}). Long prompts or a "
            "queue: compare queue time with TTFT, check the prefix-cache hit rate and "
            "requests waiting; scale out.",
            who,
            base,
        ),
        _rule(
            "VLLMErrorRatio",
            f"{promql.error_ratio(served)} > {t.error_ratio:g} and "
            f"{promql.finished_rate(served)} > {t.min_request_rate:g}",
            PERSISTENT,
            "warning",  # a cause; the availability SLO (burn rate) is what pages
            f"{m.name}: {{{{ $value | humanizePercentage }}}} of requests fail in the engine",
            "vLLM aborts or errors requests (client timeouts, OOM, preemption storms): read "
            f"kubectl -n {m.namespace} logs -l app.kubernetes.io/instance={m.name} -c "
            f"{VLLM_APP}.",
            who,
            base,
        ),
    ]


def _burn_rate(
    name: str,
    ratio: Callable[[str], str],
    availability: float,
    extra: dict[str, str],
    what: str,
    base: str | None,
) -> list[Manifest]:
    """Multiwindow burn-rate alerts: the fast burn pages, the slow burn opens a ticket."""
    budget = 1 - availability
    rules = []
    for (factor, long, short), severity in (
        (BURN_RATE_PAGE, "critical"),
        (BURN_RATE_TICKET, "warning"),
    ):
        rules.append(
            _rule(
                name,
                f"{ratio(long)} > {factor * budget:.6g} and {ratio(short)} > {factor * budget:.6g}",
                BURN_FOR[severity],
                severity,
                f"{what}: burning the {availability:.1%} availability budget {factor:g}x too "
                f"fast ({long}/{short} windows)",
                f"{{{{ $value | humanizePercentage }}}} of requests failed over {long}. At this "
                "rate the month's error budget is gone early: find the failing requests "
                "(gateway access logs, VLLMErrorRatio) and stop risky rollouts.",
                {**extra, "window": long},
                base,
            )
        )
    return rules


def model_rules(plan: ServingPlan, obs: ObservabilityConfig, gateway: bool) -> list[Manifest]:
    m, base = plan.model, obs.alerting.runbook_base_url
    who = {"component": "model", "model": m.name, "namespace": m.namespace}
    rules = (
        _model_health(plan, who, base)
        + _pod_rules(plan, who, base)
        + _model_load(plan, obs, who, base)
    )
    if not gateway:  # no gateway: the engine's own count is the best SLI there is
        served = m.served_name
        rules += _burn_rate(
            "VLLMErrorBudgetBurn",
            lambda window: promql.error_ratio(served, window),
            obs.slo.availability,
            who,
            m.name,
            base,
        )
    return rules


def gateway_rules(obs: ObservabilityConfig) -> list[Manifest]:
    """The availability SLO on requests as clients saw them, gateway health, load surges."""
    t, base = obs.alerts, obs.alerting.runbook_base_url
    who = {"component": "gateway"}
    now = promql.gateway_requests()
    before = promql.gateway_requests(t.request_rate_baseline, offset=promql.RATE_WINDOW)
    proxies = promql.up(GATEWAY_JOB)
    return [
        *_burn_rate(
            "GatewayErrorBudgetBurn",
            promql.gateway_error_ratio,
            obs.slo.availability,
            who,
            "gateway",
            base,
        ),
        _rule(
            "GatewayDown",
            f"absent({proxies} == 1)",
            BURN_FOR["critical"],
            "critical",
            "no gateway proxy answers Prometheus",
            f"Every request to the endpoint may fail. kubectl -n {EG_NAMESPACE} get pods; "
            "check the Envoy Gateway controller's logs and the Gateway's status.",
            who,
            base,
        ),
        _rule(
            "GatewayRequestRateSurge",
            f"{now} > {1 + t.request_rate_increase:g} * clamp_min({before}, "
            f"{t.request_rate_floor:g}) and {now} > {t.min_request_rate:g}",
            PERSISTENT,  # the surge itself enters the baseline window as it lasts
            "warning",
            f"requests at the gateway up {t.request_rate_increase:.0%} on the previous "
            f"{t.request_rate_baseline}",
            f"{VALUE} req/s arrive. Check who is calling (gateway logs by API key), whether "
            "autoscaling keeps up and the queue; rate-limit the client if it is abuse.",
            who,
            base,
        ),
    ]


def gpu_rules(obs: ObservabilityConfig) -> list[Manifest]:
    t, base = obs.alerts, obs.alerting.runbook_base_url
    who = {"component": "gpu"}
    exporter = promql.up(DCGM_JOB)
    return [
        _rule(
            "GPUHighUtilization",
            f"avg by ({DCGM_HOST_LABEL}, {DCGM_GPU_LABEL}) ({DCGM_BASE['gpu_util']}) > "
            f"{t.gpu_utilization_percent:g}",
            t.gpu_utilization_for,
            "warning",
            f"GPU {{{{ $labels.{DCGM_GPU_LABEL} }}}} on {{{{ $labels.{DCGM_HOST_LABEL} }}}} above "
            f"{t.gpu_utilization_percent:g}% for {t.gpu_utilization_for}",
            "Sustained saturation: latency rises next. Check requests waiting and TTFT of the "
            "models on that node; add replicas on other GPUs or another node.",
            who,
            base,
        ),
        _rule(
            "DCGMMetricsAbsent",
            f"absent({exporter} == 1)",
            ABSENT_FOR,
            "warning",
            "no GPU metrics: the DCGM exporter is not scraped",
            f"The GPU dashboard and GPU alerts are blind. kubectl -n {GPU_NAMESPACE} get pods "
            "(dcgm-exporter); it needs the NVIDIA driver on the node.",
            who,
            base,
        ),
    ]


def prometheus_rule(
    plans: list[ServingPlan], obs: ObservabilityConfig, has_gpus: bool, gateway: bool
) -> Manifest:
    groups = [
        {"name": f"vllm-{p.model.name}", "rules": model_rules(p, obs, gateway)} for p in plans
    ]
    if gateway:
        groups.append({"name": "gateway", "rules": gateway_rules(obs)})
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
