"""Each seed alert exists, with the expression and threshold operators rely on."""

from pathlib import Path
from typing import Any

import promql_parser
import pytest

from infra.plan import manifest_of
from tests.builders import cpu_laptop, gpu_box, rendered

SERVED = "Qwen/Qwen2.5-7B-Instruct"


def rules(result: Any) -> dict[str, list[dict[str, Any]]]:
    rule = next(
        m for r in result.resources if (m := manifest_of(r)) and m["kind"] == "PrometheusRule"
    )
    out: dict[str, list[dict[str, Any]]] = {}
    for group in rule["spec"]["groups"]:
        for r in group["rules"]:
            out.setdefault(r["alert"], []).append(r)
    return out


def thresholds(expr: str) -> list[tuple[str, float]]:
    """(left-hand side, number) of every `… > number` comparison in the expression."""
    found: list[tuple[str, float]] = []

    def visit(node: Any) -> bool:
        if (
            isinstance(node, promql_parser.BinaryExpr)
            and str(node.op) == ">"
            and isinstance(node.rhs, promql_parser.NumberLiteral)
        ):
            found.append((" ".join(node.lhs.prettify().split()), node.rhs.val))
        return True

    promql_parser.walk(promql_parser.parse(expr), visit)
    return found


@pytest.fixture(scope="module")
def alerts() -> dict[str, list[dict[str, Any]]]:
    return rules(rendered(gpu_box()))


def one_rule(alerts: dict[str, list[dict[str, Any]]], name: str) -> dict[str, Any]:
    [rule] = alerts[name]
    assert rule["annotations"]["runbook"] and rule["annotations"]["summary"]
    return rule


def test_gpu_utilization_above_90_percent_for_5_minutes(alerts: Any) -> None:
    rule = one_rule(alerts, "GPUHighUtilization")
    [(lhs, value)] = thresholds(rule["expr"])
    assert "DCGM_FI_DEV_GPU_UTIL" in lhs and value == 90 and rule["for"] == "5m"


def test_pod_failing_health_checks_waits_out_the_startup_budget(alerts: Any) -> None:
    rule = one_rule(alerts, "VLLMPodNotReady")
    assert 'kube_pod_status_ready{condition="false",namespace="llm-serving"' in rule["expr"]
    assert 'pod=~"qwen2-5-7b-[a-z0-9]+-[a-z0-9]+"' in rule["expr"]
    # startup 160 s + readiness 30 s -> 4 minutes before a not-ready pod pages.
    assert rule["for"] == "4m" and rule["labels"]["severity"] == "critical"


def test_pod_restarting(alerts: Any) -> None:
    rule = one_rule(alerts, "VLLMPodRestarting")
    assert "increase(kube_pod_container_status_restarts_total" in rule["expr"]
    assert 'container="vllm"' in rule["expr"]
    assert thresholds(rule["expr"])[0][1] == 0


def test_request_rate_rising_200_percent_over_its_baseline(alerts: Any) -> None:
    rule = one_rule(alerts, "VLLMRequestRateSurge")
    surge = rule["expr"]
    assert "3 * sum(rate(vllm:request_success_total" in surge
    assert "[1h] offset 1h)" in surge
    [(_, quiet)] = [t for t in thresholds(surge) if t[1] != 3]
    assert quiet == 0.1  # no alert on a handful of requests


def test_kv_cache_above_90_percent(alerts: Any) -> None:
    [(lhs, value)] = thresholds(one_rule(alerts, "VLLMKVCacheNearlyFull")["expr"])
    assert lhs == f'max(vllm:kv_cache_usage_perc{{model_name="{SERVED}"}})' and value == 0.9


def test_requests_waiting_above_threshold(alerts: Any) -> None:
    [(lhs, value)] = thresholds(one_rule(alerts, "VLLMRequestsQueued")["expr"])
    assert "vllm:num_requests_waiting" in lhs and value == 10


def test_p95_time_to_first_token_above_the_slo(alerts: Any) -> None:
    [(lhs, value)] = thresholds(one_rule(alerts, "VLLMTimeToFirstTokenSLO")["expr"])
    assert lhs.startswith("histogram_quantile( 0.95,")
    assert "vllm:time_to_first_token_seconds_bucket" in lhs and value == 1.5


def test_error_ratio(alerts: Any) -> None:
    rule = one_rule(alerts, "VLLMErrorRatio")
    assert 'finished_reason=~"abort|error"' in rule["expr"]
    assert 0.05 in [v for _, v in thresholds(rule["expr"])]


def test_slo_burn_rate_for_three_nines(alerts: Any) -> None:
    page, ticket = alerts["VLLMErrorBudgetBurn"]
    # 99.9% availability: budget 0.001; 14.4x over 1h and 5m pages, 6x over 6h and 30m tickets.
    assert [v for _, v in thresholds(page["expr"])] == [pytest.approx(0.0144)] * 2
    assert "[1h]" in page["expr"] and "[5m]" in page["expr"]
    assert page["labels"]["severity"] == "critical"
    assert [v for _, v in thresholds(ticket["expr"])] == [pytest.approx(0.006)] * 2
    assert "[6h]" in ticket["expr"] and "[30m]" in ticket["expr"]


def test_slo_and_thresholds_come_from_config(tmp_path: Path) -> None:
    raw = gpu_box()
    raw["observability"]["slo"] = {"ttftP95Seconds": 0.8, "availability": 0.99}
    raw["observability"]["alerts"] = {"requestsWaiting": 25}
    configured = rules(rendered(raw))
    assert thresholds(configured["VLLMTimeToFirstTokenSLO"][0]["expr"])[0][1] == 0.8
    assert thresholds(configured["VLLMRequestsQueued"][0]["expr"])[0][1] == 25
    page = configured["VLLMErrorBudgetBurn"][0]
    assert thresholds(page["expr"])[0][1] == pytest.approx(0.144)


def test_cpu_stack_has_no_gpu_alert() -> None:
    assert "GPUHighUtilization" not in rules(rendered(cpu_laptop()))
