"""The objects of one vLLM model deployment, built from its ServingPlan."""

from __future__ import annotations

from infra.catalog.versions import IMAGES, VLLM_VERSION
from infra.catalog.vllm import HEALTH_PATH, SCRATCH_GIB, SERVER_PORT
from infra.manifests.common import (
    Manifest,
    container_security_context,
    gib,
    labels,
    pod_security_context,
    selector,
)
from infra.manifests.gpu_runtime import GPU_RESOURCE
from infra.manifests.node_pools import node_selector, tolerations
from infra.planning.budgets import Budgets, Probe
from infra.planning.capacity import ServingPlan
from infra.planning.vllm_args import (
    CACHE_MOUNT,
    HF_HOME,
    SCRATCH_MOUNT,
    VLLM_COMMAND,
    vllm_args,
    vllm_env,
)

APP = "vllm"
COMPONENT = "model-server"
# Pod annotation with the served model name (label values cannot hold "/"): logs get it.
SERVED_NAME_ANNOTATION = "llm-platform.io/served-model-name"
HF_TOKEN_SECRET = "hf-token"
HF_TOKEN_KEY = "token"
# The download is network-bound; a small, bounded footprint.
DOWNLOADER_RESOURCES: Manifest = {
    "requests": {"cpu": "500m", "memory": "1Gi"},
    "limits": {"cpu": "2", "memory": "2Gi"},
}
# Fetch only what vLLM loads: safetensors, configs and tokenizer files. Llama repos also
# carry `original/` (consolidated .pth, as large as the model) which is skipped.
DOWNLOAD_SCRIPT = """\
import os, sys
from huggingface_hub import snapshot_download
repo, rev = os.environ["MODEL_ID"], os.environ["MODEL_REVISION"]
kw = dict(repo_id=repo, revision=rev, ignore_patterns=["original/*", "*.pth", "*.bin", "*.gguf"])
try:
    path = snapshot_download(local_files_only=True, **kw)
    print(f"model cache complete: {repo}@{rev} at {path}")
except Exception:
    print(f"downloading {repo}@{rev}", flush=True)
    try:
        path = snapshot_download(**kw)
    except Exception as exc:
        sys.exit(f"model download failed: {repo}@{rev}: {exc}")
    print(f"downloaded {repo}@{rev} to {path}")
"""


def image(plan: ServingPlan) -> str:
    return IMAGES["vllm" if plan.gpu is not None else "vllm-cpu"].ref


def object_labels(plan: ServingPlan) -> dict[str, str]:
    return labels(APP, plan.model.name, COMPONENT, VLLM_VERSION)


def pod_selector(plan: ServingPlan) -> dict[str, str]:
    return selector(APP, plan.model.name, COMPONENT)


def cache_claim_name(plan: ServingPlan) -> str:
    return f"{plan.model.name}-model-cache"


def _meta(plan: ServingPlan, name: str) -> Manifest:
    return {"name": name, "namespace": plan.model.namespace, "labels": object_labels(plan)}


def _probe(probe: Probe) -> Manifest:
    return {
        "httpGet": {"path": HEALTH_PATH, "port": "http"},
        "periodSeconds": probe.period_seconds,
        "failureThreshold": probe.failure_threshold,
        "timeoutSeconds": probe.timeout_seconds,
    }


def _resources(plan: ServingPlan) -> Manifest:
    amounts: Manifest = {"cpu": str(plan.resources.cpu), "memory": gib(plan.resources.memory_gib)}
    if plan.gpu is not None:
        amounts[GPU_RESOURCE] = str(plan.gpu_request)
    # requests = limits: Guaranteed QoS, so a GPU replica is the last thing a node evicts.
    return {"requests": dict(amounts), "limits": dict(amounts)}


def cache_claim(plan: ServingPlan) -> Manifest:
    spec: Manifest = {
        "accessModes": [plan.cache_access_mode],
        "resources": {"requests": {"storage": gib(plan.cache_size_gib)}},
    }
    if plan.model.cache.storage_class:
        spec["storageClassName"] = plan.model.cache.storage_class
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": _meta(plan, cache_claim_name(plan)),
        "spec": spec,
    }


def _downloader(plan: ServingPlan, has_token: bool) -> Manifest:
    env: list[Manifest] = [
        {"name": "MODEL_ID", "value": plan.model.model},
        {"name": "MODEL_REVISION", "value": plan.model.revision},
        {"name": "HF_HOME", "value": HF_HOME},
        {"name": "HOME", "value": SCRATCH_MOUNT},
        {"name": "HF_HUB_DISABLE_TELEMETRY", "value": "1"},
    ]
    if has_token:
        env.append(
            {
                "name": "HF_TOKEN",
                "valueFrom": {"secretKeyRef": {"name": HF_TOKEN_SECRET, "key": HF_TOKEN_KEY}},
            }
        )
    return {
        "name": "model-download",
        "image": image(plan),
        "imagePullPolicy": "IfNotPresent",
        "command": ["python3", "-c", DOWNLOAD_SCRIPT],
        "env": env,
        "resources": DOWNLOADER_RESOURCES,
        "securityContext": container_security_context(),
        "volumeMounts": [
            {"name": "model-cache", "mountPath": CACHE_MOUNT},
            {"name": "scratch", "mountPath": SCRATCH_MOUNT},
        ],
    }


def _server(plan: ServingPlan, budgets: Budgets) -> Manifest:
    mounts: list[Manifest] = [
        {"name": "model-cache", "mountPath": CACHE_MOUNT, "readOnly": True},
        {"name": "scratch", "mountPath": SCRATCH_MOUNT},
    ]
    if plan.resources.shm_gib:
        mounts.append({"name": "dshm", "mountPath": "/dev/shm"})
    env = vllm_env(plan)
    return {
        "name": APP,
        "image": image(plan),
        "imagePullPolicy": "IfNotPresent",
        "command": VLLM_COMMAND,
        "args": vllm_args(plan, budgets.shutdown_timeout_seconds),
        "env": [{"name": k, "value": v} for k, v in env.items()],
        "ports": [{"name": "http", "containerPort": SERVER_PORT, "protocol": "TCP"}],
        "resources": _resources(plan),
        # The HTTP server starts only after the weights are loaded: the startup probe
        # carries the whole cold start, then liveness takes over.
        "startupProbe": _probe(budgets.startup),
        "readinessProbe": _probe(budgets.readiness),
        "livenessProbe": _probe(budgets.liveness),
        # Endpoints stop routing during the sleep; SIGTERM then starts vLLM's drain.
        "lifecycle": {"preStop": {"sleep": {"seconds": budgets.pre_stop_seconds}}},
        "securityContext": container_security_context(),
        "volumeMounts": mounts,
    }


def _volumes(plan: ServingPlan) -> list[Manifest]:
    volumes: list[Manifest] = [
        {"name": "model-cache", "persistentVolumeClaim": {"claimName": cache_claim_name(plan)}},
        {"name": "scratch", "emptyDir": {"sizeLimit": gib(SCRATCH_GIB)}},
    ]
    if plan.resources.shm_gib:
        volumes.append(
            {
                "name": "dshm",
                "emptyDir": {"medium": "Memory", "sizeLimit": gib(plan.resources.shm_gib)},
            }
        )
    return volumes


def deployment(
    plan: ServingPlan, budgets: Budgets, *, runtime_class: str | None, has_hf_token: bool
) -> Manifest:
    m = plan.model
    pod: Manifest = {
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": pod_security_context(m.serving.run_as_user),
        "terminationGracePeriodSeconds": budgets.termination_grace_seconds,
        "initContainers": [_downloader(plan, has_hf_token)],
        "containers": [_server(plan, budgets)],
        "volumes": _volumes(plan),
    }
    if plan.pool is not None:
        pod["nodeSelector"] = node_selector(plan.pool)
        pod["tolerations"] = tolerations(plan.pool)
        if runtime_class:
            pod["runtimeClassName"] = runtime_class
        if len(plan.pool.nodes) > 1:
            pod["topologySpreadConstraints"] = [
                {
                    "maxSkew": 1,
                    "topologyKey": "kubernetes.io/hostname",
                    "whenUnsatisfiable": "ScheduleAnyway",
                    "labelSelector": {"matchLabels": pod_selector(plan)},
                }
            ]
    spec: Manifest = {
        "revisionHistoryLimit": 3,
        "selector": {"matchLabels": pod_selector(plan)},
        "strategy": {
            "type": "RollingUpdate",
            "rollingUpdate": {
                "maxSurge": plan.rollout.max_surge,
                "maxUnavailable": plan.rollout.max_unavailable,
            },
        },
        "template": {
            "metadata": {
                "labels": object_labels(plan),
                "annotations": {SERVED_NAME_ANNOTATION: m.served_name},
            },
            "spec": pod,
        },
    }
    if plan.scaling is None:
        # Under autoscaling KEDA owns the count; a fixed value here would fight it.
        spec["replicas"] = m.replicas
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(plan, m.name),
        "spec": spec,
    }


def service(plan: ServingPlan) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(plan, plan.model.name),
        "spec": {
            "type": "ClusterIP",
            "selector": pod_selector(plan),
            "ports": [
                {
                    "name": "http",
                    "port": SERVER_PORT,
                    "targetPort": "http",
                    "protocol": "TCP",
                    "appProtocol": "http",
                }
            ],
        },
    }


def pod_service_name(name: str) -> str:
    return f"{name}-pods"


def pod_service(plan: ServingPlan) -> Manifest:
    """Headless: DNS answers with every ready pod, so the gateway balances per replica."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(plan, pod_service_name(plan.model.name)),
        "spec": {
            "clusterIP": "None",
            "selector": pod_selector(plan),
            "ports": [
                {
                    "name": "http",
                    "port": SERVER_PORT,
                    "targetPort": "http",
                    "protocol": "TCP",
                    "appProtocol": "http",
                }
            ],
        },
    }


def disruption_budget(plan: ServingPlan) -> Manifest | None:
    """Node drains take one replica at a time; none is needed for a single replica."""
    if plan.max_replicas < 2:
        return None
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": _meta(plan, plan.model.name),
        "spec": {
            "maxUnavailable": 1,
            "selector": {"matchLabels": pod_selector(plan)},
            # A replica stuck loading must not block a node drain.
            "unhealthyPodEvictionPolicy": "AlwaysAllow",
        },
    }
