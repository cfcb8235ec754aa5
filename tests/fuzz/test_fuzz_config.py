"""Seeded property-based fuzzing of stack configs (hypothesis). The invariant: the plan
either accepts the config, or refuses it with one line per problem, each naming the stack
file (and a key where the problem is one key's); never any other exception. The seed is
fixed, printed in every failure, and the examples found are kept as regression cases."""

from __future__ import annotations

import re
from typing import Any

from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from infra.config import ConfigError
from tests.builders import cpu_laptop, gpu_box, gpu_racks, pooled_and_sleeping
from tests.fuzz.mutations import mutated
from tests.helpers import STACKS, plan_of, raw_config

SEED = 20261121
SOURCE = "stacks/Pulumi.test.yaml"
LINE = re.compile(rf"^{re.escape(SOURCE)}: (llm-platform:[^:\s]+: )?\S.*$")
BASES = [
    gpu_box(),
    cpu_laptop(),
    gpu_racks(),  # every optional feature on: limits, tokens, chat route, load test, racks
    pooled_and_sleeping(),  # an InferencePool and a model at zero
    *(raw_config(s) for s in STACKS if s != "dr-secondary"),
]


def _check(raw: dict[str, Any]) -> None:
    try:
        plan_of(raw, SOURCE)
    except ConfigError as refused:
        lines = refused.lines()
        assert lines, f"seed {SEED}: a refusal with no line for {raw!r}"
        for line in lines:
            assert "\n" not in line and LINE.match(line), f"seed {SEED}: {line!r} for {raw!r}"


@seed(SEED)
@settings(
    max_examples=1500,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)
@given(mutated(BASES))
def test_any_mutation_is_planned_or_refused_in_one_line_per_problem(raw: dict[str, Any]) -> None:
    _check(raw)


@seed(SEED)
@settings(max_examples=300, deadline=None, database=None)
@given(st.dictionaries(st.text(max_size=12), st.none() | st.text(max_size=5), max_size=4))
def test_minimal_configs_of_any_shape(raw: dict[str, Any]) -> None:
    _check(raw)
