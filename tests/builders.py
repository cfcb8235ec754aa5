"""Stack configs the tests state themselves, and one way to render any config.

Tests build the config they depend on here instead of reading the shipped stack files, so
a change to a shipped stack breaks only the tests of that stack (tests/stacks/)."""

from __future__ import annotations

import copy
import functools
import hashlib
import tempfile
from pathlib import Path
from typing import Any

import yaml

from infra.engine import RunResult
from infra.plan import plan_stack

Raw = dict[str, Any]

QWEN_7B = "Qwen/Qwen2.5-7B-Instruct"
QWEN_7B_REVISION = "a09a35458c702b33eeacc393d103063234e8bc28"
QWEN_05B = "Qwen/Qwen2.5-0.5B-Instruct"
QWEN_05B_REVISION = "7ae557604adf67be50417f59c2c2f167def9a775"


def gpu_box(**sections: Any) -> Raw:
    """One existing node with 4× RTX 4090D (PCIe, no P2P) serving Qwen2.5-7B at TP=2,
    autoscaled 1–2, behind a TLS gateway with two clients, alerts paging a webhook and
    ticketing by e-mail; production, built images.
    Keyword arguments replace whole top-level sections."""
    raw: Raw = {
        "environment": "production",
        "cluster": {
            "provider": "existing",
            "loadBalancers": True,  # k3s ServiceLB
            "context": "gpu-box",
            "kubernetesVersion": "1.31",
            "runtimeClassName": "nvidia",
        },
        "nodePools": [
            {"name": "rtx4090d", "gpu": "rtx-4090d", "gpusPerNode": 4, "nodes": ["gpu-box"]}
        ],
        "models": [
            {
                "name": "qwen2-5-7b",
                "model": QWEN_7B,
                "revision": QWEN_7B_REVISION,
                "pool": "rtx4090d",
                "tensorParallel": 2,
                "maxModelLen": 32768,
                "cache": {"storageClass": "local-path"},
            }
        ],
        "observability": {
            "retention": "15d",
            "persistence": {"storageClass": "local-path", "sizeGib": 50},
            "logRetention": "30d",
            "logPersistence": {"storageClass": "local-path", "sizeGib": 50},
            "alerting": {
                "receivers": [
                    {
                        "name": "ops-email",
                        "email": {
                            "to": ["ops@example.com"],
                            "sender": "alertmanager@example.com",
                            "smarthost": "smtp.example.com:587",
                        },
                    },
                    {"name": "pager", "webhook": {"url": "https://pager.example.com/am"}},
                ],
                "page": ["pager"],
                "ticket": ["ops-email"],
            },
        },
        "autoscaling": {"enabled": True, "minReplicas": 1, "maxReplicas": 2},
        "gateway": {
            "hostname": "llm.example.com",
            "tls": {"mode": "acme", "issuerEmail": "ops@example.com"},
            "clients": [
                {"name": "default"},
                {"name": "batch", "rateLimit": {"requests": 600, "unit": "Minute"}},
            ],
            "rateLimit": {"requests": 120, "unit": "Minute"},
            "replicas": 2,
        },
        "images": {"build": True, "registry": "registry.internal:5000/llm-platform"},
    }
    raw.update(copy.deepcopy(sections))
    return raw


def pooled_and_sleeping(**sections: Any) -> Raw:
    """The 4090D box with two models on two GPUs each: Qwen2.5-7B always on, routed by its
    InferencePool's endpoint picker; Qwen2.5-0.5B asleep at zero when idle (15 minutes),
    woken by its first request through the gateway."""
    raw = gpu_box()
    raw["models"][0].update(routing="inferencePool", replicas=1, autoscaling={"enabled": False})
    raw["models"].append(
        {
            "name": "qwen2-5-05b",
            "model": QWEN_05B,
            "revision": QWEN_05B_REVISION,
            "pool": "rtx4090d",
            "tensorParallel": 2,
            "cache": {"storageClass": "local-path"},
            "autoscaling": {"minReplicas": 0, "maxReplicas": 1, "idleSeconds": 900},
        }
    )
    raw["autoscaling"] = {"enabled": True}
    raw.update(copy.deepcopy(sections))
    return raw


def gpu_racks(**sections: Any) -> Raw:
    """The 4090D box times three, in three racks, with the optional features on: model
    cache on NFS (ReadWriteMany), two deployments of one model in a weighted group, global
    limits in requests and tokens on the stack's Redis, the chat UI on its own hostname, the
    load test, and the public vLLM image pinned by digest (no build)."""
    raw = gpu_box()
    raw["cluster"]["readWriteManyStorageClasses"] = ["nfs-client"]
    pool = raw["nodePools"][0]
    pool.update(nodes=["gpu-a", "gpu-b", "gpu-c"], nodeZones={
        "gpu-a": "rack-a", "gpu-b": "rack-b", "gpu-c": "rack-c"})  # fmt: skip
    base = {**raw["models"][0], "cache": {"storageClass": "nfs-client"}}
    raw["models"] = [
        {**base, "name": "qwen-a", "servedModelName": "qwen-a"},
        {**base, "name": "qwen-b", "servedModelName": "qwen-b"},
    ]
    raw["autoscaling"] = {"enabled": True, "minReplicas": 3, "maxReplicas": 3}
    raw["gateway"].update(
        limits="global",
        tokenLimits=[{"tokens": "total", "limit": 1_000_000, "unit": "Day"}],
        routes=[{"model": "qwen", "backends": [
            {"deployment": "qwen-a", "weight": 50}, {"deployment": "qwen-b", "weight": 50}]}],
    )  # fmt: skip
    raw["chatUi"] = {"enabled": True, "hostname": "chat.example.com", "storageClass": "nfs-client"}
    raw["loadTest"] = {"enabled": True, "model": "qwen", "maxConcurrency": 16}
    raw["images"] = {"vllmDigest": "sha256:" + "ab" * 32, "redisDigest": "sha256:" + "cd" * 32}
    raw.update(copy.deepcopy(sections))
    return raw


def cpu_laptop(**sections: Any) -> Raw:
    """A kind cluster with no GPU: vLLM's CPU backend serving Qwen2.5-0.5B at 8K context,
    autoscaled 1–2, plain HTTP through a port-forward, the chat UI on; environment dev."""
    raw: Raw = {
        "environment": "dev",
        "cluster": {"provider": "kind", "kubernetesVersion": "1.34"},
        "models": [
            {
                "name": "qwen2-5-0-5b",
                "model": QWEN_05B,
                "revision": QWEN_05B_REVISION,
                "device": "cpu",
                "maxModelLen": 8192,
                "cpu": {"cores": 4, "kvCacheGib": 1},
                "cache": {"storageClass": "standard"},
            }
        ],
        "observability": {
            "retention": "2d",
            "persistence": {"enabled": False},
            "logRetention": "2d",
            "logPersistence": {"enabled": False},
        },
        "autoscaling": {
            "enabled": True,
            "minReplicas": 1,
            "maxReplicas": 2,
            "targets": {"num_requests_waiting": 2, "kv_cache_usage_perc": 0.8},
        },
        "gateway": {"tls": {"mode": "none"}, "replicas": 1, "serviceType": "ClusterIP"},
        "chatUi": {"enabled": True, "storageClass": "standard"},
    }
    raw.update(copy.deepcopy(sections))
    return raw


def gke_region(**sections: Any) -> Raw:
    """The primary of a GKE DR pair: a regional cluster over three zones, L4 GPUs (1–2 nodes
    per zone), Qwen2.5-7B at TP=1 autoscaled 3–6, the model snapshotted into a multi-region
    bucket, TLS by DNS-01 in Cloud DNS, alerts paging a webhook; the public vLLM image (no
    build), so the loader runs from its code in a ConfigMap."""
    raw: Raw = {
        "environment": "production",
        "cluster": {
            "provider": "gke",
            "project": "llm-platform-prod",
            "region": "us-central1",
            "zones": ["us-central1-a", "us-central1-b", "us-central1-c"],
            "kubernetesVersion": "1.33",
        },
        "nodePools": [
            {
                "name": "l4",
                "gpu": "l4",
                "gpusPerNode": 1,
                "machineType": "g2-standard-8",
                "minNodes": 1,
                "maxNodes": 2,
            }
        ],
        "models": [
            {
                "name": "qwen2-5-7b",
                "model": QWEN_7B,
                "revision": QWEN_7B_REVISION,
                "pool": "l4",
                "maxModelLen": 32768,
                "cache": {"storageClass": "premium-rwo"},
            }
        ],
        "autoscaling": {"enabled": True, "minReplicas": 3, "maxReplicas": 6},
        "gateway": {
            "hostname": "llm.example.com",
            "tls": {"mode": "acme", "issuerEmail": "ops@example.com", "solver": "dns01CloudDns"},
            "replicas": 3,
        },
        "observability": {
            "persistence": {"storageClass": "premium-rwo", "sizeGib": 100},
            "logPersistence": {"storageClass": "premium-rwo", "sizeGib": 100},
            "alerting": {
                "receivers": [{"name": "pager", "webhook": {"url": "https://pager.example.com"}}],
                "page": ["pager"],
                "ticket": ["pager"],
            },
        },
        "dr": {"role": "primary", "active": "primary"},
        "images": {"vllmDigest": "sha256:" + "ab" * 32},
    }
    raw.update(copy.deepcopy(sections))
    return raw


def stack_file_text(raw: Raw, secure: dict[str, str] | None = None) -> str:
    """A stack file holding `raw` under the project namespace; `secure` keys encrypted."""
    config: dict[str, Any] = {f"llm-platform:{k}": v for k, v in raw.items()}
    for key, cipher in (secure or {}).items():
        config[f"llm-platform:{key}"] = {"secure": cipher}
    return yaml.safe_dump({"config": config})


def write_stack_file(tmp: Path, raw: Raw, secure: dict[str, str] | None = None) -> Path:
    path = tmp / "Pulumi.test.yaml"
    path.write_text(stack_file_text(raw, secure))
    return path


@functools.cache
def _workdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="llm-platform-tests-"))


@functools.cache
def _render(text: str) -> RunResult:
    folder = _workdir() / hashlib.sha256(text.encode()).hexdigest()[:16]
    folder.mkdir(exist_ok=True)
    path = folder / "Pulumi.test.yaml"
    path.write_text(text)
    return plan_stack("test", path)


def rendered(raw: Raw, secure: dict[str, str] | None = None) -> RunResult:
    """The program run under mocks with this config, as stack `test` (errors name its file,
    Pulumi.test.yaml). Cached: equal configs render once per session."""
    return _render(stack_file_text(raw, secure))
