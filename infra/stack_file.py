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
from infra.config.base import SECRET_PLACEHOLDER


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


# A YAML alias can point at a mapping that holds aliases itself: a few lines may expand to
# billions of values. Stack files are small; refuse anything that expands beyond this.
MAX_VALUES = 100_000
# A namespace this close to the project's is a typo, not another provider's config.
NEAR_MISS_DISTANCE = 2


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys (both lines named) and non-string keys."""


def _mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        line = key_node.start_mark.line + 1
        if not isinstance(key, str):
            raise _BadKeyError(line, f'key {key!r} is not a string (quote it: "{key}":)')
        if key in seen:
            raise _BadKeyError(line, f"key {key!r} appears twice (lines {seen[key]} and {line})")
        seen[key] = line
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


class _BadKeyError(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line


def _count(value: Any, budget: int) -> int:
    """Values in the document, aliases expanded, stopping once past the budget."""
    stack, seen = [value], 0
    while stack and seen <= budget:
        item = stack.pop()
        seen += 1
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return seen


def _distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def _text(path: Path, label: str) -> str:
    def refuse(message: str) -> ConfigError:
        return ConfigError([Problem("", message)], label)

    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise refuse("no such stack file") from None
    except IsADirectoryError:
        raise refuse("is a directory, not a stack file") from None
    except PermissionError:
        raise refuse("cannot be read (permission denied)") from None
    except OSError as exc:
        raise refuse(f"cannot be read ({exc.strerror})") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise refuse(
            f"line {line}: not UTF-8 (byte 0x{data[exc.start]:02x}); save the file as UTF-8"
        ) from None


def _document(text: str, label: str) -> Any:
    def refuse(message: str) -> ConfigError:
        return ConfigError([Problem("", message)], label)

    try:
        document = yaml.load(text, Loader=_StrictLoader)
    except _BadKeyError as exc:
        raise refuse(f"line {exc.line}: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise refuse(f"{where}not valid YAML: {problem}") from None
    except RecursionError:
        raise refuse("nested too deeply to be a stack file") from None
    if _count(document, MAX_VALUES) > MAX_VALUES:
        raise refuse(f"expands to more than {MAX_VALUES} values (YAML aliases?)")
    return document


def _namespace_problems(keys: list[str]) -> list[Problem]:
    problems = []
    for key in keys:
        namespace = key.split(":", 1)[0] if ":" in key else PROJECT
        if namespace != PROJECT and _distance(namespace, PROJECT) <= NEAR_MISS_DISTANCE:
            fixed = f"{PROJECT}:{key.split(':', 1)[1]}"
            problems.append(Problem("", f"config key {key!r}: did you mean {fixed!r}?"))
    return problems


def read_stack_file(path: Path, label: str) -> tuple[dict[str, str], list[str]]:
    """Return (namespaced key -> string value, secret keys) or raise ConfigError."""
    document = _document(_text(path, label), label) or {}
    if not isinstance(document, dict) or not isinstance(document.get("config", {}), dict):
        raise ConfigError([Problem("", "expected a mapping with a `config:` mapping")], label)
    entries = document.get("config") or {}
    problems = _namespace_problems(list(entries))
    if problems:
        raise ConfigError(problems, label)
    config: dict[str, str] = {}
    secret_keys: list[str] = []
    for key, raw in entries.items():
        full = key if ":" in key else f"{PROJECT}:{key}"
        value, is_secret = _mask_secure(raw)
        config[full] = _to_config_string(value)
        if is_secret:
            secret_keys.append(full)
    return config, secret_keys
