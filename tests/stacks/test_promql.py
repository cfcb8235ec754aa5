"""Every PromQL expression the platform emits parses, names only metrics of the metric map,
and every vLLM query filters on the served model name of its own deployment."""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.catalog.metrics import KNOWN_SERIES, MODEL_LABEL, VLLM
from infra.plan import manifest_of
from infra.planning.promql import selector, vector_selectors
from tests.engines.prom_tools import PROMTOOL, run, tool
from tests.helpers import STACKS, planned

VLLM_SERIES = {n for n in KNOWN_SERIES if n.startswith("vllm:")}


def expressions(stack: str) -> Iterator[tuple[str, str, str | None]]:
    """(where, expression, served name it must filter on, or None for non-model queries)."""
    served_by_name: dict[str, str] = {
        name: m["servedModelName"] for name, m in planned(stack).outputs["models"].items()
    }
    for resource in planned(stack).resources:
        m = manifest_of(resource)
        if m is None or m["kind"] == "HelmRelease":
            continue
        if m["kind"] == "PrometheusRule":
            for group in m["spec"]["groups"]:
                model = group["name"].removeprefix("vllm-")
                for rule in group["rules"]:
                    yield (f"rule {rule['alert']}", rule["expr"], served_by_name.get(model))
        elif m["kind"] == "ScaledObject":
            for trigger in m["spec"]["triggers"]:
                yield (
                    f"ScaledObject {m['metadata']['name']}",
                    trigger["metadata"]["query"],
                    served_by_name[m["metadata"]["name"]],
                )
        elif m["kind"] == "ConfigMap" and "grafana_dashboard" in m["metadata"]["labels"]:
            for text in m["data"].values():
                yield from _dashboard_queries(json.loads(text), served_by_name)


def _dashboard_queries(
    dash: dict[str, Any], served: dict[str, str]
) -> Iterator[tuple[str, str, str | None]]:
    row_model: str | None = None
    for panel in dash["panels"]:
        if panel["type"] == "row":
            name = panel["title"].split(" — ")[0]
            row_model = served.get(name)
            continue
        for target in panel["targets"]:
            yield (f"{dash['uid']}: {panel['title']}", target["expr"], row_model)


@pytest.mark.parametrize("stack", STACKS)
def test_every_expression_parses_and_names_only_mapped_metrics(stack: str) -> None:
    seen = list(expressions(stack))
    assert len(seen) > 20
    for where, expr, _ in seen:
        try:
            found = vector_selectors(expr)
        except ValueError as exc:
            pytest.fail(f"{where}: does not parse: {exc}: {expr}")
        assert found, f"{where}: no metric in {expr}"
        for name, _ in found:
            assert name in KNOWN_SERIES, f"{where}: {name} is not in the metric map"


@pytest.mark.parametrize("stack", STACKS)
def test_every_vllm_query_filters_on_its_own_served_model_name(stack: str) -> None:
    checked = 0
    for where, expr, served in expressions(stack):
        for name, matchers in vector_selectors(expr):
            if name not in VLLM_SERIES:
                continue
            assert served is not None, f"{where}: a vLLM query outside any model"
            assert matchers.get(MODEL_LABEL) == ("MatchOp.Equal", served), (
                f"{where}: {name} must filter {MODEL_LABEL}={served!r}: {expr}"
            )
            checked += 1
    assert checked > 20


def test_old_metric_names_are_not_emitted() -> None:
    text = json.dumps([r.inputs for r in planned("single-4090d").resources])
    for old in ("gpu_cache_usage_perc", "time_per_output_token_seconds", 'model="'):
        assert old not in text
    assert VLLM["kv_cache_usage_perc"] in text


def test_label_values_are_quoted_safely() -> None:
    expr = selector("vllm:num_requests_waiting", {MODEL_LABEL: 'we"ird\\name'})
    [(_, matchers)] = vector_selectors(expr)
    assert matchers[MODEL_LABEL] == ("MatchOp.Equal", 'we"ird\\name')


@pytest.mark.parametrize("stack", STACKS)
def test_promtool_accepts_every_query_the_stack_emits(stack: str, tmp_path: Path) -> None:
    """Prometheus's own parser and checker (promtool check rules) over every alert, KEDA
    trigger and dashboard query, each loaded as a recording rule."""
    records = [
        {"record": f"llm_platform:check_{i}", "expr": expr}
        for i, (_, expr, _) in enumerate(expressions(stack))
    ]
    path = tmp_path / "queries.yaml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "queries", "rules": records}]}))
    done = run([tool(PROMTOOL), "check", "rules", path.name], tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{len(records)} rules found" in done.stdout
