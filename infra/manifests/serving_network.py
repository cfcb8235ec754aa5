"""The serving namespaces' NetworkPolicies: nothing reaches a model server but the gateway's
proxies and Prometheus (the endpoint picker and the wake-up interceptor add their own, in
inference_pool.py and wake.py); its pods reach DNS and, for the model download, HTTPS on
public addresses only, plus what a snapshot store or GKE's metadata server needs."""

from __future__ import annotations

from infra.catalog.vllm import SERVER_PORT
from infra.manifests.common import Manifest
from infra.manifests.model_server import APP, COMPONENT
from infra.manifests.network import (
    allow,
    anywhere,
    baseline,
    gke_metadata_rules,
    peer,
    public,
    tcp,
)
from infra.manifests.peers import ENVOY_PODS, PROMETHEUS_PODS
from infra.manifests.topology import EG_NAMESPACE, HTTPS_PORT, MONITORING_NAMESPACE

VLLM_PODS = {"app.kubernetes.io/name": APP, "app.kubernetes.io/component": COMPONENT}
LOADERS = {"app.kubernetes.io/name": APP}  # servers (their init container) and snapshot Jobs


def serving_policies(
    namespace: str, gke_metadata: bool = False, snapshot_port: int | None = None
) -> list[Manifest]:
    """`snapshot_port`: an on-prem DR pair's S3 store, on any address (such stores live on
    private networks, which the model download rule keeps closed)."""
    vllm = dict(VLLM_PODS)
    policies = [
        *baseline(namespace),
        allow("allow-gateway", namespace, vllm,
              ingress=[([peer(EG_NAMESPACE, ENVOY_PODS)], [tcp(SERVER_PORT)])]),
        allow("allow-prometheus", namespace, vllm,
              ingress=[([peer(MONITORING_NAMESPACE, PROMETHEUS_PODS)], [tcp(SERVER_PORT)])]),
        # NetworkPolicy cannot single out an init container: the pod may reach HTTPS on the
        # internet, and the serving container runs with HF_HUB_OFFLINE=1.
        allow("allow-model-download", namespace, LOADERS,
              egress=[([public()], [tcp(HTTPS_PORT)])]),
    ]  # fmt: skip
    if snapshot_port is not None:
        policies.append(
            allow("allow-snapshot-store", namespace, LOADERS,
                  egress=[([anywhere()], [tcp(snapshot_port)])])
        )  # fmt: skip
    if gke_metadata:
        policies.append(
            allow("allow-metadata-server", namespace, LOADERS, egress=gke_metadata_rules())
        )
    return policies
