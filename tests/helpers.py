"""Shared test helpers: stack configs, planned stacks, resource look-ups."""

from __future__ import annotations

import copy
import functools
import json
from typing import Any

from infra.config import StackConfig, parse
from infra.engine import Recorded, RunResult
from infra.plan import plan_stack
from infra.planning.capacity import PlatformPlan, plan_platform
from infra.root import PROJECT_ROOT
from infra.stack_file import read_stack_file

STACKS_DIR = PROJECT_ROOT / "stacks"
STACKS = sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in STACKS_DIR.glob("Pulumi.*.yaml"))


def fixed_replicas(raw: dict[str, Any], replicas: int) -> dict[str, Any]:
    """Turn autoscaling off and pin the first model's replica count."""
    raw.setdefault("autoscaling", {})["enabled"] = False
    raw["models"][0]["replicas"] = replicas
    return raw


def raw_config(stack: str) -> dict[str, Any]:
    """A stack file's config as the program sees it: top-level keys, parsed values."""
    config, _ = read_stack_file(STACKS_DIR / f"Pulumi.{stack}.yaml", stack)
    raw: dict[str, Any] = {}
    for key, value in config.items():
        short = key.split(":", 1)[1]
        try:
            raw[short] = json.loads(value)
        except json.JSONDecodeError:
            raw[short] = value
    return copy.deepcopy(raw)


def config_of(raw: dict[str, Any], source: str = "stacks/Pulumi.test.yaml") -> StackConfig:
    return parse(raw, source)


def plan_of(raw: dict[str, Any], source: str = "stacks/Pulumi.test.yaml") -> PlatformPlan:
    return plan_platform(parse(raw, source), source)


@functools.cache
def planned(stack: str) -> RunResult:
    """The stack's program run once under mocks (cached for the session)."""
    return plan_stack(stack)


def by_type(result: RunResult, suffix: str) -> list[Recorded]:
    return [r for r in result.resources if r.type.endswith(suffix)]


def one(result: RunResult, suffix: str, name: str | None = None) -> Recorded:
    found = [r for r in by_type(result, suffix) if name is None or r.name == name]
    assert len(found) == 1, f"expected one {suffix} {name or ''}, found {[r.name for r in found]}"
    return found[0]


def pod_spec(deployment: Recorded) -> dict[str, Any]:
    spec: dict[str, Any] = deployment.inputs["spec"]["template"]["spec"]
    return spec


def container(deployment: Recorded, name: str = "vllm") -> dict[str, Any]:
    return next(c for c in pod_spec(deployment)["containers"] if c["name"] == name)


def arg_value(args: list[str], flag: str) -> str | None:
    return args[args.index(flag) + 1] if flag in args else None
