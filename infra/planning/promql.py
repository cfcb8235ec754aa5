"""PromQL built from the metric map. Every expression the platform emits comes from here."""

from __future__ import annotations

from typing import Any

import promql_parser

from infra.catalog.metrics import (
    ENVOY,
    ENVOY_CLASS_LABEL,
    ENVOY_LISTENER_LABEL,
    ENVOY_LISTENER_PATTERN,
    KUBE,
    MODEL_LABEL,
    UP,
    VLLM,
    VLLM_FAILED_REASONS,
)

RATE_WINDOW = "5m"  # four scrapes at the default 15 s interval, Grafana's usual minimum


def quote(value: str) -> str:
    """A PromQL string literal."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def selector(
    metric: str, matchers: dict[str, str] | None = None, regex: dict[str, str] | None = None
) -> str:
    parts = [f"{k}={quote(v)}" for k, v in sorted((matchers or {}).items())]
    parts += [f"{k}=~{quote(v)}" for k, v in sorted((regex or {}).items())]
    return f"{metric}{{{','.join(parts)}}}" if parts else metric


def vllm(key: str, served: str, regex: dict[str, str] | None = None, suffix: str = "") -> str:
    """A vLLM series of one deployment: always filtered by its served model name."""
    return selector(VLLM[key] + suffix, {MODEL_LABEL: served}, regex)


def rate(series: str, window: str = RATE_WINDOW, offset: str | None = None) -> str:
    shift = f" offset {offset}" if offset else ""
    return f"rate({series}[{window}]{shift})"


def quantile(q: float, key: str, served: str, window: str = RATE_WINDOW) -> str:
    buckets = rate(vllm(key, served, suffix="_bucket"), window)
    return f"histogram_quantile({q}, sum by (le) ({buckets}))"


def finished_rate(served: str, window: str = RATE_WINDOW, offset: str | None = None) -> str:
    return f"sum({rate(vllm('request_success_total', served), window, offset)})"


def failed_rate(served: str, window: str = RATE_WINDOW) -> str:
    failed = vllm(
        "request_success_total", served, {"finished_reason": "|".join(VLLM_FAILED_REASONS)}
    )
    return f"sum({rate(failed, window)})"


def error_ratio(served: str, window: str = RATE_WINDOW) -> str:
    """Failed over finished requests; empty (no alert) while nothing finishes."""
    return f"({failed_rate(served, window)} / {finished_rate(served, window)})"


def prefix_hit_ratio(served: str, window: str = RATE_WINDOW) -> str:
    hits = rate(vllm("prefix_cache_hits", served), window)
    queries = rate(vllm("prefix_cache_queries", served), window)
    return f"sum({hits}) / sum({queries})"


def le_value(bound: float) -> str:
    """A histogram bound as client libraries print it in the `le` label (1.5 -> "1.5",
    2 -> "2.0")."""
    return repr(float(bound))


def within_ratio(served: str, key: str, bound: float, window: str = RATE_WINDOW) -> str:
    """Share of observations at or below a bucket bound (exact when it is a bound)."""
    bucket = selector(f"{VLLM[key]}_bucket", {MODEL_LABEL: served, "le": le_value(bound)})
    within = rate(bucket, window)
    total = rate(vllm(key, served, suffix="_count"), window)
    return f"(sum({within}) / sum({total}))"


def gateway_requests(window: str = RATE_WINDOW, offset: str | None = None) -> str:
    """Requests per second on the gateway's data-plane listeners, all proxies."""
    series = selector(ENVOY["requests"], regex={ENVOY_LISTENER_LABEL: ENVOY_LISTENER_PATTERN})
    return f"sum({rate(series, window, offset)})"


def gateway_error_ratio(window: str = RATE_WINDOW) -> str:
    """5xx answers (no healthy upstream, timeouts, engine errors) over all requests, as the
    clients saw them at the gateway; empty (no alert) while there is no traffic."""
    failed = selector(
        ENVOY["responses_by_class"],
        {ENVOY_CLASS_LABEL: "5"},
        {ENVOY_LISTENER_LABEL: ENVOY_LISTENER_PATTERN},
    )
    return f"(sum({rate(failed, window)}) / {gateway_requests(window)})"


def up(job: str, matchers: dict[str, str] | None = None) -> str:
    return selector(UP, {"job": job, **(matchers or {})})


def deployment_series(key: str, namespace: str, name: str) -> str:
    return selector(KUBE[key], {"namespace": namespace, "deployment": name})


def pods_of(deployment: str) -> str:
    """Pods of a Deployment: `<name>-<replicaset hash>-<suffix>`."""
    return f"{deployment}-[a-z0-9]+-[a-z0-9]+"


Selector = tuple[str, dict[str, tuple[str, str]]]  # metric, label -> (match op, value)


def vector_selectors(expr: str) -> list[Selector]:
    """Every series an expression reads, with its label matchers. Raises ValueError if the
    expression does not parse."""
    found: list[Selector] = []

    def visit(node: Any) -> bool:
        if isinstance(node, promql_parser.VectorSelector):
            found.append(
                (str(node.name), {m.name: (str(m.op), m.value) for m in node.matchers.matchers})
            )
        return True

    promql_parser.walk(promql_parser.parse(expr), visit)
    return found
