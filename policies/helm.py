"""Helm releases as the cluster will see them: Helm's own renderer (Helm v4 as a library,
helm-python-sdk) over the vendored charts the platform pins (charts/), with a
Kubernetes version and the APIs the cluster will have. The offline review feeds the objects
to the policy pack; the Helm tests judge them against the schemas and Pod Security."""

from __future__ import annotations

import copy
import functools
import json
import re
from pathlib import Path
from typing import Any

import helm_python
import yaml
from helm_python import _native

from infra.catalog.provider import HELM_RELEASE_TYPE
from infra.catalog.versions import CHARTS, ChartRef
from infra.engine import Recorded
from infra.manifests.inference_pool import HARDEN_POSTRENDER
from infra.postrender.harden import harden
from infra.root import PROJECT_ROOT

RELEASE_TYPE = HELM_RELEASE_TYPE
# APIs the platform's clusters serve beyond Kubernetes itself (charts gate templates on them).
EXTRA_APIS = ("monitoring.coreos.com/v1", "gateway.networking.k8s.io/v1", "cert-manager.io/v1")
# How Helm splits a rendered template into documents (releaseutil.SplitManifests).
_SEPARATOR = re.compile(r"(?:^|\s*\n)---\s*")


def chart_dir(ref: ChartRef) -> Path:
    return PROJECT_ROOT / ref.vendored


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


def chart_of(release: Recorded) -> ChartRef:
    chart, version = str(release.inputs["chart"]), release.inputs["version"]
    return next(
        r
        for r in CHARTS.values()
        if r.version == version and (chart.endswith(r.chart) or chart.endswith(r.vendored))
    )


def values_for_render(release: Recorded) -> dict[str, Any]:
    return dict(release.inputs["values"])


def render_release(release: Recorded, kube_version: str) -> list[dict[str, Any]]:
    """What the cluster gets: Helm's render, then the release's post-renderer if it has
    one (the same function the post-render command runs)."""
    objects = _helm_render(release, kube_version)
    # The command is a path from the program's working directory (infra/components/paths.py).
    if str(release.inputs.get("postrender") or "").endswith(HARDEN_POSTRENDER):
        objects = [harden(copy.deepcopy(o)) for o in objects]
    return objects


def _helm_render(release: Recorded, kube_version: str) -> list[dict[str, Any]]:
    return render(
        chart_of(release),
        values_for_render(release),
        release=str(release.inputs["name"]),
        namespace=str(release.inputs["namespace"]),
        kube_version=kube_version,
        api_versions=EXTRA_APIS,
    )


def _type_token(obj: dict[str, Any]) -> str:
    """The Pulumi type token of a Kubernetes object (core APIs under `core/`)."""
    api = str(obj["apiVersion"])
    return f"kubernetes:{api if '/' in api else 'core/' + api}:{obj['kind']}"


def chart_resources(resources: list[Recorded], kube_version: str) -> list[Recorded]:
    """Every object every Helm release of a planned stack installs, as a resource the
    policy pack can judge: named `<release>/<Kind>/<name>`, parented by its release."""
    found: list[Recorded] = []
    for release in (r for r in resources if r.type == RELEASE_TYPE):
        namespace = str(release.inputs["namespace"])
        for obj in render_release(release, kube_version):
            meta = obj.setdefault("metadata", {})
            meta.setdefault("namespace", namespace)
            name = f"{release.inputs['name']}/{obj['kind']}/{meta.get('name')}"
            token = _type_token(obj)
            urn = f"{release.urn}$chart::{token}::{name}"
            found.append(Recorded(token, name, urn, release.urn, obj, []))
    return found
