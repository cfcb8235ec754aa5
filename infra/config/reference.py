"""The configuration reference (docs/configuration.md), generated from the stack file's
JSON Schema and the shipped stack files, so it cannot drift from the config model."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from infra.config.base import PATTERN_MEANINGS, PROJECT
from infra.config.schema import WithFactoryDefaults, json_schema
from infra.root import PROJECT_ROOT as ROOT

EXAMPLE_DIRS = ("stacks", "examples")
# Longest example shown in a table cell; longer values are left to the stack files.
EXAMPLE_CHARS = 60
Schema = Mapping[str, Any]


@dataclass(frozen=True)
class Key:
    """One key of a stack file: its path (`models[].tensorParallel`) and its schema."""

    path: str
    kind: str
    default: str
    description: str
    section: bool  # a nested section, whose keys follow as their own rows


def _resolve(schema: Schema, defs: Schema) -> tuple[Schema, bool]:
    """The schema without its `null` alternative and `$ref`, and whether null was allowed."""
    optional = False
    alternatives = schema.get("anyOf")
    if alternatives:
        rest = [a for a in alternatives if a.get("type") != "null"]
        optional = len(rest) < len(alternatives)
        if len(rest) == 1:
            schema = {**schema, **rest[0]}
            schema.pop("anyOf")
    if _secret(schema):
        return schema, optional
    ref = schema.get("$ref")
    if ref:
        target = defs[ref.rsplit("/", 1)[-1]]
        schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
        schema = {**schema, "description": schema.get("description") or target.get("description")}
    return schema, optional


def _secret(schema: Schema) -> bool:
    return str(schema.get("$ref", "")).endswith("/Secure")


def _bounds(schema: Schema) -> str:
    parts = []
    for key, sign in (
        ("minimum", "≥"),
        ("exclusiveMinimum", ">"),
        ("maximum", "≤"),
        ("exclusiveMaximum", "<"),
        ("minLength", "length ≥"),
        ("maxLength", "length ≤"),
        ("minItems", "items ≥"),
        ("maxItems", "items ≤"),
    ):
        if key in schema:
            parts.append(f"{sign} {schema[key]}")
    return f" ({', '.join(parts)})" if parts else ""


def _kind(schema: Schema, defs: Schema) -> str:
    """What a value of this schema is, in words."""
    schema, _ = _resolve(schema, defs)
    if _secret(schema):
        return "secret"
    if "enum" in schema:
        return "one of " + ", ".join(f"`{v}`" for v in schema["enum"])
    if "const" in schema:
        return f"`{schema['const']}`"
    if "anyOf" in schema:
        return " or ".join(_kind(a, defs) for a in schema["anyOf"] if a.get("type") != "null")
    kind = schema.get("type")
    if kind == "array":
        return f"list of {_kind(schema.get('items', {}), defs)}{_bounds(schema)}"
    if kind == "object" and "properties" in schema:
        return "section"
    if kind == "object" and "patternProperties" in schema:
        (pattern, value), *_ = schema["patternProperties"].items()
        return (
            f"map of {_kind({'type': 'string', 'pattern': pattern}, defs)} → {_kind(value, defs)}"
        )
    if kind == "object":
        return f"map of name → {_kind(schema.get('additionalProperties', {}), defs)}"
    if kind == "string" and "pattern" in schema:
        return PATTERN_MEANINGS.get(schema["pattern"], f"text matching `{schema['pattern']}`")
    words = {"integer": "integer", "number": "number", "boolean": "true/false", "string": "text"}
    return words.get(str(kind), "value") + _bounds(schema)


def _default(schema: Schema, required: bool) -> str:
    if required:
        return "required"
    if "default" not in schema:
        return ""  # a section: its keys carry the defaults
    value = schema["default"]
    if value is None:
        return "unset"
    return f"`{json.dumps(value)}`"


def _nested(schema: Schema, defs: Schema) -> tuple[str, Schema] | None:
    """The suffix and section schema whose keys follow this key's row, if any."""
    schema, _ = _resolve(schema, defs)
    if _secret(schema):
        return None
    if "properties" in schema:
        return "", schema
    items = schema.get("items")
    if schema.get("type") == "array" and items:
        inner, _ = _resolve(items, defs)
        if "properties" in inner:
            return "[]", inner
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        inner, _ = _resolve(extra, defs)
        if "properties" in inner:
            return ".<name>", inner
    return None


def keys(section: Schema, defs: Schema, prefix: str = "") -> Iterator[Key]:
    """Every key of a section, depth first, in the model's order."""
    required = set(section.get("required", []))
    for name, raw in section.get("properties", {}).items():
        schema, _ = _resolve(raw, defs)
        path = f"{prefix}{name}"
        nested = _nested(raw, defs)
        yield Key(
            path=path,
            kind=_kind(raw, defs),
            default=_default(raw, name in required),
            description=" ".join(str(schema.get("description") or "").split()),
            section=nested is not None,
        )
        if nested:
            suffix, inner = nested
            yield from keys(inner, defs, f"{path}{suffix}.")


def _values(node: Any, parts: list[str]) -> Iterator[Any]:
    """Values at a key path (`[]` walks every list item, `<name>` every map entry)."""
    if not parts:
        yield node
        return
    head, rest = parts[0], parts[1:]
    if head == "<name>" and isinstance(node, dict):
        for value in node.values():
            yield from _values(value, rest)
        return
    many = head.endswith("[]")
    key = head.removesuffix("[]")
    if not isinstance(node, dict) or key not in node:
        return
    value = node[key]
    if many and isinstance(value, list):
        for item in value:
            yield from _values(item, rest)
    elif not many:
        yield from _values(value, rest)


def shipped_configs(root: Path = ROOT) -> list[tuple[str, dict[str, Any]]]:
    """(relative path, config without namespace) of every shipped stack and example file."""
    found = []
    for folder in EXAMPLE_DIRS:
        for path in sorted((root / folder).glob("Pulumi.*.yaml")):
            raw = yaml.safe_load(path.read_text()) or {}
            config = {
                k.removeprefix(f"{PROJECT}:"): v
                for k, v in (raw.get("config") or {}).items()
                if k.startswith(f"{PROJECT}:")
            }
            found.append((path.relative_to(root).as_posix(), config))
    return found


def example(path: str, configs: list[tuple[str, dict[str, Any]]]) -> str:
    """The first value a shipped file gives this key, with the file it is from."""
    for source, config in configs:
        for value in _values(config, path.replace("[]", "[].").replace("..", ".").split(".")):
            if isinstance(value, dict) and "secure" in value:
                continue
            text = json.dumps(value, separators=(", ", ": "))
            if len(text) <= EXAMPLE_CHARS:
                return f"`{text}` ({Path(source).name})"
    return ""


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


TABLE_HEAD = ["| Key | Type | Default | Description | Example |", "|---|---|---|---|---|"]
INTRO = f"""# Configuration reference

<!-- Generated by `make docs` from the config model (infra/config/) and the shipped
     stack files; a test keeps it current. Do not edit by hand. -->

Every key of a stack file, written under `config:` as `{PROJECT}:<key>`. Nested keys are
paths: `models[].tensorParallel` is `tensorParallel` in an item of the `models` list,
`alertingSecrets.<name>` an entry of a map. Examples are the first value a file in
`stacks/` or `examples/` gives the key. An unknown key is refused with the closest accepted
one; `make schema` writes the same model as JSON Schema (`stacks/stack.schema.json`) for
editors. Keys of type *secret* are set with `pulumi config set --secret` and are never
written in plain text.
"""


def _row(key: Key, configs: list[tuple[str, dict[str, Any]]]) -> str:
    kind = key.kind.replace("list of section", "list of sections")
    cells = (
        f"`{key.path}`",
        kind,
        "" if key.kind == "section" else key.default,
        key.description,
        "" if key.section else example(key.path, configs),
    )
    return "| " + " | ".join(_cell(c) for c in cells) + " |"


def _top(schema: Schema) -> Schema:
    config = schema["properties"]["config"]
    return {
        "properties": {k.removeprefix(f"{PROJECT}:"): v for k, v in config["properties"].items()},
        "required": [k.removeprefix(f"{PROJECT}:") for k in config.get("required", [])],
    }


def markdown(root: Path = ROOT) -> str:
    """The whole reference: the top-level keys, then one table per section."""
    schema = json_schema(WithFactoryDefaults)
    defs, top = schema["$defs"], _top(schema)
    configs = shipped_configs(root)
    sections: dict[str, list[Key]] = {}
    for key in keys(top, defs):
        sections.setdefault(key.path.split(".")[0].removesuffix("[]"), []).append(key)
    plain = [rows[0] for rows in sections.values() if not rows[0].section]
    lines = [INTRO, "## Top-level keys", "", *TABLE_HEAD, *(_row(k, configs) for k in plain)]
    lines.append("")
    for name, rows in sections.items():
        head, rest = rows[0], rows[1:]
        if not head.section:
            continue
        required = " Required." if head.default == "required" else ""
        lines += [f"## `{name}`", "", f"{head.description}{required}", "", *TABLE_HEAD]
        lines += [_row(k, configs) for k in rest]
        lines.append("")
    return "\n".join(lines)


def undescribed() -> list[str]:
    """Key paths the reference would show without a description."""
    schema = json_schema(WithFactoryDefaults)
    return [k.path for k in keys(_top(schema), schema["$defs"]) if not k.description]
