"""One stack's program run under Pulumi's mock engine from its stack file, its DR peer's
StackReference answered by planning the peer's own stack file: what `python -m infra.plan`,
the policy review and the tests share."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from infra.config import PROJECT, ConfigError, Problem, StackConfig, parse, stack_file
from infra.config.reader import plain_secrets, raw_config
from infra.engine import RunResult, run, run_entry_point
from infra.planning.capacity import plan_platform
from infra.planning.checked import planner_problems
from infra.root import PROJECT_ROOT
from infra.stack_file import read_stack_file


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
    try:
        cfg = parse(raw_config(config, secret_keys), label)
    except ConfigError as exc:
        raise ConfigError(plain + exc.problems + planner_problems(exc), label) from None
    if plain:
        raise ConfigError(plain + _planned_problems(cfg, label), label)
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


def stack_config(stack: str, config_file: Path | None = None) -> StackConfig:
    """The stack file's validated config (secrets as placeholders). Raises ConfigError."""
    path = config_file or PROJECT_ROOT / stack_file(stack)
    label = str(config_file) if config_file else stack_file(stack)
    config, secret_keys = read_stack_file(path, label)
    return parse(raw_config(config, secret_keys), label)


def _planned_problems(cfg: StackConfig, label: str) -> list[Problem]:
    try:
        plan_platform(cfg, label)
    except ConfigError as exc:
        return exc.problems
    return []


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


def stack_parser(prog: str, doc: str | None, verb: str) -> argparse.ArgumentParser:
    """A command's parser with the stack it acts on: `--stack NAME`, or `--config-file` to
    `verb` a file elsewhere (e.g. in examples/) as that stack; its description is the
    module docstring's second paragraph."""
    parser = argparse.ArgumentParser(
        prog=prog, description=" ".join((doc or "").split("\n\n")[1].split())
    )
    parser.add_argument("--stack", required=True, help="stack name (stacks/Pulumi.NAME.yaml)")
    parser.add_argument(
        "--config-file", type=Path, help=f"{verb} this stack file instead (e.g. one in examples/)"
    )
    return parser
