"""Worked scenarios (long context, many small models, TP=4 over two boxes, a pooled and a
sleeping model) as example stack files (examples/): each plans cleanly and passes the
review at its environment's strictness, chart objects included."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.plan import plan_stack
from infra.root import PROJECT_ROOT
from policies.review import review_stack

EXAMPLES = sorted((PROJECT_ROOT / "examples").glob("Pulumi.*.yaml"))


def _name(path: Path) -> str:
    return path.name.removeprefix("Pulumi.").removesuffix(".yaml")


def test_the_examples_are_there() -> None:
    assert {_name(p) for p in EXAMPLES} == {
        "long-context-128k",
        "small-models-x8",
        "tp4-two-boxes",
        "pool-and-sleep",
    }


@pytest.mark.parametrize("path", EXAMPLES, ids=_name)
def test_the_example_plans_and_passes_the_review(path: Path) -> None:
    environment, violations, _ = review_stack(_name(path), path)
    assert environment == "production"
    assert not [v for v in violations if v.level == "mandatory"], violations


def test_each_scenario_gets_what_its_file_describes() -> None:
    def models(name: str) -> dict[str, dict[str, object]]:
        path = PROJECT_ROOT / "examples" / f"Pulumi.{name}.yaml"
        return dict(plan_stack(name, path).outputs["models"])

    [long_context] = models("long-context-128k").values()
    assert (long_context["tensorParallel"], long_context["replicas"]) == (2, {"min": 2, "max": 2})
    assert long_context["maxModelLen"] == 131072
    eight = models("small-models-x8")
    assert sum(m["replicas"]["max"] for m in eight.values()) == 8  # type: ignore[index]
    assert {str(m["modelCache"]["claim"]) for m in eight.values()} == {  # type: ignore[index]
        "qwen-05b-a-model-cache"
    }
    [tp4] = models("tp4-two-boxes").values()
    assert (tp4["tensorParallel"], tp4["replicas"]) == (4, {"min": 1, "max": 2})
    both = models("pool-and-sleep")
    assert {n: (m["routing"], m["replicas"], m["idleWindow"]) for n, m in both.items()} == {
        "qwen2-5-7b": ("inferencePool", {"min": 1, "max": 1}, "always on"),
        "qwen2-5-05b": ("backend", {"min": 0, "max": 1}, "900 s"),
    }
