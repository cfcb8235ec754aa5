"""Writing `out/<stack>/` safely: a fresh staging folder moved into place only when complete,
and only over a folder an earlier plan wrote (its marker file) or an empty one."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import yaml

from infra.catalog.provider import HELM_RELEASE_TYPE
from infra.engine import Recorded, RunResult
from infra.manifests.topology import Outputs

MARKER = ".llm-platform-plan"


def manifest_of(resource: Recorded) -> dict[str, Any] | None:
    """The Kubernetes object (or Helm release) a resource declares; None for the rest."""
    if not resource.type.startswith("kubernetes:"):
        return None
    inputs = resource.inputs
    if resource.type == HELM_RELEASE_TYPE:
        repo = (inputs.get("repositoryOpts") or {}).get("repo")
        chart = inputs["chart"]
        if repo is None and chart.startswith("oci://"):
            repo, chart = chart.rsplit("/", 1)
        source = {"repository": repo} if repo else {"vendored": chart}
        return {
            "kind": "HelmRelease",
            "name": inputs["name"],
            "namespace": inputs.get("namespace"),
            "chart": chart,
            "version": inputs["version"],
            **source,
            "values": inputs.get("values", {}),
        }
    if "apiVersion" in inputs and "kind" in inputs:
        return {k: v for k, v in inputs.items() if k != "compat"}
    return None


_HEAD = ("apiVersion", "kind", "metadata")


def canonical(manifest: dict[str, Any]) -> dict[str, Any]:
    """apiVersion, kind, metadata first, the rest sorted: stable, reviewable diffs."""

    def ordered(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: ordered(value[k]) for k in sorted(value)}
        if isinstance(value, list):
            return [ordered(v) for v in value]
        return value

    head = [k for k in _HEAD if k in manifest]
    rest = sorted(k for k in manifest if k not in _HEAD)
    return {k: ordered(manifest[k]) for k in head + rest}


def manifest_path(manifest: dict[str, Any]) -> Path:
    if manifest["kind"] == "HelmRelease":
        return Path(manifest["namespace"] or "_cluster") / f"HelmRelease-{manifest['name']}.yaml"
    meta = manifest["metadata"]
    folder = meta.get("namespace") or "_cluster"
    return Path(folder) / f"{manifest['kind']}-{meta['name']}.yaml"


class OutputError(Exception):
    """The output folder cannot be written without risking someone's files."""


def _replaceable(out: Path) -> bool:
    return out.is_dir() and ((out / MARKER).is_file() or not any(out.iterdir()))


def _inside(folder: Path, path: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())


def _write_into(result: RunResult, folder: Path) -> int:
    (folder / "manifests").mkdir()
    labels = {r.urn: r.label for r in result.resources}
    (folder / "resources.json").write_text(
        json.dumps([r.as_json(labels) for r in result.resources], indent=2, sort_keys=True) + "\n"
    )
    # The capacity plan, machine-readable: the figures the table prints, per model.
    (folder / "capacity.json").write_text(
        json.dumps(result.outputs.get(Outputs.MODELS, {}), indent=2, sort_keys=True) + "\n"
    )
    count = 0
    for resource in result.resources:
        manifest = manifest_of(resource)
        if manifest is None:
            continue
        path = folder / "manifests" / manifest_path(manifest)
        if not _inside(folder / "manifests", path):
            raise OutputError(f"{manifest_path(manifest)}: a name would leave the output folder")
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            raise OutputError(f"two objects would be written to {path.relative_to(folder)}")
        path.write_text(yaml.safe_dump(canonical(manifest), sort_keys=False, width=100))
        count += 1
    (folder / MARKER).write_text("written by python -m infra.plan; replaced by the next plan\n")
    return count


def write(result: RunResult, out: Path) -> int:
    """Write the plan to `out`; return how many manifests. Raises OutputError, touching
    nothing, when `out` holds files the plan did not write."""
    if out.exists() and not _replaceable(out):
        raise OutputError(
            f"{out}: exists and was not written by python -m infra.plan (no {MARKER} in it); "
            "choose another --out, or empty or remove it yourself"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.staging-", dir=out.parent))
    try:
        count = _write_into(result, staging)
        if out.exists():
            retired = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            out.rename(retired / out.name)
            staging.rename(out)
            shutil.rmtree(retired)
        else:
            staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return count
