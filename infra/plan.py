"""`python -m infra.plan --stack NAME [--config-file PATH] [--out DIR]`

Runs the real program under Pulumi's mock engine with the stack's config and writes
DIR/resources.json and DIR/manifests/ (one YAML per Kubernetes object or Helm release),
then prints the capacity plan. Exit 2 on a bad config, one line per problem.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any

import yaml
from tabulate import tabulate

from infra.config import PROJECT, ConfigError, stack_file
from infra.engine import PROJECT_ROOT, Recorded, RunResult, run, run_entry_point
from infra.manifests.topology import Outputs
from infra.outputs import POOL_COLUMNS, TABLE_COLUMNS
from infra.stack_file import read_stack_file

HELM_RELEASE = "kubernetes:helm.sh/v3:Release"


def manifest_of(resource: Recorded) -> dict[str, Any] | None:
    """The Kubernetes object (or Helm release) a resource declares; None for the rest."""
    if not resource.type.startswith("kubernetes:"):
        return None
    inputs = resource.inputs
    if resource.type == HELM_RELEASE:
        repo = (inputs.get("repositoryOpts") or {}).get("repo")
        chart = inputs["chart"]
        if repo is None and chart.startswith("oci://"):
            repo, chart = chart.rsplit("/", 1)
        return {
            "kind": "HelmRelease",
            "name": inputs["name"],
            "namespace": inputs.get("namespace"),
            "chart": chart,
            "version": inputs["version"],
            "repository": repo,
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


def write(result: RunResult, out: Path) -> int:
    if out.exists():
        shutil.rmtree(out)
    (out / "manifests").mkdir(parents=True)
    (out / "resources.json").write_text(
        json.dumps([r.as_json() for r in result.resources], indent=2, sort_keys=True) + "\n"
    )
    # The capacity plan, machine-readable: the figures the table prints, per model.
    (out / "capacity.json").write_text(
        json.dumps(result.outputs.get(Outputs.MODELS, {}), indent=2, sort_keys=True) + "\n"
    )
    count = 0
    for resource in result.resources:
        manifest = manifest_of(resource)
        if manifest is None:
            continue
        path = out / "manifests" / manifest_path(manifest)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            raise RuntimeError(f"two objects would be written to {path}")
        path.write_text(yaml.safe_dump(canonical(manifest), sort_keys=False, width=100))
        count += 1
    return count


def plan_stack(stack: str, config_file: Path | None = None) -> RunResult:
    """Run the program for a stack under mocks. Raises ConfigError on bad config."""
    path = config_file or PROJECT_ROOT / stack_file(stack)
    label = str(config_file) if config_file else stack_file(stack)
    config, secret_keys = read_stack_file(path, label)
    references = {}
    peer = _peer_stack(config)
    if peer is not None:
        # Offline, a StackReference is answered by planning the peer's own stack file.
        references[peer] = plan_stack(peer.rsplit("/", 1)[-1]).outputs
    try:
        return run(
            run_entry_point,
            stack=stack,
            config=config,
            secret_keys=secret_keys,
            stack_references=references,
        )
    except ConfigError as exc:
        raise ConfigError(exc.problems, label) from None


def _peer_stack(config: dict[str, str]) -> str | None:
    try:
        dr = json.loads(config.get(f"{PROJECT}:dr", "null")) or {}
    except json.JSONDecodeError:
        return None  # the program reports the bad value
    peer = dr.get("peerStack") if isinstance(dr, dict) else None
    return peer if isinstance(peer, str) else None


def report(result: RunResult) -> str:
    models = result.outputs.get("models", {})
    rows = [
        [name, *(m.get(key, "-") for _, key in TABLE_COLUMNS[1:])] for name, m in models.items()
    ]
    text = "Capacity plan (per replica; GiB per GPU, or per pod on CPU):\n"
    text += tabulate(rows, headers=[h for h, _ in TABLE_COLUMNS], disable_numparse=True)
    pools = result.outputs.get(Outputs.GPU_POOLS, {})
    if pools:
        prow = [[name, *(p[key] for _, key in POOL_COLUMNS[1:])] for name, p in pools.items()]
        text += "\n\nGPU pools:\n" + tabulate(
            prow, headers=[h for h, _ in POOL_COLUMNS], disable_numparse=True
        )
    alerting = result.outputs.get(Outputs.ALERTING)
    if alerting is not None and not alerting["page"]:
        text += (
            "\n\nAlerting: no receiver pages on critical alerts; they are only visible in "
            "Alertmanager and Grafana. Set observability.alerting (receivers, page, ticket)."
        )
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m infra.plan", description=__doc__.split("\n")[2]
    )
    parser.add_argument("--stack", required=True, help="stack name (stacks/Pulumi.NAME.yaml)")
    parser.add_argument("--config-file", type=Path, help="use this stack file instead")
    parser.add_argument("--out", type=Path, help="output directory (default out/NAME)")
    args = parser.parse_args(argv)
    try:
        result = plan_stack(args.stack, args.config_file)
    except ConfigError as exc:
        for line in exc.lines():
            print(line, file=sys.stderr)
        return 2
    out = args.out or PROJECT_ROOT / "out" / args.stack
    count = write(result, out)
    print(report(result))
    print(f"\n{len(result.resources)} resources, {count} manifests written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
