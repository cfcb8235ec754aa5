"""`pulumi up` runs infra/ through the Python language host: the same path must work here."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from infra.engine import PROJECT_ROOT
from tests.helpers import STACKS, planned, raw_config

SHIM = Path(__file__).with_name("host_shim.py")


def host(
    stack: str, cwd: Path = PROJECT_ROOT, references: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SHIM_STACK_REFERENCES": str(references)} if references else None
    return subprocess.run(
        [sys.executable, str(SHIM), stack],
        cwd=cwd,
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
    types = set(json.loads(done.stdout))
    assert "llm-platform:platform:Platform" in types
    assert any(t.endswith("ModelServer") for t in types)


def test_bad_config_reaches_the_host_as_a_run_error(tmp_path: Path) -> None:
    (tmp_path / "stacks").mkdir()
    text = (PROJECT_ROOT / "stacks/Pulumi.single-4090d.yaml").read_text()
    (tmp_path / "stacks/Pulumi.bad.yaml").write_text(
        text.replace("maxReplicas: 2", "maxReplicas: 3")
    )
    (tmp_path / "infra").symlink_to(PROJECT_ROOT / "infra")
    done = host("bad", cwd=tmp_path)
    assert done.returncode == 32, done.stderr
    assert (
        "error: stacks/Pulumi.bad.yaml: llm-platform:autoscaling.maxReplicas: 1 replica(s) of "
        "'qwen2-5-7b' do not fit"
    ) in done.stderr
    assert "Traceback" not in done.stderr
