"""Where the weights are cached when replicas span nodes, and one download per model."""

from __future__ import annotations

from typing import Any

from tests.builders import QWEN_05B, QWEN_05B_REVISION, gpu_box, rendered
from tests.helpers import by_type, fixed_replicas, plan_of, pod_spec


def two_nodes(**cache: Any) -> dict[str, Any]:
    """The 4090D box plus a second one: two TP=2 replicas, one per node."""
    raw = fixed_replicas(gpu_box(), 2)
    raw["nodePools"][0]["nodes"] = ["gpu-box", "gpu-box-2"]
    raw["models"][0]["cache"] = {"storageClass": "local-path", **cache}
    return raw


def claims(result: Any) -> dict[str, dict[str, Any]]:
    return {
        r.inputs["metadata"]["name"]: r.inputs["spec"]
        for r in by_type(result, "core/v1:PersistentVolumeClaim")
    }


def test_node_local_storage_on_several_nodes_gives_each_pod_its_own_cache() -> None:
    [plan] = plan_of(two_nodes()).models
    assert plan.cache_per_pod
    assert "not listed in cluster.readWriteManyStorageClasses" in plan.cache_layout.reason
    result = rendered(two_nodes())
    assert "qwen2-5-7b-model-cache" not in claims(result)  # no RWX claim that never binds
    [deployment] = by_type(result, "apps/v1:Deployment")
    volumes = {v["name"]: v for v in pod_spec(deployment)["volumes"]}
    template = volumes["model-cache"]["ephemeral"]["volumeClaimTemplate"]["spec"]
    assert template["accessModes"] == ["ReadWriteOnce"]
    assert template["storageClassName"] == "local-path"


def test_a_listed_read_write_many_class_shares_one_volume_across_nodes() -> None:
    raw = two_nodes(storageClass="nfs-client")
    raw["cluster"]["readWriteManyStorageClasses"] = ["nfs-client", "cephfs"]
    [plan] = plan_of(raw).models
    assert not plan.cache_per_pod and plan.cache_access_mode == "ReadWriteMany"
    spec = claims(rendered(raw))["qwen2-5-7b-model-cache"]
    assert spec["accessModes"] == ["ReadWriteMany"]
    assert spec["storageClassName"] == "nfs-client"


def test_one_node_keeps_one_read_write_once_volume() -> None:
    [plan] = plan_of(gpu_box()).models
    assert not plan.cache_per_pod and plan.cache_access_mode == "ReadWriteOnce"
    assert plan.cache_layout.reason.startswith("every replica on one node")


def grouped() -> dict[str, Any]:
    """Two deployments of Qwen2.5-0.5B (weighted groups) on one shared-GPU box."""
    raw = gpu_box()
    raw["autoscaling"] = {"enabled": False}
    base = {
        "model": QWEN_05B,
        "revision": QWEN_05B_REVISION,
        "pool": "rtx4090d",
        "gpuShare": 2,
        "maxModelLen": 8192,
        "replicas": 4,
        "cache": {"storageClass": "local-path"},
    }
    raw["models"] = [
        {**base, "name": "qwen-a", "servedModelName": "qwen-a"},
        {**base, "name": "qwen-b", "servedModelName": "qwen-b", "cache": {
            "storageClass": "local-path", "sizeGib": 9}},
    ]  # fmt: skip
    raw["gateway"]["routes"] = [
        {
            "model": "qwen",
            "backends": [
                {"deployment": "qwen-a", "weight": 50},
                {"deployment": "qwen-b", "weight": 50},
            ],
        }
    ]
    return raw


def test_deployments_of_one_model_share_one_download() -> None:
    plans = {p.model.name: p for p in plan_of(grouped()).models}
    assert plans["qwen-a"].cache_claim == plans["qwen-b"].cache_claim == "qwen-a-model-cache"
    assert plans["qwen-a"].owns_cache_claim and not plans["qwen-b"].owns_cache_claim
    assert "shared by qwen-a, qwen-b" in plans["qwen-b"].cache_layout.reason
    result = rendered(grouped())
    model_claims = {n: s for n, s in claims(result).items() if n.endswith("-model-cache")}
    assert list(model_claims) == ["qwen-a-model-cache"]
    assert model_claims["qwen-a-model-cache"]["resources"]["requests"]["storage"] == "9Gi"
    for deployment in by_type(result, "apps/v1:Deployment"):
        volumes = {v["name"]: v for v in pod_spec(deployment)["volumes"]}
        assert volumes["model-cache"]["persistentVolumeClaim"]["claimName"] == (
            "qwen-a-model-cache"
        )
    summary = result.outputs["models"]["qwen-b"]["modelCache"]
    assert summary["sharedWith"] == "qwen-a" and summary["claim"] == "qwen-a-model-cache"
