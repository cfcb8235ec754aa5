"""StackConfig: the validated stack configuration, and the only reader of Pulumi config.

Every default lives in these models. A bad value is reported as one line per problem,
`stacks/Pulumi.<stack>.yaml: <key.path>: <what is wrong>`, before any resource registers.
"""

from __future__ import annotations

import json
import re
import types
import typing
from typing import Annotated, Any, Literal, NamedTuple, Union

import pulumi
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)
from pydantic.alias_generators import to_camel

from infra.catalog.gpus import GPUS
from infra.catalog.metrics import VLLM_RENAMED
from infra.catalog.models import MODELS, ModelGeometry
from infra.catalog.versions import SUPPORTED_KUBERNETES
from infra.catalog.vllm import KV_DTYPE_BYTES, QUANTIZED_LINEAR_BYTES

PROJECT = "llm-platform"
STACK_CONFIG_DIR = "stacks"

# RFC 1123 label, short enough that derived names (`<name>-model-cache`) stay valid.
DNS_LABEL_PATTERN = r"^[a-z]([-a-z0-9]*[a-z0-9])?$"
DnsLabel = Annotated[str, StringConstraints(pattern=DNS_LABEL_PATTERN, max_length=40)]
# Hub repository id: `org/name`.
REPO_ID_PATTERN = r"^[A-Za-z0-9][-\w.]*/[-\w.]+$"
RepoId = Annotated[str, StringConstraints(pattern=REPO_ID_PATTERN)]
# Prometheus/Loki duration: 15d, 12h, 1h30m.
DURATION_PATTERN = r"^([0-9]+(ms|s|m|h|d|w|y))+$"
Duration = Annotated[str, StringConstraints(pattern=DURATION_PATTERN)]
_DURATION_SECONDS = {
    "ms": 0.001,
    "s": 1,
    "m": 60,
    "h": 3600,
    "d": 86400,
    "w": 604800,
    "y": 31536000,
}


# A DNS name a certificate can be issued for (lowercase, at least one dot).
HOSTNAME_PATTERN = r"^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"
# An HTTP header name (RFC 9110 token).
HEADER_PATTERN = r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$"
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
LETS_ENCRYPT = "https://acme-v02.api.letsencrypt.org/directory"


def duration_seconds(text: str) -> float:
    return sum(
        int(n) * _DURATION_SECONDS[u] for n, u in re.findall(r"([0-9]+)(ms|s|m|h|d|w|y)", text)
    )


class _Section(BaseModel):
    """camelCase keys in stack files, unknown keys refused, immutable once validated."""

    model_config = ConfigDict(
        extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True
    )


GCP_PROJECT_PATTERN = r"^[a-z][-a-z0-9]{4,28}[a-z0-9]$"
GCP_REGION_PATTERN = r"^[a-z]+-[a-z]+[0-9]+$"
GCP_ZONE_PATTERN = r"^[a-z]+-[a-z]+[0-9]+-[a-z]$"
Zone = Annotated[str, StringConstraints(pattern=GCP_ZONE_PATTERN)]


class SystemPoolConfig(_Section):
    machine_type: str = Field(default="e2-standard-4", description="GKE system node machine")
    nodes_per_zone: int = Field(default=1, ge=1, le=10)


class ClusterConfig(_Section):
    provider: Literal["existing", "kind", "gke"] = Field(
        default="existing",
        description="existing: a cluster you run (k3s, kubeadm); kind: a local kind cluster; "
        "gke: a regional GKE cluster this stack creates",
    )
    context: str | None = Field(default=None, description="kubeconfig context; None = current")
    kubeconfig: str | None = Field(
        default=None, description="kubeconfig path; None = $KUBECONFIG or ~/.kube/config"
    )
    kubernetes_version: Literal[SUPPORTED_KUBERNETES] = Field(  # type: ignore[valid-type]
        default="1.31", description="the cluster's minor version; manifests are checked for it"
    )
    kind_cluster_name: DnsLabel = Field(
        default="llm-platform", description="kind only: the cluster name (context kind-<name>)"
    )
    runtime_class_name: str | None = Field(
        default=None,
        description="RuntimeClass for GPU pods where the NVIDIA runtime is not the default "
        "(k3s: nvidia)",
    )
    project: Annotated[str, StringConstraints(pattern=GCP_PROJECT_PATTERN)] | None = Field(
        default=None, description="gke: the Google Cloud project"
    )
    region: Annotated[str, StringConstraints(pattern=GCP_REGION_PATTERN)] | None = Field(
        default=None, description="gke: the cluster's region (a regional control plane)"
    )
    zones: list[Zone] = Field(
        default_factory=list, description="gke: zones of the region the nodes spread over"
    )
    release_channel: Literal["RAPID", "REGULAR", "STABLE"] = "REGULAR"
    system_pool: SystemPoolConfig = Field(default_factory=SystemPoolConfig)
    deletion_protection: bool = Field(
        default=True, description="gke: refuse to delete the cluster (turn off to tear down)"
    )

    @property
    def effective_context(self) -> str | None:
        if self.context is None and self.provider == "kind":
            return f"kind-{self.kind_cluster_name}"
        return self.context


class NodePoolConfig(_Section):
    """A GPU pool: existing nodes the program labels and taints (existing, kind), or a GKE
    node pool it creates over several zones (gke)."""

    name: DnsLabel
    gpu: str = Field(description="GPU type, a key of the GPU catalog (e.g. rtx-4090d)")
    gpus_per_node: int = Field(ge=1, le=16)
    nodes: list[Annotated[str, StringConstraints(min_length=1, max_length=253)]] = Field(
        default_factory=list, description="existing/kind: the Kubernetes nodes in this pool"
    )
    zones: list[Zone] = Field(
        default_factory=list, description="gke: zones of this pool; empty = all cluster zones"
    )
    machine_type: str | None = Field(default=None, description="gke: e.g. g2-standard-8")
    min_nodes: int = Field(default=0, ge=0, le=100, description="gke: per zone")
    max_nodes: int | None = Field(default=None, ge=1, le=100, description="gke: per zone")
    spot: bool = Field(default=False, description="gke: Spot VMs (cheaper, can be reclaimed)")

    @property
    def cloud(self) -> bool:
        return self.machine_type is not None or self.max_nodes is not None or bool(self.zones)


class RopeScaling(_Section):
    type: Literal["yarn"] = "yarn"
    factor: float = Field(gt=1.0, le=8.0)


class CacheConfig(_Section):
    storage_class: str | None = Field(default=None, description="None = the cluster default")
    size_gib: int | None = Field(
        default=None, ge=1, description="None = weights on disk × headroomRatio"
    )
    headroom_ratio: float = Field(
        default=1.25, ge=1.0, description="room for tokenizer, config and a revision bump"
    )


class CpuBackendConfig(_Section):
    cores: int = Field(default=4, ge=1, le=256, description="CPU cores for one replica")
    kv_cache_gib: int = Field(default=2, ge=1, description="VLLM_CPU_KVCACHE_SPACE")
    runtime_overhead_gib: int = Field(
        default=2, ge=1, description="Python, torch and tokenizer resident beside weights and KV"
    )


class ServingPolicy(_Section):
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
        default=1.0, gt=0, description="model cache volume read bandwidth, GB/s (startup budget)"
    )
    startup_safety_factor: float = Field(
        default=3.0, ge=1.0, le=10.0, description="startup budget = estimate × this"
    )
    probe_period_seconds: int = Field(default=10, ge=1, le=60)
    liveness_failure_threshold: int = Field(
        default=3, ge=1, description="consecutive failed /health checks before a restart"
    )
    readiness_failure_threshold: int = Field(default=3, ge=1)
    probe_timeout_seconds: int = Field(default=5, ge=1)
    run_as_user: int = Field(default=1000, ge=1, description="non-root UID for vLLM containers")
    cpu_per_gpu: int = Field(
        default=4, ge=1, description="CPU cores per GPU: tokenization, scheduling, NCCL proxies"
    )


Quantization = Literal["awq", "awq_marlin", "gptq", "gptq_marlin", "fp8"]
KvCacheDtype = Literal["auto", "fp8", "fp8_e4m3", "fp8_e5m2"]
assert set(typing.get_args(Quantization)) == set(QUANTIZED_LINEAR_BYTES)
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
    "--port": None,
    "--host": None,
    "--download-dir": None,
    "--disable-custom-all-reduce": None,
    "--dtype": None,
    "--api-key": None,
}


class PersistenceConfig(_Section):
    enabled: bool = True
    storage_class: str | None = Field(default=None, description="None = the cluster default")
    size_gib: int = Field(default=50, ge=1)


class SloConfig(_Section):
    ttft_p95_seconds: float = Field(
        default=1.5, gt=0, description="P95 time to first token objective (seconds)"
    )
    availability: float = Field(
        default=0.999, gt=0.9, lt=1.0, description="share of requests that must not fail"
    )


class AlertThresholds(_Section):
    gpu_utilization_percent: float = Field(default=90, gt=0, le=100)
    gpu_utilization_for: Duration = "5m"
    kv_cache_usage: float = Field(default=0.9, gt=0, le=1, description="fraction of KV blocks")
    requests_waiting: int = Field(default=10, ge=1, description="queued requests on one replica")
    request_rate_increase: float = Field(
        default=2.0, gt=0, description="alert when the rate rises by this much (2.0 = +200%)"
    )
    request_rate_baseline: Duration = Field(default="1h", description="the window compared to")
    min_request_rate: float = Field(
        default=0.1, ge=0, description="req/s below which rate and error alerts stay quiet"
    )
    error_ratio: float = Field(default=0.05, gt=0, lt=1, description="failed / finished requests")


class ObservabilityConfig(_Section):
    enabled: bool = True
    retention: Duration = Field(default="15d", description="Prometheus retention")
    persistence: PersistenceConfig = Field(default_factory=PersistenceConfig)
    scrape_interval: Duration = "15s"
    log_retention: Duration = Field(default="30d", description="Loki retention (whole days)")
    log_persistence: PersistenceConfig = Field(default_factory=PersistenceConfig)
    slo: SloConfig = Field(default_factory=SloConfig)
    alerts: AlertThresholds = Field(default_factory=AlertThresholds)


# What a KEDA trigger may scale on, and the bound of each target.
AUTOSCALING_TARGETS: dict[str, tuple[str, float]] = {
    "num_requests_waiting": ("queued requests per replica", float("inf")),
    "kv_cache_usage_perc": ("average KV-cache usage, 0..1", 1.0),
    "gpu_utilization": ("average GPU utilization of the model's pods, percent", 100.0),
}


class ModelAutoscaling(_Section):
    """Per-model overrides of the stack's `autoscaling` section."""

    enabled: bool | None = None
    min_replicas: int | None = Field(default=None, ge=0, le=64)
    max_replicas: int | None = Field(default=None, ge=1, le=64)
    targets: dict[str, float] | None = None


class AutoscalingConfig(_Section):
    enabled: bool = False
    min_replicas: int | None = Field(
        default=None, ge=0, le=64, description="None = the model's replicas"
    )
    max_replicas: int | None = Field(
        default=None,
        ge=1,
        le=64,
        description="None = what the model's pool has room for (required on CPU)",
    )
    targets: dict[str, float] = Field(
        default_factory=lambda: {"num_requests_waiting": 5.0, "kv_cache_usage_perc": 0.8},
        description="trigger -> target; num_requests_waiting first (the primary trigger)",
    )
    polling_interval_seconds: int = Field(default=15, ge=5, le=300)
    cooldown_seconds: int = Field(default=300, ge=0, le=3600)
    scale_to_zero: bool = Field(
        default=False, description="allow minReplicas: 0 (never in a DR-active stack)"
    )


class TlsConfig(_Section):
    mode: Literal["acme", "selfSigned", "none"] = Field(
        default="acme",
        description="acme: a public certificate (HTTP-01 through the gateway); selfSigned: dev; "
        "none: plain HTTP",
    )
    issuer_email: Annotated[str, StringConstraints(pattern=EMAIL_PATTERN)] | None = Field(
        default=None, description="ACME account e-mail (required for acme)"
    )
    acme_server: Annotated[str, StringConstraints(pattern=r"^https://")] = LETS_ENCRYPT
    solver: Literal["http01", "dns01CloudDns"] = Field(
        default="http01",
        description="how ACME checks the name: http01 through the gateway; dns01CloudDns with a "
        "Cloud DNS record (DR: the standby region must renew while DNS points elsewhere)",
    )


class RateLimitConfig(_Section):
    requests: int = Field(default=60, ge=1)
    unit: Literal["Second", "Minute", "Hour", "Day"] = "Minute"


class ApiClientConfig(_Section):
    name: DnsLabel = Field(description="client id; its API key is generated unless apiKeys has it")
    rate_limit: RateLimitConfig | None = Field(
        default=None, description="this client's own limit; None = gateway.rateLimit"
    )
    generation: int = Field(default=1, ge=1, description="bump to rotate a generated key")


class RouteBackendConfig(_Section):
    deployment: DnsLabel = Field(description="a models[].name")
    weight: int = Field(ge=0, le=100)


class RouteConfig(_Section):
    model: str = Field(min_length=1, description="the model name clients send")
    backends: list[RouteBackendConfig] = Field(min_length=1)


class OutlierConfig(_Section):
    consecutive_errors: int = Field(default=3, ge=1, description="5xx in a row before ejection")
    ejection_seconds: int = Field(default=30, ge=1)
    max_ejection_percent: int = Field(default=50, ge=1, le=100)


class GatewayConfig(_Section):
    enabled: bool = True
    hostname: Annotated[str, StringConstraints(pattern=HOSTNAME_PATTERN, max_length=253)] | None = (
        Field(default=None, description="public DNS name of the endpoint (required with TLS)")
    )
    tls: TlsConfig = Field(default_factory=TlsConfig)
    clients: list[ApiClientConfig] = Field(
        default_factory=lambda: [ApiClientConfig(name="default")], min_length=1
    )
    rate_limit: RateLimitConfig = Field(
        default_factory=RateLimitConfig, description="per client (API key)"
    )
    session_header: Annotated[str, StringConstraints(pattern=HEADER_PATTERN)] = Field(
        default="x-session-id",
        description="requests with the same value go to the same replica (prefix-cache hits)",
    )
    request_timeout_seconds: int = Field(
        default=600, ge=10, le=3600, description="long generations stream for minutes"
    )
    max_request_body_mib: int = Field(default=8, ge=1, le=256)
    retries: int = Field(
        default=2, ge=0, le=5, description="only for failures before the request reached vLLM"
    )
    outlier_detection: OutlierConfig = Field(default_factory=OutlierConfig)
    routes: list[RouteConfig] = Field(
        default_factory=list, description="weighted splits; other models get a route each"
    )
    replicas: int = Field(default=2, ge=1, le=16, description="Envoy proxy replicas")
    service_type: Literal["LoadBalancer", "NodePort", "ClusterIP"] = "LoadBalancer"


class SecurityConfig(_Section):
    network_policies: bool = Field(
        default=True, description="default-deny NetworkPolicies on the serving path"
    )
    pod_security: Literal["restricted", "baseline"] = Field(
        default="restricted", description="Pod Security Standard enforced on serving namespaces"
    )


class DnsConfig(_Section):
    managed_zone: DnsLabel = Field(description="Cloud DNS managed zone that holds the name")
    name: Annotated[str, StringConstraints(pattern=r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)+$")] = (
        Field(description="the endpoint's DNS name, with the trailing dot: llm.example.com.")
    )
    ttl: int = Field(default=30, ge=5, le=3600, description="short: clients follow a failover")


class DrConfig(_Section):
    role: Literal["primary", "secondary"] = Field(description="this stack's side")
    active: Literal["primary", "secondary"] = Field(
        default="primary", description="which side takes traffic: flip it to fail over"
    )
    peer_stack: Annotated[str, StringConstraints(pattern=r"^[^/\s]+/[^/\s]+/[^/\s]+$")] | None = (
        Field(default=None, description="secondary: the primary's org/project/stack")
    )
    standby_replicas: int = Field(
        default=1, ge=1, le=16, description="replicas per model kept warm on the standby side"
    )
    dns: DnsConfig | None = Field(
        default=None,
        description="secondary: the global record it switches (it stays up when "
        "the primary region is down)",
    )
    snapshot_location: Annotated[str, StringConstraints(pattern=r"^[A-Z0-9-]+$")] = Field(
        default="US", description="primary: multi-region of the model snapshot bucket"
    )

    @property
    def standby(self) -> bool:
        return self.role != self.active


class ChatUiConfig(_Section):
    enabled: bool = False
    storage_class: str | None = None
    size_gib: int = Field(default=2, ge=1)


Digest = Annotated[str, StringConstraints(pattern=r"^sha256:[0-9a-f]{64}$")]


class ImagesConfig(_Section):
    build: bool = Field(
        default=False,
        description="build images/ with Docker and push them; off: the catalog's public images",
    )
    registry: (
        Annotated[str, StringConstraints(pattern=r"^[a-z0-9.-]+(:[0-9]+)?(/[a-z0-9._-]+)*$")] | None
    ) = Field(
        default=None, description="where built images go, e.g. registry.example.com/llm (build)"
    )
    platform: Literal["linux/amd64", "linux/arm64"] = "linux/amd64"
    vllm_digest: Digest | None = Field(
        default=None, description="pin the vLLM GPU base image by digest"
    )
    vllm_cpu_digest: Digest | None = Field(
        default=None, description="pin the vLLM CPU base image by digest"
    )
    python_digest: Digest | None = Field(
        default=None, description="pin the model loader's Python base image by digest"
    )


class ModelConfig(_Section):
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
    namespace: DnsLabel = "llm-serving"
    device: Literal["gpu", "cpu"] = "gpu"
    pool: DnsLabel | None = Field(default=None, description="node pool name (GPU models)")
    replicas: int = Field(default=1, ge=1, le=64)
    tensor_parallel: int = Field(default=1, ge=1, le=64)
    pipeline_parallel: int = Field(default=1, ge=1, le=16)
    max_model_len: int | None = Field(
        default=None, ge=16, description="None = the model's native context"
    )
    gpu_memory_utilization: float | None = Field(
        default=None,
        gt=0.0,
        lt=1.0,
        description="None = vLLM's default, divided among replicas sharing a GPU",
    )
    kv_cache_dtype: KvCacheDtype = "auto"
    quantization: Quantization | None = None
    gpu_share: int = Field(
        default=1,
        ge=1,
        le=8,
        description="replicas per physical GPU through device-plugin time-slicing (TP=1 only)",
    )
    rope_scaling: RopeScaling | None = Field(
        default=None, description="YaRN, required for maxModelLen above the native context"
    )
    max_num_seqs: int | None = Field(default=None, ge=1)
    max_num_batched_tokens: int | None = Field(default=None, ge=16)
    extra_args: list[str] = Field(
        default_factory=list, description="further vLLM flags the platform does not manage"
    )
    autoscaling: ModelAutoscaling | None = None
    cache: CacheConfig = Field(default_factory=CacheConfig)
    cpu: CpuBackendConfig = Field(default_factory=CpuBackendConfig)
    serving: ServingPolicy = Field(default_factory=ServingPolicy)

    @property
    def served_name(self) -> str:
        return self.served_model_name or self.model

    @property
    def geometry_or_catalog(self) -> ModelGeometry:
        if self.geometry is not None:
            return self.geometry
        return MODELS[self.model]


class StackConfig(_Section):
    environment: Literal["dev", "staging", "production"] = Field(
        default="production", description="production turns policy rules mandatory"
    )
    cluster: ClusterConfig = Field(default_factory=ClusterConfig)
    node_pools: list[NodePoolConfig] = Field(default_factory=list)
    models: list[ModelConfig] = Field(min_length=1)
    gateway: GatewayConfig = Field(default_factory=GatewayConfig)
    security: SecurityConfig = Field(default_factory=SecurityConfig)
    chat_ui: ChatUiConfig = Field(default_factory=ChatUiConfig)
    api_keys: dict[str, str] | None = Field(
        default=None,
        description="client -> API key, instead of generated keys; set each with "
        "`pulumi config set --secret --path 'apiKeys.<client>' <key>`",
    )
    images: ImagesConfig = Field(default_factory=ImagesConfig)
    dr: DrConfig | None = Field(default=None, description="disaster recovery between two stacks")
    observability: ObservabilityConfig = Field(default_factory=ObservabilityConfig)
    autoscaling: AutoscalingConfig = Field(default_factory=AutoscalingConfig)
    hf_token: str | None = Field(
        default=None,
        description="Hugging Face token for gated models; set it with `pulumi config set "
        "--secret hfToken`",
    )


# Top-level keys whose values are objects or lists (read with get_object).
def _is_object(annotation: Any) -> bool:
    """Objects and lists come as JSON from Pulumi config; scalars as strings."""
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        return any(_is_object(a) for a in typing.get_args(annotation))
    if origin is Annotated:
        return _is_object(typing.get_args(annotation)[0])
    return origin in (list, dict) or (
        isinstance(annotation, type) and issubclass(annotation, BaseModel)
    )


# Top-level keys whose values are objects or lists (read with get_object).
_OBJECT_KEYS = frozenset(
    f.alias or n for n, f in StackConfig.model_fields.items() if _is_object(f.annotation)
)
# Keys that must be set as secrets, and how.
SECRET_KEYS = {
    "hfToken": "pulumi config set --secret hfToken",
    "apiKeys": "pulumi config set --secret --path 'apiKeys.<client>' <key>",
}
TOP_LEVEL_KEYS = frozenset(f.alias or n for n, f in StackConfig.model_fields.items())


# --------------------------------------------------------------------------- errors


class Problem(NamedTuple):
    path: str  # e.g. `models[0].tensorParallel` (without the project namespace)
    message: str


class ConfigError(pulumi.RunError):
    """A bad stack config. A RunError, so `pulumi up` prints it without a traceback."""

    def __init__(self, problems: list[Problem], source: str) -> None:
        self.problems = problems
        self.source = source
        super().__init__("\n".join(self.lines()))

    def lines(self, source: str | None = None) -> list[str]:
        where = source or self.source
        return [
            f"{where}: {PROJECT}:{p.path}: {p.message}" if p.path else f"{where}: {p.message}"
            for p in self.problems
        ]


def stack_file(stack: str) -> str:
    return f"{STACK_CONFIG_DIR}/Pulumi.{stack}.yaml"


def _format_loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _show(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _unwrap(annotation: Any) -> Any:
    """The model class behind Optional[...] / list[...] / Annotated[...], if any."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (Union, types.UnionType, list):
        for arg in typing.get_args(annotation):
            found = _unwrap(arg)
            if isinstance(found, type) and issubclass(found, BaseModel):
                return found
    return annotation


def _model_at(loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    model: Any = StackConfig
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return None
        field = next((f for n, f in model.model_fields.items() if part in (n, f.alias)), None)
        if field is None:
            return None
        model = _unwrap(field.annotation)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _problem_from_pydantic(err: Any) -> Problem:
    loc = tuple(err["loc"])
    path = _format_loc(loc)
    kind = err["type"]
    if kind == "extra_forbidden":
        owner = _model_at(loc[:-1])
        accepted = sorted(f.alias or n for n, f in owner.model_fields.items()) if owner else []
        return Problem(path, f"unknown key; accepted keys: {', '.join(accepted)}")
    if kind == "missing":
        return Problem(path, "required key is missing")
    if kind == "string_pattern_mismatch":
        pattern = err.get("ctx", {}).get("pattern", "")
        what = {
            DNS_LABEL_PATTERN: "a DNS label: lowercase letters, digits and '-', "
            "starting with a letter",
            REPO_ID_PATTERN: "a Hugging Face repository id like org/name",
            DURATION_PATTERN: "a duration like 30d, 12h or 90m",
            HOSTNAME_PATTERN: "a lowercase DNS name like llm.example.com",
            HEADER_PATTERN: "an HTTP header name like x-session-id",
            EMAIL_PATTERN: "an e-mail address",
        }.get(pattern, f"a string matching {pattern}")
        return Problem(path, f"{_show(err['input'])} is not valid; expected {what}")
    message = err["msg"][0].lower() + err["msg"][1:]
    value = err["input"]
    wants_text = kind == "string_type" or (
        kind == "literal_error" and "'" in str(err.get("ctx", {}).get("expected", ""))
    )
    if wants_text and isinstance(value, int | float) and not isinstance(value, bool):
        # `kubernetesVersion: 1.30` is the number 1.3 to YAML.
        return Problem(path, f"{message}; YAML read {_show(value)} as a number: quote it")
    return Problem(path, f"{message} (got {_show(value)})")


def _check_references(cfg: StackConfig) -> list[Problem]:
    """Cross-field checks pydantic's per-field validation cannot express."""
    problems: list[Problem] = []
    pools = {p.name: p for p in cfg.node_pools}

    seen_pools: set[str] = set()
    seen_nodes: dict[str, str] = {}
    for i, pool in enumerate(cfg.node_pools):
        if pool.name in seen_pools:
            problems.append(Problem(f"nodePools[{i}].name", f"duplicate pool name {pool.name!r}"))
        seen_pools.add(pool.name)
        if pool.gpu not in GPUS:
            problems.append(
                Problem(
                    f"nodePools[{i}].gpu",
                    f"unknown GPU {pool.gpu!r}; known GPUs: {', '.join(sorted(GPUS))}",
                )
            )
        for j, node in enumerate(pool.nodes):
            if node in seen_nodes:
                problems.append(
                    Problem(
                        f"nodePools[{i}].nodes[{j}]",
                        f"node {node!r} is already in pool {seen_nodes[node]!r}",
                    )
                )
            seen_nodes[node] = pool.name

    seen_models: set[str] = set()
    seen_served: set[str] = set()
    for i, m in enumerate(cfg.models):
        at = f"models[{i}]"
        if m.name in seen_models:
            problems.append(Problem(f"{at}.name", f"duplicate model name {m.name!r}"))
        seen_models.add(m.name)
        if m.served_name in seen_served:
            problems.append(
                Problem(
                    f"{at}.servedModelName",
                    f"{m.served_name!r} is already served by another model; clients could not "
                    "tell them apart",
                )
            )
        seen_served.add(m.served_name)
        if m.geometry is None and m.model not in MODELS:
            problems.append(
                Problem(
                    f"{at}.model",
                    f"{m.model!r} is not in the catalog; describe it under {at}.geometry or use "
                    f"one of: {', '.join(sorted(MODELS))}",
                )
            )
        if m.device == "gpu":
            if m.pool is None:
                problems.append(
                    Problem(
                        f"{at}.pool",
                        "a GPU model needs a node pool; "
                        f"pools: {', '.join(pools) or '(none defined)'}",
                    )
                )
            elif m.pool not in pools:
                problems.append(
                    Problem(
                        f"{at}.pool",
                        f"no node pool named {m.pool!r}; pools: "
                        f"{', '.join(pools) or '(none defined)'}",
                    )
                )
        else:
            if m.pool is not None:
                problems.append(
                    Problem(
                        f"{at}.pool",
                        "a CPU model runs on ordinary nodes; remove pool or set device: gpu",
                    )
                )
            for key, value, default in (
                ("tensorParallel", m.tensor_parallel, 1),
                ("pipelineParallel", m.pipeline_parallel, 1),
                ("gpuShare", m.gpu_share, 1),
            ):
                if value != default:
                    problems.append(
                        Problem(f"{at}.{key}", f"must be {default} for a CPU model (got {value})")
                    )
            if m.quantization is not None:
                problems.append(
                    Problem(
                        f"{at}.quantization",
                        "quantized kernels need a GPU; remove it for device: cpu",
                    )
                )
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


def _check_targets(targets: dict[str, float], at: str, device: str) -> list[Problem]:
    problems: list[Problem] = []
    known = ", ".join(AUTOSCALING_TARGETS)
    for name, value in targets.items():
        if name not in AUTOSCALING_TARGETS:
            renamed = VLLM_RENAMED.get(name)
            hint = f"vLLM renamed it to {renamed[0]!r} in {renamed[1]}; " if renamed else ""
            problems.append(
                Problem(f"{at}.{name}", f"unknown metric for KEDA; {hint}known: {known}")
            )
        elif not 0 < value <= AUTOSCALING_TARGETS[name][1]:
            what, bound = AUTOSCALING_TARGETS[name]
            problems.append(
                Problem(
                    f"{at}.{name}", f"{value} is out of range for {what} (0 < target ≤ {bound:g})"
                )
            )
        elif name == "gpu_utilization" and device == "cpu":
            problems.append(Problem(f"{at}.{name}", "a CPU model has no GPU utilization"))
    if targets and "num_requests_waiting" not in targets:
        problems.append(Problem(at, "num_requests_waiting is the primary trigger and must be set"))
    return problems


def _check_observability(cfg: StackConfig) -> list[Problem]:
    scaled = cfg.autoscaling.enabled or any(
        m.autoscaling is not None and m.autoscaling.enabled for m in cfg.models
    )
    if scaled and not cfg.observability.enabled:
        return [
            Problem(
                "observability.enabled",
                "autoscaling reads vLLM's metrics from "
                "Prometheus: keep observability on, or turn autoscaling off",
            )
        ]
    days = duration_seconds(cfg.observability.log_retention) / 86400
    if days < 1 or days != int(days):
        return [
            Problem(
                "observability.logRetention",
                f"{cfg.observability.log_retention!r}: Loki deletes whole index periods; "
                "use whole days, e.g. 30d or 720h",
            )
        ]
    return []


def pool_zones(cfg: StackConfig, pool: NodePoolConfig) -> list[str]:
    """A cloud pool's zones: its own, or the cluster's."""
    return pool.zones or cfg.cluster.zones


def _check_cluster(cfg: StackConfig) -> list[Problem]:
    c, problems = cfg.cluster, []
    gke = c.provider == "gke"
    if gke:
        for key, value in (("project", c.project), ("region", c.region)):
            if value is None:
                problems.append(Problem(f"cluster.{key}", "required for provider gke"))
        if not c.zones:
            problems.append(
                Problem(
                    "cluster.zones",
                    "required for provider gke: the zones "
                    "the nodes spread over, e.g. [us-central1-a, us-central1-b]",
                )
            )
        for i, zone in enumerate(c.zones):
            if c.region and not zone.startswith(f"{c.region}-"):
                problems.append(
                    Problem(f"cluster.zones[{i}]", f"{zone!r} is not in region {c.region!r}")
                )
    else:
        gke_only: tuple[tuple[str, object], ...] = (
            ("project", c.project),
            ("region", c.region),
            ("zones", c.zones),
        )
        for key, setting in gke_only:
            if setting:
                problems.append(
                    Problem(
                        f"cluster.{key}", f"only for provider gke (this cluster is {c.provider!r})"
                    )
                )
    for i, pool in enumerate(cfg.node_pools):
        at = f"nodePools[{i}]"
        if gke:
            if pool.nodes:
                problems.append(
                    Problem(
                        f"{at}.nodes",
                        "a GKE pool's nodes are created by the "
                        "node pool; use zones, machineType, minNodes, maxNodes",
                    )
                )
            required: tuple[tuple[str, object], ...] = (
                ("machineType", pool.machine_type),
                ("maxNodes", pool.max_nodes),
            )
            for key, setting in required:
                if setting is None:
                    problems.append(Problem(f"{at}.{key}", "required for a GKE node pool"))
            for j, zone in enumerate(pool.zones):
                if zone not in c.zones:
                    problems.append(
                        Problem(
                            f"{at}.zones[{j}]",
                            f"{zone!r} is not one of the cluster's zones: {', '.join(c.zones)}",
                        )
                    )
            if pool.max_nodes is not None and pool.min_nodes > pool.max_nodes:
                problems.append(
                    Problem(
                        f"{at}.minNodes", f"{pool.min_nodes} is above maxNodes {pool.max_nodes}"
                    )
                )
            gpu = GPUS.get(pool.gpu)
            if gpu is not None and gpu.gke_accelerator is None:
                offered = sorted(k for k, g in GPUS.items() if g.gke_accelerator)
                problems.append(
                    Problem(
                        f"{at}.gpu",
                        f"GKE does not offer {pool.gpu!r}; GKE GPUs: {', '.join(offered)}",
                    )
                )
        else:
            if not pool.nodes:
                problems.append(Problem(f"{at}.nodes", "name the existing nodes of this pool"))
            if pool.cloud:
                problems.append(
                    Problem(
                        at,
                        "zones, machineType, minNodes and maxNodes are for "
                        "GKE pools (cluster.provider: gke)",
                    )
                )
    return problems


def _check_dr(cfg: StackConfig) -> list[Problem]:
    dr, problems = cfg.dr, []
    if dr is None:
        return []
    if cfg.cluster.provider != "gke":
        problems.append(
            Problem("dr", "DR stacks are regional GKE clusters: set cluster.provider: gke")
        )
    if dr.role == "secondary":
        if dr.peer_stack is None:
            problems.append(
                Problem(
                    "dr.peerStack",
                    "the secondary reads the primary's models "
                    "through it: org/llm-platform/dr-primary",
                )
            )
        if dr.dns is None:
            problems.append(
                Problem(
                    "dr.dns",
                    "the secondary owns the global DNS record (it "
                    "must work while the primary region is down)",
                )
            )
    elif dr.dns is not None:
        problems.append(Problem("dr.dns", "belongs on the secondary stack, which switches it"))
    if dr.dns and cfg.gateway.hostname and dr.dns.name != f"{cfg.gateway.hostname}.":
        problems.append(
            Problem(
                "dr.dns.name",
                f"{dr.dns.name!r} is not gateway.hostname "
                f"{cfg.gateway.hostname!r} (plus the trailing dot)",
            )
        )
    if cfg.gateway.tls.mode == "acme" and cfg.gateway.tls.solver != "dns01CloudDns":
        problems.append(
            Problem(
                "gateway.tls.solver",
                "a DR side must renew its certificate "
                "while DNS points at the other region: use dns01CloudDns",
            )
        )
    if cfg.autoscaling.scale_to_zero and not dr.standby:
        problems.append(
            Problem(
                "autoscaling.scaleToZero",
                "never on the active side of a DR pair: it must serve the moment traffic arrives",
            )
        )
    return problems


def _check_images(cfg: StackConfig) -> list[Problem]:
    if cfg.images.build and cfg.images.registry is None:
        return [
            Problem(
                "images.registry",
                "images.build pushes to a registry: set one, e.g. "
                "registry.example.com/llm-platform",
            )
        ]
    return []


def _check_gateway(cfg: StackConfig) -> list[Problem]:
    gw, problems = cfg.gateway, []
    if not gw.enabled:
        if cfg.chat_ui.enabled:
            problems.append(
                Problem(
                    "chatUi.enabled",
                    "the chat UI talks to the gateway: enable gateway or disable chatUi",
                )
            )
        return problems
    if gw.tls.mode != "none" and gw.hostname is None:
        problems.append(
            Problem(
                "gateway.hostname",
                f"TLS mode {gw.tls.mode!r} needs the hostname to put in the certificate",
            )
        )
    if gw.tls.solver == "dns01CloudDns" and (cfg.dr is None or cfg.cluster.provider != "gke"):
        problems.append(
            Problem(
                "gateway.tls.solver",
                "dns01CloudDns is set up for GKE DR stacks (dr section); elsewhere use http01",
            )
        )
    if gw.tls.mode == "acme" and gw.tls.issuer_email is None:
        problems.append(
            Problem(
                "gateway.tls.issuerEmail",
                "ACME needs an account e-mail; or use tls.mode: selfSigned (dev) or none",
            )
        )
    names = [c.name for c in gw.clients]
    for i, name in enumerate(names):
        if names.index(name) != i:
            problems.append(Problem(f"gateway.clients[{i}].name", f"duplicate client {name!r}"))
    if cfg.api_keys is not None:
        for name in names:
            if name not in cfg.api_keys:
                problems.append(
                    Problem(
                        f"apiKeys.{name}",
                        f"client {name!r} has no key; set "
                        f"it with pulumi config set --secret --path "
                        f"'apiKeys.{name}' KEY, or remove the client",
                    )
                )
        for name in cfg.api_keys:
            if name not in names:
                problems.append(
                    Problem(
                        f"apiKeys.{name}",
                        f"no gateway.clients entry has this name; clients: {', '.join(names)}",
                    )
                )
    deployments = {m.name: m for m in cfg.models}
    routed: set[str] = set()
    public: set[str] = set()
    for i, route in enumerate(gw.routes):
        at = f"gateway.routes[{i}]"
        total = sum(b.weight for b in route.backends)
        if total != 100:
            problems.append(
                Problem(f"{at}.backends", f"weights sum to {total}; they must sum to 100")
            )
        if route.model in public:
            problems.append(Problem(f"{at}.model", f"{route.model!r} is routed twice"))
        public.add(route.model)
        for j, backend in enumerate(route.backends):
            if backend.deployment not in deployments:
                problems.append(
                    Problem(
                        f"{at}.backends[{j}].deployment",
                        f"unknown model {backend.deployment!r}; models: {', '.join(deployments)}",
                    )
                )
            routed.add(backend.deployment)
    for name, m in deployments.items():
        if name not in routed and m.served_name in public:
            problems.append(
                Problem(
                    "gateway.routes",
                    f"{m.served_name!r} is both a route and "
                    f"the served name of model {name!r}, which no route uses",
                )
            )
    return problems


def parse(raw: dict[str, Any], source: str) -> StackConfig:
    """Validate raw config (top-level keys without namespace) or raise ConfigError."""
    problems = [
        Problem(key, f"unknown key; accepted keys: {', '.join(sorted(TOP_LEVEL_KEYS))}")
        for key in raw
        if key not in TOP_LEVEL_KEYS
    ]
    known = {k: v for k, v in raw.items() if k in TOP_LEVEL_KEYS}
    try:
        cfg = StackConfig.model_validate(known)
    except ValidationError as exc:
        problems += [_problem_from_pydantic(e) for e in exc.errors()]
        raise ConfigError(problems, source) from None
    problems += _check_references(cfg) + _check_observability(cfg) + _check_gateway(cfg)
    problems += _check_images(cfg) + _check_cluster(cfg) + _check_dr(cfg)
    problems += _check_targets(cfg.autoscaling.targets, "autoscaling.targets", "gpu")
    for i, m in enumerate(cfg.models):
        if m.autoscaling is not None and m.autoscaling.targets is not None:
            problems += _check_targets(
                m.autoscaling.targets, f"models[{i}].autoscaling.targets", m.device
            )
        elif m.device == "cpu" and "gpu_utilization" in cfg.autoscaling.targets:
            problems.append(
                Problem(
                    "autoscaling.targets.gpu_utilization",
                    f"model {m.name!r} runs on CPU; set its own targets",
                )
            )
    if problems:
        raise ConfigError(problems, source)
    return cfg


_KEY = re.compile(rf"^{re.escape(PROJECT)}:(?P<key>.+)$")


def _project_keys() -> list[str]:
    """Every `llm-platform:*` key the engine passed to this program."""
    keys = set(pulumi.runtime.config.CONFIG.get()) | set(pulumi.runtime.get_config_env())
    return sorted(m.group("key") for k in keys if (m := _KEY.match(k)))


def _secret_shape(value: str) -> Any:
    """A secret's structure with every value masked: a map keeps its keys."""
    try:
        decoded = json.loads(value)
    except (TypeError, json.JSONDecodeError):
        return "[secret]"
    if isinstance(decoded, dict):
        return {k: "[secret]" for k in decoded}
    return "[secret]"


def load() -> StackConfig:
    """Read the stack's Pulumi config once and validate it. Raises ConfigError."""
    source = stack_file(pulumi.get_stack())
    config = pulumi.Config(PROJECT)
    raw: dict[str, Any] = {}
    problems: list[Problem] = []
    for key in _project_keys():
        full = f"{PROJECT}:{key}"
        if key in SECRET_KEYS and not pulumi.runtime.is_config_secret(full):
            problems.append(Problem(key, f"must be a secret: {SECRET_KEYS[key]}"))
        elif key in SECRET_KEYS:
            # Only the shape is validated here; values are read as secrets where used.
            raw[key] = _secret_shape(pulumi.runtime.get_config(full))
        elif key in _OBJECT_KEYS:
            try:
                raw[key] = config.get_object(key)
            except (pulumi.ConfigTypeError, json.JSONDecodeError):
                problems.append(Problem(key, "must be a YAML object or list"))
        else:
            raw[key] = config.get(key)
    if problems:
        raise ConfigError(problems, source)
    return parse(raw, source)


def secret(key: str) -> pulumi.Output[str] | None:
    """A secret config value as a secret Output (never a plain string)."""
    return pulumi.Config(PROJECT).get_secret(key)


def secret_object(key: str) -> pulumi.Output[Any] | None:
    return pulumi.Config(PROJECT).get_secret_object(key)


def json_schema() -> dict[str, Any]:
    """JSON Schema of a stack file (`config:` with namespaced keys), for editors."""
    inner = StackConfig.model_json_schema(by_alias=True)
    defs = inner.pop("$defs", {})
    defs["Secure"] = {
        "type": "object",
        "properties": {"secure": {"type": "string"}},
        "required": ["secure"],
        "additionalProperties": False,
        "description": "an encrypted value written by `pulumi config set --secret`",
    }
    props: dict[str, Any] = {}
    for key, field_schema in inner["properties"].items():
        schema = field_schema
        if key in SECRET_KEYS:
            schema = {
                "anyOf": [{"$ref": "#/$defs/Secure"}, {"type": "null"}],
                "description": schema.get("description", ""),
            }
        props[f"{PROJECT}:{key}"] = schema
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "llm-platform stack file (stacks/Pulumi.<stack>.yaml)",
        "type": "object",
        "properties": {
            "secretsprovider": {"type": "string"},
            "encryptedkey": {"type": "string"},
            "encryptionsalt": {"type": "string"},
            "config": {
                "type": "object",
                "properties": props,
                "required": [f"{PROJECT}:{k}" for k in inner.get("required", [])],
                "patternProperties": {"^(?!llm-platform:)[^:]+:.+$": {}},
                "additionalProperties": False,
            },
        },
        "$defs": defs,
    }


if __name__ == "__main__":  # python -m infra.config > stacks/stack.schema.json
    print(json.dumps(json_schema(), indent=2, sort_keys=True))
