"""Observability and autoscaling resources and their wiring, under the mock engine."""

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.engine import Recorded, RunResult
from infra.planning.autoscaling import behavior
from tests.builders import cpu_laptop, gpu_box, rendered
from tests.helpers import by_type, fixed_replicas, one, planned

KPS = "monitoring/kube-prometheus-stack"


def release(result: RunResult, name: str) -> Recorded:
    return one(result, "helm.sh/v3:Release", name)


def crs(result: RunResult, kind: str) -> list[Recorded]:
    return [r for r in by_type(result, "CustomResource") if r.inputs["kind"] == kind] + [
        r
        for r in result.resources
        if r.type.startswith("kubernetes:") and r.type.endswith(f":{kind}")
    ]


@pytest.mark.parametrize("stack", ["dev", "single-4090d"])
def test_custom_resources_wait_for_the_release_that_installs_their_crds(stack: str) -> None:
    result = planned(stack)
    kps, keda = release(result, KPS).urn, release(result, "keda/keda").urn
    for kind in ("PodMonitor", "PrometheusRule"):
        for cr in crs(result, kind):
            assert kps in cr.depends_on, f"{kind} {cr.name} does not wait for {KPS}"
    scaled = crs(result, "ScaledObject")
    assert scaled
    deployment = one(result, "apps/v1:Deployment").urn
    for cr in scaled:
        assert keda in cr.depends_on and deployment in cr.depends_on


def test_autoscaled_deployment_leaves_the_replica_count_to_keda() -> None:
    spec = one(rendered(gpu_box()), "apps/v1:Deployment").inputs["spec"]
    assert "replicas" not in spec
    fixed = rendered(fixed_replicas(gpu_box(), 2))
    assert one(fixed, "apps/v1:Deployment").inputs["spec"]["replicas"] == 2
    assert by_type(fixed, "CustomResource") == [] or not crs(fixed, "ScaledObject")


def test_scaled_object_triggers_and_pacing() -> None:
    [scaled] = crs(rendered(gpu_box()), "ScaledObject")
    spec = scaled.inputs["spec"]
    assert (spec["minReplicaCount"], spec["maxReplicaCount"]) == (1, 2)
    waiting, kv = spec["triggers"]
    assert waiting["metricType"] == "AverageValue" and waiting["metadata"]["threshold"] == "5"
    assert waiting["metadata"]["query"] == (
        'sum(vllm:num_requests_waiting{model_name="Qwen/Qwen2.5-7B-Instruct"})'
    )
    assert waiting["metadata"]["serverAddress"] == "http://kps-prometheus.monitoring.svc:9090"
    assert kv["metricType"] == "Value" and kv["metadata"]["threshold"] == "0.8"
    hpa = spec["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]
    grace = 10 + 60 + 15
    # One replica leaves per drain budget; one arrives per cold-start estimate (51 s).
    assert hpa["scaleDown"]["policies"] == [{"type": "Pods", "value": 1, "periodSeconds": grace}]
    assert grace <= hpa["scaleDown"]["stabilizationWindowSeconds"] <= 3600
    assert hpa["scaleUp"]["policies"][0]["periodSeconds"] == 51


def test_behavior_respects_the_hpa_and_keda_caps() -> None:
    long = behavior(
        startup_estimate_seconds=5000, termination_grace_seconds=5000, cooldown_seconds=300
    )
    assert long.scale_down_period_seconds == 1800 and long.scale_up_period_seconds == 1800
    assert long.scale_down_stabilization_seconds == 3600
    short = behavior(startup_estimate_seconds=1, termination_grace_seconds=1, cooldown_seconds=0)
    assert short.scale_up_period_seconds == 15 and short.scale_down_stabilization_seconds == 1


def test_prometheus_persists_and_retains_per_stack() -> None:
    gpu = release(rendered(gpu_box()), KPS).inputs["values"]["prometheus"]["prometheusSpec"]
    claim = gpu["storageSpec"]["volumeClaimTemplate"]["spec"]
    assert claim["storageClassName"] == "local-path"
    assert claim["resources"]["requests"]["storage"] == "50Gi"
    assert gpu["retention"] == "15d" and gpu["retentionSize"] == "40GiB"
    dev = release(rendered(cpu_laptop()), KPS).inputs["values"]["prometheus"]["prometheusSpec"]
    assert "storageSpec" not in dev and dev["retention"] == "2d"


def test_grafana_uses_a_generated_secret_password_and_loads_dashboards() -> None:
    result = rendered(gpu_box())
    grafana = release(result, KPS).inputs["values"]["grafana"]
    assert grafana["admin"]["existingSecret"] == "grafana-admin"
    secret = one(result, "core/v1:Secret", "monitoring/grafana-admin")
    assert secret.secret_paths == ["stringData"]
    assert "prom-operator" not in str(grafana)  # the chart's default password
    assert grafana["additionalDataSources"][0]["url"] == "http://loki.logging.svc:3100"
    boards = [
        r
        for r in by_type(result, "core/v1:ConfigMap")
        if r.inputs["metadata"]["labels"].get("grafana_dashboard") == "1"
    ]
    assert {b.name for b in boards} == {
        "monitoring/llm-platform-vllm",
        "monitoring/llm-platform-gpu",
        "monitoring/llm-platform-usage",  # the gateway's: usage per client and model
    }


def vllm_panels(result: RunResult) -> list[str]:
    board = one(result, "core/v1:ConfigMap", "monitoring/llm-platform-vllm")
    dash: dict[str, Any] = json.loads(board.inputs["data"]["llm-platform-vllm.json"])
    return [p["title"] for p in dash["panels"] if p["type"] != "row"]


def test_vllm_dashboard_has_the_serving_panels() -> None:
    titles = vllm_panels(rendered(gpu_box()))
    for wanted in (
        "Requests running / waiting",
        "Time to first token",
        "End-to-end latency",
        "Tokens per second",
        "KV-cache usage",
        "Prefix-cache hit rate",
        "Preemptions per second",
        "Finished requests by reason",
        "Replicas",
    ):
        assert wanted in titles


def test_dcgm_exporter_emits_only_what_the_gpu_family_has(tmp_path: Path) -> None:
    rtx = release(rendered(gpu_box()), "gpu-system/dcgm-exporter").inputs["values"]
    assert "DCGM_FI_DEV_GPU_UTIL" in rtx["customMetrics"]
    assert "DCGM_FI_PROF_" not in rtx["customMetrics"]
    assert rtx["serviceMonitor"] == {"enabled": True, "honorLabels": True}
    raw = gpu_box()
    raw["nodePools"][0]["gpu"] = "h100-80gb"
    h100 = rendered(raw)
    values = release(h100, "gpu-system/dcgm-exporter").inputs["values"]
    assert "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE" in values["customMetrics"]
    assert release(h100, "gpu-system/dcgm-exporter").urn  # and it waits for the CRDs:
    assert release(h100, KPS).urn in release(h100, "gpu-system/dcgm-exporter").depends_on


def test_cpu_stack_has_no_gpu_metrics() -> None:
    names = {r.name for r in by_type(rendered(cpu_laptop()), "helm.sh/v3:Release")}
    assert "gpu-system/dcgm-exporter" not in names


def test_logs_go_to_loki_with_pod_and_model_labels() -> None:
    result = rendered(gpu_box())
    loki = release(result, "logging/loki").inputs["values"]
    assert loki["deploymentMode"] == "Monolithic"
    assert loki["loki"]["limits_config"]["retention_period"] == "30d"
    assert loki["loki"]["compactor"]["retention_enabled"] is True
    assert loki["singleBinary"]["persistence"]["storageClass"] == "local-path"
    alloy = release(result, "logging/alloy").inputs["values"]["alloy"]["configMap"]["content"]
    for label in ('"namespace"', '"pod"', '"container"', '"model"'):
        assert f"target_label  = {label}" in alloy
    assert "http://loki.logging.svc:3100/loki/api/v1/push" in alloy
    assert "__meta_kubernetes_pod_annotation_llm_platform_io_served_model_name" in alloy


def test_release_values_are_plain_yaml() -> None:
    for r in by_type(rendered(gpu_box()), "helm.sh/v3:Release"):
        yaml.safe_dump(r.inputs["values"])  # nothing Pulumi-specific leaks into values
