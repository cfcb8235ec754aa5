"""Policy config per environment (policies/config/<environment>.json), in the format
`pulumi preview --policy-pack-config` reads, validated before use."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from policies.rules import BY_NAME

CONFIG_DIR = Path(__file__).with_name("config")
LEVELS = ("advisory", "mandatory", "disabled")
_TYPES: dict[str, type | tuple[type, ...]] = {
    "boolean": bool,
    "array": list,
    "string": str,
    "integer": int,
    "number": (int, float),
}


class PolicyConfigError(Exception):
    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


def config_path(environment: str) -> Path:
    return CONFIG_DIR / f"{environment}.json"


def validate(data: Any, source: str) -> list[str]:
    """One line per problem: unknown policies, bad levels, unknown or mistyped settings."""
    if not isinstance(data, dict):
        return [f"{source}: expected an object of policy names"]
    problems = []
    for name, value in data.items():
        if name == "all":
            if value not in LEVELS:
                problems.append(f"{source}: all: {value!r} is not one of {', '.join(LEVELS)}")
            continue
        rule = BY_NAME.get(name)
        if rule is None:
            problems.append(
                f"{source}: {name}: unknown policy; policies: {', '.join(sorted(BY_NAME))}"
            )
            continue
        settings = value if isinstance(value, dict) else {"enforcementLevel": value}
        for key, setting in settings.items():
            if key == "enforcementLevel":
                if setting not in LEVELS:
                    problems.append(
                        f"{source}: {name}.enforcementLevel: {setting!r} is not one "
                        f"of {', '.join(LEVELS)}"
                    )
            elif key not in rule.config:
                known = ", ".join(["enforcementLevel", *rule.config])
                problems.append(f"{source}: {name}.{key}: unknown setting; settings: {known}")
            elif not isinstance(setting, _TYPES[rule.config[key]["type"]]):
                problems.append(
                    f"{source}: {name}.{key}: expected {rule.config[key]['type']}, "
                    f"got {json.dumps(setting)}"
                )
    return problems


def load(environment: str) -> dict[str, Any]:
    path = config_path(environment)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise PolicyConfigError(
            [f"{path}: no policy config for environment {environment!r}"]
        ) from None
    except json.JSONDecodeError as exc:
        raise PolicyConfigError([f"{path}: not valid JSON: {exc}"]) from None
    problems = validate(data, str(path))
    if problems:
        raise PolicyConfigError(problems)
    return dict(data)


def level(config: dict[str, Any], name: str) -> str:
    value = config.get(name, config.get("all", "advisory"))
    return str(
        value.get("enforcementLevel", config.get("all", "advisory"))
        if isinstance(value, dict)
        else value
    )


def settings(config: dict[str, Any], name: str) -> dict[str, Any]:
    """The policy's settings, with the schema's defaults filled in."""
    rule = BY_NAME[name]
    own = config.get(name)
    values = (
        {k: v for k, v in own.items() if k != "enforcementLevel"} if isinstance(own, dict) else {}
    )
    return {**{k: s.get("default") for k, s in rule.config.items()}, **values}
