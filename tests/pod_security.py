"""The Pod Security Standards (baseline and restricted), as the admission controller checks
them: one implementation for every test that holds a pod to a namespace's level (our own
pods, and what charts render). No Python binding of Kubernetes' pod-security-admission
exists; the controls here follow its documented checks."""

from __future__ import annotations

from typing import Any

BASELINE_CAPABILITIES = {
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
    "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
}  # fmt: skip


def baseline_violations(pod: dict[str, Any]) -> list[str]:
    found = [key for key in ("hostNetwork", "hostPID", "hostIPC") if pod.get(key)]
    found += [f"hostPath {v['name']}" for v in pod.get("volumes") or [] if "hostPath" in v]
    for c in (pod.get("initContainers") or []) + pod["containers"]:
        ctx = c.get("securityContext") or {}
        if ctx.get("privileged"):
            found.append(f"{c['name']} privileged")
        added = set((ctx.get("capabilities") or {}).get("add") or []) - BASELINE_CAPABILITIES
        found += [f"{c['name']} adds {cap}" for cap in sorted(added)]
        found += [f"{c['name']} hostPort" for p in c.get("ports") or [] if p.get("hostPort")]
    return found


RESTRICTED_VOLUMES = {
    "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
    "projected", "secret",
}  # fmt: skip


def _restricted_container(c: dict[str, Any], pod_ctx: dict[str, Any]) -> list[str]:
    ctx = c.get("securityContext") or {}
    found = []
    if ctx.get("allowPrivilegeEscalation") is not False:
        found.append("allows privilege escalation")
    if not ctx.get("runAsNonRoot", pod_ctx.get("runAsNonRoot")):
        found.append("does not set runAsNonRoot")
    if ctx.get("runAsUser", pod_ctx.get("runAsUser")) == 0:
        found.append("runs as UID 0")
    seccomp = ctx.get("seccompProfile") or pod_ctx.get("seccompProfile") or {}
    if seccomp.get("type") not in ("RuntimeDefault", "Localhost"):
        found.append("has no RuntimeDefault seccomp profile")
    capabilities = ctx.get("capabilities") or {}
    if "ALL" not in (capabilities.get("drop") or []):
        found.append("does not drop ALL capabilities")
    if set(capabilities.get("add") or []) - {"NET_BIND_SERVICE"}:
        found.append("adds capabilities beyond NET_BIND_SERVICE")
    return [f"{c['name']} {problem}" for problem in found]


def restricted_violations(pod: dict[str, Any]) -> list[str]:
    found = baseline_violations(pod)
    found += [
        f"volume {v['name']}"
        for v in pod.get("volumes") or []
        if not set(v) - {"name"} <= RESTRICTED_VOLUMES
    ]
    for c in (pod.get("initContainers") or []) + pod["containers"]:
        found += _restricted_container(c, pod.get("securityContext") or {})
    return found
