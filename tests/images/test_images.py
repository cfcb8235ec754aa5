"""Our images: Dockerfiles that match what the Deployments assume, built or not built."""

import importlib.resources
from pathlib import Path
from typing import Any

import pytest
from dockerfile_parse import DockerfileParser

from infra.catalog.versions import IMAGES
from infra.config import ServingPolicy
from infra.manifests.model_server import LOADER_MOUNT, LOADER_PACKAGE
from infra.planning.vllm_args import CACHE_MOUNT, HF_HOME, SCRATCH_MOUNT, VLLM_COMMAND, model_path
from infra.root import PROJECT_ROOT
from model_loader.loader import model_dir
from policies import config as policy_config
from policies.review import review
from tests.builders import cpu_laptop, gpu_box, rendered
from tests.helpers import container, one, plan_of, pod_spec, raw_config

VLLM = PROJECT_ROOT / "images/vllm/Dockerfile"
LOADER = PROJECT_ROOT / "images/model-loader/Dockerfile"


def parse(path: Path) -> DockerfileParser:
    return DockerfileParser(path=str(path))


def instructions(d: DockerfileParser, kind: str) -> list[str]:
    return [i["value"] for i in d.structure if i["instruction"] == kind]


@pytest.mark.parametrize(("path", "catalog"), [(VLLM, "vllm"), (LOADER, "python")])
def test_base_image_is_the_catalog_pin(path: Path, catalog: str) -> None:
    d = parse(path)
    assert d.baseimage == IMAGES[catalog].ref
    assert ":" in d.baseimage.rsplit("/", 1)[-1] and not d.baseimage.endswith(":latest")


@pytest.mark.parametrize("path", [VLLM, LOADER])
def test_runs_as_the_non_root_uid_the_pods_use(path: Path) -> None:
    d = parse(path)
    [user] = instructions(d, "USER")
    uid = d.args["UID"]
    assert user == "${UID}:${UID}" and uid == str(ServingPolicy().run_as_user) != "0"
    assert d.envs["HOME"] == SCRATCH_MOUNT  # the pod's writable scratch volume


def test_vllm_image_caches_where_the_deployment_mounts_them() -> None:
    d = parse(VLLM)
    assert d.envs["HF_HOME"] == HF_HOME and d.envs["HF_HUB_OFFLINE"] == "1"
    assert any(f"mkdir -p {CACHE_MOUNT}" in run for run in instructions(d, "RUN"))
    assert instructions(d, "ENTRYPOINT") == ['["vllm", "serve"]'] and VLLM_COMMAND == [
        "vllm",
        "serve",
    ]
    assert d.envs["PYTHONPATH"] == LOADER_MOUNT


def test_loader_image_runs_the_loader_against_the_cache_mount() -> None:
    d = parse(LOADER)
    assert d.envs["MODEL_CACHE"] == CACHE_MOUNT and d.envs["PYTHONPATH"] == LOADER_MOUNT
    assert instructions(d, "ENTRYPOINT") == [f'["python3", "-m", "{LOADER_PACKAGE}"]']


def test_build_context_sends_only_the_loader() -> None:
    ignore = (PROJECT_ROOT / ".dockerignore").read_text().split()
    assert ignore[ignore.index("*") + 1] == "!model_loader/"
    for path in (VLLM, LOADER):
        assert [c for c in instructions(parse(path), "COPY")] == [
            "--chown=0:0 model_loader/ /opt/model-loader/model_loader/"
        ]


def test_the_loader_writes_where_vllm_reads() -> None:
    plan = plan_of(gpu_box()).models[0]
    assert str(model_dir(Path(CACHE_MOUNT), plan.model.model, plan.model.revision)) == (
        model_path(plan)
    )


# ----------------------------------------------------------------------- under mocks


def test_without_a_build_pods_use_pinned_public_images_and_the_loader_config_map(
    tmp_path: Path,
) -> None:
    raw = gpu_box()
    raw["images"] = {"build": False}
    result = rendered(raw)
    deployment = one(result, "apps/v1:Deployment")
    assert container(deployment)["image"] == IMAGES["vllm"].ref
    [init] = pod_spec(deployment)["initContainers"]
    assert init["image"] == IMAGES["vllm"].ref
    assert init["command"] == ["python3", "-m", LOADER_PACKAGE]
    config_map = one(result, "core/v1:ConfigMap", "llm-serving/qwen2-5-7b-model-loader")
    package = importlib.resources.files(LOADER_PACKAGE)
    assert config_map.inputs["data"]["loader.py"] == package.joinpath("loader.py").read_text()
    assert not [r for r in result.resources if r.type.startswith("docker:")]
    dev = one(rendered(cpu_laptop()), "apps/v1:Deployment")
    assert (
        dev.inputs["spec"]["template"]["spec"]["containers"][0]["image"] == IMAGES["vllm-cpu"].ref
    )


def test_without_a_build_a_pinned_digest_is_what_pods_run_and_passes_production() -> None:
    digest = "sha256:" + "cd" * 32
    raw = gpu_box()
    raw["images"] = {"build": False, "vllmDigest": digest}
    result = rendered(raw)
    deployment = one(result, "apps/v1:Deployment")
    pinned = f"{IMAGES['vllm'].ref}@{digest}"
    assert container(deployment)["image"] == pinned
    [init] = pod_spec(deployment)["initContainers"]
    assert init["image"] == pinned
    production = policy_config.load("production")
    assert not [v for v in review(result.resources, production) if v.policy == "images-pinned"]
    # The same stack without the digest fails production's digest rule.
    raw["images"] = {"build": False}
    unpinned = review(rendered(raw).resources, production)
    assert [v for v in unpinned if v.policy == "images-pinned" and "no digest" in v.message]


def build(tmp_path: Path, stack: str, **images: Any) -> Any:
    raw = raw_config(stack)
    raw["images"] = {"build": True, "registry": "registry.example.com/llm", **images}
    return rendered(raw)


def test_with_a_build_pods_use_the_pushed_digests(tmp_path: Path) -> None:
    result = build(tmp_path, "single-4090d")
    images = {r.name: r for r in result.resources if r.type == "docker:index/image:Image"}
    assert set(images) == {"vllm", "model-loader"}
    deployment = one(result, "apps/v1:Deployment")
    server = container(deployment)["image"]
    assert server.startswith("registry.example.com/llm/vllm@sha256:")
    [init] = pod_spec(deployment)["initContainers"]
    assert init["image"].startswith("registry.example.com/llm/model-loader@sha256:")
    assert not [r for r in result.resources if r.name.endswith("-model-loader")]
    build_args = images["vllm"].inputs["build"]
    assert build_args["args"] == {"VLLM_IMAGE": IMAGES["vllm"].ref}
    assert build_args["dockerfile"] == "images/vllm/Dockerfile"


def test_cpu_stack_builds_the_cpu_variant_with_a_pinned_digest(tmp_path: Path) -> None:
    digest = "sha256:" + "ab" * 32
    result = build(tmp_path, "dev", vllmCpuDigest=digest)
    images = {r.name: r for r in result.resources if r.type == "docker:index/image:Image"}
    assert set(images) == {"vllm-cpu", "model-loader"}
    assert images["vllm-cpu"].inputs["build"]["args"] == {
        "VLLM_IMAGE": f"{IMAGES['vllm-cpu'].ref}@{digest}"
    }
    assert container(one(result, "apps/v1:Deployment"))["image"].startswith(
        "registry.example.com/llm/vllm-cpu@sha256:"
    )


def test_the_loader_image_pins_the_boto3_the_s3_tests_run_with() -> None:
    """S3 snapshots are loaded with boto3 in the loader image; the tests judge that version."""
    args = dict(
        a.split("=", 1)
        for a in instructions(parse(PROJECT_ROOT / "images/model-loader/Dockerfile"), "ARG")
        if "=" in a
    )
    pyproject = (PROJECT_ROOT / "pyproject.toml").read_text()
    assert f'"boto3=={args["BOTO3_VERSION"]}"' in pyproject
