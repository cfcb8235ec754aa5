"""The pack, its config and the review: one set of rule functions, two ways to run them."""

import json
import runpy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from pulumi_policy import ResourceValidationPolicy, StackValidationPolicy

import policies.review as review_module
from infra.root import PROJECT_ROOT
from policies import config as policy_config
from policies.pack import POLICIES
from policies.review import main, review
from policies.rules import RULES
from tests.builders import gpu_box, rendered


def test_the_pack_has_a_policy_per_rule_with_a_description_and_a_fix() -> None:
    assert len(RULES) >= 15
    assert [p.name for p in POLICIES] == [r.name for r in RULES]
    for rule, policy in zip(RULES, POLICIES, strict=True):
        assert rule.description and "\n" not in rule.description and rule.fix
        expected = ResourceValidationPolicy if rule.resource else StackValidationPolicy
        assert isinstance(policy, expected)


def test_importing_the_rules_and_the_pack_starts_no_server() -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import policies.pack, policies.rules"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0 and done.stdout == "", done.stderr


def test_main_only_builds_the_pack_from_the_same_policies(monkeypatch: pytest.MonkeyPatch) -> None:
    built: dict[str, Any] = {}

    def fake_pack(**kwargs: Any) -> None:  # the real one serves gRPC until killed
        built.update(kwargs)

    monkeypatch.setattr("pulumi_policy.PolicyPack", fake_pack)
    runpy.run_path(str(PROJECT_ROOT / "policies" / "__main__.py"))
    assert built["policies"] is POLICIES and built["name"] == "llm-platform"


def test_the_review_runs_the_packs_own_validators(monkeypatch: pytest.MonkeyPatch) -> None:
    called: set[str] = set()
    for policy in POLICIES:
        original = policy.validate  # type: ignore[attr-defined]

        def spy(args: Any, report: Any, _name: str = policy.name, _run: Any = original) -> Any:
            called.add(_name)
            return _run(args, report)

        monkeypatch.setattr(policy, "validate", spy)
    review(rendered(gpu_box()).resources, {"all": "advisory"})
    assert called == {p.name for p in POLICIES}


def test_pulumi_policy_project_file() -> None:
    project = yaml.safe_load((PROJECT_ROOT / "policies/PulumiPolicy.yaml").read_text())
    assert project["runtime"]["name"] == "python"
    assert project["runtime"]["options"]["virtualenv"] == "../.venv"


# ----------------------------------------------------------------------- policy config


@pytest.mark.parametrize("environment", ["dev", "staging", "production"])
def test_shipped_policy_configs_are_valid(environment: str) -> None:
    policy_config.load(environment)


def test_production_is_mandatory_and_dev_advisory() -> None:
    prod, dev = policy_config.load("production"), policy_config.load("dev")
    assert all(policy_config.level(prod, r.name) == "mandatory" for r in RULES)
    assert all(policy_config.level(dev, r.name) == "advisory" for r in RULES)
    assert policy_config.settings(prod, "images-pinned") == {"requireDigest": True}


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"images-pined": "mandatory"}, "x.json: images-pined: unknown policy; policies: "),
        ({"all": "strict"}, "x.json: all: 'strict' is not one of advisory, mandatory, disabled"),
        (
            {"images-pinned": {"enforcementLevel": "loud"}},
            "x.json: images-pinned.enforcementLevel: 'loud'",
        ),
        (
            {"images-pinned": {"requireDigests": True}},
            "x.json: images-pinned.requireDigests: unknown setting; settings: enforcementLevel, "
            "requireDigest",
        ),
        (
            {"gateway-auth-and-tls": {"requireTls": "yes"}},
            'x.json: gateway-auth-and-tls.requireTls: expected boolean, got "yes"',
        ),
    ],
)
def test_bad_policy_config_is_refused(data: dict[str, Any], problem: str) -> None:
    [line] = policy_config.validate(data, "x.json")
    assert line.startswith(problem)


def test_an_unknown_policy_in_a_config_file_stops_the_review(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "dev.json").write_text(json.dumps({"no-such-rule": "mandatory"}))
    monkeypatch.setattr(policy_config, "CONFIG_DIR", tmp_path)
    assert main(["--stack", "dev"]) == 2
    assert "no-such-rule: unknown policy" in capsys.readouterr().err


# ----------------------------------------------------------------------- the review CLI


def test_review_all_passes_and_prints_a_summary_per_stack(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--all"]) == 0
    lines = capsys.readouterr().out.splitlines()
    for summary in (
        "single-4090d (production): 0 mandatory, 0 advisory violation(s);",
        "dr-secondary (production): 0 mandatory, 0 advisory violation(s);",
        "dev (dev): 0 mandatory, 0 advisory violation(s);",
    ):
        assert any(line.startswith(summary) for line in lines), lines


def test_a_mandatory_violation_fails_the_review(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    result = rendered(gpu_box())
    stripped = type(result)(
        [r for r in result.resources if "SecurityPolicy" not in r.type], result.outputs
    )
    monkeypatch.setattr(review_module, "plan_stack", lambda stack, config_file=None: stripped)
    assert main(["--stack", "single-4090d"]) == 1
    out = capsys.readouterr().out.splitlines()
    violation = next(line for line in out if "gateway-auth-and-tls" in line)
    assert violation.startswith(
        "single-4090d: [mandatory] gateway-auth-and-tls "
        "kubernetes:aigateway.envoyproxy.io/v1beta1:AIGatewayRoute "
        "llm-gateway/models: route on llm-gateway/https serves without "
        "API-key auth. Fix: "
    )
    assert out[-1].startswith("single-4090d (production): 1 mandatory, 0 advisory violation(s);")


def test_a_bad_stack_config_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--stack", "no-such-stack"]) == 2
    assert capsys.readouterr().err.strip() == "stacks/Pulumi.no-such-stack.yaml: no such stack file"
