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
from infra.manifests.network import ApiServer, api_server, network_policy, peer, tcp
from infra.manifests.observability.values import pod_monitor_for
from infra.manifests.peers import (
    ENVOY_PODS,
    PROMETHEUS_PODS,
)
from infra.manifests.topology import (
    AI_GATEWAY_API,
    EG_NAMESPACE,
    GATEWAY_API,
    GATEWAY_NAMESPACE,
    MONITORING_NAMESPACE,
    POOL_API,
)
from infra.planning.capacity import ServingPlan

EPP_PORT = 9002  # ext_proc (gRPC) the gateway calls
EPP_REPLICAS = 1  # the chart's default; the pool fails open (Envoy balances) without it
EPP_METRICS_PORT = 9090
HARDEN_POSTRENDER = "scripts/harden-pods"
EPP_RESOURCES: Manifest = {
    "requests": {"cpu": "250m", "memory": "256Mi"},
    "limits": {"cpu": "2", "memory": "1Gi"},
}


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
            "replicas": EPP_REPLICAS,
            "image": {"pullPolicy": "IfNotPresent"},
            "resources": EPP_RESOURCES,
            # Prometheus scrapes the EPP through our PodMonitor, without the chart's
            # token-review wiring.
            "monitoring": {"prometheus": {"enabled": False, "auth": {"enabled": False}}},
        },
    }


def backend_ref(plan: ServingPlan) -> Manifest:
    """The AIGatewayRoute rule's backend: the pool (its EPP picks the pod), in the model's
    namespace (an empty namespace would mean the route's own: the CRD's field text)."""
    return {
        "group": POOL_API,
        "kind": "InferencePool",
        "name": pool_name(plan),
        "namespace": plan.model.namespace,
    }


def pool_grant(plan: ServingPlan) -> Manifest:
    """Admits the gateway's route to the pool across namespaces: the AIGatewayRoute (the AI
    Gateway checks it, internal/controller/ai_gateway_route.go at v1.1.0) and the HTTPRoute
    of the same name it becomes (Envoy Gateway checks that one)."""
    return {
        "apiVersion": f"{GATEWAY_API}/v1",
        "kind": "ReferenceGrant",
        "metadata": {
            "name": f"{pool_name(plan)}-from-gateway",
            "namespace": plan.model.namespace,
            "labels": labels("llm-gateway", pool_name(plan), "route-grant"),
        },
        "spec": {
            "from": [
                {"group": AI_GATEWAY_API, "kind": "AIGatewayRoute", "namespace": GATEWAY_NAMESPACE},
                {"group": GATEWAY_API, "kind": "HTTPRoute", "namespace": GATEWAY_NAMESPACE},
            ],
            "to": [{"group": POOL_API, "kind": "InferencePool", "name": pool_name(plan)}],
        },
    }


def pool_policies(plan: ServingPlan, api: ApiServer) -> list[Manifest]:
    """Beside the serving namespace's default deny (and its DNS rule): the gateway reaches
    the picker, Prometheus its metrics; the picker reaches the model's pods and the API
    server (at `api`, its addresses: it watches the pool and its pods), nothing else."""
    ns, name = plan.model.namespace, pool_name(plan)
    epp = {"matchLabels": epp_pods(plan)}
    return [
        network_policy(
            f"{name}-epp-ingress",
            ns,
            {
                "podSelector": epp,
                "policyTypes": ["Ingress"],
                "ingress": [
                    {"from": [peer(EG_NAMESPACE, ENVOY_PODS)], "ports": [tcp(EPP_PORT)]},
                    {
                        "from": [peer(MONITORING_NAMESPACE, PROMETHEUS_PODS)],
                        "ports": [tcp(EPP_METRICS_PORT)],
                    },
                ],
            },
        ),
        network_policy(
            f"{name}-epp-egress",
            ns,
            {
                "podSelector": epp,
                "policyTypes": ["Egress"],
                "egress": [
                    {
                        "to": [{"podSelector": {"matchLabels": pod_selector(plan)}}],
                        "ports": [tcp(SERVER_PORT)],
                    },
                    dict(zip(("to", "ports"), api_server(api), strict=True)),
                ],
            },
        ),
        network_policy(
            f"{name}-vllm-from-epp",
            ns,
            {
                "podSelector": {"matchLabels": pod_selector(plan)},
                "policyTypes": ["Ingress"],
                "ingress": [{"from": [{"podSelector": epp}], "ports": [tcp(SERVER_PORT)]}],
            },
        ),
    ]


def epp_pod_monitor(plan: ServingPlan) -> Manifest:
    endpoints = [{"port": "metrics", "path": "/metrics"}]
    name = epp_name(plan)
    return pod_monitor_for(name, plan.model.namespace, "llm-platform", epp_pods(plan), endpoints)
