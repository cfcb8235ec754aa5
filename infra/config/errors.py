"""Bad config as one line per problem: `<file>: llm-platform:<key.path>: <what is wrong>`."""

from __future__ import annotations

import difflib
import json
import re
import types
import typing
import unicodedata
from typing import Annotated, Any, Union

import pulumi
from pydantic import BaseModel

from infra.config.base import PATTERN_MEANINGS, PROJECT, STACK_CONFIG_DIR, Problem


class ConfigError(pulumi.RunError):
    """A bad stack config. A RunError, so `pulumi up` prints it without a traceback."""

    def __init__(self, problems: list[Problem], source: str, partial: Any = None) -> None:
        self.problems = problems
        self.source = source
        # What validated of the config (stack.Partial), so later checks can run on it too.
        self.partial = partial
        super().__init__("\n".join(self.lines()))

    def lines(self, source: str | None = None) -> list[str]:
        where = source or self.source
        return [
            printable(
                f"{where}: {PROJECT}:{p.path}: {p.message}" if p.path else f"{where}: {p.message}"
            )
            for p in self.problems
        ]


# Characters that would break a one-line message or disguise it: line breaks, other
# controls, and format characters such as bidirectional overrides.
_HIDDEN = {"Cc", "Cf", "Zl", "Zp"}


def printable(text: str) -> str:
    """The text on one line, with every control or format character spelled out."""
    return "".join(repr(ch)[1:-1] if unicodedata.category(ch) in _HIDDEN else ch for ch in text)


def stack_file(stack: str) -> str:
    return f"{STACK_CONFIG_DIR}/Pulumi.{stack}.yaml"


def _format_loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _show(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _unwrap(annotation: Any) -> Any:
    """The model class behind Optional[...] / list[...] / Annotated[...], if any."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (Union, types.UnionType, list):
        for arg in typing.get_args(annotation):
            found = _unwrap(arg)
            if isinstance(found, type) and issubclass(found, BaseModel):
                return found
    return annotation


def _is_model(candidate: Any) -> bool:
    return isinstance(candidate, type) and issubclass(candidate, BaseModel)


def _model_at(root: type[BaseModel], loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    model: Any = root
    for part in loc:
        if isinstance(part, int):
            continue
        if not _is_model(model):
            return None
        field = next((f for n, f in model.model_fields.items() if part in (n, f.alias)), None)
        if field is None:
            return None
        model = _unwrap(field.annotation)
    return model if _is_model(model) else None


def _pattern_at(root: type[BaseModel], loc: tuple[int | str, ...]) -> str | None:
    """The string pattern the field at `loc` requires, if any."""
    owner = _model_at(root, tuple(p for p in loc[:-1]))
    if owner is None or not isinstance(loc[-1], str):
        return None
    field = next((f for n, f in owner.model_fields.items() if loc[-1] in (n, f.alias)), None)
    annotation = field.annotation if field else None
    for arg in (annotation, *typing.get_args(annotation)):
        for meta in getattr(arg, "__metadata__", ()) or ():
            if getattr(meta, "pattern", None):
                return str(meta.pattern)
    for meta in field.metadata if field else []:
        if getattr(meta, "pattern", None):
            return str(meta.pattern)
    return None


def unknown_key(path: str, accepted: list[str]) -> Problem:
    """An unknown key: the accepted one it was likely meant to be, else all of them."""
    key = path.rsplit(".", 1)[-1]
    close = difflib.get_close_matches(key, accepted, n=1, cutoff=0.7)
    if not close:
        close = [a for a in accepted if a.lower() == key.lower()]
    if close:
        return Problem(path, f"unknown key; did you mean {close[0]!r}?")
    return Problem(path, f"unknown key; accepted keys: {', '.join(accepted)}")


def problem_from_pydantic(err: Any, root: type[BaseModel]) -> Problem:
    """One pydantic error as a Problem, in the stack file's own words (camelCase paths)."""
    loc = tuple(err["loc"])
    path = _format_loc(loc)
    kind = err["type"]
    if kind == "extra_forbidden":
        owner = _model_at(root, loc[:-1])
        accepted = sorted(f.alias or n for n, f in owner.model_fields.items()) if owner else []
        return unknown_key(path, accepted)
    if kind == "missing":
        return Problem(path, "required key is missing")
    if kind == "string_pattern_mismatch":
        pattern = err.get("ctx", {}).get("pattern", "")
        what = PATTERN_MEANINGS.get(pattern, f"a string matching {pattern}")
        return Problem(path, f"{_show(err['input'])} is not valid; expected {what}")
    # Pydantic speaks of its classes ("or instance of ClusterConfig"): users write YAML.
    text = re.sub(r" or instance of \w+", "", str(err["msg"]).removeprefix("Value error, "))
    message = text[0].lower() + text[1:]
    value = err["input"]
    wants_text = kind == "string_type" or (
        kind == "literal_error" and "'" in str(err.get("ctx", {}).get("expected", ""))
    )
    if wants_text and isinstance(value, int | float) and not isinstance(value, bool):
        pattern = _pattern_at(root, loc)
        if pattern is not None and not re.fullmatch(pattern.strip("^$"), str(value)):
            what = PATTERN_MEANINGS.get(pattern, f"a string matching {pattern}")
            return Problem(path, f"{_show(value)} is not valid; expected {what}")
        # `kubernetesVersion: 1.30` is the number 1.3 to YAML.
        return Problem(path, f"{message}; YAML read {_show(value)} as a number: quote it")
    return Problem(path, f"{message} (got {_show(value)})")
