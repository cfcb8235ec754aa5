"""The objects of one vLLM model deployment, built from its ServingPlan."""

from __future__ import annotations

import importlib.resources
from dataclasses import dataclass
from typing import Any

from infra.catalog.versions import IMAGES, VLLM_VERSION
from infra.catalog.vllm import (
    COMPILE_CACHE_GIB,
    HEALTH_PATH,
    LOADER_CPU,
    LOADER_MEMORY_GIB,
    SCRATCH_GIB,
    SERVER_PORT,
)
from infra.config import ImagesConfig
from infra.manifests.common import (
    ACTIVE_REPLICAS_ANNOTATION,
    GPU_RESOURCE,
    STARTUP_ESTIMATE_ANNOTATION,
    Manifest,
    claim_spec,
    container_security_context,
    gib,
    labels,
    not_awaited,
    opaque_secret,
    pod_security_context,
    selector,
)
from infra.manifests.node_pools import node_selector, tolerations
from infra.manifests.topology import HF_TOKEN_KEY, HF_TOKEN_SECRET, VLLM_APP
from infra.planning.budgets import Budgets, Probe
from infra.planning.capacity import ServingPlan
from infra.planning.vllm_args import (
    CACHE_MOUNT,
    COMPILE_CACHE_MOUNT,
    SCRATCH_MOUNT,
    VLLM_COMMAND,
    vllm_args,
    vllm_env,
)

APP = VLLM_APP
# Old ReplicaSets kept for `kubectl rollout undo`; each is only a pod template.
REVISION_HISTORY = 3
COMPONENT = "model-server"
# Pod annotation with the served model name (label values cannot hold "/"): logs get it.
SERVED_NAME_ANNOTATION = "llm-platform.io/served-model-name"
# The download is network-bound; a small, bounded footprint.
DOWNLOADER_RESOURCES: Manifest = {
    "requests": {"cpu": f"{int(LOADER_CPU * 1000)}m", "memory": gib(LOADER_MEMORY_GIB)},
    "limits": {"cpu": "2", "memory": "2Gi"},
}
# The model loader's code, for pods that run it on the public vLLM image (no image build).
LOADER_PACKAGE = "model_loader"
LOADER_MOUNT = "/opt/model-loader"


def image(plan: ServingPlan) -> str:
    return IMAGES["vllm" if plan.gpu is not None else "vllm-cpu"].ref


def public_image(plan: ServingPlan, config: ImagesConfig) -> str:
    """The public vLLM image, by the digest the stack pins for it (images.vllmDigest or
    images.vllmCpuDigest), else by its tag."""
    gpu = plan.gpu is not None
    return IMAGES["vllm" if gpu else "vllm-cpu"].pinned(
        config.vllm_digest if gpu else config.vllm_cpu_digest
    )


def object_labels(plan: ServingPlan) -> dict[str, str]:
    return labels(APP, plan.model.name, COMPONENT, VLLM_VERSION)


def pod_selector(plan: ServingPlan) -> dict[str, str]:
    return selector(APP, plan.model.name, COMPONENT)


def cache_claim_name(plan: ServingPlan) -> str:
    return plan.cache_claim


def compile_cache_claim_name(plan: ServingPlan) -> str:
    return f"{plan.model.name}-compile-cache"


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


def _claim_meta(plan: ServingPlan, name: str) -> Manifest:
    """Not awaited: the Deployment's await waits for its claims to be Bound, and the
    provider's own claim await, unable to read the binding mode of a class it is not
    named, would wait for Bound, which a WaitForFirstConsumer class gives only once the
    Deployment's pod (created after it) uses the claim."""
    return not_awaited(_meta(plan, name))


def cache_claim(plan: ServingPlan) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": _claim_meta(plan, cache_claim_name(plan)),
        "spec": claim_spec(
            plan.cache_layout.size_gib, plan.model.cache.storage_class, plan.cache_access_mode
        ),
    }


@dataclass(frozen=True)
class PodImages:
    """Images of one deployment: pinned public ones, or digests Pulumi built and pushed."""

    server: Any  # pulumi.Input[str]
    loader: Any | None = None  # None: run the loader from a ConfigMap on the server image


def default_images(plan: ServingPlan) -> PodImages:
    return PodImages(server=image(plan))


def loader_config_map_name(plan: ServingPlan) -> str:
    return f"{plan.model.name}-model-loader"


def loader_config_map(plan: ServingPlan, name: str | None = None) -> Manifest:
    """The loader's source (standard library only): runs on any Python 3.10+ image.
    `name`: another ConfigMap than the model's own (a DR snapshot Job's, which must exist
    before the model's objects)."""
    package = importlib.resources.files(LOADER_PACKAGE)
    files = sorted(p.name for p in package.iterdir() if p.name.endswith(".py"))
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _meta(plan, name or loader_config_map_name(plan)),
        "data": {name: package.joinpath(name).read_text() for name in files},
    }


def loader_container(
    plan: ServingPlan,
    images: PodImages,
    *,
    source: Any,
    has_token: bool = False,
    mirror_to: Any = None,
    extra_env: list[Manifest] | None = None,
) -> Manifest:
    """The model loader: the pods' init container, and the DR snapshot Job's container.
    `source`: "hub" or gs://…; `mirror_to`: copy the loaded revision into that bucket."""
    env: list[Manifest] = [
        {"name": "MODEL_ID", "value": plan.model.model},
        {"name": "MODEL_REVISION", "value": plan.model.revision},
        {"name": "MODEL_CACHE", "value": CACHE_MOUNT},
        {"name": "MODEL_SOURCE", "value": source},
        {"name": "HOME", "value": SCRATCH_MOUNT},
    ]
    if mirror_to is not None:
        env.append({"name": "MODEL_MIRROR", "value": mirror_to})
    env += extra_env or []  # e.g. an S3 store's endpoint and keys
    mounts: list[Manifest] = [
        {"name": "model-cache", "mountPath": CACHE_MOUNT},
        {"name": "scratch", "mountPath": SCRATCH_MOUNT},
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
    if has_token:
        env.append(
            {
                "name": "HF_TOKEN",
                "valueFrom": {"secretKeyRef": {"name": HF_TOKEN_SECRET, "key": HF_TOKEN_KEY}},
            }
        )
    return {
        "name": "model-loader",
        "image": images.loader if images.loader is not None else images.server,
        "imagePullPolicy": "IfNotPresent",
        "command": ["python3", "-m", LOADER_PACKAGE],
        "env": env,
        "resources": DOWNLOADER_RESOURCES,
        "securityContext": container_security_context(),
        "volumeMounts": mounts,
    }


def loader_code_volume(plan: ServingPlan, name: str | None = None) -> Manifest:
    """The loader's code from its ConfigMap (pods that run it on the public vLLM image)."""
    return {"name": "model-loader", "configMap": {"name": name or loader_config_map_name(plan)}}


def compile_cache_claim(plan: ServingPlan) -> Manifest | None:
    """Where vLLM keeps compiled graphs across pods: beside a shared model cache (same
    access mode, so every replica that reads the model reuses them); none for per-pod
    caches."""
    if plan.cache_per_pod:
        return None
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": _claim_meta(plan, compile_cache_claim_name(plan)),
        "spec": claim_spec(
            COMPILE_CACHE_GIB, plan.model.cache.storage_class, plan.cache_access_mode
        ),
    }


def _server(plan: ServingPlan, budgets: Budgets, server_image: Any) -> Manifest:
    mounts: list[Manifest] = [
        {"name": "model-cache", "mountPath": CACHE_MOUNT, "readOnly": True},
        {"name": "scratch", "mountPath": SCRATCH_MOUNT},
    ]
    if not plan.cache_per_pod:
        mounts.append({"name": "compile-cache", "mountPath": COMPILE_CACHE_MOUNT})
    if plan.resources.shm_gib:
        mounts.append({"name": "dshm", "mountPath": "/dev/shm"})
    env = vllm_env(plan)
    return {
        "name": APP,
        "image": server_image,
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


def _cache_volume(plan: ServingPlan) -> Manifest:
    if not plan.cache_per_pod:
        return {
            "name": "model-cache",
            "persistentVolumeClaim": {"claimName": cache_claim_name(plan)},
        }
    # Each pod gets its own disk, filled by its own loader (planning/cache.py says when).
    claim = claim_spec(plan.cache_size_gib, plan.model.cache.storage_class)
    return {
        "name": "model-cache",
        "ephemeral": {
            "volumeClaimTemplate": {"metadata": {"labels": object_labels(plan)}, "spec": claim}
        },
    }


def _volumes(plan: ServingPlan, images: PodImages) -> list[Manifest]:
    volumes: list[Manifest] = [
        _cache_volume(plan),
        {"name": "scratch", "emptyDir": {"sizeLimit": gib(SCRATCH_GIB)}},
    ]
    if images.loader is None:
        volumes.append(loader_code_volume(plan))
    if not plan.cache_per_pod:
        claim = {"claimName": compile_cache_claim_name(plan)}
        volumes.append({"name": "compile-cache", "persistentVolumeClaim": claim})
    if plan.resources.shm_gib:
        volumes.append(
            {
                "name": "dshm",
                "emptyDir": {"medium": "Memory", "sizeLimit": gib(plan.resources.shm_gib)},
            }
        )
    return volumes


def deployment(
    plan: ServingPlan,
    budgets: Budgets,
    *,
    runtime_class: str | None,
    has_hf_token: bool,
    images: PodImages | None = None,
    model_source: Any = "hub",
    service_account: str | None = None,
    loader_env: list[Manifest] | None = None,
) -> Manifest:
    """`model_source`: "hub" or gs://… (an Input); `service_account`: the pod's identity
    where it reads a snapshot bucket (Workload Identity)."""
    m = plan.model
    images = images or default_images(plan)
    pod: Manifest = {
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": pod_security_context(m.serving.run_as_user),
        "terminationGracePeriodSeconds": budgets.termination_grace_seconds,
        "initContainers": [
            loader_container(
                plan, images, source=model_source, has_token=has_hf_token, extra_env=loader_env
            )
        ],
        "containers": [_server(plan, budgets, images.server)],
        "volumes": _volumes(plan, images),
    }
    if service_account:
        pod["serviceAccountName"] = service_account
    if plan.pool is not None:
        pod["nodeSelector"] = node_selector(plan.pool)
        pod["tolerations"] = tolerations(plan.pool)
        if runtime_class:
            pod["runtimeClassName"] = runtime_class
        spread = []
        if plan.zones:
            # Even over zones, strictly: the zone-loss check counts on it.
            spread.append(
                {
                    "maxSkew": 1,
                    "topologyKey": "topology.kubernetes.io/zone",
                    "whenUnsatisfiable": "DoNotSchedule",
                    "labelSelector": {"matchLabels": pod_selector(plan)},
                }
            )
        if plan.zones or len(plan.pool.nodes) > 1:
            spread.append(
                {
                    "maxSkew": 1,
                    "topologyKey": "kubernetes.io/hostname",
                    "whenUnsatisfiable": "ScheduleAnyway",
                    "labelSelector": {"matchLabels": pod_selector(plan)},
                }
            )
        if spread:
            pod["topologySpreadConstraints"] = spread
    spec: Manifest = {
        "revisionHistoryLimit": REVISION_HISTORY,
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
                "annotations": {
                    SERVED_NAME_ANNOTATION: m.served_name,
                    STARTUP_ESTIMATE_ANNOTATION: str(budgets.startup_estimate_seconds),
                },
            },
            "spec": pod,
        },
    }
    if plan.scaling is None:
        # Under autoscaling KEDA owns the count; a fixed value here would fight it.
        spec["replicas"] = plan.standby_replicas or m.replicas
    metadata = _meta(plan, m.name)
    metadata["annotations"] = {ACTIVE_REPLICAS_ANNOTATION: str(plan.active_replicas)}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": metadata, "spec": spec}


def _service(plan: ServingPlan, name: str, headless: bool) -> Manifest:
    spec: Manifest = {
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
    }
    spec.update({"clusterIP": "None"} if headless else {"type": "ClusterIP"})
    # Not awaited: its endpoints are the Deployment's pods, whose readiness the Deployment's
    # await (with the first-install timeout) judges; the Service's own would give up at
    # the provider's 10 minutes while the weights still download.
    meta = not_awaited(_meta(plan, name))
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta, "spec": spec}


def service(plan: ServingPlan) -> Manifest:
    return _service(plan, plan.model.name, headless=False)


def pod_service_name(name: str) -> str:
    return f"{name}-pods"


def pod_service(plan: ServingPlan) -> Manifest:
    """Headless: DNS answers with every ready pod, so the gateway balances per replica."""
    return _service(plan, pod_service_name(plan.model.name), headless=True)


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


def hf_token_secret(ns: str, token: object) -> Manifest:
    """The Hugging Face token the model loader sends for gated models."""
    return opaque_secret(
        {
            "name": HF_TOKEN_SECRET,
            "namespace": ns,
            "labels": labels("llm-platform", ns, "model-download"),
        },
        {HF_TOKEN_KEY: token},
    )
