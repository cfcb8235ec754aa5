"""The load test: a suspended CronJob (`make loadtest` starts a Job from it) running vLLM's
own benchmark client (`vllm bench serve`, the server's pinned image) against the gateway's
public endpoint with its own client key, judged against the stack's TTFT objective; the
result is kept in a ConfigMap named after the Job and in the logs."""

from __future__ import annotations

import importlib.resources
import json
from typing import Any

from infra.config import LoadTestConfig
from infra.manifests.common import (
    PLATFORM_UID,
    Manifest,
    container_security_context,
    gib,
    labels,
    opaque_secret,
    pod_security_context,
    selector,
)
from infra.manifests.network import ApiServer, Rule, allow, api_server, baseline, public, tcp
from infra.manifests.topology import HTTPS_PORT, LOADTEST, LOADTEST_NAMESPACE

RUNNER_PACKAGE = "loadtest"
RUNNER_MOUNT = "/opt/loadtest"
# `vllm bench serve` is one Python process: tokenizing prompts and streaming responses.
CPU = 2
MEMORY_GIB = 4
SCRATCH_GIB = 2  # /tmp: the tokenizer download and the result file
NEVER = "0 0 31 2 *"  # a date that never comes: the CronJob only ever runs when started
RESULTS_KEPT_SECONDS = 7 * 24 * 3600  # finished Jobs (and their logs) kept a week
PERCENTILES = "50,95,99"
BENCH_SEED = 0  # the same random prompts every run: runs compare


def bench_args(lt: LoadTestConfig, *, base_url: str, model: str, tokenizer: str) -> list[str]:
    """The arguments for `vllm bench serve` (checked by vLLM's own parser in the tests)."""
    args = [
        "--backend", "openai-chat",
        "--base-url", base_url,
        "--endpoint", "/v1/chat/completions",
        "--model", model,
        "--tokenizer", tokenizer,
        "--dataset-name", "random",
        "--input-len", str(lt.input_len),
        "--output-len", str(lt.output_len),
        "--num-prompts", str(lt.num_prompts),
        "--ignore-eos",
        "--seed", str(BENCH_SEED),
        "--percentile-metrics", "ttft,tpot,itl,e2el",
        "--metric-percentiles", PERCENTILES,
    ]  # fmt: skip
    if lt.request_rate is not None:
        args += ["--request-rate", str(lt.request_rate)]
    if lt.max_concurrency is not None:
        args += ["--max-concurrency", str(lt.max_concurrency)]
    return args


def _meta(name: str, component: str) -> Manifest:
    return {
        "name": name,
        "namespace": LOADTEST_NAMESPACE,
        "labels": labels(LOADTEST, name, component),
    }


def key_secret(key: Any) -> Manifest:
    return opaque_secret(_meta(LOADTEST, "api-key"), {"api-key": key})


def runner_config_map() -> Manifest:
    package = importlib.resources.files(RUNNER_PACKAGE)
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _meta(f"{LOADTEST}-runner", "runner"),
        "data": {"runner.py": package.joinpath("runner.py").read_text()},
    }


def access() -> list[Manifest]:
    """The Job's identity: it may write ConfigMaps in its own namespace, nothing else."""
    rbac = "rbac.authorization.k8s.io"
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(LOADTEST, "identity")},
        {
            "apiVersion": f"{rbac}/v1",
            "kind": "Role",
            "metadata": _meta(LOADTEST, "identity"),
            "rules": [
                {
                    "apiGroups": [""],
                    "resources": ["configmaps"],
                    "verbs": ["create", "update", "get"],
                }
            ],
        },
        {
            "apiVersion": f"{rbac}/v1",
            "kind": "RoleBinding",
            "metadata": _meta(LOADTEST, "identity"),
            "roleRef": {"apiGroup": rbac, "kind": "Role", "name": LOADTEST},
            "subjects": [
                {"kind": "ServiceAccount", "name": LOADTEST, "namespace": LOADTEST_NAMESPACE}
            ],
        },
    ]


def _env(args: list[str], ttft_p95_seconds: float) -> list[Manifest]:
    def field(path: str) -> Manifest:
        return {"fieldRef": {"fieldPath": path}}

    return [
        {"name": "LOADTEST_ARGS", "value": json.dumps(args)},
        {"name": "LOADTEST_TTFT_P95_MS", "value": str(round(ttft_p95_seconds * 1000))},
        {"name": "LOADTEST_NAMESPACE", "valueFrom": field("metadata.namespace")},
        {"name": "LOADTEST_RESULT_NAME", "valueFrom": field("metadata.labels['job-name']")},
        {
            "name": "OPENAI_API_KEY",
            "valueFrom": {"secretKeyRef": {"name": LOADTEST, "key": "api-key"}},
        },
        {"name": "HF_HOME", "value": "/tmp/hf"},
        {"name": "HOME", "value": "/tmp"},
    ]


def cron_job(
    lt: LoadTestConfig, *, image: Any, args: list[str], ttft_p95_seconds: float
) -> Manifest:
    amounts = {"cpu": str(CPU), "memory": gib(MEMORY_GIB)}
    container = {
        "name": LOADTEST,
        "image": image,
        "command": ["python3", f"{RUNNER_MOUNT}/runner.py"],
        "env": _env(args, ttft_p95_seconds),
        "resources": {"requests": dict(amounts), "limits": dict(amounts)},
        "securityContext": container_security_context(),
        "volumeMounts": [
            {"name": "runner", "mountPath": RUNNER_MOUNT, "readOnly": True},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
    }
    pod = {
        "serviceAccountName": LOADTEST,
        "restartPolicy": "Never",
        "securityContext": pod_security_context(PLATFORM_UID),
        "containers": [container],
        "volumes": [
            {"name": "runner", "configMap": {"name": f"{LOADTEST}-runner"}},
            {"name": "tmp", "emptyDir": {"sizeLimit": gib(SCRATCH_GIB)}},
        ],
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": _meta(LOADTEST, "benchmark"),
        "spec": {
            "schedule": NEVER,
            "suspend": True,
            "concurrencyPolicy": "Forbid",
            "jobTemplate": {
                "spec": {
                    "backoffLimit": 0,  # a benchmark is not retried: a rerun is a new run
                    "activeDeadlineSeconds": lt.timeout_minutes * 60,
                    "ttlSecondsAfterFinished": RESULTS_KEPT_SECONDS,
                    "template": {
                        "metadata": {"labels": labels(LOADTEST, LOADTEST, "benchmark")},
                        "spec": pod,
                    },
                }
            },
        },
    }


def loadtest_policies(api: ApiServer, gateway: Rule) -> list[Manifest]:
    """The benchmark reaches the public endpoint (`gateway`, as a client does), the Hub for
    its tokenizer (HTTPS, public addresses) and the API server (its result ConfigMap)."""
    pods = selector(LOADTEST, LOADTEST, "benchmark")
    return [
        *baseline(LOADTEST_NAMESPACE),
        allow("loadtest", LOADTEST_NAMESPACE, pods,
              egress=[gateway, ([public()], [tcp(HTTPS_PORT)]), api_server(api)]),
    ]  # fmt: skip
