"""JSON Schema of a stack file, exported from StackConfig for editors and docs."""

from __future__ import annotations

from typing import Any

from infra.config.base import PROJECT
from infra.config.stack import SECRET_KEYS, StackConfig


def json_schema() -> dict[str, Any]:
    """JSON Schema of a stack file (`config:` with namespaced keys), for editors."""
    inner = StackConfig.model_json_schema(by_alias=True)
    defs = inner.pop("$defs", {})
    defs["Secure"] = {
        "type": "object",
        "properties": {"secure": {"type": "string"}},
        "required": ["secure"],
        "additionalProperties": False,
        "description": "an encrypted value written by `pulumi config set --secret`",
    }
    props: dict[str, Any] = {}
    for key, field_schema in inner["properties"].items():
        schema = field_schema
        if key in SECRET_KEYS:
            forms: list[dict[str, Any]] = [{"$ref": "#/$defs/Secure"}, {"type": "null"}]
            if "additionalProperties" in str(schema):  # a map: `--path` secures each entry
                forms.insert(
                    1, {"type": "object", "additionalProperties": {"$ref": "#/$defs/Secure"}}
                )
            schema = {"anyOf": forms, "description": schema.get("description", "")}
        props[f"{PROJECT}:{key}"] = schema
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "llm-platform stack file (stacks/Pulumi.<stack>.yaml)",
        "type": "object",
        "properties": {
            "secretsprovider": {"type": "string"},
            "encryptedkey": {"type": "string"},
            "encryptionsalt": {"type": "string"},
            "config": {
                "type": "object",
                "properties": props,
                "required": [f"{PROJECT}:{k}" for k in inner.get("required", [])],
                "patternProperties": {"^(?!llm-platform:)[^:]+:.+$": {}},
                "additionalProperties": False,
            },
        },
        "$defs": defs,
    }
