"""Metric names: vLLM's by version, DCGM's by GPU family, kube-state-metrics'.

Every PromQL expression the platform emits (dashboards, alert rules, KEDA triggers) names
its metrics through this module, so an upgrade that renames a metric fails a test instead
of showing "No data".
"""

from __future__ import annotations

from collections.abc import Iterable

from infra.catalog.gpus import GpuSpec
from infra.catalog.versions import VLLM_VERSION

# The first --served-model-name, on every vLLM metric.
MODEL_LABEL = "model_name"

_VLLM_033 = {
    "num_requests_running": "vllm:num_requests_running",
    "num_requests_waiting": "vllm:num_requests_waiting",
    "kv_cache_usage_perc": "vllm:kv_cache_usage_perc",  # 0..1
    "prefix_cache_queries": "vllm:prefix_cache_queries",  # counter (tokens)
    "prefix_cache_hits": "vllm:prefix_cache_hits",  # counter (tokens)
    "time_to_first_token_seconds": "vllm:time_to_first_token_seconds",  # histogram
    "e2e_request_latency_seconds": "vllm:e2e_request_latency_seconds",  # histogram
    "request_queue_time_seconds": "vllm:request_queue_time_seconds",  # histogram
    "inter_token_latency_seconds": "vllm:inter_token_latency_seconds",  # histogram
    "request_success_total": "vllm:request_success_total",  # counter, label finished_reason
    "prompt_tokens_total": "vllm:prompt_tokens_total",
    "generation_tokens_total": "vllm:generation_tokens_total",
    "num_preemptions_total": "vllm:num_preemptions_total",
}
# vLLM minor version -> logical name -> Prometheus name.
VLLM_METRICS_BY_VERSION: dict[str, dict[str, str]] = {"0.33": _VLLM_033}
# Names that no longer exist, and what replaced them: the gpu_ names were deprecated by
# vllm-project/vllm#18354 and removed by #29330; time_per_output_token_seconds was
# deprecated by #24110 (vLLM's policy: hidden one minor release later, then removed).
VLLM_RENAMED: dict[str, tuple[str, str]] = {
    "gpu_cache_usage_perc": ("kv_cache_usage_perc", "0.12"),
    "gpu_prefix_cache_queries": ("prefix_cache_queries", "0.12"),
    "gpu_prefix_cache_hits": ("prefix_cache_hits", "0.12"),
    "time_per_output_token_seconds": ("inter_token_latency_seconds", "0.13"),
}
VLLM_HISTOGRAMS = frozenset(
    {
        "time_to_first_token_seconds",
        "e2e_request_latency_seconds",
        "request_queue_time_seconds",
        "inter_token_latency_seconds",
    }
)
# finished_reason values vLLM counts as failures.
VLLM_FAILED_REASONS = ("abort", "error")


def _minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


VLLM: dict[str, str] = VLLM_METRICS_BY_VERSION[_minor(VLLM_VERSION)]

# dcgm-exporter: always available, and the profiling (DCP) fields data-center GPUs add.
DCGM_BASE = {
    "gpu_util": "DCGM_FI_DEV_GPU_UTIL",  # percent
    "fb_used": "DCGM_FI_DEV_FB_USED",  # MiB
    "fb_free": "DCGM_FI_DEV_FB_FREE",  # MiB
    "gpu_temp": "DCGM_FI_DEV_GPU_TEMP",  # °C
    "power_usage": "DCGM_FI_DEV_POWER_USAGE",  # W
    "xid_errors": "DCGM_FI_DEV_XID_ERRORS",
}
DCGM_PROFILING = {
    "gr_engine_active": "DCGM_FI_PROF_GR_ENGINE_ACTIVE",
    "tensor_active": "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE",
    "dram_active": "DCGM_FI_PROF_DRAM_ACTIVE",
}
# CSV rows for dcgm-exporter's customMetrics: (field, Prometheus type, help).
DCGM_CSV: dict[str, tuple[str, str]] = {
    "DCGM_FI_DEV_GPU_UTIL": ("gauge", "GPU utilization (in %)."),
    "DCGM_FI_DEV_FB_USED": ("gauge", "Framebuffer memory used (in MiB)."),
    "DCGM_FI_DEV_FB_FREE": ("gauge", "Framebuffer memory free (in MiB)."),
    "DCGM_FI_DEV_GPU_TEMP": ("gauge", "GPU temperature (in C)."),
    "DCGM_FI_DEV_POWER_USAGE": ("gauge", "Power draw (in W)."),
    "DCGM_FI_DEV_XID_ERRORS": ("gauge", "Value of the last XID error encountered."),
    "DCGM_FI_PROF_GR_ENGINE_ACTIVE": ("gauge", "Ratio of time the graphics engine is active."),
    "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE": ("gauge", "Ratio of cycles the tensor pipe is active."),
    "DCGM_FI_PROF_DRAM_ACTIVE": ("gauge", "Ratio of cycles device memory is active."),
}
# Labels dcgm-exporter puts on every series (honorLabels keeps the workload's pod/namespace).
DCGM_GPU_LABEL = "gpu"
DCGM_HOST_LABEL = "Hostname"


def dcgm_fields(gpus: Iterable[GpuSpec]) -> dict[str, str]:
    """The DCGM fields every GPU family of a set exposes: an exporter asking an RTX 40xx for
    DCGM_FI_PROF_* fails, so profiling fields only when every family has them."""
    families = list(gpus)
    profiling = bool(families) and all(g.dcgm_profiling for g in families)
    return {**DCGM_BASE, **(DCGM_PROFILING if profiling else {})}


# kube-state-metrics (shipped by kube-prometheus-stack).
KUBE = {
    "container_restarts": "kube_pod_container_status_restarts_total",
    "pod_ready": "kube_pod_status_ready",
    "deployment_available": "kube_deployment_status_replicas_available",
    "deployment_desired": "kube_deployment_spec_replicas",
    "pod_unschedulable": "kube_pod_status_unschedulable",
}
# Envoy's own statistics (Envoy Gateway proxies, /stats/prometheus on port 19001): requests
# as the gateway saw them, on its data-plane listeners (named <protocol>-<port>, e.g.
# http-10080), including those no vLLM pod ever saw (no healthy upstream, timeouts).
ENVOY = {
    "requests": "envoy_http_downstream_rq_total",
    "responses_by_class": "envoy_http_downstream_rq_xx",
}
ENVOY_LISTENER_LABEL = "envoy_http_conn_manager_prefix"
ENVOY_LISTENER_PATTERN = "https?-[0-9]+"
ENVOY_CLASS_LABEL = "envoy_response_code_class"
ENVOY_METRICS_PORT = 19001
ENVOY_METRICS_PATH = "/stats/prometheus"
# The AI Gateway's usage metrics (its ext_proc sidecar in every proxy pod, port aigw-admin,
# /metrics): tokens per request as a histogram, labelled by model and token type, and by the
# client the API key named (request header mapped to a metric label by the controller).
AI_GATEWAY = {"token_usage": "gen_ai_client_token_usage"}
AI_GATEWAY_METRICS_PORT = "aigw-admin"
AI_GATEWAY_METRICS_PATH = "/metrics"
AI_CLIENT_ATTRIBUTE = "llm.client"  # OpenTelemetry attribute; Prometheus label llm_client
AI_CLIENT_LABEL = "llm_client"
AI_MODEL_LABEL = "gen_ai_request_model"
AI_TOKEN_TYPE_LABEL = "gen_ai_token_type"
# The endpoint picker's view of an InferencePool (Gateway API Inference Extension, label
# `name` = the pool): what it routes on.
EPP = {
    "queue": "inference_pool_average_queue_size",
    "kv_cache": "inference_pool_average_kv_cache_utilization",
    "ready_pods": "inference_pool_ready_pods",
}
EPP_POOL_LABEL = "name"
# Prometheus's own series for every scrape target.
UP = "up"


def _with_histogram_series(names: dict[str, str]) -> set[str]:
    out = set(names.values())
    for key in VLLM_HISTOGRAMS & names.keys():
        out |= {f"{names[key]}_bucket", f"{names[key]}_sum", f"{names[key]}_count"}
    return out


# Every series name an emitted expression may use.
KNOWN_SERIES: frozenset[str] = frozenset(
    _with_histogram_series(VLLM)
    | set(DCGM_BASE.values())
    | set(DCGM_PROFILING.values())
    | set(KUBE.values())
    | set(ENVOY.values())
    | set(EPP.values())
    | {f"{AI_GATEWAY['token_usage']}_{part}" for part in ("bucket", "sum", "count")}
    | {UP}
)
