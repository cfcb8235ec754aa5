"""Engine-aware routing: a model's InferencePool (Gateway API Inference Extension) and its
endpoint picker (EPP), from the upstream `inferencepool` chart. The AI Gateway hands each
request to the EPP, which picks the replica from vLLM's own metrics (queue, KV-cache use,
prefix-cache hits); the EPP is hardened by a post-renderer (the chart has no values key for
a security context) and reachable only from the gateway's proxies."""

from __future__ import annotations

from pathlib import Path

import yaml

from infra.catalog.vllm import SERVER_PORT
from infra.manifests.common import Manifest, labels
from infra.manifests.model_server import pod_selector
from infra.manifests.topology import (
    EG_NAMESPACE,
    ENVOY_PODS,
    MONITORING_NAMESPACE,
    NS_LABEL,
    PROMETHEUS_PODS,
)
from infra.planning.capacity import ServingPlan

POOL_GROUP = "inference.networking.k8s.io"
EPP_PORT = 9002  # ext_proc (gRPC) the gateway calls
EPP_METRICS_PORT = 9090
HARDEN_POSTRENDER = "scripts/harden-pods"
EPP_RESOURCES: Manifest = {
    "requests": {"cpu": "250m", "memory": "256Mi"},
    "limits": {"cpu": "2", "memory": "1Gi"},
}
# The API server's ports (the EPP watches pods and its pool): no label selects them.
API_SERVER_PORTS = (443, 6443)


CRD_FILE = Path(__file__).parents[1] / "catalog" / "crds" / "inferencepools.yaml"


def pool_crd() -> Manifest:
    """The InferencePool CRD (Gateway API Inference Extension v1.5.0): no chart installs it."""
    crd: Manifest = yaml.safe_load(CRD_FILE.read_text())
    crd.pop("status", None)
    return crd


def pool_name(plan: ServingPlan) -> str:
    return f"{plan.model.name}-pool"


def epp_name(plan: ServingPlan) -> str:
    return f"{pool_name(plan)}-epp"


def epp_pods(plan: ServingPlan) -> dict[str, str]:
    """The chart's selector labels on the EPP's pods."""
    return {"inferencepool": epp_name(plan)}


def pool_values(plan: ServingPlan) -> Manifest:
    return {
        "inferencePool": {
            "modelServers": {"matchLabels": pod_selector(plan)},
            "targetPorts": [{"number": SERVER_PORT}],
            "modelServerType": "vllm",
        },
        "inferenceExtension": {
            "replicas": 1,
            "image": {"pullPolicy": "IfNotPresent"},
            "resources": EPP_RESOURCES,
            # Prometheus scrapes the EPP through our PodMonitor, without the chart's
            # token-review wiring.
            "monitoring": {"prometheus": {"enabled": False, "auth": {"enabled": False}}},
        },
    }


def backend_ref(plan: ServingPlan) -> Manifest:
    """The AIGatewayRoute rule's backend: the pool (its EPP picks the pod)."""
    return {"group": POOL_GROUP, "kind": "InferencePool", "name": pool_name(plan)}


def _policy(plan: ServingPlan, name: str, spec: Manifest) -> Manifest:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {
            "name": f"{pool_name(plan)}-{name}",
            "namespace": plan.model.namespace,
            "labels": labels("llm-platform", pool_name(plan), "network-policy"),
        },
        "spec": spec,
    }


def _peer(namespace: str, pods: dict[str, str]) -> Manifest:
    return {
        "namespaceSelector": {"matchLabels": {NS_LABEL: namespace}},
        "podSelector": {"matchLabels": pods},
    }


def pool_policies(plan: ServingPlan) -> list[Manifest]:
    """Beside the serving namespace's default deny: the gateway reaches the EPP, Prometheus
    its metrics; the EPP reaches the vLLM pods' metrics, DNS and the API server."""
    epp = {"matchLabels": epp_pods(plan)}
    same_ns_vllm = {"podSelector": {"matchLabels": pod_selector(plan)}}
    tcp = [{"protocol": "TCP", "port": p} for p in API_SERVER_PORTS]
    return [
        _policy(
            plan,
            "epp-ingress",
            {
                "podSelector": epp,
                "policyTypes": ["Ingress"],
                "ingress": [
                    {
                        "from": [_peer(EG_NAMESPACE, ENVOY_PODS)],
                        "ports": [{"protocol": "TCP", "port": EPP_PORT}],
                    },
                    {
                        "from": [_peer(MONITORING_NAMESPACE, PROMETHEUS_PODS)],
                        "ports": [{"protocol": "TCP", "port": EPP_METRICS_PORT}],
                    },
                ],
            },
        ),
        _policy(
            plan,
            "epp-egress",
            {
                "podSelector": epp,
                "policyTypes": ["Egress"],
                "egress": [
                    {"to": [same_ns_vllm], "ports": [{"protocol": "TCP", "port": SERVER_PORT}]},
                    {"ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]},
                    {"ports": tcp},
                ],
            },
        ),
        _policy(
            plan,
            "vllm-from-epp",
            {
                "podSelector": {"matchLabels": pod_selector(plan)},
                "policyTypes": ["Ingress"],
                "ingress": [
                    {
                        "from": [{"podSelector": epp}],
                        "ports": [{"protocol": "TCP", "port": SERVER_PORT}],
                    }
                ],
            },
        ),
    ]


def epp_pod_monitor(plan: ServingPlan) -> Manifest:
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PodMonitor",
        "metadata": {
            "name": epp_name(plan),
            "namespace": plan.model.namespace,
            "labels": labels("llm-platform", epp_name(plan), "metrics"),
        },
        "spec": {
            "selector": {"matchLabels": epp_pods(plan)},
            "podMetricsEndpoints": [{"port": "metrics", "path": "/metrics"}],
        },
    }
