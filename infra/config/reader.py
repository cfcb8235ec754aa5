"""The only reader of Pulumi config: every `llm-platform:*` key, read once, then parsed."""

from __future__ import annotations

import json
import re
import types
import typing
from collections.abc import Callable
from typing import Annotated, Any, Union

import pulumi
from pydantic import BaseModel

from infra.config.base import PROJECT, SECRET_PLACEHOLDER, Problem
from infra.config.errors import ConfigError, stack_file
from infra.config.stack import SECRET_KEYS, StackConfig, parse


def _is_object(annotation: Any) -> bool:
    """Objects and lists come as JSON from Pulumi config; scalars as strings."""
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        return any(_is_object(a) for a in typing.get_args(annotation))
    if origin is Annotated:
        return _is_object(typing.get_args(annotation)[0])
    return origin in (list, dict) or (
        isinstance(annotation, type) and issubclass(annotation, BaseModel)
    )


# Top-level keys whose values are objects or lists (read with get_object).
OBJECT_KEYS = frozenset(
    f.alias or n for n, f in StackConfig.model_fields.items() if _is_object(f.annotation)
)
_KEY = re.compile(rf"^{re.escape(PROJECT)}:(?P<key>.+)$")


def _project_keys() -> list[str]:
    """Every `llm-platform:*` key the engine passed to this program."""
    keys = set(pulumi.runtime.config.CONFIG.get()) | set(pulumi.runtime.get_config_env())
    return sorted(m.group("key") for k in keys if (m := _KEY.match(k)))


def _secret_shape(value: str) -> Any:
    """A secret's structure with every value masked: a map keeps its keys."""
    if value == SECRET_PLACEHOLDER:
        return SECRET_PLACEHOLDER  # offline and set whole: its shape is not known here
    try:
        decoded = json.loads(value)
    except (TypeError, json.JSONDecodeError):
        return "[secret]"
    if isinstance(decoded, dict):
        return {k: "[secret]" for k in decoded}
    return "[secret]"


SNAPSHOT_KEYS = ("accessKeyId", "secretAccessKey")  # of the S3 store (on-prem DR)


def _assume_map_shapes(raw: dict[str, Any]) -> None:
    """A map secret set whole (`pulumi config set --secret apiKeys '{...}'`) cannot be
    decrypted offline: assume it holds what the config references, so a valid stack is not
    refused (`pulumi up` decrypts it and checks the real keys)."""
    if raw.get("apiKeys") == SECRET_PLACEHOLDER:
        clients = (raw.get("gateway") or {}).get("clients") or [{"name": "default"}]
        raw["apiKeys"] = {c.get("name"): "[secret]" for c in clients if isinstance(c, dict)}
    if raw.get("alertingSecrets") == SECRET_PLACEHOLDER:
        alerting = ((raw.get("observability") or {}).get("alerting") or {}).get("receivers")
        refs: dict[str, str] = {}
        for receiver in alerting if isinstance(alerting, list) else []:
            for channel in receiver.values() if isinstance(receiver, dict) else []:
                for field, key in channel.items() if isinstance(channel, dict) else []:
                    if str(field).endswith("Secret") and isinstance(key, str):
                        refs[key] = "[secret]"
        raw["alertingSecrets"] = refs
    if raw.get("snapshotCredentials") == SECRET_PLACEHOLDER:
        raw["snapshotCredentials"] = dict.fromkeys(SNAPSHOT_KEYS, "[secret]")


def plain_secrets(keys: list[str], is_secret: Callable[[str], bool]) -> list[Problem]:
    """Keys that must be Pulumi secrets but are written in plain text."""
    return [
        Problem(key, f"must be a secret: {SECRET_KEYS[key]}")
        for key in keys
        if key in SECRET_KEYS and not is_secret(f"{PROJECT}:{key}")
    ]


def raw_config(config: dict[str, str], secret_keys: list[str]) -> dict[str, Any]:
    """A stack file's config map (as Pulumi passes it) as `parse` takes it, secrets masked:
    for checks made before the program runs."""
    raw: dict[str, Any] = {}
    for full, value in config.items():
        match = _KEY.match(full)
        if match is None:
            continue
        key = match.group("key")
        if full in secret_keys:
            raw[key] = _secret_shape(value)
        elif key in OBJECT_KEYS:
            try:
                raw[key] = json.loads(value)
            except json.JSONDecodeError:
                raw[key] = value
        else:
            raw[key] = value
    _assume_map_shapes(raw)
    return raw


def load() -> StackConfig:
    """Read the stack's Pulumi config once and validate it. Raises ConfigError."""
    source = stack_file(pulumi.get_stack())
    config = pulumi.Config(PROJECT)
    raw: dict[str, Any] = {}
    problems: list[Problem] = []
    keys = _project_keys()
    problems += plain_secrets(keys, pulumi.runtime.is_config_secret)
    for key in keys:
        full = f"{PROJECT}:{key}"
        if key in SECRET_KEYS and not pulumi.runtime.is_config_secret(full):
            continue  # reported above
        if key in SECRET_KEYS:
            # Only the shape is validated here; values are read as secrets where used.
            raw[key] = _secret_shape(pulumi.runtime.get_config(full))
        elif key in OBJECT_KEYS:
            try:
                raw[key] = config.get_object(key)
            except (pulumi.ConfigTypeError, json.JSONDecodeError):
                problems.append(Problem(key, "must be a YAML object or list"))
        else:
            raw[key] = config.get(key)
    _assume_map_shapes(raw)
    try:
        validated = parse(raw, source)
    except ConfigError as exc:  # every problem in one run: what was read, and the rest
        raise ConfigError(problems + exc.problems, source, exc.partial) from None
    if problems:
        raise ConfigError(problems, source)
    return validated


def secret(key: str) -> pulumi.Output[str] | None:
    """A secret config value as a secret Output (never a plain string)."""
    return pulumi.Config(PROJECT).get_secret(key)


def secret_object(key: str, shape: dict[str, Any] | None = None) -> pulumi.Output[Any] | None:
    """A secret map as a secret Output. Offline, a map set whole cannot be decrypted: it is
    `shape` (the keys the validated config assumed) with placeholder values."""
    if pulumi.runtime.get_config(f"{PROJECT}:{key}") == SECRET_PLACEHOLDER and shape is not None:
        return pulumi.Output.secret(dict.fromkeys(shape, SECRET_PLACEHOLDER))
    return pulumi.Config(PROJECT).get_secret_object(key)
