"""What a stack reports about its plan: stack outputs and the `plan` capacity table."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pulumi

from infra.catalog.vllm import GIB, SERVER_PORT
from infra.config import StackConfig
from infra.manifests.topology import (
    CHAT_NAMESPACE,
    EG_NAMESPACE,
    GRAFANA_NAME,
    MONITORING_NAMESPACE,
    OPEN_WEBUI_PORT,
    OPEN_WEBUI_SERVICE,
    PROXY_SERVICE,
    Outputs,
)
from infra.planning.budgets import budgets, startup_parts
from infra.planning.capacity import PlatformPlan, ServingPlan
from infra.planning.plans import PoolPlan
from infra.planning.wake import wake_plan

if TYPE_CHECKING:
    from infra.composition import Platform


def replica_bounds(plan: ServingPlan) -> dict[str, int]:
    """What the model serves with: min and max replicas (equal when fixed); on a DR standby
    side the warm count it keeps, and the bounds it takes when it becomes active."""
    low, high = (
        (plan.scaling.min_replicas, plan.scaling.max_replicas)
        if plan.scaling
        else (plan.model.replicas, plan.model.replicas)
    )
    if plan.standby_replicas is not None:
        return {
            "min": plan.standby_replicas,
            "max": plan.standby_replicas,
            "activeMin": low,
            "activeMax": high,
        }
    return {"min": low, "max": high}


def replicas_text(bounds: dict[str, int]) -> str:
    """`2`, `1–2`, or `1 standby`, as the plan table prints them."""

    def span(low: int, high: int) -> str:
        return str(low) if low == high else f"{low}–{high}"

    if "activeMin" in bounds:  # capacity.json has the active bounds
        return f"{bounds['min']} standby"
    return span(bounds["min"], bounds["max"])


def capacity_summary(plan: ServingPlan) -> dict[str, Any]:
    """Per model, the capacity plan's figures: the stack output `models`, the table `plan`
    prints, and out/<stack>/capacity.json."""
    mem, budget = plan.memory, budgets(plan)
    return {
        "servedModelName": plan.model.served_name,
        "service": f"{plan.model.name}.{plan.model.namespace}.svc:{SERVER_PORT}",
        "device": plan.pool.gpu if plan.pool else "cpu",
        "replicas": replica_bounds(plan),
        "tensorParallel": plan.model.tensor_parallel,
        "pipelineParallel": plan.model.pipeline_parallel,
        "maxModelLen": plan.max_model_len,
        "gpuMemoryUtilization": round(mem.utilization, 2) if plan.gpu else None,
        "weightsGiBPerGpu": round(mem.weights_gib, 2),
        "kvCacheGiBPerGpu": round(mem.kv_budget_gib, 2),
        "kvBytesPerTokenPerGpu": mem.kv_bytes_per_token,
        "kvBlockTokens": mem.block_tokens,
        "kvTokensPerReplica": mem.kv_tokens,
        "maxConcurrencyAtMaxLen": round(mem.max_concurrency, 2),
        "downloadGiB": round(plan.weights_on_disk_bytes / GIB, 2),
        "startupEstimateSeconds": budget.startup_estimate_seconds,
        "startupParts": startup_parts(plan),
        "startupBudgetSeconds": budget.startup.budget_seconds,
        "modelCache": plan.cache_layout.summary(plan.model.name),
        "routing": plan.model.routing,
        **_wake_summary(plan),
        **_install_summary(plan),
    }


def _install_summary(plan: ServingPlan) -> dict[str, Any]:
    """What a first `pulumi up` waits for this model (one replica on a node with nothing
    yet), and the await its Deployment gets (and a DR primary's snapshot Job)."""
    awaits = plan.await_plan
    return {
        "firstInstallParts": awaits.parts,
        "firstInstallEstimateSeconds": awaits.estimate_seconds,
        "firstInstallBudgetSeconds": awaits.budget_seconds,
        "awaitTimeoutSeconds": awaits.create_seconds,
        "rolloutTimeoutSeconds": awaits.update_seconds,
        **(
            {"snapshotTimeoutSeconds": awaits.snapshot_seconds}
            if awaits.snapshot_seconds is not None
            else {}
        ),
    }


def _wake_summary(plan: ServingPlan) -> dict[str, Any]:
    """What a new replica takes to serve (for a sleeping model: its first caller's wait),
    and how long a sleeping model stays up after its last request."""
    wake = wake_plan(plan)
    idle = plan.scaling.idle_seconds if plan.scaling and plan.sleeps else None
    return {
        "wakeUpEstimateSeconds": None if idle is None else wake.estimate_seconds,
        "wakeUpParts": wake.parts,
        "idleWindow": "always on" if idle is None else f"{idle} s",
        "firstRequestHeldSeconds": None if idle is None else wake.hold_seconds,
    }


# (table header, key in capacity_summary, in the default table): the default fits 120
# columns; `python -m infra.plan --wide` prints them all.
TABLE_COLUMNS = [
    ("model", "name", True),
    ("device", "device", True),
    ("replicas", "replicas", True),
    ("TP", "tensorParallel", True),
    ("util", "gpuMemoryUtilization", False),
    ("weights GiB/GPU", "weightsGiBPerGpu", False),
    ("KV GiB/GPU", "kvCacheGiBPerGpu", True),
    ("KV tokens", "kvTokensPerReplica", True),
    ("max len", "maxModelLen", True),
    ("conc @max", "maxConcurrencyAtMaxLen", True),
    ("start s", "startupBudgetSeconds", False),
    ("install s", "firstInstallBudgetSeconds", True),
    ("await s", "awaitTimeoutSeconds", True),
    ("routing", "routing", True),
    ("wake s", "wakeUpEstimateSeconds", True),
    ("idle", "idleWindow", False),
]


def _failure_domains(p: PoolPlan, dr: bool) -> str:
    """What losing one rack, room or zone does to the pool, said plainly."""
    if p.pool.cloud:
        zones = sorted({n.split("/")[0] for n in p.nodes})
    else:
        zones = sorted(set(p.pool.node_zones.values()))
    if len(zones) > 1:
        return f"{len(zones)} zones ({', '.join(zones)}): spread, zone loss checked"
    if dr:
        fallback = "the DR pair is its redundancy"
    elif len(p.nodes) == 1:
        fallback = "add nodes in other racks or rooms (nodeZones), or a DR site"
    else:
        fallback = "give its nodes their racks or rooms (nodeZones), or add a DR site"
    single = "one node" if len(p.nodes) == 1 else "one zone"
    return f"{single}: no zone redundancy ({fallback})"


def pool_summary(plan: PlatformPlan, dr: bool = False) -> dict[str, dict[str, Any]]:
    return {
        name: {
            "gpu": p.pool.gpu,
            "shape": f"{len(p.nodes)}×{p.pool.gpus_per_node}"
            + (" (at maxNodes)" if p.pool.cloud else ""),
            "timeSlices": p.time_slices,
            "used": f"{p.used_slots}/{p.slots}",
            "placement": "; ".join(f"{n}: {', '.join(r) or '-'}" for n, r in p.placement.items()),
            "failureDomains": _failure_domains(p, dr),
        }
        for name, p in plan.pools.items()
    }


def _export_chat_ui(config: StackConfig, platform: Platform) -> None:
    chat = platform.chat_ui
    if chat is None:
        return
    if chat.sign_in_password is None:
        pulumi.export(
            Outputs.CHAT_UI,
            {
                "portForward": f"kubectl -n {CHAT_NAMESPACE} port-forward "
                f"svc/{OPEN_WEBUI_SERVICE} 3001:{OPEN_WEBUI_PORT}  # then http://localhost:3001"
            },
        )
        return
    pulumi.export(
        Outputs.CHAT_UI,
        {
            "url": f"https://{config.chat_ui.hostname}",
            "gatewayUser": config.chat_ui.username,
            "gatewayPassword": f"pulumi stack output {Outputs.CHAT_UI_PASSWORD} --show-secrets",
            "accounts": "the first account signed up is the admin; later ones wait for approval",
        },
    )
    pulumi.export(Outputs.CHAT_UI_PASSWORD, pulumi.Output.secret(chat.sign_in_password))


def export_outputs(config: StackConfig, plan: PlatformPlan, platform: Platform) -> None:
    """The stack outputs (keys in topology.Outputs) that the README and docs/ name."""
    pulumi.export(Outputs.ENVIRONMENT, config.environment)
    pulumi.export(Outputs.MODELS, {m.model.name: capacity_summary(m) for m in plan.models})
    pulumi.export(Outputs.GPU_POOLS, pool_summary(plan, dr=config.dr is not None))
    alerting = config.observability.alerting
    if config.observability.enabled:
        pulumi.export(Outputs.ALERTING, {"page": alerting.page, "ticket": alerting.ticket})
    if platform.observability is not None:
        pulumi.export(
            Outputs.GRAFANA,
            {
                "portForward": f"kubectl -n {MONITORING_NAMESPACE} port-forward "
                f"svc/{GRAFANA_NAME} 3000:80",
                "user": "admin",
                "password": f"pulumi stack output {Outputs.GRAFANA_PASSWORD} --show-secrets",
            },
        )
        pulumi.export(
            Outputs.GRAFANA_PASSWORD,
            pulumi.Output.secret(platform.observability.grafana_admin_password),
        )
    if platform.gateway is not None:
        pulumi.export(Outputs.ENDPOINT, platform.gateway.endpoint)
        pulumi.export(Outputs.API_KEYS, pulumi.Output.secret(platform.gateway.api_keys))
        if config.gateway.service_type == "ClusterIP":
            pulumi.export(
                Outputs.GATEWAY_PORT_FORWARD,
                f"kubectl -n {EG_NAMESPACE} port-forward svc/{PROXY_SERVICE} 8080:80"
                "  # then http://localhost:8080/v1",
            )
        pulumi.export(
            Outputs.API_KEY_HINT,
            f"pulumi stack output {Outputs.API_KEYS} --show-secrets; send it as "
            "'Authorization: Bearer <key>' to the endpoint",
        )
    _export_chat_ui(config, platform)
    if platform.failover is not None and config.dr is not None:
        pulumi.export(
            Outputs.DR,
            {
                "role": config.dr.role,
                "active": config.dr.active,
                "serving": "standby" if config.dr.standby else "active",
            },
        )
        pulumi.export(Outputs.GATEWAY_ADDRESS, platform.failover.gateway_address)
        if config.dr.role == "primary":
            # What the secondary reads through its StackReference: same models, same bits.
            pulumi.export(Outputs.DR_MANIFEST, platform.failover.manifest)
