"""Autoscaling: the KEDA operator and one ScaledObject per autoscaled model."""

from __future__ import annotations

from typing import TypedDict

import pulumi

from infra.catalog.versions import CHARTS
from infra.components.declare import declare, helm_release
from infra.manifests.autoscaling import keda_values, scaled_object
from infra.manifests.common import namespace
from infra.manifests.topology import KEDA_NAMESPACE
from infra.planning.budgets import budgets
from infra.planning.capacity import ServingPlan


class AutoscalingArgs(TypedDict):
    models: list[ServingPlan]  # autoscaled ones
    targets: dict[str, pulumi.Resource]  # model name -> its ModelServer (the Deployment)


class Autoscaling(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: AutoscalingArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("llm-platform:autoscaling:Autoscaling", name, None, opts)
        ns = declare(
            namespace(KEDA_NAMESPACE, "restricted", "autoscaling"),
            pulumi.ResourceOptions(parent=self),
        )
        # The release installs KEDA's CRDs: ScaledObjects wait for it.
        keda = helm_release(
            "keda",
            CHARTS["keda"],
            KEDA_NAMESPACE,
            keda_values(),
            pulumi.ResourceOptions(parent=self, depends_on=[ns]),
        )
        for plan in args["models"]:
            declare(
                scaled_object(plan, budgets(plan)),
                pulumi.ResourceOptions(
                    parent=self, depends_on=[keda, args["targets"][plan.model.name]]
                ),
            )
        self.register_outputs({"scaled": [p.model.name for p in args["models"]]})
