"""Rules on the pods the platform declares (Deployments, Jobs, …)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from pulumi_policy import Secret

from infra.manifests.common import POOL_TAINT
from infra.manifests.common import STARTUP_ESTIMATE_ANNOTATION as STARTUP_ESTIMATE
from infra.manifests.topology import NODE_EXPORTER
from policies.rules.base import (
    GPU,
    Props,
    Resource,
    Rule,
    arg_value,
    containers,
    is_vllm,
    plain,
    pod_spec,
    quantity,
)

SHA = re.compile(r"^[0-9a-f]{40}$")
CREDENTIAL_NAME = re.compile(r"(TOKEN|PASSWORD|SECRET|API_?KEY|PRIVATE_KEY|CREDENTIAL)", re.I)


def _pods(res: Resource) -> Iterator[tuple[Props, Props]]:
    pod = pod_spec(res)
    if pod is not None:
        for c in containers(pod):
            yield pod, c


def gpu_requests_equal_limits(res: Resource, _: Props) -> Iterator[str]:
    for _, c in _pods(res):
        r = c.get("resources") or {}
        req, lim = (r.get("requests") or {}).get(GPU), (r.get("limits") or {}).get(GPU)
        if (req is not None or lim is not None) and str(req) != str(lim):
            yield f"container {c['name']!r} requests {req} GPU(s) but limits {lim}"


def gpu_toleration_requires_gpu(res: Resource, config: Props) -> Iterator[str]:
    pod = pod_spec(res)
    if pod is None or res.props.get("metadata", {}).get("name") in config.get("nodeAgents", []):
        return
    tolerated = [
        t.get("key") for t in pod.get("tolerations") or [] if t.get("key") in (POOL_TAINT, GPU)
    ]
    wants_gpu = any(
        GPU in ((c.get("resources") or {}).get("limits") or {}) for c in containers(pod)
    )
    if tolerated and not wants_gpu:
        yield (
            f"tolerates the GPU taint {tolerated[0]!r} without requesting a GPU: it "
            "would take a GPU node's CPU and memory from the model servers"
        )


def _vllm(res: Resource) -> Iterator[tuple[Props, Props, list[str]]]:
    for pod, c in _pods(res):
        if is_vllm(c):
            yield pod, c, [str(a) for a in c.get("args") or []]


def vllm_parallelism_matches_gpus(res: Resource, _: Props) -> Iterator[str]:
    for _, c, args in _vllm(res):
        tp = int(arg_value(args, "--tensor-parallel-size") or 1)
        pp = int(arg_value(args, "--pipeline-parallel-size") or 1)
        gpus = ((c.get("resources") or {}).get("limits") or {}).get(GPU)
        if gpus is None:
            if tp * pp > 1:
                yield f"--tensor-parallel-size {tp} × pipeline {pp} but no GPU requested"
            continue
        # One GPU time-slice per replica is a valid request for TP=1 (gpuShare).
        if int(gpus) != tp * pp:
            yield (
                f"--tensor-parallel-size {tp} × --pipeline-parallel-size {pp} = {tp * pp} "
                f"but the container requests {gpus} GPU(s)"
            )


def vllm_tp_needs_shm(res: Resource, _: Props) -> Iterator[str]:
    for pod, c, args in _vllm(res):
        ranks = int(arg_value(args, "--tensor-parallel-size") or 1) * int(
            arg_value(args, "--pipeline-parallel-size") or 1
        )
        if ranks <= 1:
            continue
        memory = {
            v["name"]
            for v in pod.get("volumes") or []
            if (v.get("emptyDir") or {}).get("medium") == "Memory"
        }
        mounted = {m["name"] for m in c.get("volumeMounts") or [] if m["mountPath"] == "/dev/shm"}
        if not memory & mounted:
            yield (
                f"{ranks} ranks but no in-memory emptyDir at /dev/shm (NCCL fails with "
                "'Bus error' on the 64 MiB default)"
            )


def vllm_probes(res: Resource, _: Props) -> Iterator[str]:
    template = (res.props.get("spec") or {}).get("template") or {}
    annotations = (template.get("metadata") or {}).get("annotations") or {}
    for _, c, _args in _vllm(res):
        missing = [p for p in ("startupProbe", "readinessProbe", "livenessProbe") if p not in c]
        if missing:
            yield f"container {c['name']!r} has no {', '.join(missing)}"
            continue
        startup = c["startupProbe"]
        budget = int(startup.get("periodSeconds", 10)) * int(startup.get("failureThreshold", 3))
        estimate = annotations.get(STARTUP_ESTIMATE)
        if estimate is None:
            yield f"no {STARTUP_ESTIMATE} annotation to check the startup budget against"
        elif budget < int(estimate):
            yield (
                f"startup probe allows {budget} s but the planner estimates {estimate} s "
                "to load the model: it would be killed while loading"
            )


def termination_grace_covers_drain(res: Resource, _: Props) -> Iterator[str]:
    for pod, c, args in _vllm(res):
        grace = int(pod.get("terminationGracePeriodSeconds", 30))
        pre_stop = int(
            (((c.get("lifecycle") or {}).get("preStop") or {}).get("sleep") or {}).get("seconds", 0)
        )
        drain = int(arg_value(args, "--shutdown-timeout") or 0)
        if grace < pre_stop + drain:
            yield (
                f"terminationGracePeriodSeconds {grace} < preStop {pre_stop} s + "
                f"--shutdown-timeout {drain} s: in-flight requests are killed"
            )


_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


def images_pinned(res: Resource, config: Props) -> Iterator[str]:
    for _, c in _pods(res):
        image = str(plain(c.get("image") or ""))
        last = image.rsplit("/", 1)[-1]
        if _DIGEST.search(image):
            continue
        if ":" not in last or last.endswith(":latest"):
            yield f"container {c['name']!r} image {image!r} is not pinned to a version"
        elif config.get("requireDigest"):
            yield f"container {c['name']!r} image {image!r} has a tag but no digest"


def container_resources(res: Resource, _: Props) -> Iterator[str]:
    for _, c in _pods(res):
        r = c.get("resources") or {}
        for kind in ("requests", "limits"):
            for what in ("cpu", "memory"):
                if quantity((r.get(kind) or {}).get(what)) is None:
                    yield f"container {c['name']!r} has no {what} {kind}"


def no_privileged_workloads(res: Resource, config: Props) -> Iterator[str]:
    pod = pod_spec(res)
    if pod is None or res.props.get("metadata", {}).get("name") in config.get("allowed", []):
        return
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(key):
            yield f"uses {key}"
    for v in pod.get("volumes") or []:
        if "hostPath" in v:
            yield f"mounts hostPath {v['hostPath'].get('path')!r} (volume {v['name']!r})"
    for c in containers(pod):
        ctx = c.get("securityContext") or {}
        if ctx.get("privileged"):
            yield f"container {c['name']!r} is privileged"
        if ctx.get("allowPrivilegeEscalation") is not False:
            yield f"container {c['name']!r} does not forbid privilege escalation"


def _strings(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    else:
        yield value


def no_plaintext_secrets(res: Resource, config: Props) -> Iterator[str]:
    for _, c in _pods(res):
        for env in c.get("env") or []:
            if CREDENTIAL_NAME.search(env["name"]) and "value" in env:
                yield (
                    f"container {c['name']!r} env {env['name']} holds a literal value: "
                    "take it from a Secret (valueFrom.secretKeyRef)"
                )
    # Inside `pulumi preview` the engine hands validators secrets as plain values; the offline
    # review marks them (secretAware), so only it can tell a Pulumi secret from a literal.
    if res.type == "kubernetes:core/v1:Secret" and config.get("secretAware"):
        for key in ("stringData", "data"):
            values = res.props.get(key)
            if (
                values is not None
                and not isinstance(values, Secret)
                and any(not isinstance(v, Secret) for v in _strings(values))
            ):
                yield f"{key} holds values that are not Pulumi secrets"


def model_revision_pinned(res: Resource, _: Props) -> Iterator[str]:
    for _, c in _pods(res):
        env = {e["name"]: e.get("value") for e in c.get("env") or []}
        revision = env.get("MODEL_REVISION")
        if revision is not None and not SHA.match(str(revision)):
            yield f"container {c['name']!r} loads revision {revision!r}, not a commit sha"


RULES = [
    Rule(
        "gpu-requests-equal-limits",
        "GPU requests equal GPU limits",
        "set nvidia.com/gpu the same in requests and limits",
        gpu_requests_equal_limits,
    ),
    Rule(
        "gpu-toleration-requires-gpu",
        "pods that tolerate a GPU taint request a GPU",
        "drop the toleration or request nvidia.com/gpu (node agents: list them in nodeAgents)",
        gpu_toleration_requires_gpu,
        config={
            # The agents that serve the GPUs themselves must run on every GPU node.
            "nodeAgents": {
                "type": "array",
                "items": {"type": "string"},
                "default": [
                    "nvidia-device-plugin",
                    "dcgm-exporter",
                    NODE_EXPORTER,
                ],
            }
        },
    ),
    Rule(
        "vllm-parallelism-matches-gpus",
        "vLLM tensor × pipeline parallel size equals the GPUs the container gets",
        "derive --tensor-parallel-size from models[].tensorParallel",
        vllm_parallelism_matches_gpus,
    ),
    Rule(
        "vllm-tp-needs-shm",
        "vLLM with TP/PP > 1 mounts an in-memory /dev/shm",
        "mount an emptyDir with medium: Memory at /dev/shm",
        vllm_tp_needs_shm,
    ),
    Rule(
        "vllm-probes",
        "vLLM has startup, readiness and liveness probes; startup covers the load",
        "derive the probes from planning/budgets.py",
        vllm_probes,
    ),
    Rule(
        "termination-grace-covers-drain",
        "terminationGracePeriodSeconds ≥ preStop + vLLM --shutdown-timeout",
        "raise the grace period or shorten the drain",
        termination_grace_covers_drain,
    ),
    Rule(
        "images-pinned",
        "images are pinned to a version (a digest where required)",
        "pin a tag (and a digest: images.build or a @sha256 reference)",
        images_pinned,
        config={"requireDigest": {"type": "boolean", "default": False}},
    ),
    Rule(
        "container-resources",
        "every container has CPU and memory requests and limits",
        "set resources.requests and resources.limits",
        container_resources,
    ),
    Rule(
        "no-privileged-workloads",
        "no privileged, host-network, host-PID or hostPath workloads outside the allow-list",
        "drop the host access or add the workload to the policy's allowed list",
        no_privileged_workloads,
        config={
            "allowed": {
                "type": "array",
                "items": {"type": "string"},
                "default": [
                    "nvidia-device-plugin",
                    "dcgm-exporter",
                    NODE_EXPORTER,
                ],
            }
        },
    ),
    Rule(
        "no-plaintext-secrets",
        "no env var or Secret holds a plain-text secret (Secret values are checked where "
        "the engine's secret marks are visible: the offline review)",
        "use a Pulumi secret and valueFrom.secretKeyRef",
        no_plaintext_secrets,
    ),
    Rule(
        "model-revision-pinned",
        "models load a pinned commit sha",
        "set models[].revision to the 40-character commit",
        model_revision_pinned,
    ),
]
