"""Resources and their wiring, under Pulumi's mock engine."""

from pathlib import Path
from typing import Any

import pytest

from infra.config import ConfigError
from infra.engine import Recorded, RunResult, run, run_entry_point
from infra.manifests.common import POOL_TAINT
from infra.stack_file import read_stack_file
from tests.builders import cpu_laptop, gpu_box, rendered
from tests.helpers import (
    by_type,
    container,
    fixed_replicas,
    one,
    planned,
    pod_spec,
)

DEPLOYMENT = "kubernetes:apps/v1:Deployment"


def plan_raw(raw: dict[str, Any], **secure: str) -> RunResult:
    return rendered(raw, secure)


ALL_COMPONENTS = {
    "llm-platform:platform:Platform",
    "llm-platform:nodes:GpuNodePool",
    "llm-platform:gpu:GpuRuntime",
    "llm-platform:serving:ModelServer",
    "llm-platform:observability:Observability",
    "llm-platform:autoscaling:Autoscaling",
    "llm-platform:gateway:Gateway",
    "llm-platform:security:NetworkPolicies",
    "llm-platform:chat:ChatUi",
    "llm-platform:images:Images",
}


@pytest.mark.parametrize("stack", ["dev", "single-4090d"])
def test_components_use_our_type_tokens_and_parent_every_child(stack: str) -> None:
    result = planned(stack)
    urns = {r.urn for r in result.resources}
    tokens = {r.type for r in result.resources if r.type.startswith("llm-platform:")}
    assert tokens <= ALL_COMPONENTS
    gpu_only = {"llm-platform:nodes:GpuNodePool", "llm-platform:gpu:GpuRuntime"}
    built = {"llm-platform:images:Images"}  # production stacks build their images
    unused = gpu_only | built if stack == "dev" else {"llm-platform:chat:ChatUi"}
    expected = ALL_COMPONENTS - unused
    assert tokens == expected
    for r in result.resources:
        if r.type != "llm-platform:platform:Platform":
            assert r.parent in urns, f"{r.type} {r.name} has no parent inside the platform"


def test_gpu_pods_select_and_tolerate_exactly_their_pool() -> None:
    result = rendered(gpu_box())
    patch = one(result, "core/v1:NodePatch")
    deployment = one(result, DEPLOYMENT)
    spec = pod_spec(deployment)
    node_labels = patch.inputs["metadata"]["labels"]
    assert all(node_labels[k] == v for k, v in spec["nodeSelector"].items())
    [taint] = patch.inputs["spec"]["taints"]
    assert taint["key"] == POOL_TAINT and taint["effect"] == "NoSchedule"
    assert [{k: t[k] for k in ("key", "value", "effect")} for t in spec["tolerations"]] == [taint]
    assert spec["runtimeClassName"] == "nvidia"


def test_gpu_requests_equal_limits_equal_tensor_parallel() -> None:
    vllm = container(one(rendered(gpu_box()), DEPLOYMENT))
    assert vllm["resources"]["requests"] == vllm["resources"]["limits"]
    assert vllm["resources"]["limits"]["nvidia.com/gpu"] == "2"


def test_tp_pods_mount_in_memory_shm_and_single_gpu_pods_do_not(tmp_path: Path) -> None:
    spec = pod_spec(one(rendered(gpu_box()), DEPLOYMENT))
    shm = next(v for v in spec["volumes"] if v["name"] == "dshm")
    assert shm["emptyDir"] == {"medium": "Memory", "sizeLimit": "2Gi"}
    assert {"name": "dshm", "mountPath": "/dev/shm"} in container(
        one(rendered(gpu_box()), DEPLOYMENT)
    )["volumeMounts"]
    raw = gpu_box()
    raw["models"][0].update(tensorParallel=1)
    single = pod_spec(one(plan_raw(raw), DEPLOYMENT))
    assert all(v["name"] != "dshm" for v in single["volumes"])


def test_probes_and_drain_are_wired_from_the_budgets() -> None:
    deployment = one(rendered(gpu_box()), DEPLOYMENT)
    vllm, spec = container(deployment), pod_spec(deployment)
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert vllm[probe]["httpGet"] == {"path": "/health", "port": "http"}
    assert vllm["startupProbe"]["failureThreshold"] * vllm["startupProbe"]["periodSeconds"] >= 150
    pre_stop = vllm["lifecycle"]["preStop"]["sleep"]["seconds"]
    shutdown = int(vllm["args"][vllm["args"].index("--shutdown-timeout") + 1])
    assert spec["terminationGracePeriodSeconds"] > pre_stop + shutdown


def test_full_pool_rolls_without_surge_and_pdb_keeps_one_replica() -> None:
    result = rendered(gpu_box())
    strategy = one(result, DEPLOYMENT).inputs["spec"]["strategy"]["rollingUpdate"]
    assert strategy == {"maxSurge": 0, "maxUnavailable": 1}
    pdb = one(result, "PodDisruptionBudget")
    assert pdb.inputs["spec"]["maxUnavailable"] == 1


def test_single_fixed_replica_gets_no_pdb(tmp_path: Path) -> None:
    raw = fixed_replicas(cpu_laptop(), 1)
    assert by_type(plan_raw(raw), "PodDisruptionBudget") == []


def test_service_selects_the_pods_without_a_version_label() -> None:
    result = rendered(gpu_box())
    service = one(result, "core/v1:Service", "llm-serving/qwen2-5-7b")
    deployment = one(result, DEPLOYMENT)
    selector = service.inputs["spec"]["selector"]
    assert selector == deployment.inputs["spec"]["selector"]["matchLabels"]
    template_labels = deployment.inputs["spec"]["template"]["metadata"]["labels"]
    assert selector.items() <= template_labels.items()
    assert "app.kubernetes.io/version" not in selector


def test_model_cache_is_filled_once_by_the_init_container_and_read_only_after() -> None:
    deployment = one(rendered(gpu_box()), DEPLOYMENT)
    spec = pod_spec(deployment)
    [init] = spec["initContainers"]
    env = {e["name"]: e.get("value") for e in init["env"]}
    assert env["MODEL_REVISION"] == "a09a35458c702b33eeacc393d103063234e8bc28"
    assert {"name": "model-cache", "mountPath": "/models"} in init["volumeMounts"]
    cache_mount = next(
        m for m in container(deployment)["volumeMounts"] if m["name"] == "model-cache"
    )
    assert cache_mount["readOnly"] is True
    claim = one(rendered(gpu_box()), "PersistentVolumeClaim", "llm-serving/qwen2-5-7b-model-cache")
    assert claim.inputs["spec"]["storageClassName"] == "local-path"
    assert claim.inputs["spec"]["accessModes"] == ["ReadWriteOnce"]  # one node


def test_compiled_graphs_outlive_the_pod_where_the_model_cache_is_shared() -> None:
    result = rendered(gpu_box())
    claim = one(result, "PersistentVolumeClaim", "llm-serving/qwen2-5-7b-compile-cache")
    assert claim.inputs["spec"]["accessModes"] == ["ReadWriteOnce"]  # like the model cache
    vllm = container(one(result, DEPLOYMENT))
    env = {e["name"]: e["value"] for e in vllm["env"]}
    assert env["VLLM_CACHE_ROOT"] == "/var/cache/vllm"
    assert env["TRITON_CACHE_DIR"] == "/var/cache/vllm/triton"
    assert {"name": "compile-cache", "mountPath": "/var/cache/vllm"} in vllm["volumeMounts"]
    volumes = {v["name"]: v for v in pod_spec(one(result, DEPLOYMENT))["volumes"]}
    assert volumes["compile-cache"]["persistentVolumeClaim"]["claimName"] == (
        "qwen2-5-7b-compile-cache"
    )


def test_per_pod_caches_compile_into_scratch() -> None:
    # Cloud pools give every pod its own disk: nothing outlives the pod to share.
    result = planned("dr-primary")
    assert not [
        r for r in by_type(result, "PersistentVolumeClaim") if r.name.endswith("compile-cache")
    ]
    env = {e["name"]: e["value"] for e in container(one(result, DEPLOYMENT))["env"]}
    assert env["VLLM_CACHE_ROOT"] == "/tmp/vllm"


def test_containers_are_hardened() -> None:
    for stack in ("single-4090d", "dev"):
        spec = pod_spec(one(planned(stack), DEPLOYMENT))
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["automountServiceAccountToken"] is False
        for c in spec["containers"] + spec["initContainers"]:
            ctx = c["securityContext"]
            assert ctx["allowPrivilegeEscalation"] is False
            assert ctx["capabilities"] == {"drop": ["ALL"]}
            assert ctx["seccompProfile"] == {"type": "RuntimeDefault"}
            assert ctx["readOnlyRootFilesystem"] is True
    ns = one(rendered(gpu_box()), "core/v1:Namespace", "llm-serving")
    assert ns.inputs["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_device_plugin_is_pinned_and_only_on_gpu_pools() -> None:
    release = one(rendered(gpu_box()), "helm.sh/v3:Release", "gpu-system/nvidia-device-plugin")
    assert (release.inputs["chart"], release.inputs["version"]) == (
        "charts/nvidia-device-plugin-0.20.0",  # the vendored folder, from the working directory
        "0.20.0",
    )
    assert "repositoryOpts" not in release.inputs
    values = release.inputs["values"]
    term = values["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert term["nodeSelectorTerms"][0]["matchExpressions"][0]["values"] == ["rtx4090d"]
    assert values["runtimeClassName"] == "nvidia"
    assert "sharing" not in values["config"]["map"]["exclusive"]
    dev = [r.name for r in by_type(rendered(cpu_laptop()), "helm.sh/v3:Release")]
    assert "gpu-system/nvidia-device-plugin" not in dev  # no GPUs, no device plugin


def test_gpu_sharing_generates_time_slicing_for_its_pool(tmp_path: Path) -> None:
    raw = gpu_box()
    raw["models"][0].update(
        model="Qwen/Qwen2.5-0.5B-Instruct",
        tensorParallel=1,
        gpuShare=2,
        servedModelName="small",
    )
    fixed_replicas(raw, 8)
    result = plan_raw(raw)
    values = one(result, "helm.sh/v3:Release", "gpu-system/nvidia-device-plugin").inputs["values"]
    assert "replicas: 2" in values["config"]["map"]["time-sliced-2"]
    assert "failRequestsGreaterThanOne: true" in values["config"]["map"]["time-sliced-2"]
    labels = one(result, "NodePatch").inputs["metadata"]["labels"]
    assert labels["nvidia.com/device-plugin.config"] == "time-sliced-2"
    vllm = container(one(result, DEPLOYMENT))
    assert vllm["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert vllm["args"][vllm["args"].index("--gpu-memory-utilization") + 1] == "0.46"


def test_models_wait_for_their_namespace_pool_and_device_plugin() -> None:
    result = rendered(gpu_box())
    server = one(result, "llm-platform:serving:ModelServer")
    # A dependency on a component is a dependency on each resource inside it.
    wanted = {
        one(result, "NodePatch").urn,
        one(result, "helm.sh/v3:Release", "gpu-system/nvidia-device-plugin").urn,
        one(result, "core/v1:Namespace", "llm-serving").urn,
    }
    assert wanted <= set(server.depends_on)


def test_hf_token_is_a_secret_everywhere(tmp_path: Path) -> None:
    raw = gpu_box()
    result = plan_raw(raw, hfToken="v1:AAAAencrypted")
    secret = one(result, "core/v1:Secret", "llm-serving/hf-token")
    assert secret.secret_paths == ["stringData"]
    assert secret.inputs["stringData"] == {"token": "[secret]"}
    [init] = pod_spec(one(result, DEPLOYMENT))["initContainers"]
    token = next(e for e in init["env"] if e["name"] == "HF_TOKEN")
    assert token["valueFrom"]["secretKeyRef"] == {"name": "hf-token", "key": "token"}
    assert "offline-placeholder-secret" not in str([r.inputs for r in result.resources])


def test_plain_hf_token_is_refused(tmp_path: Path) -> None:
    raw = gpu_box()
    raw["hfToken"] = "hf_plaintext"
    with pytest.raises(ConfigError) as caught:
        plan_raw(raw)
    assert caught.value.lines()[0].endswith(
        "llm-platform:hfToken: must be a secret: pulumi config set --secret hfToken"
    )


def test_bad_config_registers_nothing() -> None:
    config, secrets = read_stack_file(
        Path(__file__).parents[2] / "stacks/Pulumi.single-4090d.yaml", "x"
    )
    config["llm-platform:models"] = config["llm-platform:models"].replace(
        '"tensorParallel": 2', '"tensorParallel": 3'
    )
    recorded: list[Recorded] = []
    with pytest.raises(ConfigError):
        run(
            run_entry_point, stack="single-4090d", config=config, secret_keys=secrets, sink=recorded
        )
    assert recorded == []


def test_charts_come_from_their_repositories_only_when_told() -> None:
    upstream = rendered(gpu_box(charts={"source": "upstream"}))
    plugin = one(upstream, "helm.sh/v3:Release", "gpu-system/nvidia-device-plugin")
    assert plugin.inputs["chart"] == "nvidia-device-plugin"
    assert plugin.inputs["repositoryOpts"] == {"repo": "https://nvidia.github.io/k8s-device-plugin"}
    gateway = one(upstream, "helm.sh/v3:Release", "envoy-gateway-system/envoy-gateway")
    assert gateway.inputs["chart"] == "oci://docker.io/envoyproxy/gateway-helm"
    for release in by_type(rendered(gpu_box()), "helm.sh/v3:Release"):
        assert release.inputs["chart"].startswith("charts/"), release.name
        assert "repositoryOpts" not in release.inputs, release.name
