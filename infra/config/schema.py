"""JSON Schema of a stack file, exported from StackConfig for editors and docs."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, NoDefault
from pydantic_core import core_schema, to_jsonable_python

from infra.config.base import PROJECT
from infra.config.stack import SECRET_KEYS, StackConfig


class WithFactoryDefaults(GenerateJsonSchema):
    """Also the defaults made by a default factory (pydantic leaves those out)."""

    def get_default_value(self, schema: core_schema.WithDefaultSchema) -> Any:
        factory = schema.get("default_factory")
        if factory is None or schema.get("default_factory_takes_data"):
            return super().get_default_value(schema)
        value = factory()  # type: ignore[call-arg]
        if isinstance(value, BaseModel):
            return NoDefault  # a section: its keys carry the defaults
        if isinstance(value, list):  # a list of sections: what is set, not every default
            return [
                v.model_dump(by_alias=True, exclude_defaults=True, mode="json")
                if isinstance(v, BaseModel)
                else to_jsonable_python(v)
                for v in value
            ]
        return to_jsonable_python(value, by_alias=True)


def json_schema(generator: type[GenerateJsonSchema] = GenerateJsonSchema) -> dict[str, Any]:
    """JSON Schema of a stack file (`config:` with namespaced keys), for editors."""
    inner = StackConfig.model_json_schema(by_alias=True, schema_generator=generator)
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
