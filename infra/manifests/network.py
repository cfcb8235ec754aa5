"""NetworkPolicies: default deny on the serving path, then exactly the flows it needs."""

from __future__ import annotations

from infra.catalog.vllm import SERVER_PORT
from infra.manifests.common import Manifest, labels
from infra.manifests.model_server import APP, COMPONENT
from infra.manifests.topology import (
    DNS_PODS,
    EG_NAMESPACE,
    ENVOY_PODS,
    LOGGING_NAMESPACE,
    LOKI_NAME,
    LOKI_PORT,
    MONITORING_NAMESPACE,
    NS_LABEL,
    PROMETHEUS_PODS,
)

VLLM_PODS = {"app.kubernetes.io/name": APP, "app.kubernetes.io/component": COMPONENT}
# Model downloads go to the public internet only: never to cluster, node or metadata
# addresses (RFC 1918, link-local incl. 169.254.169.254, CGNAT).
PRIVATE_RANGES = [
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "169.254.0.0/16",
    "100.64.0.0/10",
]


def _peer(namespace: str, pods: dict[str, str]) -> Manifest:
    return {
        "namespaceSelector": {"matchLabels": {NS_LABEL: namespace}},
        "podSelector": {"matchLabels": pods},
    }


def _policy(name: str, namespace: str, spec: Manifest) -> Manifest:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": labels("llm-platform", name, "network-policy"),
        },
        "spec": spec,
    }


def _tcp(port: int) -> Manifest:
    return {"protocol": "TCP", "port": port}


# GKE's metadata server (Workload Identity tokens for the snapshot bucket).
GKE_METADATA = [("169.254.169.254/32", 80), ("169.254.169.252/32", 988)]


def serving_policies(namespace: str, gke_metadata: bool = False) -> list[Manifest]:
    vllm = {"matchLabels": VLLM_PODS}
    loaders = {"matchLabels": {"app.kubernetes.io/name": APP}}  # servers and snapshot jobs
    policies = [
        _policy(
            "default-deny", namespace, {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
        ),
        _policy(
            "allow-gateway",
            namespace,
            {
                "podSelector": vllm,
                "policyTypes": ["Ingress"],
                "ingress": [
                    {"from": [_peer(EG_NAMESPACE, ENVOY_PODS)], "ports": [_tcp(SERVER_PORT)]}
                ],
            },
        ),
        _policy(
            "allow-prometheus",
            namespace,
            {
                "podSelector": vllm,
                "policyTypes": ["Ingress"],
                "ingress": [
                    {
                        "from": [_peer(MONITORING_NAMESPACE, PROMETHEUS_PODS)],
                        "ports": [_tcp(SERVER_PORT)],
                    }
                ],
            },
        ),
        _policy(
            "allow-dns",
            namespace,
            {
                "podSelector": {},
                "policyTypes": ["Egress"],
                "egress": [
                    {
                        "to": [_peer("kube-system", DNS_PODS)],
                        "ports": [{"protocol": "UDP", "port": 53}, _tcp(53)],
                    }
                ],
            },
        ),
        # NetworkPolicy cannot single out an init container: the pod may reach HTTPS on the
        # internet, and the serving container runs with HF_HUB_OFFLINE=1.
        _policy(
            "allow-model-download",
            namespace,
            {
                "podSelector": loaders,
                "policyTypes": ["Egress"],
                "egress": [
                    {
                        "to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": PRIVATE_RANGES}}],
                        "ports": [_tcp(443)],
                    }
                ],
            },
        ),
    ]
    if gke_metadata:
        policies.append(
            _policy(
                "allow-metadata-server",
                namespace,
                {
                    "podSelector": loaders,
                    "policyTypes": ["Egress"],
                    "egress": [
                        {"to": [{"ipBlock": {"cidr": cidr}}], "ports": [_tcp(port)]}
                        for cidr, port in GKE_METADATA
                    ],
                },
            )
        )
    return policies


def logging_policies() -> list[Manifest]:
    """Loki takes pushes from Alloy and queries from Grafana, nothing else."""
    return [
        _policy(
            "default-deny-ingress",
            LOGGING_NAMESPACE,
            {"podSelector": {}, "policyTypes": ["Ingress"]},
        ),
        _policy(
            "allow-loki-clients",
            LOGGING_NAMESPACE,
            {
                "podSelector": {"matchLabels": {"app.kubernetes.io/name": LOKI_NAME}},
                "policyTypes": ["Ingress"],
                "ingress": [
                    {
                        "from": [
                            {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "alloy"}}},
                            _peer(MONITORING_NAMESPACE, {"app.kubernetes.io/name": "grafana"}),
                        ],
                        "ports": [_tcp(LOKI_PORT)],
                    }
                ],
            },
        ),
    ]
