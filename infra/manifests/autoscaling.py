"""KEDA: the operator's values and one ScaledObject per autoscaled model."""

from __future__ import annotations

from infra.catalog.metrics import DCGM_BASE
from infra.manifests.common import Manifest, labels
from infra.manifests.model_server import APP
from infra.manifests.topology import PROMETHEUS_URL
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
