"""Harden the pods a chart renders without a security context (the Gateway API inference
extension's endpoint picker has no values key for one): non-root, no privilege escalation,
no capabilities, RuntimeDefault seccomp, read-only root. Pure: manifests in, manifests out.

`python -m infra.postrender.harden` is the Helm post-renderer (`scripts/harden-pods`): the
rendered manifests on stdin, the hardened ones on stdout. The tests apply `harden` to Helm's
own render, so what they judge is what the cluster gets."""

from __future__ import annotations

import sys
from typing import Any

import yaml

from infra.manifests.common import (
    NONROOT_UID,
    container_security_context,
    pod_security_context,
)

WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "Job"}
# The same contexts our own pods get (manifests/common.py), as distroless "nonroot".
POD_CONTEXT = pod_security_context(NONROOT_UID)
CONTAINER_CONTEXT = container_security_context()


def harden(obj: dict[str, Any]) -> dict[str, Any]:
    if obj.get("kind") not in WORKLOADS:
        return obj
    pod = obj["spec"]["template"]["spec"]
    pod["securityContext"] = {**POD_CONTEXT, **(pod.get("securityContext") or {})}
    for container in (pod.get("initContainers") or []) + (pod.get("containers") or []):
        container["securityContext"] = {
            **CONTAINER_CONTEXT,
            **(container.get("securityContext") or {}),
        }
    return obj


def main() -> int:
    documents = [d for d in yaml.safe_load_all(sys.stdin) if d]
    yaml.safe_dump_all([harden(d) for d in documents], sys.stdout, sort_keys=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
