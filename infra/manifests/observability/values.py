"""Helm values of the metrics stack (kube-prometheus-stack, DCGM exporter) and what
they share: container sizes and volume claims."""

from __future__ import annotations

import math
from collections.abc import Iterable

from infra.catalog.gpus import GpuSpec
from infra.catalog.metrics import (
    AI_GATEWAY_METRICS_PATH,
    AI_GATEWAY_METRICS_PORT,
    DCGM_CSV,
    ENVOY_METRICS_PATH,
    ENVOY_METRICS_PORT,
    dcgm_fields,
)
from infra.config import ObservabilityConfig
from infra.manifests.common import (
    HELPER_RESOURCES,
    Manifest,
    claim_spec,
    gpu_pool_placement,
    labels,
    opaque_secret,
)
from infra.manifests.model_server import APP, COMPONENT
from infra.manifests.observability.alerting import alertmanager_config
from infra.manifests.peers import (
    ENVOY_PODS,
)
from infra.manifests.topology import (
    ALERTMANAGER_CREDENTIALS,
    DASHBOARD_LABEL,
    EG_NAMESPACE,
    GATEWAY_POD_MONITOR,
    GRAFANA_ADMIN_SECRET,
    GRAFANA_NAME,
    KPS_NAME,
    LOKI_UID,
    LOKI_URL,
    MONITORING_NAMESPACE,
    PROMETHEUS_UID,
)

# Prometheus deletes old blocks once the TSDB reaches this share of its volume, before the
# disk fills (the WAL and compaction need the rest).
TSDB_VOLUME_SHARE = 0.8

GKE_NVIDIA_DIR = "/home/kubernetes/bin/nvidia"
# dcgm-exporter 4.8.2's own extraVolumeMounts (its values.yaml): the metrics list it reads.
# A list we set replaces the chart's, so adding a mount means repeating these.
DCGM_CHART_VOLUME_MOUNTS: list[Manifest] = [
    {
        "name": "exporter-metrics-volume",
        "mountPath": "/etc/dcgm-exporter/default-counters.csv",
        "subPath": "default-counters.csv",
    }
]

# Container sizes of the monitoring stack: small, bounded, enough for one cluster of GPUs.
SIZES: dict[str, Manifest] = {
    "prometheus": {
        "requests": {"cpu": "500m", "memory": "2Gi"},
        "limits": {"cpu": "2", "memory": "4Gi"},
    },
    "alertmanager": {
        "requests": {"cpu": "50m", "memory": "64Mi"},
        "limits": {"cpu": "200m", "memory": "256Mi"},
    },
    "operator": {
        "requests": {"cpu": "100m", "memory": "128Mi"},
        "limits": {"cpu": "500m", "memory": "512Mi"},
    },
    "grafana": {
        "requests": {"cpu": "100m", "memory": "256Mi"},
        "limits": {"cpu": "1", "memory": "1Gi"},
    },
    "kube-state-metrics": {
        "requests": {"cpu": "50m", "memory": "128Mi"},
        "limits": {"cpu": "500m", "memory": "512Mi"},
    },
    "node-exporter": {
        "requests": {"cpu": "50m", "memory": "64Mi"},
        "limits": {"cpu": "250m", "memory": "128Mi"},
    },
    "loki": {
        "requests": {"cpu": "250m", "memory": "512Mi"},
        "limits": {"cpu": "2", "memory": "2Gi"},
    },
    "alloy": {
        "requests": {"cpu": "100m", "memory": "256Mi"},
        "limits": {"cpu": "1", "memory": "1Gi"},
    },
    "dcgm-exporter": {
        "requests": {"cpu": "100m", "memory": "256Mi"},
        "limits": {"cpu": "500m", "memory": "1Gi"},
    },
}


# --------------------------------------------------------------------------- Helm values

CONTROL_PLANE_SCRAPES = ("kubeEtcd", "kubeScheduler", "kubeControllerManager", "kubeProxy")


def kube_prometheus_stack_values(obs: ObservabilityConfig, credentials: bool = False) -> Manifest:
    """`credentials`: the alertmanager-credentials Secret exists and is mounted."""
    prometheus: Manifest = {
        "retention": obs.retention,
        "scrapeInterval": obs.scrape_interval,
        # Pick up every ServiceMonitor/PodMonitor/PrometheusRule, not only the chart's own.
        "serviceMonitorSelectorNilUsesHelmValues": False,
        "podMonitorSelectorNilUsesHelmValues": False,
        "ruleSelectorNilUsesHelmValues": False,
        "resources": SIZES["prometheus"],
    }
    if obs.persistence.enabled:
        size = obs.persistence.size_gib
        prometheus["storageSpec"] = {
            "volumeClaimTemplate": {"spec": claim_spec(size, obs.persistence.storage_class)}
        }
        prometheus["retentionSize"] = f"{math.floor(size * TSDB_VOLUME_SHARE)}GiB"
    return {
        "fullnameOverride": KPS_NAME,
        "crds": {"enabled": True},
        "prometheusOperator": {
            "resources": SIZES["operator"],
            # the Jobs that create and patch its admission webhook's certificate
            "admissionWebhooks": {"patch": {"resources": HELPER_RESOURCES}},
        },
        "prometheus": {"prometheusSpec": prometheus},
        "alertmanager": {
            "config": alertmanager_config(obs.alerting),
            "alertmanagerSpec": {
                "resources": SIZES["alertmanager"],
                **({"secrets": [ALERTMANAGER_CREDENTIALS]} if credentials else {}),
            },
        },
        # Control-plane components that run as pods only on kubeadm clusters (k3s runs
        # them in its own process, GKE manages them, and kubeadm binds their metrics to
        # localhost): scraped elsewhere they are targets that never answer, and the chart's
        # Kube*Down alerts would fire from the first minute.
        **{c: {"enabled": False} for c in CONTROL_PLANE_SCRAPES},
        "kube-state-metrics": {"resources": SIZES["kube-state-metrics"]},
        # A host agent (host network, PIDs and /proc, /sys read-only): allow-listed by the
        # policy pack's no-privileged-workloads rule; it needs no capability.
        "prometheus-node-exporter": {
            "resources": SIZES["node-exporter"],
            "containerSecurityContext": {
                "allowPrivilegeEscalation": False,
                "capabilities": {"drop": ["ALL"]},
                "readOnlyRootFilesystem": True,
            },
        },
        "grafana": {
            "fullnameOverride": GRAFANA_NAME,
            # The admin password is a Pulumi-generated secret, not the chart's default.
            "admin": {
                "existingSecret": GRAFANA_ADMIN_SECRET,
                "userKey": "admin-user",
                "passwordKey": "admin-password",
            },
            "resources": SIZES["grafana"],
            "sidecar": {
                "resources": HELPER_RESOURCES,  # the dashboard and datasource loaders
                "dashboards": {
                    "enabled": True,
                    "label": DASHBOARD_LABEL,
                    "labelValue": "1",
                    "searchNamespace": "ALL",
                },
                "datasources": {
                    "enabled": True,
                    "defaultDatasourceEnabled": True,
                    "uid": PROMETHEUS_UID,
                },
            },
            "additionalDataSources": [
                {
                    "name": "Loki",
                    "type": "loki",
                    "uid": LOKI_UID,
                    "url": LOKI_URL,
                    "access": "proxy",
                }
            ],
        },
    }


def dcgm_exporter_values(
    pools: Iterable[str], gpus: Iterable[GpuSpec], runtime_class: str | None, gke: bool = False
) -> Manifest:
    """One exporter on every GPU pool; it emits only fields every GPU family there has
    (asking an RTX card for DCGM_FI_PROF_* fails)."""
    fields = dcgm_fields(gpus).values()
    csv = "\n".join(f"{f}, {DCGM_CSV[f][0]}, {DCGM_CSV[f][1]}" for f in fields)
    values: Manifest = {
        "customMetrics": csv + "\n",
        "serviceMonitor": {"enabled": True, "honorLabels": True},  # keep workload pod labels
        **gpu_pool_placement(pools),
        "resources": SIZES["dcgm-exporter"],
    }
    if gke:
        # GKE installs the driver on the host, not in containers that request no GPU.
        values["extraHostVolumes"] = [
            {"name": "nvidia-install-dir-host", "hostPath": GKE_NVIDIA_DIR}
        ]
        values["extraVolumeMounts"] = [
            *DCGM_CHART_VOLUME_MOUNTS,  # Helm replaces lists: keep the chart's own entries
            {"name": "nvidia-install-dir-host", "mountPath": "/usr/local/nvidia", "readOnly": True},
        ]
        values["extraEnv"] = [{"name": "LD_LIBRARY_PATH", "value": "/usr/local/nvidia/lib64"}]
    if runtime_class:
        values["runtimeClassName"] = runtime_class
    return values


def grafana_admin_secret(password: object) -> Manifest:
    """Grafana's admin login; the password is a generated Pulumi secret."""
    return opaque_secret(
        {
            "name": GRAFANA_ADMIN_SECRET,
            "namespace": MONITORING_NAMESPACE,
            "labels": labels("grafana", "grafana", "admin-credentials"),
        },
        {"admin-user": "admin", "admin-password": password},
    )


# --------------------------------------------------------------------------- scraping


def pod_monitor_for(
    name: str, namespace: str, app: str, pods: dict[str, str], endpoints: list[Manifest]
) -> Manifest:
    """A PodMonitor: Prometheus scrapes these pods' endpoints."""
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PodMonitor",
        "metadata": {"name": name, "namespace": namespace, "labels": labels(app, name, "metrics")},
        "spec": {"selector": {"matchLabels": dict(pods)}, "podMetricsEndpoints": endpoints},
    }


def pod_monitor(namespace: str) -> Manifest:
    """Scrape /metrics of every vLLM pod in a serving namespace."""
    pods = {"app.kubernetes.io/name": APP, "app.kubernetes.io/component": COMPONENT}
    return pod_monitor_for(APP, namespace, APP, pods, [{"port": "http", "path": "/metrics"}])


def gateway_pod_monitor() -> Manifest:
    """Scrape Envoy's own statistics on every gateway proxy: the SLIs as clients see them."""
    return pod_monitor_for(
        GATEWAY_POD_MONITOR,
        EG_NAMESPACE,
        "envoy",
        ENVOY_PODS,
        [
            {"portNumber": ENVOY_METRICS_PORT, "path": ENVOY_METRICS_PATH},
            # The AI Gateway's sidecar: tokens and requests per client and model.
            {"port": AI_GATEWAY_METRICS_PORT, "path": AI_GATEWAY_METRICS_PATH},
        ],
    )
