"""KEDA: the operator's values and one ScaledObject per autoscaled model."""

from __future__ import annotations

from collections.abc import Sequence

from infra.catalog.metrics import DCGM_BASE
from infra.catalog.vllm import SERVER_PORT
from infra.manifests.common import Manifest, labels
from infra.manifests.model_server import APP, pod_selector
from infra.manifests.network import (
    ApiServer,
    Rule,
    allow,
    anywhere,
    api_server,
    baseline,
    local,
    peer,
    tcp,
)
from infra.manifests.peers import (
    HTTP_ADD_ON_PODS,
    HTTP_SCALER_PODS,
    INTERCEPTOR_PODS,
    KEDA_METRICS_PODS,
    KEDA_METRICS_PORT,
    KEDA_OPERATOR_PODS,
    KEDA_OPERATOR_PORT,
    KEDA_WEBHOOK_PODS,
    KEDA_WEBHOOK_PORT,
    PROMETHEUS_PODS,
)
from infra.manifests.topology import (
    HTTP_SCALER_PORT,
    INTERCEPTOR_ADMIN_PORT,
    KEDA_NAMESPACE,
    MONITORING_NAMESPACE,
    PROMETHEUS_PORT,
    PROMETHEUS_URL,
)
from infra.manifests.wake import demand_trigger
from infra.planning import promql
from infra.planning.autoscaling import Behavior, behavior
from infra.planning.budgets import Budgets
from infra.planning.capacity import ServingPlan
from infra.planning.wake import wake_plan

KEDA_SIZES: Manifest = {
    "operator": {
        "requests": {"cpu": "100m", "memory": "128Mi"},
        "limits": {"cpu": "1", "memory": "1Gi"},
    },
    "metricServer": {
        "requests": {"cpu": "100m", "memory": "128Mi"},
        "limits": {"cpu": "1", "memory": "1Gi"},
    },
    "webhooks": {
        "requests": {"cpu": "50m", "memory": "64Mi"},
        "limits": {"cpu": "500m", "memory": "256Mi"},
    },
}


def keda_values() -> Manifest:
    return {"resources": KEDA_SIZES}


def trigger_query(plan: ServingPlan, target: str) -> str:
    """One element per query (KEDA needs a scalar-like result)."""
    served, m = plan.model.served_name, plan.model
    if target == "num_requests_waiting":
        return f"sum({promql.vllm('num_requests_waiting', served)})"
    if target == "kv_cache_usage_perc":
        return f"avg({promql.vllm('kv_cache_usage_perc', served)})"
    if target == "gpu_utilization":
        pods = promql.selector(
            DCGM_BASE["gpu_util"], {"namespace": m.namespace}, {"pod": promql.pods_of(m.name)}
        )
        return f"avg({pods})"
    raise ValueError(f"no query for autoscaling target {target!r}")


# Per-replica targets are averaged over replicas by the HPA; the others are compared whole.
_METRIC_TYPE = {
    "num_requests_waiting": "AverageValue",
    "kv_cache_usage_perc": "Value",
    "gpu_utilization": "Value",
}


def scaled_object(plan: ServingPlan, budgets: Budgets) -> Manifest:
    scaling = plan.scaling
    if scaling is None:
        raise ValueError(f"{plan.model.name} is not autoscaled")
    m = plan.model
    timing = behavior(
        budgets.startup_estimate_seconds,
        budgets.termination_grace_seconds,
        scaling.cooldown_seconds,
    )
    triggers: list[Manifest] = [
        {
            "type": "prometheus",
            "name": target.replace("_", "-"),
            "metricType": _METRIC_TYPE[target],
            "metadata": {
                "serverAddress": PROMETHEUS_URL,
                "query": trigger_query(plan, target),
                "threshold": f"{value:g}",
                "ignoreNullValues": "true",  # no series yet (cold start) counts as 0
            },
        }
        for target, value in scaling.targets.items()
    ]
    standby = plan.standby_replicas
    spec: Manifest = {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": m.name},
        # A DR standby keeps its warm minimum; the flip to active restores the bounds.
        "minReplicaCount": standby or scaling.min_replicas,
        "maxReplicaCount": standby or scaling.max_replicas,
        "pollingInterval": scaling.polling_interval_seconds,
        "cooldownPeriod": scaling.cooldown_seconds,
        "advanced": {"horizontalPodAutoscalerConfig": {"behavior": _behavior(timing)}},
        "triggers": triggers,
    }
    if scaling.sleeps:
        # vLLM's metrics vanish with the last pod: the interceptor's count wakes it.
        triggers.append(demand_trigger(plan))
        # KEDA sleeps a new Deployment at once; let its first replica fill the caches.
        spec["cooldownPeriod"] = scaling.idle_seconds
        spec["initialCooldownPeriod"] = wake_plan(plan).hold_seconds + scaling.idle_seconds
    return {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": {
            "name": m.name,
            "namespace": m.namespace,
            "labels": labels(APP, m.name, "autoscaler"),
        },
        "spec": spec,
    }


def _behavior(timing: Behavior) -> Manifest:
    """One replica at a time each way: the last must finish starting (or draining)."""
    return {
        "scaleUp": {
            "stabilizationWindowSeconds": 0,
            "policies": [
                {"type": "Pods", "value": 1, "periodSeconds": timing.scale_up_period_seconds}
            ],
        },
        "scaleDown": {
            "stabilizationWindowSeconds": timing.scale_down_stabilization_seconds,
            "policies": [
                {"type": "Pods", "value": 1, "periodSeconds": timing.scale_down_period_seconds}
            ],
        },
    }


def keda_policies(api: ApiServer, sleepers: Sequence[ServingPlan]) -> list[Manifest]:
    """KEDA's operator asks Prometheus (its triggers) and, for sleeping models, the HTTP
    add-on's scaler; its metrics server and webhooks take the API server's calls; the
    add-on's interceptors take the proxies' requests and reach the sleeping models. Every
    controller reaches the API server. (The interceptors' ingress: wake.py.)"""
    ns = KEDA_NAMESPACE
    operator = local(KEDA_OPERATOR_PODS)
    to_operator: list[Rule] = [api_server(api), ([peer(MONITORING_NAMESPACE, PROMETHEUS_PODS)],
                                                 [tcp(PROMETHEUS_PORT)])]  # fmt: skip
    if sleepers:
        to_operator.append(([local(HTTP_SCALER_PODS)], [tcp(HTTP_SCALER_PORT)]))
    policies = [
        *baseline(ns),
        allow("keda-operator", ns, KEDA_OPERATOR_PODS,
              ingress=[([local(KEDA_METRICS_PODS)], [tcp(KEDA_OPERATOR_PORT)])],
              egress=to_operator),
        allow("keda-metrics-apiserver", ns, KEDA_METRICS_PODS,
              ingress=[([anywhere()], [tcp(KEDA_METRICS_PORT)])],  # the API server's calls
              egress=[api_server(api), ([operator], [tcp(KEDA_OPERATOR_PORT)])]),
        allow("keda-admission-webhooks", ns, KEDA_WEBHOOK_PODS,
              ingress=[([anywhere()], [tcp(KEDA_WEBHOOK_PORT)])], egress=[api_server(api)]),
    ]  # fmt: skip
    if sleepers:
        models = [peer(p.model.namespace, pod_selector(p)) for p in sleepers]
        policies += [
            allow("http-add-on-api", ns, HTTP_ADD_ON_PODS, egress=[api_server(api)]),
            allow("http-add-on-scaler", ns, HTTP_SCALER_PODS,
                  ingress=[([operator], [tcp(HTTP_SCALER_PORT)])],
                  egress=[([local(INTERCEPTOR_PODS)], [tcp(INTERCEPTOR_ADMIN_PORT)])]),
            allow("http-add-on-interceptor", ns, INTERCEPTOR_PODS,
                  egress=[(models, [tcp(SERVER_PORT)])]),
        ]  # fmt: skip
    return policies
