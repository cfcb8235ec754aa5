"""Read a stack file (stacks/Pulumi.<stack>.yaml) into the config map Pulumi would pass.

Offline, `secure:` values cannot be decrypted: they become a placeholder and their
top-level key is marked secret, exactly as the engine marks a decrypted secret key.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from infra.config import PROJECT, ConfigError, Problem

SECRET_PLACEHOLDER = "offline-placeholder-secret"


def _mask_secure(value: Any) -> tuple[Any, bool]:
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            return SECRET_PLACEHOLDER, True
        found = False
        out = {}
        for k, v in value.items():
            out[k], s = _mask_secure(v)
            found |= s
        return out, found
    if isinstance(value, list):
        items = [_mask_secure(v) for v in value]
        return [v for v, _ in items], any(s for _, s in items)
    return value, False


def _to_config_string(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)


def read_stack_file(path: Path, label: str) -> tuple[dict[str, str], list[str]]:
    """Return (namespaced key -> string value, secret keys) or raise ConfigError."""
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError:
        raise ConfigError([Problem("", "no such stack file")], label) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError([Problem("", f"{where}not valid YAML: {problem}")], label) from None
    if not isinstance(document, dict) or not isinstance(document.get("config", {}), dict):
        raise ConfigError([Problem("", "expected a mapping with a `config:` mapping")], label)
    config: dict[str, str] = {}
    secret_keys: list[str] = []
    for key, raw in (document.get("config") or {}).items():
        full = key if ":" in key else f"{PROJECT}:{key}"
        value, is_secret = _mask_secure(raw)
        config[full] = _to_config_string(value)
        if is_secret:
            secret_keys.append(full)
    return config, secret_keys
