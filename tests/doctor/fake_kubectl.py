"""A stand-in for kubectl that answers `make doctor`'s read-only calls from a JSON file
($FAKE_KUBECTL_STATE: {contexts, current, version, objects: {resource: [objects]}}) and logs
every call to $FAKE_KUBECTL_LOG, so a test can hold the doctor to reading only."""

from __future__ import annotations

import json
import os
import sys
from typing import Any


def _options(argv: list[str]) -> tuple[dict[str, str], list[str]]:
    options: dict[str, str] = {}
    rest: list[str] = []
    flags = {"--kubeconfig", "--context", "--namespace", "-l", "-o"}
    i = 0
    while i < len(argv):
        if argv[i] in flags:
            options[argv[i]] = argv[i + 1]
            i += 2
        else:
            rest.append(argv[i])
            i += 1
    return options, rest


def _matches(obj: dict[str, Any], namespace: str | None, selector: str | None) -> bool:
    meta = obj.get("metadata", {})
    if namespace and meta.get("namespace") != namespace:
        return False
    labels = meta.get("labels") or {}
    for term in (selector or "").split(","):
        if term:
            key, value = term.split("=", 1)
            if labels.get(key) != value:
                return False
    return True


def main(argv: list[str]) -> int:
    with open(os.environ["FAKE_KUBECTL_LOG"], "a") as log:
        log.write(json.dumps(argv) + "\n")
    with open(os.environ["FAKE_KUBECTL_STATE"]) as f:
        state = json.load(f)
    options, rest = _options(argv)
    if state.get("unreachable") and rest[:1] != ["config"]:
        print(
            "Unable to connect to the server: dial tcp 10.0.0.1:6443: i/o timeout", file=sys.stderr
        )
        return 1
    if rest == ["config", "get-contexts"]:
        print("\n".join(state.get("contexts", [])))
        return 0
    if rest == ["config", "current-context"]:
        print(state.get("current", ""))
        return 0 if state.get("current") else 1
    if rest == ["version"]:
        print(json.dumps({"serverVersion": state["version"]}))
        return 0
    if rest[:1] == ["get"] and len(rest) >= 2:
        objects = state.get("objects", {})
        if rest[1] not in objects:
            print(f'error: the server doesn\'t have a resource type "{rest[1]}"', file=sys.stderr)
            return 1
        items = [
            o
            for o in objects[rest[1]]
            if _matches(o, options.get("--namespace"), options.get("-l"))
        ]
        print(json.dumps({"items": items}))
        return 0
    print(f"fake kubectl: unexpected call {argv}", file=sys.stderr)
    return 64


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
