"""What every rule works on: a resource's type, name, URN and input properties."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from pulumi_policy import Secret

from infra.manifests.common import GPU_RESOURCE

Props = Mapping[str, Any]
WORKLOAD_TYPES = {
    "kubernetes:apps/v1:Deployment",
    "kubernetes:apps/v1:StatefulSet",
    "kubernetes:apps/v1:DaemonSet",
    "kubernetes:batch/v1:Job",
}
GPU = GPU_RESOURCE


@dataclass(frozen=True)
class Resource:
    type: str
    name: str
    urn: str
    props: Props


@dataclass(frozen=True)
class Rule:
    """A pure validator. Resource rules see one resource; stack rules see them all and say
    which resource each violation belongs to (None: the stack)."""

    name: str
    description: str  # one line
    fix: str  # how to fix a violation, appended to every message
    resource: Callable[[Resource, Props], Iterable[str]] | None = None
    stack: Callable[[list[Resource], Props], Iterable[tuple[Resource | None, str]]] | None = None
    config: dict[str, dict[str, Any]] = field(default_factory=dict)  # JSON Schema properties


def pod_spec(res: Resource) -> Props | None:
    if res.type not in WORKLOAD_TYPES:
        return None
    spec: Props | None = (res.props.get("spec") or {}).get("template", {}).get("spec")
    return spec


def containers(pod: Props) -> Iterator[Props]:
    yield from pod.get("initContainers") or []
    yield from pod.get("containers") or []


def is_vllm(container: Props) -> bool:
    return list(container.get("command") or [])[:2] == ["vllm", "serve"]


def arg_value(args: list[str], flag: str) -> str | None:
    for i, arg in enumerate(args):
        if arg == flag and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith(f"{flag}="):
            return arg.split("=", 1)[1]
    return None


def plain(value: Any) -> Any:
    """A value with Secret wrappers removed (they mark what the engine keeps secret)."""
    return value.value if isinstance(value, Secret) else value


_QUANTITY = re.compile(r"^(\d+(?:\.\d+)?)(m|Ki|Mi|Gi|Ti|k|M|G|T)?$")
_FACTOR = {
    None: 1,
    "m": 0.001,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
}


def quantity(value: Any) -> float | None:
    match = _QUANTITY.match(str(plain(value)))
    return float(match.group(1)) * _FACTOR[match.group(2)] if match else None
