"""NetworkPolicies: default deny on the serving path, then exactly the flows it needs."""

from __future__ import annotations

from infra.catalog.vllm import SERVER_PORT
from infra.manifests.common import Manifest, labels
from infra.manifests.model_server import APP, COMPONENT
from infra.manifests.topology import (
    DNS_PODS,
    DNS_PORT,
    EG_NAMESPACE,
    ENVOY_PODS,
    HTTPS_PORT,
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


def peer(namespace: str, pods: dict[str, str]) -> Manifest:
    return {
        "namespaceSelector": {"matchLabels": {NS_LABEL: namespace}},
        "podSelector": {"matchLabels": pods},
    }


def network_policy(name: str, namespace: str, spec: Manifest) -> Manifest:
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


def tcp(port: int) -> Manifest:
    return {"protocol": "TCP", "port": port}


# GKE's metadata server (Workload Identity tokens for the snapshot bucket).
GKE_METADATA = [("169.254.169.254/32", 80), ("169.254.169.252/32", 988)]


def serving_policies(
    namespace: str, gke_metadata: bool = False, snapshot_port: int | None = None
) -> list[Manifest]:
    """`snapshot_port`: an on-prem DR pair's S3 store, on any address (such stores live on
    private networks, which the model download rule keeps closed)."""
    vllm = {"matchLabels": VLLM_PODS}
    loaders = {"matchLabels": {"app.kubernetes.io/name": APP}}  # servers and snapshot jobs
    policies = [
        network_policy(
            "default-deny", namespace, {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
        ),
        network_policy(
            "allow-gateway",
            namespace,
            {
                "podSelector": vllm,
                "policyTypes": ["Ingress"],
                "ingress": [
                    {"from": [peer(EG_NAMESPACE, ENVOY_PODS)], "ports": [tcp(SERVER_PORT)]}
                ],
            },
        ),
        network_policy(
            "allow-prometheus",
            namespace,
            {
                "podSelector": vllm,
                "policyTypes": ["Ingress"],
                "ingress": [
                    {
                        "from": [peer(MONITORING_NAMESPACE, PROMETHEUS_PODS)],
                        "ports": [tcp(SERVER_PORT)],
                    }
                ],
            },
        ),
        network_policy(
            "allow-dns",
            namespace,
            {
                "podSelector": {},
                "policyTypes": ["Egress"],
                "egress": [
                    {
                        "to": [peer("kube-system", DNS_PODS)],
                        "ports": [{"protocol": "UDP", "port": DNS_PORT}, tcp(DNS_PORT)],
                    }
                ],
            },
        ),
        # NetworkPolicy cannot single out an init container: the pod may reach HTTPS on the
        # internet, and the serving container runs with HF_HUB_OFFLINE=1.
        network_policy(
            "allow-model-download",
            namespace,
            {
                "podSelector": loaders,
                "policyTypes": ["Egress"],
                "egress": [
                    {
                        "to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": PRIVATE_RANGES}}],
                        "ports": [tcp(HTTPS_PORT)],
                    }
                ],
            },
        ),
    ]
    if snapshot_port is not None:
        policies.append(
            network_policy(
                "allow-snapshot-store",
                namespace,
                {
                    "podSelector": loaders,
                    "policyTypes": ["Egress"],
                    "egress": [
                        {"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [tcp(snapshot_port)]}
                    ],
                },
            )
        )
    if gke_metadata:
        policies.append(
            network_policy(
                "allow-metadata-server",
                namespace,
                {
                    "podSelector": loaders,
                    "policyTypes": ["Egress"],
                    "egress": [
                        {"to": [{"ipBlock": {"cidr": cidr}}], "ports": [tcp(port)]}
                        for cidr, port in GKE_METADATA
                    ],
                },
            )
        )
    return policies


def logging_policies() -> list[Manifest]:
    """Loki takes pushes from Alloy and queries from Grafana, nothing else."""
    return [
        network_policy(
            "default-deny-ingress",
            LOGGING_NAMESPACE,
            {"podSelector": {}, "policyTypes": ["Ingress"]},
        ),
        network_policy(
            "allow-loki-clients",
            LOGGING_NAMESPACE,
            {
                "podSelector": {"matchLabels": {"app.kubernetes.io/name": LOKI_NAME}},
                "policyTypes": ["Ingress"],
                "ingress": [
                    {
                        "from": [
                            {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "alloy"}}},
                            peer(MONITORING_NAMESPACE, {"app.kubernetes.io/name": "grafana"}),
                        ],
                        "ports": [tcp(LOKI_PORT)],
                    }
                ],
            },
        ),
    ]
