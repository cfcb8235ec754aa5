"""Run the real program in-process under Pulumi's mock engine and record what it declares.

Used by `infra.plan`, the policy review and the tests. Touches no network, cluster or CLI.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import runpy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime import mocks, rpc, settings

from infra.catalog.provider import (
    HELM_RELEASE_TYPE,
    SKIP_AWAIT_ANNOTATION,
    TIMEOUT_ANNOTATION,
)
from infra.config import ConfigError
from infra.root import PROJECT_ROOT

SECRET_MASK = "[secret]"


@dataclass
class Recorded:
    """One registration: what the program declared, and what `pulumi up` orders and waits
    by. `depends_on` holds the URNs the SDK waited for before registering it (explicit
    `depends_on`, expanded from components to their resources, and the resources whose
    outputs its inputs take); the parent is waited for too."""

    type: str
    name: str
    urn: str
    parent: str
    inputs: dict[str, Any]
    secret_paths: list[str]
    depends_on: list[str] = field(default_factory=list)
    custom_timeouts: dict[str, str] = field(default_factory=dict)  # create/update/delete

    @property
    def label(self) -> str:
        """How a resource is named wherever a person reads it: type and Pulumi name."""
        return f"{self.type} {self.name}"

    def awaits(self) -> dict[str, Any]:
        """The provider's await settings on this resource, as declared: from the object's
        annotations, or a Helm release's own inputs."""
        out: dict[str, Any] = {}
        if self.custom_timeouts:
            out["customTimeouts"] = dict(self.custom_timeouts)
        if self.type == HELM_RELEASE_TYPE:
            out["skipAwait"] = bool(self.inputs.get("skipAwait", False))
            if "timeout" in self.inputs:
                out["timeoutSeconds"] = int(self.inputs["timeout"])
            return out
        annotations = (self.inputs.get("metadata") or {}).get("annotations") or {}
        if SKIP_AWAIT_ANNOTATION in annotations:
            out["skipAwait"] = annotations[SKIP_AWAIT_ANNOTATION] == "true"
        if TIMEOUT_ANNOTATION in annotations:
            out["timeoutSeconds"] = int(annotations[TIMEOUT_ANNOTATION])
        return out

    def as_json(self, labels: dict[str, str] | None = None) -> dict[str, Any]:
        """`labels`: URN -> label of every resource of the run, to name the dependencies."""
        names = labels or {}
        after = [*self.depends_on, *([self.parent] if self.parent in names else [])]
        return {
            "type": self.type,
            "name": self.name,
            "urn": self.urn,
            "parent": self.parent,
            "inputs": self.inputs,
            "secret_paths": self.secret_paths,
            "dependsOn": sorted({names.get(urn, urn) for urn in after}),
            **self.awaits(),
        }


@dataclass
class RunResult:
    resources: list[Recorded]
    outputs: dict[str, Any]


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _mask(value: Any) -> Any:
    """Every leaf replaced, the shape kept (a masked Secret is still a valid Secret)."""
    if isinstance(value, dict):
        return {k: _mask(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v) for v in value]
    return SECRET_MASK


def _clean(value: Any, path: str, secrets: list[str]) -> Any:
    """Mask secrets (recording their paths) and turn integral floats back into ints
    (the wire format carries every number as a double)."""
    if rpc.is_rpc_secret(value):
        secrets.append(path)
        return _mask(rpc.unwrap_rpc_secret(value))
    if isinstance(value, dict):
        return {k: _clean(v, _join(path, k), secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v, _join(path, i), secrets) for i, v in enumerate(value)]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


class _RecordingMonitor(mocks.MockMonitor):
    def __init__(self, behaviour: mocks.Mocks, sink: list[Recorded]) -> None:
        super().__init__(behaviour)
        self.recorded = sink
        self.stack_outputs: dict[str, Any] = {}

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if request.type != "pulumi:pulumi:Stack":
            secrets: list[str] = []
            raw = rpc.deserialize_properties(request.object, keep_unknowns=False)
            inputs = _clean(raw, "", secrets)
            self.recorded.append(
                Recorded(
                    request.type,
                    request.name,
                    response.urn,
                    request.parent,
                    inputs,
                    secrets,
                    sorted(request.dependencies),
                    _timeouts(request.customTimeouts),
                )
            )
        return response

    def RegisterResourceOutputs(self, request: Any) -> Any:  # noqa: N802
        if "::pulumi:pulumi:Stack::" in request.urn:
            outputs = rpc.deserialize_properties(request.outputs, keep_unknowns=False)
            self.stack_outputs = _clean(outputs, "", [])
        return super().RegisterResourceOutputs(request)  # type: ignore[no-untyped-call]


def documentation_address(seed: str) -> str:
    """A TEST-NET-3 address (RFC 5737), stable for a seed: what a cloud would assign."""
    octet = int(hashlib.sha256(seed.encode()).hexdigest(), 16) % 250 + 1
    return f"203.0.113.{octet}"


def _timeouts(message: Any) -> dict[str, str]:
    """The request's customTimeouts (a protobuf message), only the ones set."""
    return {k: getattr(message, k) for k in ("create", "update", "delete") if getattr(message, k)}


class _Behaviour(mocks.Mocks):
    """Resources echo their inputs as state; invokes return nothing."""

    def __init__(self, stack_references: dict[str, dict[str, Any]] | None = None) -> None:
        self.stack_references = stack_references or {}

    def new_resource(self, args: mocks.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        state = dict(args.inputs)
        if args.typ == "pulumi:pulumi:StackReference":
            name = args.inputs["name"]
            if name not in self.stack_references:
                raise KeyError(f"no offline outputs for stack reference {name!r}")
            return name, {
                "name": name,
                "outputs": self.stack_references[name],
                "secretOutputNames": [],
            }
        if args.typ == "gcp:serviceaccount/account:Account":
            state["email"] = (
                f"{args.inputs['accountId']}@{args.inputs.get('project')}.iam.gserviceaccount.com"
            )
        if args.typ == "gcp:container/cluster:Cluster":
            state["endpoint"] = documentation_address(f"cluster/{args.name}")
        if args.typ == "gcp:compute/address:Address":
            # A documentation address standing in for the reserved IP.
            state["address"] = documentation_address(f"{args.name}/{args.inputs.get('region', '')}")
        if args.typ == "random:index/randomPassword:RandomPassword":
            state["result"] = f"offline-{args.name}"  # deterministic stand-in
        if args.typ == "docker:index/image:Image":
            # What a push returns: the repository with the content digest (stand-in).
            digest = hashlib.sha256(json.dumps(args.inputs, sort_keys=True).encode()).hexdigest()
            state["repoDigest"] = f"{args.inputs['imageName'].rsplit(':', 1)[0]}@sha256:{digest}"
        return f"{args.name}-id", state

    def call(self, args: mocks.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        return {}, []


def run(
    program: Callable[[], Any],
    *,
    stack: str,
    config: dict[str, str],
    secret_keys: list[str],
    project: str = "llm-platform",
    sink: list[Recorded] | None = None,
    stack_references: dict[str, dict[str, Any]] | None = None,
) -> RunResult:
    """Run `program` as a Pulumi program of `stack` with `config`; raise what it raises.
    Registrations are appended to `sink` as they happen (so a failed run shows them too)."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    # A ConfigError raised in an apply fails every Output that depends on it; report it once
    # (the caller gets it), not once per abandoned future.
    loop.set_exception_handler(_quiet_config_errors)
    behaviour = _Behaviour(stack_references)
    monitor = _RecordingMonitor(behaviour, sink if sink is not None else [])
    try:
        pulumi.runtime.set_mocks(
            behaviour, project=project, stack=stack, preview=False, monitor=monitor
        )
        # Pulumi keeps pending outputs in process-wide state that set_mocks does not reset.
        settings.SETTINGS.outputs = set()
        # set_mocks made a root stack; run_in_stack (what the language host uses) makes its own.
        settings.set_root_resource(None)  # type: ignore[arg-type]
        pulumi.runtime.set_all_config(config, secret_keys)
        loop.run_until_complete(pulumi.runtime.run_in_stack(program))
    finally:
        _drain(loop)
    # Registration order is asynchronous; URN order is stable across runs.
    return RunResult(sorted(monitor.recorded, key=lambda r: r.urn), monitor.stack_outputs)


def _quiet_config_errors(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    if not isinstance(context.get("exception"), ConfigError):
        loop.default_exception_handler(context)


def _drain(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel what a failed program left pending, stop the executor, close the loop."""
    pending = asyncio.all_tasks(loop)
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    # Monitor calls run in the loop's executor: stop its threads before the loop.
    loop.run_until_complete(loop.shutdown_default_executor())
    loop.close()
    asyncio.set_event_loop(None)
    settings.SETTINGS.outputs = set()


def run_entry_point() -> None:
    """Run `infra/` the way Pulumi's Python language host does."""
    runpy.run_path(str(PROJECT_ROOT / "infra"), run_name="__main__")
