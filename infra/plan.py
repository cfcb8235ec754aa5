"""`python -m infra.plan --stack NAME [--config-file PATH] [--out DIR]`

Runs the real program under Pulumi's mock engine with the stack's config and writes
DIR/resources.json and DIR/manifests/ (one YAML per Kubernetes object or Helm release),
then prints the capacity plan. Exit 2 on a bad config, one line per problem.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tabulate import tabulate

from infra.config import PROJECT, ConfigError, Problem, parse, stack_file
from infra.config.reader import plain_secrets, raw_config
from infra.engine import PROJECT_ROOT, RunResult, run, run_entry_point
from infra.manifests.topology import Outputs
from infra.outputs import POOL_COLUMNS, TABLE_COLUMNS
from infra.plan_output import OutputError, canonical, manifest_of, manifest_path, write
from infra.stack_file import read_stack_file

__all__ = [
    "OutputError",
    "canonical",
    "main",
    "manifest_of",
    "manifest_path",
    "plan_stack",
    "report",
    "write",
]


def plan_stack(
    stack: str, config_file: Path | None = None, _chain: tuple[str, ...] = ()
) -> RunResult:
    """Run the program for a stack under mocks. Raises ConfigError on bad config: the
    stack's own first, then its DR peer's (named under dr.peerStack)."""
    path = config_file or PROJECT_ROOT / stack_file(stack)
    label = str(config_file) if config_file else stack_file(stack)
    config, secret_keys = read_stack_file(path, label)
    # The stack's own config before anything else (its DR peer) is planned.
    keys = [k.split(":", 1)[1] for k in config if k.startswith(f"{PROJECT}:")]
    plain = plain_secrets(keys, lambda full: full in secret_keys)
    if plain:
        raise ConfigError(plain, label)
    parse(raw_config(config, secret_keys), label)
    references = {}
    peer = _peer_stack(config)
    if peer is not None:
        # Offline, a StackReference is answered by planning the peer's own stack file.
        references[peer] = _plan_peer(peer, (*_chain, stack), label).outputs
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


def _plan_peer(peer: str, chain: tuple[str, ...], label: str) -> RunResult:
    name = peer.rsplit("/", 1)[-1]
    if name in chain:
        loop = " -> ".join((*chain, name))
        raise ConfigError(
            [
                Problem(
                    "dr.peerStack",
                    f"{peer!r} leads back here ({loop}): only the secondary names a peer, "
                    "its primary",
                )
            ],
            label,
        )
    try:
        return plan_stack(name, None, chain)
    except ConfigError as exc:
        raise ConfigError(
            [
                Problem("dr.peerStack", f"the peer {peer!r} does not plan: {line}")
                for line in exc.lines()
            ],
            label,
        ) from None


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
    caches = {n: m["modelCache"] for n, m in models.items() if "modelCache" in m}
    if caches:
        text += "\n\nModel cache:\n" + "\n".join(
            f"  {name}: {c['layout']}"
            + (f" ({c['accessMode']}, {c['claim']})" if c["claim"] else "")
            + f" — {c['reason']}"
            for name, c in caches.items()
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
    try:
        count = write(result, out)
    except OutputError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    print(report(result))
    print(f"\n{len(result.resources)} resources, {count} manifests written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
