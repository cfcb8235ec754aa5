"""Declare a plain-dict Kubernetes object as the matching typed Pulumi resource."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from infra.catalog.versions import ChartRef
from infra.components.paths import repo_path
from infra.planning.plans import ReleasePlan, ServingPlan

_TYPED: dict[tuple[str, str], Any] = {
    ("v1", "Namespace"): k8s.core.v1.Namespace,
    ("v1", "Service"): k8s.core.v1.Service,
    ("v1", "Secret"): k8s.core.v1.Secret,
    ("v1", "ConfigMap"): k8s.core.v1.ConfigMap,
    ("v1", "PersistentVolumeClaim"): k8s.core.v1.PersistentVolumeClaim,
    ("v1", "ServiceAccount"): k8s.core.v1.ServiceAccount,
    ("apps/v1", "Deployment"): k8s.apps.v1.Deployment,
    ("apps/v1", "DaemonSet"): k8s.apps.v1.DaemonSet,
    ("policy/v1", "PodDisruptionBudget"): k8s.policy.v1.PodDisruptionBudget,
    ("networking.k8s.io/v1", "NetworkPolicy"): k8s.networking.v1.NetworkPolicy,
    ("batch/v1", "CronJob"): k8s.batch.v1.CronJob,
    ("apiextensions.k8s.io/v1", "CustomResourceDefinition"): (
        k8s.apiextensions.v1.CustomResourceDefinition
    ),
    ("rbac.authorization.k8s.io/v1", "Role"): k8s.rbac.v1.Role,
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): k8s.rbac.v1.RoleBinding,
}
# Server-side patches of objects someone else owns.
_PATCHES: dict[tuple[str, str], Any] = {
    ("v1", "Node"): k8s.core.v1.NodePatch,
}


def resource_name(manifest: Mapping[str, Any]) -> str:
    """Deterministic Pulumi name: `namespace/name`, or `name` for cluster-scoped objects."""
    meta = manifest["metadata"]
    return f"{meta['namespace']}/{meta['name']}" if meta.get("namespace") else str(meta["name"])


def _snake(key: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()


def declare(
    manifest: Mapping[str, Any], opts: pulumi.ResourceOptions, *, patch: bool = False
) -> pulumi.CustomResource:
    api_version, kind = manifest["apiVersion"], manifest["kind"]
    body = {k: v for k, v in manifest.items() if k not in ("apiVersion", "kind")}
    name = resource_name(manifest)
    table = _PATCHES if patch else _TYPED
    cls = table.get((api_version, kind))
    if cls is None:
        if patch:
            raise ValueError(f"no patch resource for {api_version} {kind}")
        return k8s.apiextensions.CustomResource(
            name, api_version=api_version, kind=kind, opts=opts, **body
        )
    resource: pulumi.CustomResource = cls(
        name, opts=opts, **{_snake(k): v for k, v in body.items()}
    )
    return resource


def seconds(value: int) -> str:
    """A duration as the engine reads customTimeouts (Go's time.ParseDuration)."""
    return f"{value}s"


def install_timeouts(plan: ServingPlan) -> pulumi.CustomTimeouts:
    """The model Deployment's await: its first install, and a rollout in waves (the plan's
    figures, planning/awaits.py), instead of the provider's 10 minutes."""
    awaits = plan.await_plan
    return pulumi.CustomTimeouts(
        create=seconds(awaits.create_seconds), update=seconds(awaits.update_seconds)
    )


def snapshot_timeouts(plan: ServingPlan) -> pulumi.CustomTimeouts:
    """A DR primary's snapshot Job: its download and upload (planning/awaits.py)."""
    total = plan.await_plan.snapshot_seconds
    assert total is not None, "a DR primary's plan has its snapshot's await"
    return pulumi.CustomTimeouts(create=seconds(total), update=seconds(total))


def _chart_source(chart: ChartRef, vendored: bool) -> dict[str, Any]:
    """The Release's chart inputs: the vendored folder (a path from where the provider
    runs: components/paths.py), an OCI reference, or a chart name in a Helm repository."""
    if vendored:
        return {"chart": repo_path(chart.vendored)}
    if chart.repository.startswith("oci://"):
        return {"chart": f"{chart.repository}/{chart.chart}"}
    return {
        "chart": chart.chart,
        "repository_opts": k8s.helm.v3.RepositoryOptsArgs(repo=chart.repository),
    }


def helm_release(
    name: str,
    release: ReleasePlan,
    namespace: str,
    values: Mapping[str, Any],
    opts: pulumi.ResourceOptions,
    postrender: str | None = None,
) -> k8s.helm.v3.Release:
    """A pinned Helm release with a fixed release name (no random suffix), its chart from
    where the plan says; `postrender`: a command patching what the chart renders
    (scripts/harden-pods, from the project root); Helm waits the plan's timeout in each
    phase (from the chart's images: planning/awaits.py)."""
    return k8s.helm.v3.Release(
        f"{namespace}/{name}",
        k8s.helm.v3.ReleaseArgs(
            name=name,
            namespace=namespace,
            version=release.chart.version,
            values=dict(values),
            atomic=True,  # a failed upgrade rolls back instead of leaving a half-applied release
            cleanup_on_fail=True,
            timeout=release.timeout_seconds,
            postrender=repo_path(postrender) if postrender else None,
            **_chart_source(release.chart, release.vendored),
        ),
        opts=opts,
    )
