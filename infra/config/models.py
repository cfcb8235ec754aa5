"""The `models` section: what each vLLM deployment serves and how."""

from __future__ import annotations

import typing
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field, StringConstraints

from infra.catalog.models import MODELS, ModelGeometry
from infra.catalog.vllm import KV_DTYPE_BYTES, ON_THE_FLY_QUANTIZATION, PREQUANTIZED_KERNELS
from infra.config.autoscaling import ModelAutoscaling
from infra.config.base import (
    INT32_MAX,
    DnsLabel,
    DnsSubdomain,
    Problem,
    RepoId,
    Section,
    problems_if,
)
from infra.manifests.common import PLATFORM_UID
from infra.manifests.topology import PLATFORM_NAMESPACES, RESERVED_NAMESPACES

if TYPE_CHECKING:
    from infra.config.stack import StackConfig


class RopeScaling(Section):
    """Context extension beyond the native length (vLLM --hf-overrides rope_scaling)."""

    type: Literal["yarn"] = Field(default="yarn", description="the scaling method (YaRN)")
    factor: float = Field(
        gt=1.0, le=8.0, description="context multiplier over maxPositionEmbeddings"
    )


class CacheConfig(Section):
    """The volume the model's weights are downloaded to once and read from by replicas."""

    storage_class: DnsSubdomain | None = Field(
        default=None, description="None = the cluster default"
    )
    size_gib: int | None = Field(
        default=None, ge=1, le=1_000_000, description="None = weights on disk × headroomRatio"
    )
    headroom_ratio: float = Field(
        default=1.25, ge=1.0, le=10.0, description="room for tokenizer, config and a revision bump"
    )


class CpuBackendConfig(Section):
    """device: cpu only: the size of one replica on the CPU backend."""

    cores: int = Field(default=4, ge=1, le=256, description="CPU cores for one replica")
    kv_cache_gib: int = Field(default=2, ge=1, le=65536, description="VLLM_CPU_KVCACHE_SPACE")
    runtime_overhead_gib: int = Field(
        default=2,
        ge=1,
        le=1024,
        description="Python, torch and tokenizer resident beside weights and KV",
    )


class ServingPolicy(Section):
    """Policy choices behind the probe and drain numbers (the numbers are derived)."""

    pre_stop_seconds: int = Field(
        default=10,
        ge=0,
        le=120,
        description="time for endpoints and the gateway to stop routing before SIGTERM",
    )
    shutdown_timeout_seconds: int = Field(
        default=60,
        ge=0,
        le=3600,
        description="vLLM --shutdown-timeout: in-flight requests may finish this long",
    )
    termination_margin_seconds: int = Field(
        default=15, ge=5, le=300, description="process exit after the drain"
    )
    cache_read_gbps: float = Field(
        default=1.0,
        ge=0.01,
        le=1000,
        description="model cache volume read bandwidth, GB/s (startup budget)",
    )
    download_gbps: float = Field(
        default=0.1,
        ge=0.001,
        le=100,
        description="what a new pod downloads weights at (and a new node images), GB/s: "
        "the wake-up estimate of a model at minReplicas 0",
    )
    startup_safety_factor: float = Field(
        default=3.0, ge=1.0, le=10.0, description="startup budget = estimate × this"
    )
    probe_period_seconds: int = Field(
        default=10, ge=1, le=60, description="seconds between health and readiness checks"
    )
    liveness_failure_threshold: int = Field(
        default=3, ge=1, le=1000, description="consecutive failed /health checks before a restart"
    )
    readiness_failure_threshold: int = Field(
        default=3,
        ge=1,
        le=1000,
        description="consecutive failed readiness checks before the pod stops taking traffic",
    )
    probe_timeout_seconds: int = Field(
        default=5, ge=1, le=3600, description="seconds one check may take before it fails"
    )
    run_as_user: int = Field(
        default=PLATFORM_UID,
        ge=1,
        le=2147483647,
        description="non-root UID for vLLM and loader containers (not a login user's 1000)",
    )
    cpu_per_gpu: int = Field(
        default=4,
        ge=1,
        le=256,
        description="CPU cores per GPU: tokenization, scheduling, NCCL proxies",
    )


Quantization = Literal[
    "awq",
    "awq_marlin",
    "gptq",
    "gptq_marlin",
    "fp8",
    "fp8_per_tensor",
    "fp8_per_channel",
    "fp8_per_block",
]
KvCacheDtype = Literal["auto", "fp8", "fp8_e4m3", "fp8_e5m2"]
assert set(typing.get_args(Quantization)) == set(ON_THE_FLY_QUANTIZATION).union(
    *PREQUANTIZED_KERNELS.values()
)
assert set(typing.get_args(KvCacheDtype)) == set(KV_DTYPE_BYTES)

# vLLM arguments the platform sets itself (extraArgs may not override them), and the
# config key to use instead where there is one.
MANAGED_VLLM_ARGS: dict[str, str | None] = {
    "--model": "model",
    "--revision": "revision",
    "--served-model-name": "servedModelName",
    "--tensor-parallel-size": "tensorParallel",
    "-tp": "tensorParallel",
    "--pipeline-parallel-size": "pipelineParallel",
    "-pp": "pipelineParallel",
    "--max-model-len": "maxModelLen",
    "--gpu-memory-utilization": "gpuMemoryUtilization",
    "--kv-cache-dtype": "kvCacheDtype",
    "--quantization": "quantization",
    "-q": "quantization",
    "--shutdown-timeout": "serving.shutdownTimeoutSeconds",
    "--hf-overrides": "ropeScaling",
    "--max-num-seqs": "maxNumSeqs",
    "--max-num-batched-tokens": "maxNumBatchedTokens",
    "--custom-histogram-buckets": "observability.slo.ttftP95Seconds",
    "--port": None,
    "--host": None,
    "--download-dir": None,
    "--disable-custom-all-reduce": None,
    "--dtype": None,
    "--api-key": None,
}


class ModelConfig(Section):
    """One vLLM deployment: the model, its parallelism and context, where it runs."""

    name: DnsLabel = Field(description="deployment name; also the Kubernetes object names")
    model: RepoId = Field(description="Hugging Face repository id, e.g. Qwen/Qwen2.5-7B-Instruct")
    revision: Annotated[str, StringConstraints(pattern=r"^[\w.\-/]{1,100}$")] = Field(
        default="main", description="hub revision; pin a commit sha in production"
    )
    geometry: ModelGeometry | None = Field(
        default=None, description="config.json facts, for a model not in the catalog"
    )
    served_model_name: str | None = Field(
        default=None, min_length=1, description="name clients send as `model`; None = model id"
    )
    namespace: DnsLabel = Field(
        default="llm-serving", description="namespace of the deployment (created if missing)"
    )
    device: Literal["gpu", "cpu"] = Field(
        default="gpu", description="gpu: NVIDIA GPUs of `pool`; cpu: vLLM's CPU backend"
    )
    pool: DnsLabel | None = Field(default=None, description="node pool name (GPU models)")
    replicas: int = Field(
        default=1, ge=1, le=64, description="replicas when autoscaling is off (its floor when on)"
    )
    tensor_parallel: int = Field(
        default=1, ge=1, le=64, description="GPUs one replica's layers are split over (one node)"
    )
    pipeline_parallel: int = Field(
        default=1, ge=1, le=16, description="pipeline stages per replica; GPUs = TP × PP"
    )
    max_model_len: int | None = Field(
        default=None, ge=16, le=INT32_MAX, description="None = the model's native context"
    )
    gpu_memory_utilization: float | None = Field(
        default=None,
        gt=0.0,
        lt=1.0,
        description="None = vLLM's default, divided among replicas sharing a GPU",
    )
    kv_cache_dtype: KvCacheDtype = Field(
        default="auto", description="auto: the model's dtype; fp8*: half the KV-cache bytes"
    )
    quantization: Quantization | None = Field(
        default=None,
        description="fp8*: quantize a bf16 checkpoint while loading; awq/gptq(_marlin): the "
        "kernel for a pre-quantized repository (None: whatever its config.json says)",
    )
    routing: Literal["backend", "inferencePool"] = Field(
        default="backend",
        description="backend: Envoy balances over the pods (session-header hashing); "
        "inferencePool: the Gateway API Inference Extension's endpoint picker chooses the "
        "replica by queue, KV-cache use and prefix-cache hits",
    )
    gpu_share: int = Field(
        default=1,
        ge=1,
        le=8,
        description="replicas per physical GPU through device-plugin time-slicing (TP=1 only)",
    )
    rope_scaling: RopeScaling | None = Field(
        default=None, description="YaRN, required for maxModelLen above the native context"
    )
    max_num_seqs: int | None = Field(
        default=None, ge=1, le=INT32_MAX, description="sequences in one batch; None = vLLM's"
    )
    max_num_batched_tokens: int | None = Field(
        default=None,
        ge=16,
        le=INT32_MAX,
        description="tokens scheduled in one step; None = vLLM's",
    )
    extra_args: list[str] = Field(
        default_factory=list, description="further vLLM flags the platform does not manage"
    )
    autoscaling: ModelAutoscaling | None = Field(
        default=None, description="this model's overrides of the stack's `autoscaling`"
    )
    cache: CacheConfig = Field(default_factory=CacheConfig, description=CacheConfig.__doc__)
    cpu: CpuBackendConfig = Field(
        default_factory=CpuBackendConfig, description=CpuBackendConfig.__doc__
    )
    serving: ServingPolicy = Field(default_factory=ServingPolicy)

    @property
    def served_name(self) -> str:
        return self.served_model_name or self.model

    @property
    def geometry_or_catalog(self) -> ModelGeometry:
        if self.geometry is not None:
            return self.geometry
        return MODELS[self.model]


# --------------------------------------------------------------------------- checks


def _check_gpu_placement(m: ModelConfig, at: str, pools: list[str]) -> list[Problem]:
    known = ", ".join(pools) or "(none defined)"
    if m.pool is None:
        return [Problem(f"{at}.pool", f"a GPU model needs a node pool; pools: {known}")]
    return problems_if(
        m.pool not in pools, f"{at}.pool", f"no node pool named {m.pool!r}; pools: {known}"
    )


def _check_cpu_model(m: ModelConfig, at: str) -> list[Problem]:
    problems = problems_if(
        m.pool is not None,
        f"{at}.pool",
        "a CPU model runs on ordinary nodes; remove pool or set device: gpu",
    )
    for key, value, default in (
        ("tensorParallel", m.tensor_parallel, 1),
        ("pipelineParallel", m.pipeline_parallel, 1),
        ("gpuShare", m.gpu_share, 1),
    ):
        problems += problems_if(
            value != default, f"{at}.{key}", f"must be {default} for a CPU model (got {value})"
        )
    return problems + problems_if(
        m.quantization is not None,
        f"{at}.quantization",
        "quantized kernels need a GPU; remove it for device: cpu",
    )


def _check_extra_args(m: ModelConfig, at: str) -> list[Problem]:
    problems: list[Problem] = []
    for j, arg in enumerate(m.extra_args):
        flag = arg.split("=", 1)[0]
        if not arg.startswith("-"):
            problems.append(
                Problem(f"{at}.extraArgs[{j}]", f"{arg!r} is not a flag; write --flag=value")
            )
        elif flag in MANAGED_VLLM_ARGS:
            managed = MANAGED_VLLM_ARGS[flag]
            problems.append(
                Problem(
                    f"{at}.extraArgs[{j}]",
                    f"{flag} is set by the platform; use {at}.{managed} instead"
                    if managed
                    else f"{flag} is set by the platform and cannot be overridden",
                )
            )
    return problems


def _check_model(m: ModelConfig, at: str, pools: list[str]) -> list[Problem]:
    problems = problems_if(
        m.geometry is None and m.model not in MODELS,
        f"{at}.model",
        f"{m.model!r} is not in the catalog; describe it under {at}.geometry or use "
        f"one of: {', '.join(sorted(MODELS))}",
    )
    problems += _check_gpu_placement(m, at, pools) if m.device == "gpu" else _check_cpu_model(m, at)
    return problems + _check_extra_args(m, at)


# Names a model's objects take besides its own (same namespace): another model may not
# take them.
DERIVED_SERVICE_SUFFIX = "-pods"


def _check_names(cfg: StackConfig) -> list[Problem]:
    """Namespaces the platform owns, and one model's name colliding with another's objects."""
    problems: list[Problem] = []
    owner = {(m.namespace, m.name + DERIVED_SERVICE_SUFFIX): i for i, m in enumerate(cfg.models)}
    for i, m in enumerate(cfg.models):
        problems += problems_if(
            m.namespace in PLATFORM_NAMESPACES | RESERVED_NAMESPACES,
            f"models[{i}].namespace",
            f"{m.namespace!r} belongs to the platform or to Kubernetes; serve models in a "
            "namespace of your own, e.g. llm-serving",
        )
        j = owner.get((m.namespace, m.name))
        problems += problems_if(
            j is not None,
            f"models[{i}].name",
            f"{m.name!r} is the name of models[{j}]'s per-pod Service "
            f"({cfg.models[j].name!r} + {DERIVED_SERVICE_SUFFIX!r}) in {m.namespace!r}; "
            "choose another name"
            if j is not None
            else "",
        )
    return problems


def check_models(cfg: StackConfig) -> list[Problem]:
    """Unique names and served names, known models, a pool for GPU models, no managed flags."""
    problems: list[Problem] = []
    pools = [p.name for p in cfg.node_pools]
    seen_models: set[str] = set()
    seen_served: set[str] = set()
    for i, m in enumerate(cfg.models):
        at = f"models[{i}]"
        problems += problems_if(
            m.name in seen_models, f"{at}.name", f"duplicate model name {m.name!r}"
        )
        problems += problems_if(
            m.served_name in seen_served,
            f"{at}.servedModelName",
            f"{m.served_name!r} is already served by another model; clients could not "
            "tell them apart: give each deployment its own servedModelName, and to share "
            "one public name across them list them as backends of a gateway.routes entry",
        )
        seen_models.add(m.name)
        seen_served.add(m.served_name)
        problems += _check_model(m, at, pools)
    return problems + _check_names(cfg)
