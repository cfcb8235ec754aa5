"""NetworkPolicies: the shared shapes. Every namespace the platform creates gets a default
deny in both directions and DNS (`baseline`), then the allows of what runs there, written
beside it (serving_network.py, gateway.py, tls.py, observability/…, wake.py, …). The flows
they open are judged by network-config-analyzer against the table of intended flows
(tests/assembly/flows.py, rendered as docs/network-flows.md)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from infra.manifests.common import Manifest, labels
from infra.manifests.peers import API_SERVER_PORTS, DNS_PODS, NS_LABEL
from infra.manifests.topology import DNS_PORT

# Cluster, node and metadata addresses (RFC 1918, link-local incl. 169.254.169.254, CGNAT):
# what "public" leaves out.
PRIVATE_RANGES = [
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "169.254.0.0/16",
    "100.64.0.0/10",
]
# Where the API server answers when the stack does not say (security.apiServerCidrs): the
# cluster's private networks (a node's address on k3s and kubeadm, the control plane's on a
# private cloud endpoint), not the internet.
CLUSTER_RANGES = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10"]

Rule = tuple[list[Manifest], list[Manifest]]  # (peers: [] = any, ports: [] = any)
# GKE's metadata server: Workload Identity tokens (the snapshot bucket, Cloud DNS).
GKE_METADATA = [("169.254.169.254/32", 80), ("169.254.169.252/32", 988)]


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


def peer(namespace: str, pods: dict[str, str] | None = None) -> Manifest:
    """Pods of another (or the same) namespace; None: every pod there."""
    return {
        "namespaceSelector": {"matchLabels": {NS_LABEL: namespace}},
        "podSelector": {"matchLabels": pods} if pods else {},
    }


def local(pods: dict[str, str]) -> Manifest:
    """Pods of the policy's own namespace."""
    return {"podSelector": {"matchLabels": pods}}


def blocks(cidrs: Iterable[Any]) -> list[Manifest]:
    return [{"ipBlock": {"cidr": c}} for c in cidrs]


def public() -> Manifest:
    """Any address outside the cluster's, the nodes' and the metadata server's."""
    return {"ipBlock": {"cidr": "0.0.0.0/0", "except": PRIVATE_RANGES}}


def anywhere() -> Manifest:
    """Any address (an endpoint a stack names by host, which may be private or public)."""
    return {"ipBlock": {"cidr": "0.0.0.0/0"}}


def tcp(port: int | str) -> Manifest:
    return {"protocol": "TCP", "port": port}


def udp(port: int | str) -> Manifest:
    return {"protocol": "UDP", "port": port}


def tcp_udp(port: int) -> list[Manifest]:
    return [udp(port), tcp(port)]


def _rules(rules: Sequence[Rule], side: str) -> list[Manifest]:
    out = []
    for peers, ports in rules:
        rule: Manifest = {}
        if peers:
            rule[side] = peers
        if ports:
            rule["ports"] = ports
        out.append(rule)
    return out


def allow(
    name: str,
    namespace: str,
    pods: dict[str, str] | None,
    *,
    ingress: Sequence[Rule] = (),
    egress: Sequence[Rule] = (),
) -> Manifest:
    """What `pods` (None: every pod of the namespace) may take in and send out, beside the
    namespace's default deny."""
    spec: Manifest = {"podSelector": {"matchLabels": pods} if pods else {}, "policyTypes": []}
    if ingress:
        spec["policyTypes"].append("Ingress")
        spec["ingress"] = _rules(ingress, "from")
    if egress:
        spec["policyTypes"].append("Egress")
        spec["egress"] = _rules(egress, "to")
    return network_policy(name, namespace, spec)


@dataclass(frozen=True)
class ApiServer:
    """Where the API server answers: its addresses (CIDRs, Inputs) and ports."""

    cidrs: tuple[Any, ...]
    ports: tuple[int, ...] = API_SERVER_PORTS

    @staticmethod
    def cluster_default() -> ApiServer:
        """A site's or kind's API server, unnamed: on a node of the cluster's private
        networks, on its own port (6443: what the kubernetes Service forwards to, and what
        a policy sees after the forward), not every private host's HTTPS."""
        return ApiServer(tuple(CLUSTER_RANGES), (API_SERVER_PORTS[1],))


def api_server(api: ApiServer) -> Rule:
    """The API server, at its addresses and ports."""
    return blocks(api.cidrs), [tcp(p) for p in api.ports]


def gke_metadata_rules() -> list[Rule]:
    return [(blocks([cidr]), [tcp(port)]) for cidr, port in GKE_METADATA]


def baseline(namespace: str) -> list[Manifest]:
    """Nothing in or out, but DNS (CoreDNS, or GKE's kube-dns) for every pod."""
    return [
        network_policy(
            "default-deny", namespace, {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
        ),
        allow(
            "allow-dns",
            namespace,
            None,
            egress=[([peer("kube-system", DNS_PODS)], tcp_udp(DNS_PORT))],
        ),
    ]
