"""Labels, names and security contexts shared by every object the platform declares."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from infra.catalog.provider import SKIP_AWAIT_ANNOTATION

Manifest = dict[str, Any]

# The UID our own pods and images run as: high, so it is no login user on a workstation.
PLATFORM_UID = 10001
# The user distroless and ko-built images (Go controllers, proxies) run as: "nonroot".
NONROOT_UID = 65532

PART_OF = "llm-platform"
MANAGED_BY = "pulumi"
# Our label/taint domain on nodes.
DOMAIN = "llm-platform.io"
POOL_LABEL = f"{DOMAIN}/pool"
GPU_LABEL = f"{DOMAIN}/gpu"
POOL_TAINT = f"{DOMAIN}/gpu-pool"
# The extended resource the NVIDIA device plugin advertises (and taints GPU nodes with).
GPU_RESOURCE = "nvidia.com/gpu"
# The planner's cold-start estimate (seconds), so a policy can check the startup probe.
STARTUP_ESTIMATE_ANNOTATION = f"{DOMAIN}/startup-estimate-seconds"
# The replicas a model serves with when active (the fixed count or the autoscaling floor):
# the same on both DR sides, so a zone policy checks the standby as it will run.
ACTIVE_REPLICAS_ANNOTATION = f"{DOMAIN}/active-replicas"


# Charts' helper containers (config reloaders, rule sidecars, one-shot setup Jobs): small,
# bounded, so every container a chart renders has requests and limits.
HELPER_RESOURCES: Manifest = {
    "requests": {"cpu": "10m", "memory": "32Mi"},
    "limits": {"cpu": "200m", "memory": "256Mi"},
}


def selector(name: str, instance: str, component: str) -> dict[str, str]:
    """Selector labels: stable for an object's life (never a version)."""
    return {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/instance": instance,
        "app.kubernetes.io/component": component,
    }


def labels(name: str, instance: str, component: str, version: str | None = None) -> dict[str, str]:
    out = {
        **selector(name, instance, component),
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/managed-by": MANAGED_BY,
    }
    if version:
        out["app.kubernetes.io/version"] = version
    return out


def gib(value: int) -> str:
    return f"{value}Gi"


def pod_security_context(uid: int) -> Manifest:
    return {
        "runAsNonRoot": True,
        "runAsUser": uid,
        "runAsGroup": uid,
        "fsGroup": uid,  # the cache volume is written by the init container as this group
        "fsGroupChangePolicy": "OnRootMismatch",
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container_security_context() -> Manifest:
    """The restricted Pod Security Standard, plus a read-only root filesystem."""
    return {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def namespace(name: str, pod_security: str, component: str) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": name,
            "labels": {
                **labels("llm-platform", name, component),
                "pod-security.kubernetes.io/enforce": pod_security,
                "pod-security.kubernetes.io/enforce-version": "latest",
                "pod-security.kubernetes.io/warn": pod_security,
            },
        },
    }


def not_awaited(metadata: Manifest) -> Manifest:
    """Metadata with the provider's await switched off (pulumi.com/skipAwait), for objects
    whose readiness another await already judges: callers say which in a comment."""
    annotations = {**(metadata.get("annotations") or {}), SKIP_AWAIT_ANNOTATION: "true"}
    return {**metadata, "annotations": annotations}


def claim_spec(
    size_gib: int, storage_class: str | None, access_mode: str = "ReadWriteOnce"
) -> Manifest:
    """A PersistentVolumeClaim spec; no storageClassName means the cluster default."""
    spec: Manifest = {
        "accessModes": [access_mode],
        "resources": {"requests": {"storage": gib(size_gib)}},
    }
    if storage_class:
        spec["storageClassName"] = storage_class
    return spec


def gpu_pool_placement(pools: Iterable[str]) -> Manifest:
    """Affinity and tolerations that put a node agent on our GPU pools (and only there)."""
    return {
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
    }


def opaque_secret(metadata: Manifest, data: Mapping[str, Any] | Any) -> Manifest:
    """An Opaque Secret from string data (values may be Pulumi secret Outputs)."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": metadata,
        "stringData": data,
    }
