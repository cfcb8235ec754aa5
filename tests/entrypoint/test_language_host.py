"""`pulumi up` runs infra/ through the Python language host: the same path must work here."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from infra.root import PROJECT_ROOT
from tests.helpers import STACKS, planned, raw_config

SHIM = Path(__file__).with_name("host_shim.py")


def host(
    stack: str,
    root: Path = PROJECT_ROOT,
    references: Path | None = None,
    stack_file: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SHIM_STACK_REFERENCES": str(references)} if references else None
    return subprocess.run(
        [sys.executable, str(SHIM), str(root), stack, *([str(stack_file)] if stack_file else [])],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )


# One stack per cluster kind (kind, an existing cluster, GKE): the import path and the
# providers differ by kind; the GKE secondary also reads its primary by StackReference.
HOST_STACKS = {"kind": "dev", "existing": "single-4090d", "gke": "dr-secondary"}


def test_every_cluster_kind_is_covered() -> None:
    kinds = {str(raw_config(s)["cluster"].get("provider", "existing")) for s in STACKS}
    assert kinds == set(HOST_STACKS)


@pytest.mark.parametrize("stack", sorted(HOST_STACKS.values()))
def test_infra_runs_as_the_language_host_runs_it(stack: str, tmp_path: Path) -> None:
    # A secondary DR stack reads its primary: serve the primary's planned outputs.
    references = tmp_path / "references.json"
    references.write_text(
        json.dumps({"acme/llm-platform/dr-primary": planned("dr-primary").outputs})
    )
    done = host(stack, references=references)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["cwd"] == str(PROJECT_ROOT / "infra")  # Pulumi.yaml's main
    types = set(seen["types"])
    assert "llm-platform:platform:Platform" in types
    assert any(t.endswith("ModelServer") for t in types)
    assert all(seen["paths"].values()), seen["paths"]


def test_paths_handed_to_providers_resolve_where_pulumi_starts_them() -> None:
    """The vendored charts, a Helm post-renderer (the pooled example's endpoint picker) and
    the image builds (single-4090d builds its images) name files that exist from infra/,
    where Pulumi starts pulumi-kubernetes and pulumi-docker."""
    pooled = host("pool-and-sleep", stack_file=PROJECT_ROOT / "examples/Pulumi.pool-and-sleep.yaml")
    built = host("single-4090d")
    assert pooled.returncode == 0 and built.returncode == 0, pooled.stderr + built.stderr
    paths = {**json.loads(pooled.stdout)["paths"], **json.loads(built.stdout)["paths"]}
    assert "../scripts/harden-pods" in paths
    assert {"../charts/inferencepool-v1.5.0", "../charts/kube-prometheus-stack-88.5.3"} <= set(
        paths
    )
    assert {"..", "../images/vllm/Dockerfile", "../images/model-loader/Dockerfile"} <= set(paths)
    assert all(paths.values()), paths


def test_bad_config_reaches_the_host_as_a_run_error(tmp_path: Path) -> None:
    (tmp_path / "stacks").mkdir()
    text = (PROJECT_ROOT / "stacks/Pulumi.single-4090d.yaml").read_text()
    (tmp_path / "stacks/Pulumi.bad.yaml").write_text(
        text.replace("maxReplicas: 2", "maxReplicas: 3")
    )
    (tmp_path / "infra").symlink_to(PROJECT_ROOT / "infra")
    (tmp_path / "Pulumi.yaml").symlink_to(PROJECT_ROOT / "Pulumi.yaml")
    done = host("bad", root=tmp_path)
    assert done.returncode == 32, done.stderr
    assert (
        "error: stacks/Pulumi.bad.yaml: llm-platform:autoscaling.maxReplicas: 1 replica(s) of "
        "'qwen2-5-7b' do not fit"
    ) in done.stderr
    assert "Traceback" not in done.stderr
