"""The vendored charts (charts/, what `pulumi up` installs by default) are the pinned
versions, each with its provenance, and complete enough for Helm to install from the folder:
pulumi-kubernetes runs Helm's `action.CheckDependencies` before every install of a chart
with dependencies (provider/pkg/provider/helm_release.go `checkChartDependencies`), and it
refuses a chart whose `charts/` lacks any dependency its Chart.yaml names, enabled or not
(Helm v3.20 pkg/action/install.go)."""

from __future__ import annotations

import csv
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.catalog.versions import CHARTS, VENDORED_CHARTS
from infra.root import PROJECT_ROOT

ROOT = PROJECT_ROOT / VENDORED_CHARTS
COMMIT = re.compile(r"^[0-9a-f]{40}$")


def meta(folder: Path) -> dict[str, Any]:
    data = yaml.safe_load((folder / "Chart.yaml").read_text())
    assert isinstance(data, dict)
    return data


def provenance() -> dict[str, list[str]]:
    with (ROOT / "PROVENANCE.tsv").open() as f:
        return {row[0]: row[1:] for row in csv.reader(f, delimiter="\t") if row}


def present(folder: Path) -> dict[str, Path]:
    """Dependency charts Helm loads from `folder/charts`: folders and packaged .tgz files."""
    found: dict[str, Path] = {}
    sub = folder / "charts"
    for entry in sorted(sub.iterdir()) if sub.is_dir() else []:
        if (entry / "Chart.yaml").is_file():
            found[meta(entry)["name"]] = entry
        elif entry.suffix == ".tgz":
            found[entry.name.rsplit("-", 1)[0]] = entry
    return found


def missing_dependencies(folder: Path, root: Path = ROOT) -> list[str]:
    """What CheckDependencies would refuse, for this chart and every folder subchart."""
    loaded = present(folder)
    missing = [
        f"{folder.relative_to(root)}: {dep['name']}"
        for dep in meta(folder).get("dependencies") or []
        if dep["name"] not in loaded
    ]
    for sub in loaded.values():
        if sub.is_dir():
            missing += missing_dependencies(sub, root)
    return missing


@pytest.mark.parametrize("key", sorted(CHARTS))
def test_each_pin_has_its_vendored_chart(key: str) -> None:
    ref = CHARTS[key]
    folder = PROJECT_ROOT / ref.vendored
    assert (meta(folder)["name"], str(meta(folder)["version"])) == (ref.chart, ref.version)


@pytest.mark.parametrize("key", sorted(CHARTS))
def test_helm_can_install_each_vendored_chart_without_a_download(key: str) -> None:
    assert missing_dependencies(PROJECT_ROOT / CHARTS[key].vendored) == []


def test_a_chart_missing_a_disabled_dependency_is_caught(tmp_path: Path) -> None:
    chart = tmp_path / "app"
    (chart / "charts").mkdir(parents=True)
    (chart / "Chart.yaml").write_text(
        "name: app\nversion: 1.0.0\ndependencies:\n"
        "  - {name: db, version: 1.0.0, condition: db.enabled}\n"
    )
    assert missing_dependencies(chart, tmp_path) == ["app: db"]


def test_every_vendored_chart_and_dependency_has_its_provenance() -> None:
    rows = provenance()
    for ref in CHARTS.values():
        name = ref.vendored.removeprefix(f"{VENDORED_CHARTS}/")
        assert name in rows, name
        loaded = present(ROOT / name)
        for dep in meta(ROOT / name).get("dependencies") or []:
            sub = loaded[dep["name"]]
            if dep.get("repository") and sub.is_dir():  # fetched from another repository
                assert sub.relative_to(ROOT).as_posix() in rows, sub
    for folder, (repository, _tag, commit, _path) in rows.items():
        assert (ROOT / folder).is_dir(), folder
        assert re.match(r"^[\w.-]+/[\w.-]+$", repository), folder
        assert COMMIT.match(commit), folder


def test_locked_dependencies_are_the_locked_versions() -> None:
    for ref in CHARTS.values():
        folder = PROJECT_ROOT / ref.vendored
        lock = folder / "Chart.lock"
        if not lock.is_file():
            continue
        loaded = present(folder)
        for dep in yaml.safe_load(lock.read_text())["dependencies"]:
            sub = loaded[dep["name"]]
            version = str(meta(sub)["version"]) if sub.is_dir() else sub.stem.rsplit("-", 1)[1]
            assert version == str(dep["version"]), (ref.vendored, dep["name"])


def test_every_vendored_file_is_in_the_repository() -> None:
    """Charts carry their own .gitignore (kube-prometheus-stack and Loki ignore `charts/*`):
    a dependency chart present here but ignored by git is missing from every clone."""
    ignored = subprocess.run(
        ["git", "ls-files", "--others", "--ignored", "--exclude-standard", VENDORED_CHARTS],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert ignored == [], "git add -f them"
