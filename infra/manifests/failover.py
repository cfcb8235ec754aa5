"""DR objects inside the cluster: the loader's cloud identity and the snapshot Job."""

from __future__ import annotations

from typing import Any

from infra.manifests.common import (
    Manifest,
    container_security_context,
    gib,
    labels,
    pod_security_context,
)
from infra.manifests.model_server import (
    APP,
    DOWNLOADER_RESOURCES,
    LOADER_MOUNT,
    LOADER_PACKAGE,
    PodImages,
    loader_config_map_name,
)
from infra.planning.capacity import ServingPlan
from infra.planning.vllm_args import CACHE_MOUNT, SCRATCH_MOUNT

LOADER_SERVICE_ACCOUNT = "model-loader"
WORKLOAD_IDENTITY_ANNOTATION = "iam.gke.io/gcp-service-account"
SNAPSHOT_COMPONENT = "model-snapshot"
SNAPSHOT_PREFIX = "models"
# A download that fails three times in a row is not going to succeed on the fourth.
SNAPSHOT_RETRIES = 3


def snapshot_url(bucket: str, plan: ServingPlan) -> str:
    return f"gs://{bucket}/{SNAPSHOT_PREFIX}/{plan.model.model}/{plan.model.revision}"


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
    # A new revision is a new Job (Jobs are immutable); the name stays a DNS label.
    return f"{plan.model.name}-snapshot-{plan.model.revision[:8].lower()}"


def snapshot_job(plan: ServingPlan, images: PodImages, mirror_to: Any) -> Manifest:
    """The primary copies each pinned revision from the Hub into the bucket, once."""
    m = plan.model
    env: list[Manifest] = [
        {"name": "MODEL_ID", "value": m.model},
        {"name": "MODEL_REVISION", "value": m.revision},
        {"name": "MODEL_CACHE", "value": CACHE_MOUNT},
        {"name": "MODEL_SOURCE", "value": "hub"},
        {"name": "MODEL_MIRROR", "value": mirror_to},
        {"name": "HOME", "value": SCRATCH_MOUNT},
    ]
    mounts: list[Manifest] = [
        {"name": "model-cache", "mountPath": CACHE_MOUNT},
        {"name": "scratch", "mountPath": SCRATCH_MOUNT},
    ]
    volumes: list[Manifest] = [
        {
            "name": "model-cache",
            "ephemeral": {
                "volumeClaimTemplate": {
                    "spec": {
                        "accessModes": ["ReadWriteOnce"],
                        "resources": {"requests": {"storage": gib(plan.cache_size_gib)}},
                    }
                }
            },
        },
        {"name": "scratch", "emptyDir": {}},
    ]
    if images.loader is None:
        env.append({"name": "PYTHONPATH", "value": LOADER_MOUNT})
        mounts.append(
            {
                "name": "model-loader",
                "mountPath": f"{LOADER_MOUNT}/{LOADER_PACKAGE}",
                "readOnly": True,
            }
        )
        volumes.append(
            {"name": "model-loader", "configMap": {"name": loader_config_map_name(plan)}}
        )
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
                    "serviceAccountName": LOADER_SERVICE_ACCOUNT,
                    "automountServiceAccountToken": False,
                    "securityContext": pod_security_context(m.serving.run_as_user),
                    "containers": [
                        {
                            "name": "model-loader",
                            "image": images.loader if images.loader is not None else images.server,
                            "imagePullPolicy": "IfNotPresent",
                            "command": ["python3", "-m", LOADER_PACKAGE],
                            "env": env,
                            "resources": DOWNLOADER_RESOURCES,
                            "securityContext": container_security_context(),
                            "volumeMounts": mounts,
                        }
                    ],
                    "volumes": volumes,
                },
            },
        },
    }
