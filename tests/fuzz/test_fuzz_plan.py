"""Seeded fuzzing of `python -m infra.plan` end to end (the program under Pulumi's mock
engine, the output writer): exit 0 with every object named as Kubernetes requires and
valid against its schema, or exit 2 with only one-line messages and nothing written.
Never another exit code, an exception or a traceback."""

from __future__ import annotations

import contextlib
import io
import re
import tempfile
from pathlib import Path
from typing import Any

import kubernetes_validate
import yaml
from hypothesis import HealthCheck, given, seed, settings

from infra.plan import main
from tests.builders import cpu_laptop, gpu_box, gpu_racks, pooled_and_sleeping, stack_file_text
from tests.fuzz.mutations import mutated

SEED = 20261121
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS_LABEL_KINDS = {"Namespace", "Service"}  # RFC 1123 labels: no dots, at most 63


def _names_are_valid(out: Path) -> None:
    for path in (out / "manifests").rglob("*.yaml"):
        obj = yaml.load(path.read_text(), Loader=yaml.CSafeLoader)
        if obj["kind"] == "HelmRelease":
            continue
        name = obj["metadata"]["name"]
        limit = 63 if obj["kind"] in DNS_LABEL_KINDS else 253
        assert DNS_SUBDOMAIN.match(name) and len(name) <= limit, f"seed {SEED}: {path}"
        if obj["kind"] in DNS_LABEL_KINDS:
            assert "." not in name, f"seed {SEED}: {path}"
        built_in = "." not in obj["apiVersion"].split("/")[0]
        if built_in and obj["kind"] != "Node":  # Node: a patch of a node someone else owns
            kubernetes_validate.validate(obj, "1.31", strict=True)


def _plan(raw: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        stack = folder / "Pulumi.test.yaml"
        stack.write_text(stack_file_text(raw))
        out = folder / "out"
        err, printed = io.StringIO(), io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(printed):
            code = main(
                ["--stack", "test", "--config-file", str(stack), "--out", str(out), "--no-review"]
            )
        lines = err.getvalue().splitlines()
        if code == 2:
            assert lines and all(line.startswith(f"{stack}: ") for line in lines), (
                f"seed {SEED}: {lines} for {raw!r}"
            )
            assert not out.exists(), f"seed {SEED}: output written on refusal for {raw!r}"
        else:
            assert code == 0, f"seed {SEED}: exit {code}: {lines} for {raw!r}"
            _names_are_valid(out)


@seed(SEED)
@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)
@given(mutated([gpu_box(), cpu_laptop(), gpu_racks(), pooled_and_sleeping()]))
def test_plan_exits_0_with_valid_objects_or_2_with_one_line_per_problem(
    raw: dict[str, Any],
) -> None:
    _plan(raw)
