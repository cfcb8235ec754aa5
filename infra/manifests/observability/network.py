"""NetworkPolicies of monitoring, logging and gpu-system: Prometheus reaches what its
monitors scrape and nothing else; Grafana reaches its datasources; Alertmanager reaches its
receivers; Loki takes pushes from Alloy and queries from Grafana; the GPU agents take
Prometheus's scrapes. Every controller there reaches the API server. (node-exporter runs on
the host network, where no NetworkPolicy applies.)"""

from __future__ import annotations

from collections.abc import Sequence

from infra.catalog.metrics import AI_GATEWAY_METRICS_PORT, ENVOY_METRICS_PORT
from infra.catalog.vllm import SERVER_PORT
from infra.manifests.common import Manifest
from infra.manifests.inference_pool import EPP_METRICS_PORT
from infra.manifests.network import (
    CLUSTER_RANGES,
    ApiServer,
    Rule,
    allow,
    anywhere,
    api_server,
    baseline,
    blocks,
    local,
    peer,
    tcp,
    tcp_udp,
)
from infra.manifests.peers import (
    ALERTMANAGER_MESH_PORT,
    ALERTMANAGER_PODS,
    ALERTMANAGER_PORT,
    ALLOY_PODS,
    COREDNS_METRICS_PORT,
    DCGM_PODS,
    DCGM_PORT,
    DEVICE_PLUGIN_PODS,
    DNS_PODS,
    GRAFANA_PODS,
    GRAFANA_PORT,
    KEDA_OPERATOR_PODS,
    KPS_ADMISSION_PODS,
    KPS_OPERATOR_PODS,
    KPS_OPERATOR_PORT,
    KSM_PODS,
    KSM_PORT,
    KUBELET_PORT,
    LOKI_MEMBERLIST_PORT,
    LOKI_PODS,
    NODE_EXPORTER_PORT,
    PROMETHEUS_PODS,
    RELOADER_PORT,
)
from infra.manifests.topology import (
    EG_NAMESPACE,
    GPU_NAMESPACE,
    KEDA_NAMESPACE,
    LOGGING_NAMESPACE,
    LOKI_PORT,
    MONITORING_NAMESPACE,
    PROMETHEUS_PORT,
)

LOKI_GRPC_PORT = 9095


def _scrapes(serving: Sequence[str], gpus: bool) -> list[Rule]:
    """Prometheus's targets, as its monitors name them: the model servers and pickers, the
    proxies (Envoy and the AI Gateway's processor), the GPU exporter, its own stack, CoreDNS,
    and on the nodes' addresses the kubelet and node-exporter."""
    rules: list[Rule] = [
        ([peer(ns) for ns in serving], [tcp(SERVER_PORT), tcp(EPP_METRICS_PORT)]),
        ([peer(EG_NAMESPACE)], [tcp(ENVOY_METRICS_PORT), tcp(AI_GATEWAY_METRICS_PORT)]),
        ([local(PROMETHEUS_PODS), local(ALERTMANAGER_PODS)],
         [tcp(PROMETHEUS_PORT), tcp(ALERTMANAGER_PORT), tcp(RELOADER_PORT)]),
        ([local(GRAFANA_PODS)], [tcp(GRAFANA_PORT)]),
        ([local(KPS_OPERATOR_PODS)], [tcp(KPS_OPERATOR_PORT)]),
        ([local(KSM_PODS)], [tcp(KSM_PORT)]),
        ([peer("kube-system", DNS_PODS)], [tcp(COREDNS_METRICS_PORT)]),
        (blocks(CLUSTER_RANGES), [tcp(KUBELET_PORT), tcp(NODE_EXPORTER_PORT)]),
    ]  # fmt: skip
    if gpus:
        rules.append(([peer(GPU_NAMESPACE, DCGM_PODS)], [tcp(DCGM_PORT)]))
    return rules


def monitoring_policies(
    api: ApiServer,
    serving: Sequence[str],
    *,
    gpus: bool,
    keda: bool,
    receiver_ports: Sequence[int],
) -> list[Manifest]:
    """`keda`: KEDA's operator queries Prometheus for its triggers."""
    ns = MONITORING_NAMESPACE
    prometheus, alertmanager = local(PROMETHEUS_PODS), local(ALERTMANAGER_PODS)
    grafana = local(GRAFANA_PODS)
    mesh = tcp_udp(ALERTMANAGER_MESH_PORT)
    queriers = [grafana, prometheus, *([peer(KEDA_NAMESPACE, KEDA_OPERATOR_PODS)] if keda else [])]
    return [
        *baseline(ns),
        allow("prometheus", ns, PROMETHEUS_PODS,
              ingress=[(queriers, [tcp(PROMETHEUS_PORT)]), ([prometheus], [tcp(RELOADER_PORT)])],
              egress=[api_server(api), *_scrapes(serving, gpus)]),
        allow("alertmanager", ns, ALERTMANAGER_PODS,
              ingress=[([prometheus, grafana], [tcp(ALERTMANAGER_PORT)]),
                       ([prometheus], [tcp(RELOADER_PORT)]), ([alertmanager], mesh)],
              egress=[([anywhere()], [tcp(p) for p in receiver_ports]), ([alertmanager], mesh)]),
        allow("grafana", ns, GRAFANA_PODS,
              ingress=[([prometheus], [tcp(GRAFANA_PORT)])],
              egress=[api_server(api), ([prometheus], [tcp(PROMETHEUS_PORT)]),
                      ([alertmanager], [tcp(ALERTMANAGER_PORT)]),
                      ([peer(LOGGING_NAMESPACE, LOKI_PODS)], [tcp(LOKI_PORT)])]),
        # Its admission webhook takes the API server's calls (from the control plane's
        # address, which no selector names); Prometheus scrapes the same port.
        allow("prometheus-operator", ns, KPS_OPERATOR_PODS,
              ingress=[([anywhere()], [tcp(KPS_OPERATOR_PORT)])], egress=[api_server(api)]),
        allow("kube-state-metrics", ns, KSM_PODS,
              ingress=[([prometheus], [tcp(KSM_PORT)])], egress=[api_server(api)]),
        allow("admission-jobs", ns, KPS_ADMISSION_PODS, egress=[api_server(api)]),
    ]  # fmt: skip


def logging_policies(api: ApiServer) -> list[Manifest]:
    ns = LOGGING_NAMESPACE
    loki, ring = local(LOKI_PODS), [tcp(LOKI_MEMBERLIST_PORT), tcp(LOKI_GRPC_PORT)]
    return [
        *baseline(ns),
        allow("loki", ns, LOKI_PODS,
              ingress=[([local(ALLOY_PODS), peer(MONITORING_NAMESPACE, GRAFANA_PODS)],
                        [tcp(LOKI_PORT)]),
                       ([loki], ring)],
              egress=[([loki], ring)]),
        # Alloy tails the pods' logs through the API server, and pushes them to Loki.
        allow("alloy", ns, ALLOY_PODS,
              egress=[api_server(api), ([loki], [tcp(LOKI_PORT)])]),
    ]  # fmt: skip


def gpu_policies(api: ApiServer, *, device_plugin: bool, exporter: bool) -> list[Manifest]:
    """The exporter takes Prometheus's scrapes; the device plugin's config manager reads
    its node's labels from the API server."""
    ns = GPU_NAMESPACE
    policies = baseline(ns)
    if exporter:
        prometheus = peer(MONITORING_NAMESPACE, PROMETHEUS_PODS)
        policies.append(
            allow("dcgm-exporter", ns, DCGM_PODS, ingress=[([prometheus], [tcp(DCGM_PORT)])])
        )
    if device_plugin:
        policies.append(allow("device-plugin", ns, DEVICE_PLUGIN_PODS, egress=[api_server(api)]))
    return policies
