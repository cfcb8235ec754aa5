"""Autoscaling: the KEDA operator and one ScaledObject per autoscaled model; for models that
sleep at zero, the KEDA HTTP add-on, an InterceptorRoute each, and the flows they need."""

from __future__ import annotations

from typing import TypedDict

import pulumi

from infra.components.declare import declare, helm_release
from infra.components.network import Network, policies_in
from infra.manifests.autoscaling import keda_policies, keda_values, scaled_object
from infra.manifests.common import namespace
from infra.manifests.topology import KEDA_NAMESPACE
from infra.manifests.wake import (
    from_interceptor_policy,
    http_add_on_values,
    interceptor_policy,
    interceptor_route,
    scaler_disruption_budget,
)
from infra.planning.budgets import budgets
from infra.planning.capacity import ServingPlan
from infra.planning.plans import ReleasePlan

HTTP_ADD_ON_RELEASE = "keda-http-add-on"


class WakeArgs(TypedDict):
    replicas: int  # interceptors and scalers: as many as the gateway's proxies
    request_timeout_seconds: int  # the gateway's deadline, which the interceptor keeps too


class AutoscalingArgs(TypedDict):
    network: Network | None  # NetworkPolicies' inputs; None: the stack has none
    models: list[ServingPlan]  # autoscaled ones
    targets: dict[str, pulumi.Resource]  # model name -> its ModelServer (the Deployment)
    wake: WakeArgs
    releases: dict[str, ReleasePlan]  # chart key -> how its release is installed (the plan's)


class Autoscaling(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: AutoscalingArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("llm-platform:autoscaling:Autoscaling", name, None, opts)
        self._releases = args["releases"]
        ns = declare(
            namespace(KEDA_NAMESPACE, "restricted", "autoscaling"),
            pulumi.ResourceOptions(parent=self),
        )
        sleepers = [p for p in args["models"] if p.sleeps]
        self._network = args["network"]
        flows: list[pulumi.Resource] = []
        if self._network is not None:
            manifests = keda_policies(self._network["api_server"], sleepers)
            manifests += [interceptor_policy()] if sleepers else []
            flows = policies_in(manifests, pulumi.ResourceOptions(parent=self, depends_on=[ns]))
        # The release installs KEDA's CRDs: ScaledObjects wait for it.
        keda = helm_release(
            "keda",
            self._releases["keda"],
            KEDA_NAMESPACE,
            keda_values(),
            pulumi.ResourceOptions(parent=self, depends_on=[ns, *flows]),
        )
        routes = self._wake(sleepers, args["wake"], keda, args["targets"]) if sleepers else {}
        for plan in args["models"]:
            deps = [keda, args["targets"][plan.model.name], *routes.get(plan.model.name, [])]
            declare(
                scaled_object(plan, budgets(plan)),
                pulumi.ResourceOptions(parent=self, depends_on=deps),
            )
        self.register_outputs(
            {
                "scaled": [p.model.name for p in args["models"]],
                "sleeping": [p.model.name for p in sleepers],
            }
        )

    def _wake(
        self,
        sleepers: list[ServingPlan],
        wake: WakeArgs,
        keda: pulumi.Resource,
        targets: dict[str, pulumi.Resource],
    ) -> dict[str, list[pulumi.Resource]]:
        """The add-on (its chart installs its CRDs and needs KEDA's), one InterceptorRoute
        per sleeping model, and the flows gateway → interceptor → model."""
        add_on = helm_release(
            HTTP_ADD_ON_RELEASE,
            self._releases["keda-http-add-on"],
            KEDA_NAMESPACE,
            http_add_on_values(wake["replicas"]),
            pulumi.ResourceOptions(parent=self, depends_on=[keda]),
        )
        after_add_on = pulumi.ResourceOptions(parent=self, depends_on=[add_on])
        declare(scaler_disruption_budget(), after_add_on)
        routes: dict[str, list[pulumi.Resource]] = {}
        for plan in sleepers:
            after = pulumi.ResourceOptions(
                parent=self, depends_on=[add_on, targets[plan.model.name]]
            )
            route = interceptor_route(plan, wake["request_timeout_seconds"])
            routes[plan.model.name] = [declare(route, after)]
            if self._network is not None:
                declare(from_interceptor_policy(plan), after)
        return routes
