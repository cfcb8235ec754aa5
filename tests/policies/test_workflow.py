"""The CI workflow users get: tests and the offline review always, preview where possible."""

import yaml

from infra.root import PROJECT_ROOT
from tests.helpers import STACKS

WORKFLOW = PROJECT_ROOT / ".github/workflows/llm-platform.yml"


def load() -> dict[str, object]:
    data: dict[str, object] = yaml.safe_load(WORKFLOW.read_text())
    return data


def test_tests_and_review_run_without_credentials() -> None:
    test = load()["jobs"]["test"]  # type: ignore[index]
    runs = [s.get("run") for s in test["steps"] if "run" in s]
    assert runs[-1] == "make test"
    # Before it, only what the runner image offers: Ubuntu's own packages, unpinned.
    assert all(r.startswith("sudo apt-get") for r in runs[:-1])
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    assert "\ntest: lint pytest review " in makefile  # make test includes the review


def test_preview_runs_per_stack_with_the_policy_pack_and_skips_without_credentials() -> None:
    preview = load()["jobs"]["preview"]  # type: ignore[index]
    assert sorted(preview["strategy"]["matrix"]["stack"]) == STACKS  # every stack
    steps = preview["steps"]
    gate = steps[0]
    assert gate["id"] == "gate" and "run=false" in gate["run"]
    assert all(s.get("if") == "steps.gate.outputs.run == 'true'" for s in steps[1:])
    command = steps[-1]["run"]
    assert "pulumi preview" in command and "--policy-pack policies" in command
    assert '--policy-pack-config "policies/config/${environment}.json"' in command
