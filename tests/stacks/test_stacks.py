"""Every shipped stack plans offline, and every object it writes is schema-valid."""

import json
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from infra.catalog.versions import CHARTS, SUPPORTED_KUBERNETES
from infra.config import json_schema
from infra.plan import main, manifest_of, plan_stack, write
from infra.root import PROJECT_ROOT
from tests import crd_schema
from tests.helpers import STACKS, planned

CUSTOM_GROUPS = {
    "keda.sh",
    "monitoring.coreos.com",
    "gateway.networking.k8s.io",
    "gateway.envoyproxy.io",
    "aigateway.envoyproxy.io",
    "cert-manager.io",
    "externaldns.k8s.io",
    "inference.networking.k8s.io",
}
REQUIRED_LABELS = {
    f"app.kubernetes.io/{k}" for k in ("name", "instance", "component", "part-of", "managed-by")
}


def manifests(stack: str) -> list[dict[str, Any]]:
    return [m for r in planned(stack).resources if (m := manifest_of(r)) is not None]


def k8s_objects(stack: str) -> list[dict[str, Any]]:
    """Built-in Kubernetes kinds (custom resources are checked against their CRDs)."""
    return [
        m
        for m in manifests(stack)
        if m["kind"] != "HelmRelease" and m["apiVersion"].split("/")[0] not in CUSTOM_GROUPS
    ]


def test_the_required_stacks_exist() -> None:
    assert {"dev", "single-4090d"} <= set(STACKS)


@pytest.mark.parametrize("version", SUPPORTED_KUBERNETES)
@pytest.mark.parametrize("stack", STACKS)
def test_every_object_is_valid_against_the_kubernetes_schema_strict(
    stack: str, version: str
) -> None:
    objects = k8s_objects(stack)
    assert objects
    for obj in objects:
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            where = ".".join(map(str, exc.path))
            pytest.fail(
                f"{obj['kind']}/{obj['metadata']['name']} on {version}: {where}: {exc.message}"
            )


@pytest.mark.parametrize("stack", STACKS)
def test_objects_carry_the_recommended_labels(stack: str) -> None:
    for obj in k8s_objects(stack):
        if obj["kind"] == "Node":  # a patch of a node we do not own
            continue
        assert set(obj["metadata"]["labels"]) >= REQUIRED_LABELS, obj["metadata"]["name"]


@pytest.mark.parametrize("stack", STACKS)
def test_helm_releases_install_the_vendored_chart_of_each_pin(stack: str) -> None:
    vendored = {c.vendored: c.version for c in CHARTS.values()}
    releases = [m for m in manifests(stack) if m["kind"] == "HelmRelease"]
    assert releases
    for release in releases:
        assert "repository" not in release, release["name"]  # no chart repository reached
        assert release["version"] == vendored[release["vendored"]], release["name"]


@pytest.mark.parametrize("stack", STACKS)
def test_plan_is_deterministic(stack: str) -> None:
    again = plan_stack(stack)
    assert [r.as_json() for r in again.resources] == [r.as_json() for r in planned(stack).resources]


@pytest.mark.parametrize("stack", STACKS)
def test_plan_cli_succeeds_for_every_stack(
    stack: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--stack", stack, "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Capacity plan")
    assert any((tmp_path / "manifests").rglob("Deployment-*.yaml"))


def test_plan_cli_writes_resources_manifests_and_the_capacity_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--stack", "single-4090d", "--out", str(tmp_path)]) == 0
    resources = json.loads((tmp_path / "resources.json").read_text())
    keys = {"type", "name", "urn", "parent", "inputs", "secret_paths", "dependsOn"}
    assert all(keys <= set(r) for r in resources)
    # The order a `pulumi up` follows, by name: the vLLM Deployment waits for its cache
    # claim and its component, which waits for the namespace.
    by_label = {f"{r['type']} {r['name']}": r for r in resources}
    deployment_entry = by_label["kubernetes:apps/v1:Deployment llm-serving/qwen2-5-7b"]
    component = "llm-platform:serving:ModelServer qwen2-5-7b"
    claim = "kubernetes:core/v1:PersistentVolumeClaim llm-serving/qwen2-5-7b-model-cache"
    assert {component, claim} <= set(deployment_entry["dependsOn"])
    assert "kubernetes:core/v1:Namespace llm-serving" in by_label[component]["dependsOn"]
    deployment = yaml.safe_load(
        (tmp_path / "manifests/llm-serving/Deployment-qwen2-5-7b.yaml").read_text()
    )
    assert list(deployment)[:3] == ["apiVersion", "kind", "metadata"]
    release = yaml.safe_load(
        (tmp_path / "manifests/gpu-system/HelmRelease-nvidia-device-plugin.yaml").read_text()
    )
    assert release["vendored"] == "charts/nvidia-device-plugin-0.20.0"  # from the root
    out = capsys.readouterr().out
    # Per replica: KV budget/GPU, KV tokens, max concurrency at 32K, the first install's
    # budget and the await it gets; in 120 columns (`--wide`: every figure).
    lines = out.splitlines()
    row = next(line for line in lines if line.startswith("qwen2-5-7b"))
    for value in ("13.67", "511872", "32768", "15.62", "986", "1020"):
        assert value in row.split()
    assert all(len(line) <= 120 for line in lines), max(lines, key=len)
    assert main(["--stack", "single-4090d", "--out", str(tmp_path), "--wide", "--no-review"]) == 0
    wide = next(r for r in capsys.readouterr().out.splitlines() if r.startswith("qwen2-5-7b"))
    assert {"7.16", "0.92"} <= set(wide.split())  # weights GiB/GPU, utilization
    # capacity.json: the same figures, machine-readable, with the startup budget's parts.
    capacity = json.loads((tmp_path / "capacity.json").read_text())["qwen2-5-7b"]
    assert capacity["replicas"] == {"min": 1, "max": 2}  # numbers, not "1–2"
    assert capacity["weightsGiBPerGpu"] == 7.16 and capacity["kvCacheGiBPerGpu"] == 13.67
    assert capacity["kvTokensPerReplica"] == 511872 and capacity["kvBlockTokens"] == 16
    assert capacity["kvBytesPerTokenPerGpu"] == 28672 and capacity["pipelineParallel"] == 1
    assert capacity["maxConcurrencyAtMaxLen"] == 15.62 and capacity["device"] == "rtx-4090d"
    assert set(capacity["startupParts"]) == {"readWeights", "torchCompile", "cudaGraphCapture"}
    assert capacity["startupBudgetSeconds"] >= capacity["startupEstimateSeconds"]


def test_plan_cli_refuses_a_bad_config_with_exit_2_and_no_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    text = (PROJECT_ROOT / "stacks/Pulumi.single-4090d.yaml").read_text()
    bad.write_text(text.replace("tensorParallel: 2", "tensorParallel: 3"))
    assert (
        main(["--stack", "single-4090d", "--config-file", str(bad), "--out", str(tmp_path / "out")])
        == 2
    )
    err = capsys.readouterr().err
    assert err.startswith(
        f"{bad}: llm-platform:models[0].tensorParallel: 3 is not valid for "
        "Qwen/Qwen2.5-7B-Instruct: it does not divide"
    )
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()  # nothing written


def test_plan_cli_names_a_missing_stack_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--stack", "nope"]) == 2
    assert capsys.readouterr().err.strip() == "stacks/Pulumi.nope.yaml: no such stack file"


def test_invalid_yaml_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("config:\n  llm-platform:models: [unclosed\n")
    assert main(["--stack", "x", "--config-file", str(bad)]) == 2
    assert "not valid YAML" in capsys.readouterr().err


def test_writing_twice_replaces_the_previous_output(tmp_path: Path) -> None:
    write(planned("single-4090d"), tmp_path)
    (tmp_path / "manifests" / "stale.yaml").write_text("old")
    write(planned("dev"), tmp_path)
    assert not (tmp_path / "manifests" / "stale.yaml").exists()


def test_checked_in_json_schema_matches_the_config_model() -> None:
    checked_in = json.loads((PROJECT_ROOT / "stacks/stack.schema.json").read_text())
    assert checked_in == json_schema(), "run `make schema` and commit stacks/stack.schema.json"


@pytest.mark.parametrize("stack", STACKS)
def test_stack_files_validate_against_the_exported_schema(stack: str) -> None:
    document = yaml.safe_load((PROJECT_ROOT / f"stacks/Pulumi.{stack}.yaml").read_text())
    jsonschema.validate(document, json_schema())


def test_schema_rejects_a_typo_an_editor_should_flag() -> None:
    document = {"config": {"llm-platform:models": [{"name": "a", "model": "o/m", "replicaz": 2}]}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, json_schema())


def test_pulumi_project_file_validates_against_pulumis_schema() -> None:
    # Pulumi's own project schema, vendored from the workplace's shared/pulumi (never skipped).
    schema_path = PROJECT_ROOT / "tests" / "schemas" / "pulumi-project.schema.json"
    project = yaml.safe_load((PROJECT_ROOT / "Pulumi.yaml").read_text())
    jsonschema.validate(project, json.loads(schema_path.read_text()))
    assert project["main"] == "infra/" and project["stackConfigDir"] == "stacks"
    assert project["runtime"]["options"]["virtualenv"] == ".venv"


@pytest.mark.parametrize("stack", STACKS)
def test_every_custom_resource_is_valid_against_its_upstream_crd(stack: str) -> None:
    custom = [
        m
        for m in manifests(stack)
        if m["kind"] != "HelmRelease" and m["apiVersion"].split("/")[0] in CUSTOM_GROUPS
    ]
    assert custom, "every stack declares custom resources"
    for obj in custom:
        assert crd_schema.known(obj), f"no CRD vendored for {obj['apiVersion']} {obj['kind']}"
        try:
            crd_schema.validate(obj)
        except jsonschema.ValidationError as exc:
            where = ".".join(map(str, exc.absolute_path))
            pytest.fail(f"{obj['kind']}/{obj['metadata']['name']}: {where}: {exc.message}")


def test_crd_validation_refuses_an_unknown_field() -> None:
    scaled = next(m for m in manifests("single-4090d") if m["kind"] == "ScaledObject")
    broken = {**scaled, "spec": {**scaled["spec"], "maxReplicas": 3}}
    with pytest.raises(jsonschema.ValidationError):
        crd_schema.validate(broken)
