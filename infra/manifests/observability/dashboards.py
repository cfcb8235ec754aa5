"""Grafana dashboards, generated from the plan and the metric map."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable

from infra.catalog.gpus import GpuSpec
from infra.catalog.metrics import (
    AI_CLIENT_LABEL,
    AI_GATEWAY,
    AI_MODEL_LABEL,
    AI_TOKEN_TYPE_LABEL,
    DCGM_BASE,
    DCGM_GPU_LABEL,
    DCGM_HOST_LABEL,
    DCGM_PROFILING,
    EPP,
    EPP_POOL_LABEL,
    dcgm_fields,
)
from infra.manifests.common import Manifest, labels
from infra.manifests.topology import (
    DASHBOARD_LABEL,
    MONITORING_NAMESPACE,
    PROMETHEUS_UID,
)
from infra.planning import promql
from infra.planning.capacity import ServingPlan

# Grafana dashboard JSON model version the dashboards are written in.
GRAFANA_SCHEMA_VERSION = 39


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


def _pool_panel(plan: ServingPlan) -> Manifest:
    """What the endpoint picker sees of the model's pool (routing: inferencePool)."""
    pool = f'{EPP_POOL_LABEL}="{plan.model.name}-pool"'
    return _panel(
        "Endpoint picker: queue, KV cache, ready pods",
        [
            (f"{EPP['queue']}{{{pool}}}", "average queue"),
            (f"{EPP['kv_cache']}{{{pool}}}", "average KV-cache use"),
            (f"{EPP['ready_pods']}{{{pool}}}", "ready pods"),
        ],
    )


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
    rows = [
        (
            f"{p.model.name} — {p.model.served_name}",
            _model_panels(p) + ([_pool_panel(p)] if p.model.routing == "inferencePool" else []),
        )
        for p in plans
    ]
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
    if "tensor_active" in dcgm_fields(gpus):
        panels.append(
            _panel(
                "Tensor core activity", [(DCGM_PROFILING["tensor_active"], per_gpu)], "percentunit"
            )
        )
    return _dashboard("llm-platform-gpu", "LLM platform / GPUs", [("GPUs", panels)])


def usage_dashboard() -> Manifest:
    """Usage per client (the API key's name) and model, as the AI Gateway counted it."""
    usage = AI_GATEWAY["token_usage"]
    client, model, kind = AI_CLIENT_LABEL, AI_MODEL_LABEL, AI_TOKEN_TYPE_LABEL
    requests = f'{usage}_count{{{kind}="input"}}'  # one input count per request

    def legend(*names: str) -> str:
        return " ".join(f"{{{{{n}}}}}" for n in names)

    panels = [
        _panel(
            "Tokens per client (per second)",
            [(f"sum by ({client}, {kind}) (rate({usage}_sum[5m]))", legend(client, kind))],
        ),
        _panel(
            "Tokens per model (per second)",
            [(f"sum by ({model}, {kind}) (rate({usage}_sum[5m]))", legend(model, kind))],
        ),
        _panel(
            "Requests per client and model",
            [(f"sum by ({client}, {model}) (rate({requests}[5m]))", legend(client, model))],
            "reqps",
        ),
        _panel(
            "Tokens per client, last 24 h",
            [(f"sum by ({client}) (increase({usage}_sum[1d]))", legend(client))],
        ),
    ]
    return _dashboard("llm-platform-usage", "LLM platform / usage per client", [("Usage", panels)])


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
