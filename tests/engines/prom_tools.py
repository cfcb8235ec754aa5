"""Prometheus's and Alertmanager's own tools (promtool, amtool, Alertmanager; `make tools`
links them into .tools/bin: scripts/tools.sh), and the platform's rules as they would load
them."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

from infra.engine import RunResult
from infra.plan import manifest_of
from infra.root import PROJECT_ROOT

TOOLS = PROJECT_ROOT / ".tools"
PROMTOOL = TOOLS / "bin" / "promtool"
AMTOOL = TOOLS / "bin" / "amtool"
ALERTMANAGER = TOOLS / "bin" / "alertmanager"
# The oldest releases the rules and tests are written for (scripts/tools.sh holds to them).
MINIMUM = {"promtool": (2, 42, 0), "amtool": (0, 25, 0), "alertmanager": (0, 25, 0)}
# Where Debian's unpacked build of Alertmanager wants its files (it reads /usr/share).
UNPACKED_SHARE = TOOLS / "root" / "usr" / "share"


def tool(path: Path) -> str:
    assert path.exists(), f"{path} is missing: `make tools` finds it (make test does)"
    return str(path)


def version(path: Path) -> tuple[int, ...]:
    out = subprocess.run(
        [tool(path), "--version"], capture_output=True, text=True, timeout=30, check=False
    )
    found = re.search(r"version (\d+)\.(\d+)\.(\d+)", out.stdout + out.stderr)
    assert found, f"{path} --version printed no version"
    return tuple(int(x) for x in found.groups())


def unpacked(path: Path) -> bool:
    """The tool is Debian's package unpacked into .tools (not installed on the machine)."""
    return path.resolve().is_relative_to((TOOLS / "root").resolve())


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


def manifests(result: RunResult, kind: str) -> list[dict[str, Any]]:
    return [m for r in result.resources if (m := manifest_of(r)) and m["kind"] == kind]


def rule_groups(result: RunResult) -> list[dict[str, Any]]:
    [rule] = manifests(result, "PrometheusRule")
    groups: list[dict[str, Any]] = rule["spec"]["groups"]
    return groups


def write_rules(folder: Path, groups: list[dict[str, Any]], annotations: bool = True) -> Path:
    """The groups as a Prometheus rule file (what the operator hands Prometheus)."""
    if not annotations:  # evaluation tests compare labels; annotations are checked apart
        groups = [
            {**g, "rules": [{k: v for k, v in r.items() if k != "annotations"} for r in g["rules"]]}
            for g in groups
        ]
    path = folder / "rules.yaml"
    path.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
    return path


def kps_values(result: RunResult) -> dict[str, Any]:
    [release] = [
        r
        for r in result.resources
        if r.type.endswith("helm.sh/v3:Release") and r.inputs.get("name") == "kube-prometheus-stack"
    ]
    values: dict[str, Any] = release.inputs["values"]
    return values
