"""The code's shape, held by tests: what the language host needs and what a reader needs."""

from __future__ import annotations

import sys
import tomllib

from infra.root import PROJECT_ROOT

# A module past this many lines holds more than one concern: split it (the team rule).
MAX_MODULE_LINES = 450
# ruff's mccabe rule reports functions above this complexity (team rule: under 14).
MAX_COMPLEXITY = 13


def test_no_module_directly_under_infra_shadows_the_standard_library() -> None:
    # `pulumi up` runs infra/ with infra/ first on sys.path: a platform.py in infra/ would be
    # imported instead of the stdlib `platform` by every library that uses it.
    names = {p.stem for p in (PROJECT_ROOT / "infra").iterdir() if p.suffix == ".py" or p.is_dir()}
    assert not names & set(sys.stdlib_module_names), names & set(sys.stdlib_module_names)


def test_no_module_in_infra_or_policies_is_too_long() -> None:
    long = {
        str(p.relative_to(PROJECT_ROOT)): n
        for folder in ("infra", "policies")
        for p in (PROJECT_ROOT / folder).rglob("*.py")
        if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert not long, f"split these modules (over {MAX_MODULE_LINES} lines): {long}"


def test_ruff_enforces_the_complexity_limit() -> None:
    settings = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["tool"]["ruff"]
    assert "C90" in settings["lint"]["select"]
    assert settings["lint"]["mccabe"]["max-complexity"] == MAX_COMPLEXITY
