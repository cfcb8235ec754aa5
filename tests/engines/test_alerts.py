"""Every alert judged by Prometheus's own evaluator (`promtool test rules`): a series that
must fire it, with the labels an on-call sees, and one that must not. Config: tests/builders.py
gpu_box (Qwen2.5-7B on a 4x RTX 4090D node, TTFT objective 1.5 s, 99.9 % availability,
default thresholds), with and without the gateway, and with the model asleep at zero."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.manifests.topology import DCGM_JOB, GATEWAY_JOB, vllm_job
from tests.builders import QWEN_7B, gpu_box, rendered
from tests.engines.prom_tools import (
    MINIMUM,
    PROMTOOL,
    rule_groups,
    run,
    tool,
    version,
    write_rules,
)

NS, MODEL = "llm-serving", "qwen2-5-7b"
POD_A, POD_B = f"{MODEL}-6d5f8b9c7d-abcde", f"{MODEL}-6d5f8b9c7d-fghij"
OF_MODEL = {"component": "model", "model": MODEL, "namespace": NS}
GATEWAY = {"component": "gateway"}
LISTENER = 'envoy_http_conn_manager_prefix="https-10443"'
SERVED = f'model_name="{QWEN_7B}"'


def pod(name: str) -> str:
    return f'namespace="{NS}",pod="{name}"'


@dataclass
class Case:
    alert: str
    why: str
    series: list[tuple[str, str]]
    at: str
    fires: list[dict[str, str]] = field(default_factory=list)  # [] = must stay quiet
    gateway: bool = True
    sleeps: bool = False  # the model scales to zero when idle (minReplicas 0)


AVAILABLE = f'kube_deployment_status_replicas_available{{namespace="{NS}",deployment="{MODEL}"}}'
DESIRED = f'kube_deployment_spec_replicas{{namespace="{NS}",deployment="{MODEL}"}}'

CASES = [
    Case(
        "VLLMModelUnavailable",
        "a model asleep at zero (no replica wanted): quiet",
        [(AVAILABLE, "0x15"), (DESIRED, "0x15")],
        "10m",
        sleeps=True,
    ),
    Case(
        "VLLMModelUnavailable",
        "a model woken by a request but not ready past its startup budget pages",
        [(AVAILABLE, "0x15"), (DESIRED, "1x15")],
        "10m",
        [{"severity": "critical", **OF_MODEL, "deployment": MODEL}],
        sleeps=True,
    ),
    Case(
        "VLLMMetricsAbsent",
        "a model asleep has no series: quiet",
        [(DESIRED, "0x15")],
        "12m",
        sleeps=True,
    ),
    Case(
        "VLLMMetricsAbsent",
        "a model awake but not scraped",
        [(DESIRED, "1x15")],
        "12m",
        [{"severity": "warning", **OF_MODEL, "job": vllm_job(NS)}],
        sleeps=True,
    ),
    Case(
        "VLLMModelUnavailable",
        "no replica ready past the startup budget pages",
        [
            (
                f'kube_deployment_status_replicas_available{{namespace="{NS}",deployment="{MODEL}"}}',
                "0x15",
            )
        ],
        "10m",
        [{"severity": "critical", **OF_MODEL, "deployment": MODEL}],
    ),
    Case(
        "VLLMModelUnavailable",
        "a ready replica: quiet",
        [
            (
                f'kube_deployment_status_replicas_available{{namespace="{NS}",deployment="{MODEL}"}}',
                "1x15",
            )
        ],
        "10m",
    ),
    Case(
        "VLLMPodNotReady",
        "one pod stuck past its startup budget is named",
        [(f'kube_pod_status_ready{{{pod(POD_B)},condition="false"}}', "1x15")],
        "10m",
        [{"severity": "warning", **OF_MODEL, "pod": POD_B}],
    ),
    Case(
        "VLLMPodNotReady",
        "a rolling update (each new pod starts in 3 min, one after the other): quiet "
        "(the summed rule fired here)",
        [
            (f'kube_pod_status_ready{{{pod(POD_A)},condition="false"}}', "1x3 0x12"),
            (f'kube_pod_status_ready{{{pod(POD_B)},condition="false"}}', "0x3 1x3 0x9"),
        ],
        "6m",
    ),
    Case(
        "VLLMPodRestarting",
        "a restart names the pod",
        [
            (
                f'kube_pod_container_status_restarts_total{{{pod(POD_A)},container="vllm"}}',
                "0 0 1 1 1",
            )
        ],
        "3m",
        [{"severity": "warning", **OF_MODEL, "pod": POD_A}],
    ),
    Case(
        "VLLMPodRestarting",
        "no restart: quiet",
        [(f'kube_pod_container_status_restarts_total{{{pod(POD_A)},container="vllm"}}', "0x5")],
        "3m",
    ),
    Case(
        "VLLMPodUnschedulable",
        "a pod no node can take (never Ready, so readiness alerts never see it)",
        [(f"kube_pod_status_unschedulable{{{pod(POD_B)}}}", "1x10")],
        "7m",
        [{"severity": "warning", **OF_MODEL, "pod": POD_B}],
    ),
    Case(
        "VLLMPodUnschedulable",
        "scheduled: quiet",
        [(f"kube_pod_status_unschedulable{{{pod(POD_B)}}}", "0x10")],
        "7m",
    ),
    Case(
        "VLLMTargetDown",
        "a pod whose /metrics stops answering",
        [(f'up{{job="{vllm_job(NS)}",{pod(POD_A)}}}', "0x10")],
        "7m",
        [{"severity": "warning", **OF_MODEL, "pod": POD_A, "job": vllm_job(NS)}],
    ),
    Case(
        "VLLMTargetDown",
        "scraped: quiet",
        [(f'up{{job="{vllm_job(NS)}",{pod(POD_A)}}}', "1x10")],
        "7m",
    ),
    Case(
        "VLLMMetricsAbsent",
        "no vLLM series of this model at all (every vLLM alert would be blind)",
        [(f'up{{job="{vllm_job(NS)}",{pod("other-5d8f7c9b6d-abcde")}}}', "1x15")],
        "12m",
        [{"severity": "warning", **OF_MODEL, "job": vllm_job(NS)}],
    ),
    Case(
        "VLLMMetricsAbsent",
        "scraped: quiet",
        [(f'up{{job="{vllm_job(NS)}",{pod(POD_A)}}}', "1x15")],
        "12m",
    ),
    Case(
        "VLLMKVCacheNearlyFull",
        "KV cache at 95 %",
        [(f"vllm:kv_cache_usage_perc{{{SERVED},{pod(POD_A)}}}", "0.95x10")],
        "7m",
        [{"severity": "warning", **OF_MODEL, "pod": POD_A}],
    ),
    Case(
        "VLLMKVCacheNearlyFull",
        "KV cache at 50 %: quiet",
        [(f"vllm:kv_cache_usage_perc{{{SERVED},{pod(POD_A)}}}", "0.5x10")],
        "7m",
    ),
    Case(
        "VLLMRequestsQueued",
        "20 requests waiting",
        [(f"vllm:num_requests_waiting{{{SERVED},{pod(POD_A)}}}", "20x10")],
        "7m",
        [{"severity": "warning", **OF_MODEL, "pod": POD_A}],
    ),
    Case(
        "VLLMRequestsQueued",
        "5 waiting: quiet",
        [(f"vllm:num_requests_waiting{{{SERVED},{pod(POD_A)}}}", "5x10")],
        "7m",
    ),
    Case(
        "VLLMTimeToFirstTokenSLO",
        "true P95 near 2.0 s (10 % of first tokens after 1.5 s) (interpolating 1.0-2.5 s "
        "buckets computed 1.43 s and missed it)",
        [
            (f'vllm:time_to_first_token_seconds_bucket{{{SERVED},le="1.5"}}', "0+9x30"),
            (f"vllm:time_to_first_token_seconds_count{{{SERVED}}}", "0+10x30"),
        ],
        "25m",
        [{"severity": "warning", **OF_MODEL}],
    ),
    Case(
        "VLLMTimeToFirstTokenSLO",
        "every first token at 1.2 s: quiet (interpolation computed 2.4 s and paged)",
        [
            (f'vllm:time_to_first_token_seconds_bucket{{{SERVED},le="1.5"}}', "0+10x30"),
            (f"vllm:time_to_first_token_seconds_count{{{SERVED}}}", "0+10x30"),
        ],
        "25m",
    ),
    Case(
        "VLLMErrorRatio",
        "20 % of requests fail in the engine: a ticket, not a second page",
        [
            (f'vllm:request_success_total{{{SERVED},finished_reason="error"}}', "0+2x15"),
            (f'vllm:request_success_total{{{SERVED},finished_reason="stop"}}', "0+8x15"),
        ],
        "10m",
        [{"severity": "warning", **OF_MODEL}],
    ),
    Case(
        "VLLMErrorRatio",
        "no failures: quiet",
        [(f'vllm:request_success_total{{{SERVED},finished_reason="stop"}}', "0+8x15")],
        "10m",
    ),
    Case(
        "GatewayErrorBudgetBurn",
        "total outage: every request a 503 at the gateway (vLLM counted nothing: 0/0)",
        [
            (f"envoy_http_downstream_rq_total{{{LISTENER}}}", "0+600x70"),
            (
                f'envoy_http_downstream_rq_xx{{{LISTENER},envoy_response_code_class="5"}}',
                "0+600x70",
            ),
        ],
        "65m",
        [
            {"severity": "critical", **GATEWAY, "window": "1h"},
            {"severity": "warning", **GATEWAY, "window": "6h"},
        ],
    ),
    Case(
        "GatewayErrorBudgetBurn",
        "all requests answered: quiet",
        [
            (f"envoy_http_downstream_rq_total{{{LISTENER}}}", "0+600x70"),
            (
                f'envoy_http_downstream_rq_xx{{{LISTENER},envoy_response_code_class="2"}}',
                "0+600x70",
            ),
        ],
        "65m",
    ),
    Case("GatewayDown", "no proxy scraped", [], "5m", [{"severity": "critical", **GATEWAY}]),
    Case(
        "GatewayDown",
        "a proxy up: quiet",
        [(f'up{{job="{GATEWAY_JOB}",pod="envoy-llm-gateway-abc"}}', "1x10")],
        "5m",
    ),
    Case(
        "GatewayRequestRateSurge",
        "10 -> 40 req/s arriving, against the previous hour",
        [(f"envoy_http_downstream_rq_total{{{LISTENER}}}", "0+600x60 36000+2400x30")],
        "72m",
        [{"severity": "warning", **GATEWAY}],
    ),
    Case(
        "GatewayRequestRateSurge",
        "0 -> 1 req/s (every morning, every failover): quiet",
        [(f"envoy_http_downstream_rq_total{{{LISTENER}}}", "0x60 0+60x30")],
        "72m",
    ),
    Case(
        "GPUHighUtilization",
        "a GPU at 95 % for 5 minutes",
        [('DCGM_FI_DEV_GPU_UTIL{Hostname="gpu-box",gpu="0"}', "95x10")],
        "7m",
        [{"severity": "warning", "component": "gpu", "Hostname": "gpu-box", "gpu": "0"}],
    ),
    Case(
        "GPUHighUtilization",
        "50 %: quiet",
        [('DCGM_FI_DEV_GPU_UTIL{Hostname="gpu-box",gpu="0"}', "50x10")],
        "7m",
    ),
    Case(
        "DCGMMetricsAbsent",
        "no GPU metrics",
        [],
        "12m",
        [{"severity": "warning", "component": "gpu"}],
    ),
    Case(
        "DCGMMetricsAbsent",
        "exporter scraped: quiet",
        [(f'up{{job="{DCGM_JOB}",instance="10.0.0.1:9400"}}', "1x15")],
        "12m",
    ),
    Case(
        "VLLMErrorBudgetBurn",
        "no gateway: the engine's own count burns the budget",
        [
            (f'vllm:request_success_total{{{SERVED},finished_reason="error"}}', "0+10x70"),
            (f'vllm:request_success_total{{{SERVED},finished_reason="stop"}}', "0+50x70"),
        ],
        "65m",
        [
            {"severity": "critical", **OF_MODEL, "window": "1h"},
            {"severity": "warning", **OF_MODEL, "window": "6h"},
        ],
        gateway=False,
    ),
    Case(
        "VLLMErrorBudgetBurn",
        "no gateway, no failures: quiet",
        [(f'vllm:request_success_total{{{SERVED},finished_reason="stop"}}', "0+50x70")],
        "65m",
        gateway=False,
    ),
]


def _groups(gateway: bool, sleeps: bool = False) -> list[dict[str, Any]]:
    raw = gpu_box() if gateway else gpu_box(gateway={"enabled": False})
    if sleeps:
        raw["autoscaling"]["minReplicas"] = 0
    return rule_groups(rendered(raw))


def _test_file(case: Case) -> dict[str, Any]:
    return {
        "rule_files": ["rules.yaml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "name": case.why,
                "interval": "1m",
                "input_series": [{"series": s, "values": v} for s, v in case.series],
                "alert_rule_test": [
                    {
                        "eval_time": case.at,
                        "alertname": case.alert,
                        "exp_alerts": [{"exp_labels": labels} for labels in case.fires],
                    }
                ],
            }
        ],
    }


@pytest.mark.parametrize("case", CASES, ids=[f"{c.alert}: {c.why}" for c in CASES])
def test_promtool_evaluates_the_alert(case: Case, tmp_path: Path) -> None:
    write_rules(tmp_path, _groups(case.gateway, case.sleeps), annotations=False)
    (tmp_path / "test.yaml").write_text(yaml.safe_dump(_test_file(case), sort_keys=False))
    done = run([tool(PROMTOOL), "test", "rules", "test.yaml"], tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_alert_has_a_firing_and_a_quiet_case() -> None:
    names = {r["alert"] for g in _groups(True) + _groups(False) for r in g["rules"]}
    fired = {c.alert for c in CASES if c.fires}
    quiet = {c.alert for c in CASES if not c.fires}
    assert names == fired == quiet


@pytest.mark.parametrize(("gateway", "sleeps"), [(True, False), (False, False), (True, True)])
def test_promtool_checks_every_rule_with_its_annotations(
    gateway: bool, sleeps: bool, tmp_path: Path
) -> None:
    path = write_rules(tmp_path, _groups(gateway, sleeps))
    done = run([tool(PROMTOOL), "check", "rules", path.name], tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr


def test_annotations_tell_the_on_call_what_and_where() -> None:
    raw = gpu_box()
    raw["observability"]["alerting"] = {"runbookBaseUrl": "https://runbooks.example.com/llm"}
    for group in rule_groups(rendered(raw)):
        for rule in group["rules"]:
            notes = rule["annotations"]
            assert notes["summary"] and notes["description"], rule["alert"]
            assert (
                notes["runbook_url"] == f"https://runbooks.example.com/llm#{rule['alert'].lower()}"
            )
            assert "kubectl -n NS" not in notes["description"]
    pod_rules = [
        r
        for g in rule_groups(rendered(raw))
        for r in g["rules"]
        if "by (namespace, pod)" in r["expr"]
    ]
    assert pod_rules and all("{{ $labels.pod }}" in r["annotations"]["summary"] for r in pod_rules)


def test_the_promtool_in_use_is_recent_enough() -> None:
    assert version(PROMTOOL) >= MINIMUM["promtool"]
