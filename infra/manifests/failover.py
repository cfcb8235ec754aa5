"""DR objects inside the cluster: the loader's cloud identity and the snapshot Job."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from infra.manifests.common import (
    Manifest,
    claim_spec,
    labels,
    pod_security_context,
)
from infra.manifests.model_server import (
    APP,
    PodImages,
    loader_code_volume,
    loader_container,
)
from infra.manifests.topology import LOADER_SERVICE_ACCOUNT
from infra.planning.capacity import ServingPlan

WORKLOAD_IDENTITY_ANNOTATION = "iam.gke.io/gcp-service-account"
SNAPSHOT_COMPONENT = "model-snapshot"
SNAPSHOT_PREFIX = "models"
# A download that fails three times in a row is not going to succeed on the fourth.
SNAPSHOT_RETRIES = 3


def snapshot_path(plan: ServingPlan) -> str:
    """Where a pinned revision lives inside any snapshot store (GCS bucket, S3 prefix)."""
    return f"{SNAPSHOT_PREFIX}/{plan.model.model}/{plan.model.revision}"


def snapshot_url(bucket: str, plan: ServingPlan) -> str:
    return f"gs://{bucket}/{snapshot_path(plan)}"


def loader_service_account(namespace: str, gsa_email: Any) -> Manifest:
    """Pods that read or write the snapshot bucket run as this (Workload Identity)."""
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {
            "name": LOADER_SERVICE_ACCOUNT,
            "namespace": namespace,
            "labels": labels("llm-platform", namespace, "model-loader"),
            "annotations": {WORKLOAD_IDENTITY_ANNOTATION: gsa_email},
        },
        "automountServiceAccountToken": False,
    }


def snapshot_job_name(plan: ServingPlan) -> str:
    # A new revision is a new Job (Jobs are immutable); the name stays a DNS label: a
    # commit's first 8 hex digits, or a digest of any other revision (refs/pr/12, v1.0).
    revision = plan.model.revision.lower()
    if not re.fullmatch(r"[0-9a-f]{8,}", revision):
        revision = hashlib.sha256(revision.encode()).hexdigest()
    return f"{plan.model.name}-snapshot-{revision[:8]}"


def snapshot_loader_name(plan: ServingPlan) -> str:
    """The snapshot Job's own copy of the loader's code (public images: no loader image).
    Not the model's: that one is made with the model's objects, which wait for the Job."""
    return f"{snapshot_job_name(plan)}-loader"


def snapshot_job(
    plan: ServingPlan,
    images: PodImages,
    mirror_to: Any,
    *,
    extra_env: list[Manifest] | None = None,
    service_account: str | None = LOADER_SERVICE_ACCOUNT,
) -> Manifest:
    """The primary copies each pinned revision from the Hub into the store, once. On the
    public images it runs the loader from snapshot_loader_name's ConfigMap."""
    m = plan.model
    container = loader_container(
        plan, images, source="hub", mirror_to=mirror_to, extra_env=extra_env
    )
    volumes: list[Manifest] = [
        {
            "name": "model-cache",
            "ephemeral": {
                "volumeClaimTemplate": {"spec": claim_spec(plan.cache_size_gib, storage_class=None)}
            },
        },
        {"name": "scratch", "emptyDir": {}},
    ]
    if images.loader is None:
        volumes.append(loader_code_volume(plan, snapshot_loader_name(plan)))
    pod_labels = labels(APP, m.name, SNAPSHOT_COMPONENT)
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": snapshot_job_name(plan),
            "namespace": m.namespace,
            "labels": pod_labels,
        },
        "spec": {
            "backoffLimit": SNAPSHOT_RETRIES,
            "template": {
                "metadata": {"labels": pod_labels},
                "spec": {
                    "restartPolicy": "Never",
                    **({"serviceAccountName": service_account} if service_account else {}),
                    "automountServiceAccountToken": False,
                    "securityContext": pod_security_context(m.serving.run_as_user),
                    "containers": [container],
                    "volumes": volumes,
                },
            },
        },
    }
