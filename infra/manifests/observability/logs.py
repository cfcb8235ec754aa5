"""Logs: Loki (monolithic) and Alloy, which ships pod logs through the Kubernetes API."""

from __future__ import annotations

from infra.config import ObservabilityConfig
from infra.manifests.common import (
    HELPER_RESOURCES,
    Manifest,
    container_security_context,
    gib,
    pod_security_context,
)
from infra.manifests.model_server import SERVED_NAME_ANNOTATION
from infra.manifests.observability.values import SIZES
from infra.manifests.topology import (
    LOKI_NAME,
    LOKI_URL,
)

# The day Loki's index schema (tsdb v13) starts. Fixed forever: a later schema is added as a
# new entry from a future date, never by editing this one.
LOKI_SCHEMA_FROM = "2026-01-01"


def loki_values(obs: ObservabilityConfig) -> Manifest:
    persistence: Manifest = {"enabled": obs.log_persistence.enabled}
    if obs.log_persistence.enabled:
        persistence["size"] = gib(obs.log_persistence.size_gib)
        if obs.log_persistence.storage_class:
            persistence["storageClass"] = obs.log_persistence.storage_class
    return {
        "deploymentMode": "Monolithic",
        "fullnameOverride": LOKI_NAME,
        "loki": {
            "auth_enabled": False,
            "commonConfig": {"replication_factor": 1},
            "storage": {"type": "filesystem"},
            "schemaConfig": {
                "configs": [
                    {
                        "from": LOKI_SCHEMA_FROM,
                        "store": "tsdb",
                        "object_store": "filesystem",
                        "schema": "v13",
                        "index": {"prefix": "index_", "period": "24h"},
                    }
                ]
            },
            "limits_config": {"retention_period": obs.log_retention},
            "compactor": {
                "retention_enabled": True,
                "delete_request_store": "filesystem",
                "working_directory": "/var/loki/compactor",
            },
        },
        "singleBinary": {"replicas": 1, "persistence": persistence, "resources": SIZES["loki"]},
        "sidecar": {"resources": HELPER_RESOURCES},  # the rules sidecar
        # Monolithic: every scalable target off, no gateway or caches in front.
        **{target: {"replicas": 0} for target in ("backend", "read", "write")},
        "gateway": {"enabled": False},
        "chunksCache": {"enabled": False},
        "resultsCache": {"enabled": False},
        "lokiCanary": {"enabled": False},
        "test": {"enabled": False},
    }


def alloy_config() -> str:
    """Tail every pod's logs through the Kubernetes API (no hostPath) and ship them to Loki
    with namespace, pod, container and, for vLLM pods, the served model name."""
    served = "__meta_kubernetes_pod_annotation_" + "".join(
        c if c.isalnum() else "_" for c in SERVED_NAME_ANNOTATION
    )
    return f"""\
discovery.kubernetes "pods" {{
  role = "pod"
}}

discovery.relabel "pods" {{
  targets = discovery.kubernetes.pods.targets
  rule {{
    source_labels = ["__meta_kubernetes_namespace"]
    target_label  = "namespace"
  }}
  rule {{
    source_labels = ["__meta_kubernetes_pod_name"]
    target_label  = "pod"
  }}
  rule {{
    source_labels = ["__meta_kubernetes_pod_container_name"]
    target_label  = "container"
  }}
  rule {{
    source_labels = ["{served}"]
    regex         = "(.+)"
    target_label  = "model"
  }}
}}

loki.source.kubernetes "pods" {{
  targets    = discovery.relabel.pods.output
  forward_to = [loki.write.default.receiver]
}}

loki.write "default" {{
  endpoint {{
    url = "{LOKI_URL}/loki/api/v1/push"
  }}
}}
"""


# The Alloy image's own non-root user.
ALLOY_UID = 473


def alloy_values() -> Manifest:
    """One Alloy reading pod logs through the Kubernetes API: it needs no host mount and no
    privilege, so it runs restricted (the chart sets no security context at all)."""
    restricted = container_security_context()
    restricted.pop("readOnlyRootFilesystem")  # Alloy keeps its WAL under /tmp/alloy
    return {
        "global": {"podSecurityContext": pod_security_context(ALLOY_UID)},
        "controller": {"type": "deployment", "replicas": 1},
        "configReloader": {"resources": HELPER_RESOURCES},
        "alloy": {
            "configMap": {"content": alloy_config()},
            "resources": SIZES["alloy"],
            "securityContext": restricted,
        },
    }
