"""Mutations of stack configs, as hypothesis strategies: dropped keys, wrong types,
out-of-range numbers, odd strings, duplicated list items."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import strategies as st

Path = tuple[str | int, ...]

EDGE_NUMBERS = [
    0,
    -1,
    1,
    2**31,
    2**31 - 1,
    2**63,
    2**64,
    -(2**63),
    1e-12,
    1e308,
    float("inf"),
    float("-inf"),
    float("nan"),
    0.5,
    65536,
    3600 * 24 * 365,
]
EDGE_STRINGS = [
    "",
    " ",
    "UPPER",
    "../etc",
    "a/b",
    "x" * 300,
    "line\nbreak",
    "tab\tx",
    "refs/pr/12",
    "é",
    "-lead",
    "trail-",
    "1.31",
    "30x",
    "0",
    "null",
    "~",
    "monitoring",
    "keda",
    "gpu-system",
    "llm-gateway",
    "chat",
    "cert-manager",
    "kube-system",
    "default",
    "qwen2-5-7b-pods",
    "\u0000",
    "\u202e",
    "🙂",
]

JSONISH = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from(EDGE_NUMBERS)
    | st.sampled_from(EDGE_STRINGS)
    | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3)
    ),
    max_leaves=6,
)


def paths(value: Any, prefix: Path = ()) -> list[Path]:
    """Every place in the config a mutation can hit (not the root)."""
    found: list[Path] = []
    if isinstance(value, dict):
        for key, child in value.items():
            found.append((*prefix, key))
            found += paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found.append((*prefix, index))
            found += paths(child, (*prefix, index))
    return found


def _parent(raw: Any, path: Path) -> Any:
    for part in path[:-1]:
        raw = raw[part]
    return raw


def _apply(raw: dict[str, Any], path: Path, op: str, value: Any) -> None:
    parent, last = _parent(raw, path), path[-1]
    if op == "delete":
        del parent[last]
    elif op == "duplicate" and isinstance(parent, list):
        parent.insert(int(last), copy.deepcopy(parent[int(last)]))
    else:
        parent[last] = value


@st.composite
def mutated(draw: st.DrawFn, bases: list[dict[str, Any]]) -> dict[str, Any]:
    raw: dict[str, Any] = copy.deepcopy(draw(st.sampled_from(bases)))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        places = paths(raw)
        if not places:
            break
        path = draw(st.sampled_from(places))
        op = draw(st.sampled_from(["delete", "replace", "edge", "duplicate"]))
        value = (
            draw(JSONISH) if op == "replace" else draw(st.sampled_from(EDGE_NUMBERS + EDGE_STRINGS))
        )
        _apply(raw, path, op, value)
    return raw
