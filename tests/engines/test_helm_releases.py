"""Every Helm release of every shipped stack, rendered by Helm itself (v4, the vendored
charts at the pinned versions) for every supported Kubernetes version: it renders (values
schema included), every object is valid, it lands in a namespace the stack declares, and
every pod volume is mounted. kube-prometheus-stack renders with its dependency charts
(Grafana, kube-state-metrics, node-exporter), vendored under its charts/ folder."""

from __future__ import annotations

import functools
import json
from typing import Any

import helm_python
import kubernetes_validate
import pytest
import yaml

from infra.catalog.versions import CHARTS, SUPPORTED_KUBERNETES
from infra.engine import Recorded
from infra.plan import manifest_of
from policies.exceptions import accepted
from policies.helm import (
    EXTRA_APIS,
    chart_dir,
    chart_of,
    render,
    validate_schema,
    values_for_render,
)
from policies.rules.base import Resource
from policies.rules.workloads import container_resources
from tests import crd_schema
from tests.helpers import STACKS, by_type, planned, raw_config
from tests.pod_security import baseline_violations, restricted_violations


def releases() -> list[tuple[str, str]]:
    return [
        (stack, str(r.inputs["name"]))
        for stack in STACKS
        for r in by_type(planned(stack), "helm.sh/v3:Release")
    ]


def release(stack: str, name: str) -> Recorded:
    [found] = [r for r in by_type(planned(stack), "helm.sh/v3:Release") if r.inputs["name"] == name]
    return found


@functools.cache
def rendered(stack: str, name: str, version: str) -> list[dict[str, Any]]:
    r = release(stack, name)
    return render(
        chart_of(r),
        values_for_render(r),
        release=name,
        namespace=str(r.inputs["namespace"]),
        kube_version=version,
        api_versions=EXTRA_APIS,
    )


def declared_namespaces(stack: str) -> set[str]:
    return {
        m["metadata"]["name"]
        for r in planned(stack).resources
        if (m := manifest_of(r)) and m["kind"] == "Namespace"
    }


def stack_version(stack: str) -> str:
    return str(raw_config(stack)["cluster"].get("kubernetesVersion", SUPPORTED_KUBERNETES[0]))


def test_vendored_charts_are_the_pinned_versions() -> None:
    for key, ref in CHARTS.items():
        meta = yaml.safe_load((chart_dir(ref) / "Chart.yaml").read_text())
        assert (meta["name"], str(meta["version"])) == (ref.chart, ref.version), key


CASES = releases()
IDS = [f"{s}:{n}" for s, n in CASES]


@pytest.mark.parametrize("version", SUPPORTED_KUBERNETES)
@pytest.mark.parametrize(("stack", "name"), CASES, ids=IDS)
def test_helm_renders_the_release(stack: str, name: str, version: str) -> None:
    validate_schema(chart_of(release(stack, name)), values_for_render(release(stack, name)))
    assert rendered(stack, name, version)


@pytest.mark.parametrize(("stack", "name"), CASES, ids=IDS)
def test_rendered_objects_are_valid(stack: str, name: str) -> None:
    version = stack_version(stack)
    for obj in rendered(stack, name, version):
        where = f"{obj['kind']}/{obj.get('metadata', {}).get('name')}"
        if crd_schema.known(obj):
            crd_schema.validate(obj)
            continue
        if "." in obj["apiVersion"].split("/")[0] and not obj["apiVersion"].startswith(
            (
                "apps/",
                "rbac.authorization.k8s.io/",
                "networking.k8s.io/",
                "policy/",
                "admissionregistration.k8s.io/",
                "apiextensions.k8s.io/",
                "batch/",
                "autoscaling/",
                "apiregistration.k8s.io/",
                "scheduling.k8s.io/",
                "coordination.k8s.io/",
                "storage.k8s.io/",
                "discovery.k8s.io/",
            )
        ):
            continue  # a custom resource of a CRD this suite does not vendor
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{where} on {version}: {'.'.join(map(str, exc.path))}: {exc.message}")


@pytest.mark.parametrize(("stack", "name"), CASES, ids=IDS)
def test_the_release_namespace_is_declared_by_the_stack(stack: str, name: str) -> None:
    namespace = str(release(stack, name).inputs["namespace"])
    assert namespace in declared_namespaces(stack), (
        f"{name} installs into {namespace}, which {stack} never declares"
    )


def _pod_specs(obj: dict[str, Any]) -> list[dict[str, Any]]:
    spec = obj.get("spec") or {}
    if obj["kind"] in ("Deployment", "DaemonSet", "StatefulSet", "Job"):
        return [spec["template"]["spec"]]
    return []


@pytest.mark.parametrize(("stack", "name"), CASES, ids=IDS)
def test_every_pod_volume_is_mounted(stack: str, name: str) -> None:
    for obj in rendered(stack, name, stack_version(stack)):
        for pod in _pod_specs(obj):
            containers = (pod.get("initContainers") or []) + pod["containers"]
            mounted = {m["name"] for c in containers for m in c.get("volumeMounts") or []}
            unmounted = {v["name"] for v in pod.get("volumes") or []} - mounted
            assert not unmounted, f"{obj['kind']}/{obj['metadata']['name']}: {unmounted}"


def _as_resource(obj: dict[str, Any]) -> Resource:
    group = obj["apiVersion"]
    kind = f"kubernetes:{group if '/' in group else 'core/' + group}:{obj['kind']}"
    name = f"{obj['metadata'].get('namespace', '')}/{obj['metadata']['name']}"
    return Resource(kind, name, name, obj)


@pytest.mark.parametrize(("stack", "name"), CASES, ids=IDS)
def test_every_chart_container_has_requests_and_limits(stack: str, name: str) -> None:
    """The policy pack's own container-resources rule, over what the chart renders."""
    found = []
    for obj in rendered(stack, name, stack_version(stack)):
        for message in container_resources(_as_resource(obj), {}):
            where = f"{name}/{obj['kind']}/{obj['metadata']['name']}"
            if not accepted("container-resources", where, message):
                found.append(f"{where}: {message}")
    assert not found, found


LEVEL_CHECKS = {"baseline": baseline_violations, "restricted": restricted_violations}


def namespace_levels(stack: str) -> dict[str, str]:
    return {
        m["metadata"]["name"]: m["metadata"]["labels"]["pod-security.kubernetes.io/enforce"]
        for r in planned(stack).resources
        if (m := manifest_of(r)) and m["kind"] == "Namespace"
    }


@pytest.mark.parametrize(("stack", "name"), CASES, ids=IDS)
def test_chart_pods_are_admitted_by_their_namespace_pod_security_level(
    stack: str, name: str
) -> None:
    namespace = str(release(stack, name).inputs["namespace"])
    level = namespace_levels(stack).get(namespace)
    assert level is not None, f"{namespace} is not declared"
    if level == "privileged":
        return
    for obj in rendered(stack, name, stack_version(stack)):
        for pod in _pod_specs(obj):
            found = LEVEL_CHECKS[level](pod)
            assert not found, (
                f"{obj['kind']}/{obj['metadata']['name']} in {level} {namespace}: {found}"
            )


def test_a_gpu_daemonset_in_a_baseline_namespace_would_be_refused() -> None:
    """The check is not a rubber stamp: the DCGM exporter (hostPath on GKE) in a baseline
    namespace is caught."""
    [daemonset] = [
        o for o in rendered("dr-primary", "dcgm-exporter", "1.31") if o["kind"] == "DaemonSet"
    ]
    assert baseline_violations(daemonset["spec"]["template"]["spec"])
    assert namespace_levels("dr-primary")["gpu-system"] == "privileged"


def test_a_root_pod_in_a_restricted_namespace_would_be_refused() -> None:
    """Alloy installs into the restricted logging namespace: without the hardening the
    platform gives it, the restricted check refuses it."""
    assert namespace_levels("single-4090d")["logging"] == "restricted"
    [deployment] = [
        o for o in rendered("single-4090d", "alloy", "1.31") if o["kind"] == "Deployment"
    ]
    pod = json.loads(json.dumps(deployment["spec"]["template"]["spec"]))
    assert not restricted_violations(pod)
    for c in pod["containers"]:
        c.pop("securityContext", None)
    assert any("runAsNonRoot" in v or "escalation" in v for v in restricted_violations(pod))


# Values the chart reads as free-form content (a key inside is data, not a setting):
# probed as a whole.
FREE_FORM = {
    ("kube-prometheus-stack", ("alertmanager", "config")): "Alertmanager's own config file",
    ("alloy", ("alloy", "configMap", "content")): "Alloy's pipeline text",
    ("dcgm-exporter", ("customMetrics",)): "the metrics CSV",
    ("envoy-gateway", ("config", "envoyGateway")): "the EnvoyGateway resource, passed through",
    ("cert-manager", ("config",)): "the ControllerConfiguration, passed through",
    ("nvidia-device-plugin", ("config", "map")): "device-plugin config files by name",
}
# Not probed, and why.
NOT_PROBED = {
    ("kube-prometheus-stack", ("crds", "enabled")): "gates CRDs from Helm's crds/ directory, "
    "which `helm template` does not render",
    ("loki", ("loki", "storage", "type")): "read by an if/else chain whose fallback is "
    "filesystem (our value): any other unknown string renders alike",
}


def _probe_paths(
    release_name: str, values: Any, prefix: tuple[str, ...] = ()
) -> list[tuple[str, ...]]:
    """Keys to remove one at a time: leaves, or free-form maps as a whole."""
    if (release_name, prefix) in NOT_PROBED:
        return []
    if (release_name, prefix) in FREE_FORM or not (isinstance(values, dict) and values):
        return [prefix] if prefix else []
    out: list[tuple[str, ...]] = []
    for key, child in values.items():
        out += _probe_paths(release_name, child, (*prefix, key))
    return out


def _changed(value: Any) -> Any:
    """Another value of the same type (a free-form map is dropped instead)."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 1
    if isinstance(value, str):
        return value + "x"
    if isinstance(value, list):
        return [*value, value[-1]] if value else ["x"]
    return None


def _with_change(values: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    copied: dict[str, Any] = json.loads(json.dumps(values, default=str))
    parent = copied
    for key in path[:-1]:
        parent = parent[key]
    changed = _changed(parent[path[-1]])
    if changed is None:
        del parent[path[-1]]
    else:
        parent[path[-1]] = changed
    return copied


PROBE_VERSION = SUPPORTED_KUBERNETES[0]


def distinct_releases() -> list[tuple[str, str]]:
    """One (stack, release) per distinct chart input: equal releases are probed once."""
    seen: dict[str, tuple[str, str]] = {}
    for stack, name in CASES:
        values = values_for_render(release(stack, name))
        seen.setdefault(json.dumps([name, values], sort_keys=True, default=str), (stack, name))
    return list(seen.values())


DISTINCT = distinct_releases()


def _renders_the_same(r: Recorded, values: dict[str, Any], base: list[dict[str, Any]]) -> bool:
    try:
        return (
            render(
                chart_of(r),
                values,
                release=str(r.inputs["name"]),
                namespace=str(r.inputs["namespace"]),
                kube_version=PROBE_VERSION,
                api_versions=EXTRA_APIS,
            )
            == base
        )
    except helm_python.HelmError:
        return False  # the chart reads the key: changing it breaks the render


@pytest.mark.parametrize(("stack", "name"), DISTINCT, ids=[f"{s}:{n}" for s, n in DISTINCT])
def test_every_values_key_is_read_by_the_chart(stack: str, name: str) -> None:
    """Helm ignores keys a chart does not read, so a misspelled key silently does nothing:
    changing any key we set must change what Helm renders."""
    r = release(stack, name)
    values = values_for_render(r)
    base = rendered(stack, name, PROBE_VERSION)
    ignored = [
        ".".join(path)
        for path in _probe_paths(name, values)
        if _renders_the_same(r, _with_change(values, path), base)
    ]
    assert not ignored, f"{name}: the chart ignores {ignored}"


def test_a_misspelled_values_key_is_caught() -> None:
    r = release("single-4090d", "dcgm-exporter")
    values = {**values_for_render(r), "serviceMonitr": {"enabled": True}}
    base = render(
        chart_of(r),
        values,
        release="dcgm-exporter",
        namespace="gpu-system",
        kube_version=PROBE_VERSION,
        api_versions=EXTRA_APIS,
    )
    assert _renders_the_same(r, _with_change(values, ("serviceMonitr", "enabled")), base)
