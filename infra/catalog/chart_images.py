"""The images each pinned chart runs, with what pulling each costs: compressed size in GB
(estimates, read off the registries' manifest pages; a Helm release's timeout is padded by
the stack's startupSafetyFactor over them). Keyed like versions.CHARTS; a test holds every
image Helm renders for a shipped stack to this table (tests/assembly/test_await_budgets.py).
Images the charts' operators start later (Prometheus, Alertmanager, the Envoy proxies) are
not waited for by Helm and are not listed."""

from __future__ import annotations

from typing import Final

CHART_IMAGES: Final[dict[str, dict[str, float]]] = {
    "nvidia-device-plugin": {"nvcr.io/nvidia/k8s-device-plugin": 0.15},
    "dcgm-exporter": {"nvcr.io/nvidia/k8s/dcgm-exporter": 0.5},
    "kube-prometheus-stack": {
        "quay.io/prometheus-operator/prometheus-operator": 0.04,
        "ghcr.io/jkroepke/kube-webhook-certgen": 0.03,
        "docker.io/grafana/grafana": 0.2,
        "quay.io/kiwigrid/k8s-sidecar": 0.05,
        "registry.k8s.io/kube-state-metrics/kube-state-metrics": 0.03,
        "quay.io/prometheus/node-exporter": 0.02,
    },
    "loki": {"docker.io/grafana/loki": 0.05, "docker.io/kiwigrid/k8s-sidecar": 0.05},
    "alloy": {
        "docker.io/grafana/alloy": 0.15,
        "quay.io/prometheus-operator/prometheus-config-reloader": 0.02,
    },
    "keda": {
        "ghcr.io/kedacore/keda": 0.06,
        "ghcr.io/kedacore/keda-metrics-apiserver": 0.05,
        "ghcr.io/kedacore/keda-admission-webhooks": 0.05,
    },
    "keda-http-add-on": {
        "ghcr.io/kedacore/http-add-on-operator": 0.03,
        "ghcr.io/kedacore/http-add-on-scaler": 0.03,
        "ghcr.io/kedacore/http-add-on-interceptor": 0.03,
    },
    "envoy-gateway": {"docker.io/envoyproxy/gateway": 0.05},
    "ai-gateway-crds": {},
    "ai-gateway": {"docker.io/envoyproxy/ai-gateway-controller": 0.05},
    "cert-manager": {
        "quay.io/jetstack/cert-manager-controller": 0.03,
        "quay.io/jetstack/cert-manager-webhook": 0.03,
        "quay.io/jetstack/cert-manager-cainjector": 0.03,
        "quay.io/jetstack/cert-manager-startupapicheck": 0.03,
    },
    # Open WebUI's image carries its own Python ML stack: by far the largest chart image.
    "open-webui": {"ghcr.io/open-webui/open-webui": 2.0},
    "inferencepool": {"registry.k8s.io/gateway-api-inference-extension/epp": 0.05},
    "external-dns": {"registry.k8s.io/external-dns/external-dns": 0.04},
}


def repository(image: str) -> str:
    """An image reference without its tag or digest."""
    name = image.split("@", 1)[0]
    head, _, tail = name.rpartition(":")
    return head if head and "/" not in tail else name
