"""Every secret-capable key in every form Pulumi writes: the schema accepts it, the offline
plan treats what it cannot decrypt as secret placeholders without refusing a valid shape,
the values reach the resources as Pulumi secrets, and plain text is refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from infra.config import ConfigError
from infra.plan import plan_stack
from infra.root import PROJECT_ROOT
from tests.builders import gpu_box, stack_file_text
from tests.engines.test_alertmanager import alerting_stack

WHOLE = "v1:AAAAwhole"  # `pulumi config set --secret KEY '{...}'`: one encrypted value


def _per_entry(entries: list[str]) -> dict[str, Any]:
    """`pulumi config set --secret --path 'KEY.<entry>' ...`: each entry encrypted."""
    return {entry: {"secure": f"v1:AAAA{i}"} for i, entry in enumerate(entries)}


FORMS: list[tuple[str, dict[str, Any], str, Any]] = [
    ("hfToken", gpu_box(), "hfToken", {"secure": WHOLE}),
    ("apiKeys per client", gpu_box(), "apiKeys", _per_entry(["default", "batch"])),
    ("apiKeys whole", gpu_box(), "apiKeys", {"secure": WHOLE}),
    (
        "alertingSecrets per name",
        alerting_stack(),
        "alertingSecrets",
        _per_entry(["smtp", "pager"]),
    ),
    ("alertingSecrets whole", alerting_stack(), "alertingSecrets", {"secure": WHOLE}),
]


def _stack(tmp: Path, raw: dict[str, Any], key: str, value: Any) -> Path:
    document = yaml.safe_load(stack_file_text(raw))
    document["config"][f"llm-platform:{key}"] = value
    path = tmp / "Pulumi.test.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


@pytest.mark.parametrize(("raw", "key", "value"), [f[1:] for f in FORMS], ids=[f[0] for f in FORMS])
def test_every_secret_form_validates_plans_and_stays_secret(
    raw: dict[str, Any], key: str, value: Any, tmp_path: Path
) -> None:
    path = _stack(tmp_path, raw, key, value)
    schema = json.loads((PROJECT_ROOT / "stacks/stack.schema.json").read_text())
    jsonschema.validate(yaml.safe_load(path.read_text()), schema)
    result = plan_stack("test", path)
    secret = {
        "hfToken": "llm-serving/hf-token",
        "apiKeys": "llm-gateway/llm-api-keys",
        "alertingSecrets": "monitoring/alertmanager-credentials",
    }[key]
    [resource] = [r for r in result.resources if r.name == secret]
    assert resource.secret_paths, f"{secret} holds values that are not Pulumi secrets"
    assert "offline-placeholder-secret" not in json.dumps(resource.as_json())


@pytest.mark.parametrize("key", ["hfToken", "apiKeys", "alertingSecrets"])
def test_plain_text_is_refused_for_every_secret_key(key: str, tmp_path: Path) -> None:
    raw = alerting_stack() if key == "alertingSecrets" else gpu_box()
    value: Any = "hf_plain" if key == "hfToken" else {"default": "x", "batch": "y", "smtp": "z"}
    path = _stack(tmp_path, raw, key, value)
    with pytest.raises(ConfigError) as caught:
        plan_stack("test", path)
    assert any(f"llm-platform:{key}: must be a secret" in line for line in caught.value.lines())
