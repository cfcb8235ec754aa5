"""Pulumi entry point (`main: infra/`): read config once, plan, declare, export."""

import pulumi

from infra.composition import Platform
from infra.config import load, stack_file
from infra.outputs import capacity_summary, pool_summary
from infra.planning.capacity import plan_platform

config = load()
plan = plan_platform(config, stack_file(pulumi.get_stack()))
platform = Platform("llm-platform", {"config": config, "plan": plan})

pulumi.export("environment", config.environment)
pulumi.export("models", {m.model.name: capacity_summary(m) for m in plan.models})
pulumi.export("gpuPools", pool_summary(plan))
if platform.observability is not None:
    pulumi.export(
        "grafana",
        {
            "portForward": "kubectl -n monitoring port-forward svc/grafana 3000:80",
            "user": "admin",
            "password": "pulumi stack output grafanaAdminPassword --show-secrets",
        },
    )
    pulumi.export(
        "grafanaAdminPassword", pulumi.Output.secret(platform.observability.grafana_admin_password)
    )
if platform.gateway is not None:
    pulumi.export("endpoint", platform.gateway.endpoint)
    pulumi.export("apiKeys", pulumi.Output.secret(platform.gateway.api_keys))
    if config.gateway.service_type == "ClusterIP":
        pulumi.export(
            "gatewayPortForward",
            "kubectl -n envoy-gateway-system port-forward svc/llm-gateway 8080:80"
            "  # then http://localhost:8080/v1",
        )
    pulumi.export(
        "apiKeyHint",
        "pulumi stack output apiKeys --show-secrets; send it as "
        "'Authorization: Bearer <key>' to the endpoint",
    )
if platform.failover is not None and config.dr is not None:
    pulumi.export(
        "dr",
        {
            "role": config.dr.role,
            "active": config.dr.active,
            "serving": "standby" if config.dr.standby else "active",
        },
    )
    pulumi.export("gatewayAddress", platform.failover.gateway_address)
    if config.dr.role == "primary":
        # What the secondary reads through its StackReference: same models, same bits.
        pulumi.export("drManifest", platform.failover.manifest)
