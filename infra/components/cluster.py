"""GkeCluster: a regional GKE cluster with a small system pool, and the Kubernetes provider
the rest of the stack uses. (existing/kind clusters need only a provider: see composition.)"""

from __future__ import annotations

from typing import Any, TypedDict, cast

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s
import yaml

from infra.config import ClusterConfig

CLOUD_PLATFORM = ["https://www.googleapis.com/auth/cloud-platform"]
INSTALL_AUTH_PLUGIN = "gcloud components install gke-gcloud-auth-plugin"


def node_config_base(machine_type: str) -> dict[str, Any]:
    """What every node of ours gets: Workload Identity's metadata server, shielded boot."""
    return {
        "machine_type": machine_type,
        "oauth_scopes": CLOUD_PLATFORM,
        "workload_metadata_config": {"mode": "GKE_METADATA"},
        "shielded_instance_config": {
            "enable_secure_boot": True,
            "enable_integrity_monitoring": True,
        },
    }


def kubeconfig(name: str, endpoint: str | None, ca: str | None) -> str:
    """Authenticates with gke-gcloud-auth-plugin: no long-lived credential in the state."""
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": name,
            "clusters": [
                {
                    "name": name,
                    "cluster": {"server": f"https://{endpoint}", "certificate-authority-data": ca},
                }
            ],
            "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
            "users": [
                {
                    "name": name,
                    "user": {
                        "exec": {
                            "apiVersion": "client.authentication.k8s.io/v1beta1",
                            "command": "gke-gcloud-auth-plugin",
                            "provideClusterInfo": True,
                            "installHint": INSTALL_AUTH_PLUGIN,
                        }
                    },
                }
            ],
        }
    )


class GkeClusterArgs(TypedDict):
    config: ClusterConfig
    name: str


class GkeCluster(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: GkeClusterArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("llm-platform:cluster:GkeCluster", name, None, opts)
        cfg = args["config"]
        child = pulumi.ResourceOptions(parent=self)
        self.cluster = gcp.container.Cluster(
            "cluster",
            name=args["name"],
            project=cfg.project,
            location=cfg.region,  # regional: the control plane survives a zone
            node_locations=cfg.zones,
            remove_default_node_pool=True,
            initial_node_count=1,
            deletion_protection=cfg.deletion_protection,
            min_master_version=cfg.kubernetes_version,
            release_channel={"channel": cfg.release_channel},
            workload_identity_config={"workload_pool": f"{cfg.project}.svc.id.goog"},
            # Dataplane V2 enforces the platform's NetworkPolicies.
            datapath_provider="ADVANCED_DATAPATH",
            networking_mode="VPC_NATIVE",
            ip_allocation_policy={},
            opts=child,
        )
        self.system_pool = gcp.container.NodePool(
            "system",
            cluster=self.cluster.name,
            project=cfg.project,
            location=cfg.region,
            node_locations=cfg.zones,
            node_count=cfg.system_pool.nodes_per_zone,
            node_config=cast(Any, node_config_base(cfg.system_pool.machine_type)),
            management={"auto_repair": True, "auto_upgrade": True},
            opts=child,
        )
        config: pulumi.Output[str] = pulumi.Output.all(
            self.cluster.endpoint, self.cluster.master_auth
        ).apply(
            lambda v: kubeconfig(args["name"], v[0], (v[1] or {}).get("cluster_ca_certificate"))
        )
        self.provider = k8s.Provider(
            "gke",
            kubeconfig=pulumi.Output.secret(cast(Any, config)),
            enable_server_side_apply=True,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.system_pool]),
        )
        self.register_outputs({"name": args["name"]})
