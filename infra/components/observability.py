"""Observability: Prometheus, Alertmanager and Grafana (kube-prometheus-stack), DCGM GPU
metrics, vLLM scraping, dashboards and alert rules from the metric map, Loki and Alloy."""

from __future__ import annotations

from typing import Any, TypedDict

import pulumi
import pulumi_random as random

from infra.catalog.gpus import GpuSpec
from infra.components.declare import declare, helm_release
from infra.components.network import Network, policies_in
from infra.config import ObservabilityConfig
from infra.manifests.common import Manifest, namespace
from infra.manifests.network import ApiServer
from infra.manifests.observability.alerting import credentials_secret, receiver_ports
from infra.manifests.observability.alerts import prometheus_rule
from infra.manifests.observability.dashboards import (
    dashboard_config_map,
    gpu_dashboard,
    vllm_dashboard,
)
from infra.manifests.observability.logs import alloy_values, loki_values
from infra.manifests.observability.network import (
    gpu_policies,
    logging_policies,
    monitoring_policies,
)
from infra.manifests.observability.values import (
    dcgm_exporter_values,
    grafana_admin_secret,
    kube_prometheus_stack_values,
    pod_monitor,
)
from infra.manifests.topology import (
    GPU_NAMESPACE,
    KPS_RELEASE,
    LOGGING_NAMESPACE,
    MONITORING_NAMESPACE,
)
from infra.planning.capacity import ServingPlan
from infra.planning.plans import ReleasePlan

GRAFANA_PASSWORD_LENGTH = 32


class ObservabilityArgs(TypedDict):
    network: Network | None  # NetworkPolicies' inputs; None: the stack has none
    autoscaling: bool  # KEDA queries Prometheus
    config: ObservabilityConfig
    models: list[ServingPlan]
    gpu_pools: dict[str, GpuSpec]  # pool name -> GPU
    serving_namespaces: list[str]
    runtime_class: str | None
    gpu_runtime: pulumi.Resource | None  # creates the gpu-system namespace
    gke: bool  # GKE installs the NVIDIA driver under /home/kubernetes/bin/nvidia
    alerting_secrets: pulumi.Output[Any] | None  # receivers' credentials (a secret map)
    gateway: bool  # the gateway is deployed: its SLIs are the SLOs
    releases: dict[str, ReleasePlan]  # chart key -> how its release is installed (the plan's)


class Observability(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: ObservabilityArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("llm-platform:observability:Observability", name, None, opts)
        self._releases = args["releases"]
        cfg = args["config"]

        def child(*deps: pulumi.Resource) -> pulumi.ResourceOptions:
            return pulumi.ResourceOptions(parent=self, depends_on=list(deps))

        network = args["network"]

        def policies(manifests: list[Manifest], ns: pulumi.Resource) -> list[pulumi.Resource]:
            return policies_in(manifests, child(ns)) if network is not None else []

        api = network["api_server"] if network is not None else ApiServer(())
        # node-exporter needs the host's network, PIDs and /proc: privileged namespace.
        monitoring = declare(namespace(MONITORING_NAMESPACE, "privileged", "monitoring"), child())
        ports = receiver_ports(cfg.alerting)
        serving, gpus_on = args["serving_namespaces"], bool(args["gpu_pools"])
        manifests = monitoring_policies(
            api, serving, gpus=gpus_on, keda=args["autoscaling"], receiver_ports=ports
        )
        flows = policies(manifests, monitoring)
        password = random.RandomPassword(
            "grafana-admin", length=GRAFANA_PASSWORD_LENGTH, special=False, opts=child()
        )
        admin = declare(grafana_admin_secret(password.result), child(monitoring))
        before_release: list[pulumi.Resource] = [monitoring, admin, *flows]
        credentials = args["alerting_secrets"]
        if credentials is not None:
            before_release.append(declare(credentials_secret(credentials), child(monitoring)))
        self.grafana_admin_password = password.result
        # The release installs the Prometheus operator's CRDs: custom resources wait for it.
        self.prometheus_stack = helm_release(
            KPS_RELEASE,
            self._releases["kube-prometheus-stack"],
            MONITORING_NAMESPACE,
            kube_prometheus_stack_values(cfg, credentials=credentials is not None),
            child(*before_release),
        )
        crds = self.prometheus_stack

        for ns in args["serving_namespaces"]:
            declare(pod_monitor(ns), child(crds))
        rules = prometheus_rule(args["models"], cfg, bool(args["gpu_pools"]), args["gateway"])
        declare(rules, child(crds))
        declare(
            dashboard_config_map("llm-platform-vllm", vllm_dashboard(args["models"])),
            child(monitoring),
        )

        if args["gpu_pools"]:
            gpus = list(args["gpu_pools"].values())
            declare(
                dashboard_config_map("llm-platform-gpu", gpu_dashboard(gpus)), child(monitoring)
            )
            runtime = args["gpu_runtime"]
            deps: list[pulumi.Resource] = [crds]
            if runtime is None:
                # GKE installs the driver and device plugin itself: nothing else declares
                # gpu-system, and the exporter's hostPath and SYS_ADMIN need it privileged.
                gpu_ns = declare(namespace(GPU_NAMESPACE, "privileged", "gpu-runtime"), child())
                manifests = gpu_policies(api, device_plugin=False, exporter=True)
                deps += [gpu_ns, *policies(manifests, gpu_ns)]
            else:
                deps.append(runtime)
            helm_release(
                "dcgm-exporter",
                self._releases["dcgm-exporter"],
                GPU_NAMESPACE,
                dcgm_exporter_values(
                    args["gpu_pools"], gpus, args["runtime_class"], gke=args["gke"]
                ),
                child(*deps),
            )

        # Loki runs as a non-root user; Alloy reads logs through the API, not hostPath.
        logging = declare(namespace(LOGGING_NAMESPACE, "restricted", "logging"), child())
        logging_flows = policies(logging_policies(api), logging)
        loki = helm_release(
            "loki",
            self._releases["loki"],
            LOGGING_NAMESPACE,
            loki_values(cfg),
            child(logging, crds, *logging_flows),
        )
        helm_release(
            "alloy",
            self._releases["alloy"],
            LOGGING_NAMESPACE,
            alloy_values(),
            child(logging, loki),
        )
        self.register_outputs({"grafanaNamespace": MONITORING_NAMESPACE})
