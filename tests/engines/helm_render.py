"""Helm's own renderer (Helm v4 as a library: helm-python-sdk) over the vendored charts the
platform pins (tests/charts), with a Kubernetes version and the APIs the cluster will have."""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

import helm_python
import yaml
from helm_python import _native

from infra.catalog.versions import ChartRef

CHARTS_DIR = Path(__file__).parents[1] / "charts"
# How Helm splits a rendered template into documents (releaseutil.SplitManifests).
_SEPARATOR = re.compile(r"(?:^|\s*\n)---\s*")


def chart_dir(ref: ChartRef) -> Path:
    return CHARTS_DIR / f"{ref.chart}-{ref.version}"


@functools.cache
def load(ref: ChartRef) -> helm_python.Chart:
    return helm_python.Chart.load(chart_dir(ref))


def render(
    ref: ChartRef,
    values: dict[str, Any],
    *,
    release: str,
    namespace: str,
    kube_version: str,
    api_versions: tuple[str, ...] = (),
) -> list[dict[str, Any]]:
    """Render (cached by content: equal releases render once)."""
    key = json.dumps(values, sort_keys=True, default=str)
    return _render(ref, key, release, namespace, kube_version, api_versions)


@functools.cache
def _render(
    ref: ChartRef,
    values_json: str,
    release: str,
    namespace: str,
    kube_version: str,
    api_versions: tuple[str, ...],
) -> list[dict[str, Any]]:
    """The objects `helm install` would send, as dicts (NOTES and empty documents dropped).
    The SDK's Chart.render does not expose the Kubernetes version or the extra API versions
    its native layer takes, so the native call is made with them (helm-python-sdk 0.2.2)."""
    options = {
        "name": release,
        "namespace": namespace,
        "is_install": True,
        "kube_version": f"v{kube_version}.0",
        "api_versions": list(api_versions),
    }
    out = _native.call_string("helm_render", load(ref)._raw(), values_json, json.dumps(options))
    objects: list[dict[str, Any]] = []
    for path, text in sorted(json.loads(out).items()):
        if path.endswith("NOTES.txt"):
            continue
        for document in _SEPARATOR.split(text):
            parsed = yaml.load(document, Loader=yaml.CSafeLoader) if document.strip() else None
            if isinstance(parsed, dict) and parsed:
                objects.append(parsed)
    return objects


def validate_schema(ref: ChartRef, values: dict[str, Any]) -> None:
    """values.schema.json, where the chart has one (raises helm_python.HelmValuesError)."""
    load(ref).validate_schema(values)
