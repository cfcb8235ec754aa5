"""`make dev-up` / `make dev-down` (scripts/dev.sh), with fakes of kind, Docker, Pulumi and
kubectl on a sandboxed PATH: what it runs, and what it says when something is missing."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from infra.root import PROJECT_ROOT
from tests.helpers import raw_config

SCRIPT = PROJECT_ROOT / "scripts/dev.sh"
BASICS = ("bash", "dirname", "grep", "mkdir", "cat")
FAKE = """#!/usr/bin/env bash
echo "{name} $*" >> "$FAKE_LOG"
{body}
"""
BODIES = {
    "kind": """case "$1 $2" in
  "get clusters") cat "$FAKE_STATE" 2>/dev/null || true ;;
  "create cluster") echo llm-platform > "$FAKE_STATE" ;;
  "delete cluster") : > "$FAKE_STATE" ;;
esac""",
    "docker": 'if [ "$1" = info ]; then exit "${DOCKER_INFO_EXIT:-0}"; fi',
    "pulumi": "exit 0",
    "kubectl": "exit 0",
}


@pytest.fixture
def sandbox(tmp_path: Path) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in BASICS:
        found = shutil.which(tool)
        assert found, tool
        (bin_dir / tool).symlink_to(found)
    (bin_dir / "env").symlink_to(shutil.which("env") or "/usr/bin/env")
    return bin_dir


def add_fakes(bin_dir: Path, *names: str) -> None:
    for name in names:
        fake = bin_dir / name
        fake.write_text(FAKE.format(name=name, body=BODIES[name]))
        fake.chmod(0o755)


def run(bin_dir: Path, command: str, **env: str) -> subprocess.CompletedProcess[str]:
    tmp = bin_dir.parent
    environment = {
        "PATH": str(bin_dir),
        "FAKE_LOG": str(tmp / "calls"),
        "FAKE_STATE": str(tmp / "clusters"),
        "PULUMI_STATE_DIR": str(tmp / "state"),
        "HOME": str(tmp),
        **env,
    }
    return subprocess.run(
        [str(bin_dir / "bash"), str(SCRIPT), command],
        env=environment,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def calls(bin_dir: Path) -> list[str]:
    log = bin_dir.parent / "calls"
    return log.read_text().splitlines() if log.exists() else []


def test_missing_tools_are_named_with_how_to_install_them(sandbox: Path) -> None:
    done = run(sandbox, "up")
    assert done.returncode == 127
    lines = done.stderr.strip().splitlines()
    assert [line.split(":")[1].strip() for line in lines] == [
        "missing kind",
        "missing docker",
        "missing pulumi",
        "missing kubectl",
    ]
    assert "https://kind.sigs.k8s.io" in lines[0] and "pulumi.com/docs/install" in lines[2]


def test_only_the_missing_tool_is_named(sandbox: Path) -> None:
    add_fakes(sandbox, "kind", "docker", "kubectl")
    done = run(sandbox, "up")
    assert done.returncode == 127
    assert done.stderr.strip() == (
        "dev: missing pulumi: install the Pulumi CLI: https://www.pulumi.com/docs/install/"
    )
    assert calls(sandbox) == []  # nothing was started


def test_a_stopped_docker_engine_is_reported(sandbox: Path) -> None:
    add_fakes(sandbox, "kind", "docker", "pulumi", "kubectl")
    done = run(sandbox, "up", DOCKER_INFO_EXIT="1")
    assert done.returncode == 1
    assert "docker is installed but its engine is not running" in done.stderr
    assert not [c for c in calls(sandbox) if c.startswith(("kind", "pulumi"))]


def test_up_creates_the_cluster_once_and_runs_pulumi_up_on_a_local_backend(
    sandbox: Path,
) -> None:
    add_fakes(sandbox, "kind", "docker", "pulumi", "kubectl")
    done = run(sandbox, "up")
    assert done.returncode == 0, done.stderr
    state = sandbox.parent / "state"
    assert calls(sandbox) == [
        "docker info",
        "kind get clusters",
        "kind create cluster --name llm-platform --config kind/cluster.yaml",
        f"pulumi login file://{state}",
        "pulumi stack select dev --create --secrets-provider passphrase",
        "pulumi up --stack dev --yes",
    ]
    assert "port-forward svc/llm-gateway" in done.stdout
    (sandbox.parent / "calls").unlink()
    assert run(sandbox, "up").returncode == 0
    assert not [c for c in calls(sandbox) if c.startswith("kind create")]


def test_down_destroys_the_stack_and_deletes_the_cluster(sandbox: Path) -> None:
    add_fakes(sandbox, "kind", "docker", "pulumi", "kubectl")
    (sandbox.parent / "clusters").write_text("llm-platform\n")
    done = run(sandbox, "down")
    assert done.returncode == 0, done.stderr
    assert "pulumi destroy --stack dev --yes" in calls(sandbox)
    assert "kind delete cluster --name llm-platform" in calls(sandbox)


def test_kind_cluster_matches_the_dev_stack() -> None:
    kind = yaml.safe_load((PROJECT_ROOT / "kind/cluster.yaml").read_text())
    dev = raw_config("dev")["cluster"]
    assert kind["name"] == "llm-platform"  # context kind-llm-platform, the dev stack's default
    image = kind["nodes"][0]["image"]
    assert image.startswith(f"kindest/node:v{dev['kubernetesVersion']}.")


def test_readme_dev_commands_exist_in_the_makefile() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text()
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    fences = readme.split("```")[1::2]
    spans = re.findall(r"`([^`\n]+)`", "".join(readme.split("```")[0::2]))
    named = set(re.findall(r"\bmake ([a-z][a-z-]+)", "\n".join(fences + spans)))
    assert {"dev-up", "dev-down"} <= named
    for target in named:
        assert f"\n{target}:" in makefile, f"README names `make {target}`, the Makefile has none"
    assert os.access(SCRIPT, os.X_OK)
