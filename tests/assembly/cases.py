"""The stacks the assembly tests judge: every shipped stack, every example, and builder
configs that reach what no shipped file does (global limits on the stack's Redis, the chat
UI on its own hostname, the load test, a GKE primary on public images), each planned once
per session and read with Helm's render of its releases."""

from __future__ import annotations

import functools
from pathlib import Path

from infra.config import StackConfig, parse
from infra.config.reader import raw_config
from infra.engine import RunResult
from infra.plan import plan_stack
from infra.root import PROJECT_ROOT
from infra.stack_file import read_stack_file
from tests import builders
from tests.assembly.graph import Assembly
from tests.helpers import STACKS

EXAMPLES = sorted((PROJECT_ROOT / "examples").glob("Pulumi.*.yaml"))
# name -> stack file (None: stacks/Pulumi.<name>.yaml)
CASES: dict[str, Path | None] = {
    **{s: None for s in STACKS},
    **{p.name.removeprefix("Pulumi.").removesuffix(".yaml"): p for p in EXAMPLES},
}
BUILT: dict[str, builders.Raw] = {
    "built:gpu-racks": builders.gpu_racks(),
    "built:gke-region": builders.gke_region(),
    # a laptop with the load test: the chat UI and the benchmark reach the gateway in-cluster
    "built:cpu-laptop": builders.cpu_laptop(loadTest={"enabled": True}),
}
NAMES = sorted(CASES) + sorted(BUILT)


@functools.cache
def result(name: str) -> RunResult:
    if name in BUILT:
        return builders.rendered(BUILT[name])
    return plan_stack(name, CASES[name])


@functools.cache
def config(name: str) -> StackConfig:
    if name in BUILT:
        return parse(BUILT[name], name)
    path = CASES[name] or PROJECT_ROOT / "stacks" / f"Pulumi.{name}.yaml"
    values, secret_keys = read_stack_file(path, str(path))
    return parse(raw_config(values, secret_keys), str(path))


@functools.cache
def assembly(name: str) -> Assembly:
    return Assembly(result(name).resources, str(config(name).cluster.kubernetes_version))
