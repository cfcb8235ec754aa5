"""The cluster as `make doctor` sees it: read-only `kubectl get` calls against the stack's
kubeconfig context, each list fetched once. kubectl is found on PATH (or $KUBECTL)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from typing import Any

# A read that takes longer than this is an unreachable API server, not a slow one.
KUBECTL_TIMEOUT_SECONDS = 20
Obj = dict[str, Any]


class UnreachableError(Exception):
    """kubectl could not answer (no binary, no context, no API server)."""


def kubectl_binary() -> str | None:
    given = os.environ.get("KUBECTL")
    return given if given else shutil.which("kubectl")


@dataclass
class Kubectl:
    binary: str
    context: str | None
    kubeconfig: str | None
    _lists: dict[str, list[Obj] | None] = field(default_factory=dict)

    def _base(self) -> list[str]:
        args = [self.binary]
        if self.kubeconfig:
            args += ["--kubeconfig", os.path.expanduser(self.kubeconfig)]
        if self.context:
            args += ["--context", self.context]
        return args

    def run(self, *args: str) -> tuple[int, str, str]:
        try:
            done = subprocess.run(
                [*self._base(), *args],
                capture_output=True,
                text=True,
                timeout=KUBECTL_TIMEOUT_SECONDS,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return 124, "", f"kubectl {' '.join(args)}: no answer in {KUBECTL_TIMEOUT_SECONDS} s"
        return done.returncode, done.stdout, done.stderr

    def contexts(self) -> list[str]:
        rc, out, err = self.run("config", "get-contexts", "-o", "name")
        if rc != 0:
            raise UnreachableError(_first_line(err) or "kubectl config get-contexts failed")
        return out.split()

    def current_context(self) -> str | None:
        rc, out, _ = self.run("config", "current-context")
        return out.strip() or None if rc == 0 else None

    def server_version(self) -> Obj:
        rc, out, err = self.run("version", "-o", "json")
        try:
            version = json.loads(out or "{}").get("serverVersion")
        except json.JSONDecodeError:
            version = None
        if rc != 0 or not version:
            raise UnreachableError(_first_line(err) or "the API server did not answer")
        return dict(version)

    def items(
        self, resource: str, namespace: str | None = None, selector: str | None = None
    ) -> list[Obj] | None:
        """The objects of a resource type (in one namespace, or all; matching a label
        selector); None when the type is not served (its CRD is not installed)."""
        where = ["--namespace", namespace] if namespace else ["--all-namespaces"]
        args = ["get", resource, *where, *(["-l", selector] if selector else []), "-o", "json"]
        key = " ".join(args)
        if key not in self._lists:
            rc, out, err = self.run(*args)
            if rc != 0 and "doesn't have a resource type" in err:
                self._lists[key] = None
            elif rc != 0:
                raise UnreachableError(_first_line(err) or f"kubectl {key} failed")
            else:
                self._lists[key] = list(json.loads(out).get("items", []))
        return self._lists[key]

    def all(
        self, resource: str, namespace: str | None = None, selector: str | None = None
    ) -> list[Obj]:
        return self.items(resource, namespace, selector) or []


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0] if lines else ""


def name_of(obj: Obj) -> str:
    return str(obj.get("metadata", {}).get("name", ""))


def namespace_of(obj: Obj) -> str:
    return str(obj.get("metadata", {}).get("namespace", ""))


def labels_of(obj: Obj) -> dict[str, str]:
    return dict(obj.get("metadata", {}).get("labels") or {})
