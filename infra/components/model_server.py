"""ModelServer: one vLLM model deployment (cache, Deployment, Service, PDB)."""

from __future__ import annotations

from typing import Any, TypedDict

import pulumi

from infra.components.declare import declare, install_timeouts
from infra.manifests.model_server import (
    PodImages,
    cache_claim,
    compile_cache_claim,
    default_images,
    deployment,
    disruption_budget,
    loader_config_map,
    pod_service,
    service,
)
from infra.planning.budgets import budgets
from infra.planning.capacity import ServingPlan


class ModelServerArgs(TypedDict):
    plan: ServingPlan
    runtime_class: str | None
    has_hf_token: bool  # the namespace holds the hf-token Secret
    images: PodImages | None  # None: the catalog's pinned public images
    model_source: Any  # "hub", or gs://bucket/prefix of a snapshot (an Input)
    service_account: str | None  # where pods read a snapshot bucket (Workload Identity)
    loader_env: list[dict[str, Any]]  # the loader's access to a snapshot store (S3), if any


class ModelServer(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: ModelServerArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("llm-platform:serving:ModelServer", name, None, opts)
        plan = args["plan"]
        child = pulumi.ResourceOptions(parent=self)
        self.budgets = budgets(plan)
        images = args["images"] or default_images(plan)
        needs: list[pulumi.Resource] = []
        # The weights' claim, when this model owns one (else per-pod, or another model's
        # claim it shares: the composition makes this model wait for that one).
        self.cache_claim: pulumi.Resource | None = None
        if plan.owns_cache_claim:
            self.cache_claim = declare(cache_claim(plan), child)
            needs.append(self.cache_claim)
        compile_claim = compile_cache_claim(plan)
        if compile_claim is not None:
            needs.append(declare(compile_claim, child))
        if images.loader is None:
            needs.append(declare(loader_config_map(plan), child))
        self.deployment = declare(
            deployment(
                plan,
                self.budgets,
                runtime_class=args["runtime_class"],
                has_hf_token=args["has_hf_token"],
                images=images,
                model_source=args["model_source"],
                service_account=args["service_account"],
                loader_env=args["loader_env"],
            ),
            pulumi.ResourceOptions(
                parent=self, depends_on=needs, custom_timeouts=install_timeouts(plan)
            ),
        )
        self.service = declare(service(plan), child)
        declare(pod_service(plan), child)
        pdb = disruption_budget(plan)
        if pdb is not None:
            declare(pdb, child)
        self.served_model_name = plan.model.served_name
        self.register_outputs(
            {
                "servedModelName": plan.model.served_name,
                "service": f"{plan.model.name}.{plan.model.namespace}.svc",
            }
        )
