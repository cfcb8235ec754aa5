"""Metrics, dashboards, alert rules and logs: Helm values and objects, built from the plan."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable

from infra.catalog.gpus import GpuSpec
from infra.catalog.metrics import (
    DCGM_BASE,
    DCGM_CSV,
    DCGM_GPU_LABEL,
    DCGM_HOST_LABEL,
    DCGM_PROFILING,
    KUBE,
)
from infra.config import ObservabilityConfig
from infra.manifests.common import POOL_LABEL, POOL_TAINT, Manifest, gib, labels
from infra.manifests.gpu_runtime import GPU_RESOURCE
from infra.manifests.model_server import APP, COMPONENT, SERVED_NAME_ANNOTATION
from infra.manifests.topology import (
    GRAFANA_ADMIN_SECRET,
    GRAFANA_NAME,
    KPS_NAME,
    LOKI_NAME,
    LOKI_URL,
    MONITORING_NAMESPACE,
)
from infra.planning import promql
from infra.planning.budgets import budgets
from infra.planning.capacity import ServingPlan

GKE_NVIDIA_DIR = "/home/kubernetes/bin/nvidia"
# The day Loki's index schema (tsdb v13) starts. Fixed forever: a later schema is added as a
# new entry from a future date, never by editing this one.
LOKI_SCHEMA_FROM = "2026-01-01"
# Grafana dashboard JSON model version the dashboards are written in.
GRAFANA_SCHEMA_VERSION = 39
DASHBOARD_LABEL = "grafana_dashboard"
PROMETHEUS_UID = "prometheus"
LOKI_UID = "loki"
# Prometheus deletes old blocks once the TSDB reaches this share of its volume, before the
# disk fills (the WAL and compaction need the rest).
TSDB_VOLUME_SHARE = 0.8
# Multiwindow burn-rate alerting (Google SRE workbook): (factor, long window, short window).
BURN_RATE_PAGE = (14.4, "1h", "5m")  # 2% of a 30-day budget in one hour
BURN_RATE_TICKET = (6.0, "6h", "30m")  # 5% of the budget in six hours
BURN_FOR = {"critical": "2m", "warning": "15m"}  # how long a burn lasts before it alerts
# How long a condition must hold before it alerts: saturation shows in minutes, a trend in ten.
PERSISTENT = "5m"
SUSTAINED = "10m"
RESTART_WINDOW = "15m"  # restarts counted over this window
NOT_READY_SMOOTHING = "1m"  # a pod flapping ready/not-ready within a minute still counts

# Container sizes of the monitoring stack: small, bounded, enough for one cluster of GPUs.
SIZES: dict[str, Manifest] = {
    "prometheus": {
        "requests": {"cpu": "500m", "memory": "2Gi"},
        "limits": {"cpu": "2", "memory": "4Gi"},
    },
    "alertmanager": {
        "requests": {"cpu": "50m", "memory": "64Mi"},
        "limits": {"cpu": "200m", "memory": "256Mi"},
    },
    "operator": {
        "requests": {"cpu": "100m", "memory": "128Mi"},
        "limits": {"cpu": "500m", "memory": "512Mi"},
    },
    "grafana": {
        "requests": {"cpu": "100m", "memory": "256Mi"},
        "limits": {"cpu": "1", "memory": "1Gi"},
    },
    "kube-state-metrics": {
        "requests": {"cpu": "50m", "memory": "128Mi"},
        "limits": {"cpu": "500m", "memory": "512Mi"},
    },
    "node-exporter": {
        "requests": {"cpu": "50m", "memory": "64Mi"},
        "limits": {"cpu": "250m", "memory": "128Mi"},
    },
    "loki": {
        "requests": {"cpu": "250m", "memory": "512Mi"},
        "limits": {"cpu": "2", "memory": "2Gi"},
    },
    "alloy": {
        "requests": {"cpu": "100m", "memory": "256Mi"},
        "limits": {"cpu": "1", "memory": "1Gi"},
    },
    "dcgm-exporter": {
        "requests": {"cpu": "100m", "memory": "256Mi"},
        "limits": {"cpu": "500m", "memory": "1Gi"},
    },
}


def _claim(size_gib: int, storage_class: str | None) -> Manifest:
    spec: Manifest = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": gib(size_gib)}},
    }
    if storage_class:
        spec["storageClassName"] = storage_class
    return spec


# --------------------------------------------------------------------------- Helm values


def kube_prometheus_stack_values(obs: ObservabilityConfig) -> Manifest:
    prometheus: Manifest = {
        "retention": obs.retention,
        "scrapeInterval": obs.scrape_interval,
        # Pick up every ServiceMonitor/PodMonitor/PrometheusRule, not only the chart's own.
        "serviceMonitorSelectorNilUsesHelmValues": False,
        "podMonitorSelectorNilUsesHelmValues": False,
        "ruleSelectorNilUsesHelmValues": False,
        "resources": SIZES["prometheus"],
    }
    if obs.persistence.enabled:
        size = obs.persistence.size_gib
        prometheus["storageSpec"] = {
            "volumeClaimTemplate": {"spec": _claim(size, obs.persistence.storage_class)}
        }
        prometheus["retentionSize"] = f"{math.floor(size * TSDB_VOLUME_SHARE)}GiB"
    return {
        "fullnameOverride": KPS_NAME,
        "crds": {"enabled": True},
        "prometheusOperator": {"resources": SIZES["operator"]},
        "prometheus": {"prometheusSpec": prometheus},
        "alertmanager": {"alertmanagerSpec": {"resources": SIZES["alertmanager"]}},
        "kube-state-metrics": {"resources": SIZES["kube-state-metrics"]},
        "prometheus-node-exporter": {"resources": SIZES["node-exporter"]},
        "grafana": {
            "fullnameOverride": GRAFANA_NAME,
            # The admin password is a Pulumi-generated secret, not the chart's default.
            "admin": {
                "existingSecret": GRAFANA_ADMIN_SECRET,
                "userKey": "admin-user",
                "passwordKey": "admin-password",
            },
            "resources": SIZES["grafana"],
            "sidecar": {
                "dashboards": {
                    "enabled": True,
                    "label": DASHBOARD_LABEL,
                    "labelValue": "1",
                    "searchNamespace": "ALL",
                },
                "datasources": {
                    "enabled": True,
                    "defaultDatasourceEnabled": True,
                    "uid": PROMETHEUS_UID,
                },
            },
            "additionalDataSources": [
                {
                    "name": "Loki",
                    "type": "loki",
                    "uid": LOKI_UID,
                    "url": LOKI_URL,
                    "access": "proxy",
                }
            ],
        },
    }


def dcgm_exporter_values(
    pools: Iterable[str], gpus: Iterable[GpuSpec], runtime_class: str | None, gke: bool = False
) -> Manifest:
    """One exporter on every GPU pool; it emits only fields every GPU family there has
    (asking an RTX card for DCGM_FI_PROF_* fails)."""
    families = list(gpus)
    fields = list(DCGM_BASE.values())
    if families and all(g.dcgm_profiling for g in families):
        fields += DCGM_PROFILING.values()
    csv = "\n".join(f"{f}, {DCGM_CSV[f][0]}, {DCGM_CSV[f][1]}" for f in fields)
    values: Manifest = {
        "customMetrics": csv + "\n",
        "serviceMonitor": {"enabled": True, "honorLabels": True},  # keep workload pod labels
        "affinity": {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {
                            "matchExpressions": [
                                {"key": POOL_LABEL, "operator": "In", "values": sorted(pools)}
                            ]
                        }
                    ]
                }
            }
        },
        "tolerations": [
            {"key": POOL_TAINT, "operator": "Exists", "effect": "NoSchedule"},
            {"key": GPU_RESOURCE, "operator": "Exists", "effect": "NoSchedule"},
        ],
        "resources": SIZES["dcgm-exporter"],
    }
    if gke:
        # GKE installs the driver on the host, not in containers that request no GPU.
        values["extraHostVolumes"] = [
            {"name": "nvidia-install-dir-host", "hostPath": GKE_NVIDIA_DIR}
        ]
        values["extraVolumeMounts"] = [
            {"name": "nvidia-install-dir-host", "mountPath": "/usr/local/nvidia", "readOnly": True}
        ]
        values["extraEnv"] = [{"name": "LD_LIBRARY_PATH", "value": "/usr/local/nvidia/lib64"}]
    if runtime_class:
        values["runtimeClassName"] = runtime_class
    return values


def loki_values(obs: ObservabilityConfig) -> Manifest:
    persistence: Manifest = {"enabled": obs.log_persistence.enabled}
    if obs.log_persistence.enabled:
        persistence["size"] = gib(obs.log_persistence.size_gib)
        if obs.log_persistence.storage_class:
            persistence["storageClass"] = obs.log_persistence.storage_class
    return {
        "deploymentMode": "Monolithic",
        "fullnameOverride": LOKI_NAME,
        "loki": {
            "auth_enabled": False,
            "commonConfig": {"replication_factor": 1},
            "storage": {"type": "filesystem"},
            "schemaConfig": {
                "configs": [
                    {
                        "from": LOKI_SCHEMA_FROM,
                        "store": "tsdb",
                        "object_store": "filesystem",
                        "schema": "v13",
                        "index": {"prefix": "index_", "period": "24h"},
                    }
                ]
            },
            "limits_config": {"retention_period": obs.log_retention},
            "compactor": {
                "retention_enabled": True,
                "delete_request_store": "filesystem",
                "working_directory": "/var/loki/compactor",
            },
        },
        "singleBinary": {"replicas": 1, "persistence": persistence, "resources": SIZES["loki"]},
        # Monolithic: every scalable target off, no gateway or caches in front.
        **{target: {"replicas": 0} for target in ("backend", "read", "write")},
        "gateway": {"enabled": False},
        "chunksCache": {"enabled": False},
        "resultsCache": {"enabled": False},
        "lokiCanary": {"enabled": False},
        "test": {"enabled": False},
    }


def alloy_config() -> str:
    """Tail every pod's logs through the Kubernetes API (no hostPath) and ship them to Loki
    with namespace, pod, container and, for vLLM pods, the served model name."""
    served = "__meta_kubernetes_pod_annotation_" + "".join(
        c if c.isalnum() else "_" for c in SERVED_NAME_ANNOTATION
    )
    return f"""\
discovery.kubernetes "pods" {{
  role = "pod"
}}

discovery.relabel "pods" {{
  targets = discovery.kubernetes.pods.targets
  rule {{
    source_labels = ["__meta_kubernetes_namespace"]
    target_label  = "namespace"
  }}
  rule {{
    source_labels = ["__meta_kubernetes_pod_name"]
    target_label  = "pod"
  }}
  rule {{
    source_labels = ["__meta_kubernetes_pod_container_name"]
    target_label  = "container"
  }}
  rule {{
    source_labels = ["{served}"]
    regex         = "(.+)"
    target_label  = "model"
  }}
}}

loki.source.kubernetes "pods" {{
  targets    = discovery.relabel.pods.output
  forward_to = [loki.write.default.receiver]
}}

loki.write "default" {{
  endpoint {{
    url = "{LOKI_URL}/loki/api/v1/push"
  }}
}}
"""


def alloy_values() -> Manifest:
    return {
        "controller": {"type": "deployment", "replicas": 1},
        "alloy": {"configMap": {"content": alloy_config()}, "resources": SIZES["alloy"]},
    }


# --------------------------------------------------------------------------- scraping


def pod_monitor(namespace: str) -> Manifest:
    """Scrape /metrics of every vLLM pod in a serving namespace."""
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PodMonitor",
        "metadata": {
            "name": APP,
            "namespace": namespace,
            "labels": labels(APP, namespace, "metrics"),
        },
        "spec": {
            "selector": {
                "matchLabels": {
                    "app.kubernetes.io/name": APP,
                    "app.kubernetes.io/component": COMPONENT,
                }
            },
            "podMetricsEndpoints": [{"port": "http", "path": "/metrics"}],
        },
    }


# --------------------------------------------------------------------------- dashboards

_WIDTH, _HEIGHT, _PER_ROW = 8, 8, 3


def _panel(title: str, targets: list[tuple[str, str]], unit: str = "short") -> Manifest:
    return {
        "type": "timeseries",
        "title": title,
        "datasource": {"type": "prometheus", "uid": PROMETHEUS_UID},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "targets": [
            {
                "expr": expr,
                "legendFormat": legend,
                "refId": chr(ord("A") + i),
                "datasource": {"type": "prometheus", "uid": PROMETHEUS_UID},
            }
            for i, (expr, legend) in enumerate(targets)
        ],
    }


def _layout(rows: list[tuple[str, list[Manifest]]]) -> list[Manifest]:
    panels: list[Manifest] = []
    y = 0
    for panel_id, (title, row) in enumerate(rows, start=1):
        panels.append(
            {
                "type": "row",
                "title": title,
                "collapsed": False,
                "panels": [],
                "id": panel_id * 100,
                "gridPos": {"x": 0, "y": y, "w": 24, "h": 1},
            }
        )
        y += 1
        for i, panel in enumerate(row):
            panel["id"] = panel_id * 100 + i + 1
            panel["gridPos"] = {
                "x": (i % _PER_ROW) * _WIDTH,
                "y": y + (i // _PER_ROW) * _HEIGHT,
                "w": _WIDTH,
                "h": _HEIGHT,
            }
            panels.append(panel)
        y += math.ceil(len(row) / _PER_ROW) * _HEIGHT
    return panels


def _dashboard(uid: str, title: str, rows: list[tuple[str, list[Manifest]]]) -> Manifest:
    return {
        "uid": uid,
        "title": title,
        "tags": ["llm-platform"],
        "editable": False,
        "schemaVersion": GRAFANA_SCHEMA_VERSION,
        "time": {"from": "now-6h", "to": "now"},
        "refresh": "30s",
        "timezone": "browser",
        "panels": _layout(rows),
    }


def _model_panels(plan: ServingPlan) -> list[Manifest]:
    served, m = plan.model.served_name, plan.model

    def q(pct: float, key: str) -> tuple[str, str]:
        return promql.quantile(pct, key, served), f"p{round(pct * 100)}"

    return [
        _panel(
            "Requests running / waiting",
            [
                (f"sum({promql.vllm('num_requests_running', served)})", "running"),
                (f"sum({promql.vllm('num_requests_waiting', served)})", "waiting"),
            ],
        ),
        _panel(
            "Time to first token",
            [
                q(0.5, "time_to_first_token_seconds"),
                q(0.95, "time_to_first_token_seconds"),
                q(0.99, "time_to_first_token_seconds"),
            ],
            "s",
        ),
        _panel(
            "End-to-end latency",
            [
                q(0.5, "e2e_request_latency_seconds"),
                q(0.95, "e2e_request_latency_seconds"),
                q(0.99, "e2e_request_latency_seconds"),
            ],
            "s",
        ),
        _panel(
            "Tokens per second",
            [
                (f"sum({promql.rate(promql.vllm('prompt_tokens_total', served))})", "prompt (in)"),
                (
                    f"sum({promql.rate(promql.vllm('generation_tokens_total', served))})",
                    "generated (out)",
                ),
            ],
        ),
        _panel(
            "KV-cache usage",
            [(promql.vllm("kv_cache_usage_perc", served), "{{pod}}")],
            "percentunit",
        ),
        _panel(
            "Prefix-cache hit rate", [(promql.prefix_hit_ratio(served), "hit rate")], "percentunit"
        ),
        _panel(
            "Preemptions per second",
            [(f"sum({promql.rate(promql.vllm('num_preemptions_total', served))})", "preemptions")],
        ),
        _panel(
            "Finished requests by reason",
            [
                (
                    f"sum by (finished_reason) "
                    f"({promql.rate(promql.vllm('request_success_total', served))})",
                    "{{finished_reason}}",
                )
            ],
            "reqps",
        ),
        _panel(
            "Replicas",
            [
                (
                    promql.deployment_series("deployment_available", m.namespace, m.name),
                    "available",
                ),
                (promql.deployment_series("deployment_desired", m.namespace, m.name), "desired"),
            ],
        ),
    ]


def vllm_dashboard(plans: list[ServingPlan]) -> Manifest:
    rows = [(f"{p.model.name} — {p.model.served_name}", _model_panels(p)) for p in plans]
    return _dashboard("llm-platform-vllm", "LLM platform / vLLM serving", rows)


def gpu_dashboard(gpus: Iterable[GpuSpec]) -> Manifest:
    per_gpu = f"{{{{{DCGM_HOST_LABEL}}}}} GPU {{{{{DCGM_GPU_LABEL}}}}}"
    panels = [
        _panel("GPU utilization", [(DCGM_BASE["gpu_util"], per_gpu)], "percent"),
        _panel("GPU memory used", [(DCGM_BASE["fb_used"], per_gpu)], "decmbytes"),
        _panel("GPU memory free", [(DCGM_BASE["fb_free"], per_gpu)], "decmbytes"),
        _panel(
            "GPU memory used per node",
            [
                (
                    f"sum by ({DCGM_HOST_LABEL}) ({DCGM_BASE['fb_used']})",
                    f"{{{{{DCGM_HOST_LABEL}}}}}",
                )
            ],
            "decmbytes",
        ),
        _panel("GPU temperature", [(DCGM_BASE["gpu_temp"], per_gpu)], "celsius"),
        _panel("GPU power", [(DCGM_BASE["power_usage"], per_gpu)], "watt"),
    ]
    families = list(gpus)
    if families and all(g.dcgm_profiling for g in families):
        panels.append(
            _panel(
                "Tensor core activity", [(DCGM_PROFILING["tensor_active"], per_gpu)], "percentunit"
            )
        )
    return _dashboard("llm-platform-gpu", "LLM platform / GPUs", [("GPUs", panels)])


def dashboard_config_map(name: str, dashboard: Manifest) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": name,
            "namespace": MONITORING_NAMESPACE,
            "labels": {**labels("grafana", name, "dashboard"), DASHBOARD_LABEL: "1"},
        },
        "data": {f"{name}.json": json.dumps(dashboard, indent=1, sort_keys=True)},
    }


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
