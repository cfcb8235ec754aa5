"""Composition root: which components a stack gets, and how they are wired."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypedDict

import pulumi
import pulumi_kubernetes as k8s

from infra import config as stack_config
from infra.components.autoscaling import Autoscaling
from infra.components.chat_ui import ChatUi
from infra.components.cluster import GkeCluster
from infra.components.declare import declare
from infra.components.failover import Failover
from infra.components.gateway import Gateway
from infra.components.gpu_runtime import GpuRuntime
from infra.components.images import Images
from infra.components.model_server import ModelServer
from infra.components.network import NetworkPolicies
from infra.components.node_pools import gpu_node_pool
from infra.components.observability import Observability
from infra.config import StackConfig
from infra.manifests.common import namespace
from infra.manifests.model_server import PodImages, hf_token_secret
from infra.manifests.topology import (
    CHAT_CLIENT,
    LOADER_SERVICE_ACCOUNT,
)
from infra.planning.capacity import PlatformPlan
from infra.planning.routing import public_routes


def image_keys(plan: PlatformPlan) -> list[str]:
    """The images a stack's models need: the loader, and the GPU and/or CPU server."""
    keys = ["model-loader"]
    keys += ["vllm"] if any(p.gpu is not None for p in plan.models) else []
    keys += ["vllm-cpu"] if any(p.gpu is None for p in plan.models) else []
    return keys


class PlatformArgs(TypedDict):
    config: StackConfig
    plan: PlatformPlan


class Platform(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: PlatformArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("llm-platform:platform:Platform", name, None, opts)
        cfg, plan = args["config"], args["plan"]
        stack = pulumi.get_stack()
        gke = cfg.cluster.provider == "gke"

        # ---- cluster and GPU pools
        cluster: GkeCluster | None = None
        if gke:
            cluster = GkeCluster(
                "cluster",
                {"config": cfg.cluster, "name": f"llm-{stack}"},
                pulumi.ResourceOptions(parent=self),
            )
            provider = cluster.provider
        else:
            provider = k8s.Provider(
                "cluster",
                kubeconfig=cfg.cluster.kubeconfig,
                context=cfg.cluster.effective_context,
                enable_server_side_apply=True,
                opts=pulumi.ResourceOptions(parent=self),
            )

        def child(*deps: pulumi.Resource) -> pulumi.ResourceOptions:
            return pulumi.ResourceOptions(
                parent=self, providers={"kubernetes": provider}, depends_on=list(deps)
            )

        gpu_ready: list[pulumi.Resource] = []
        gpu_runtime: GpuRuntime | None = None
        for p in plan.pools.values():
            # The pool's backend follows the cluster: patched existing nodes, or a GKE pool.
            gpu_ready.append(
                gpu_node_pool(
                    p,
                    cfg,
                    cluster.cluster.name if cluster else None,
                    child() if cluster is None else pulumi.ResourceOptions(parent=self),
                )
            )
        if plan.pools and not gke:  # GKE installs the driver and the device plugin itself
            gpu_runtime = GpuRuntime(
                "gpu-runtime",
                {
                    "pools": {n: p.time_slices for n, p in plan.pools.items()},
                    "runtime_class": cfg.cluster.runtime_class_name,
                },
                child(),
            )
            gpu_ready.append(gpu_runtime)

        # ---- serving namespaces and images
        token = stack_config.secret("hfToken") if cfg.hf_token else None
        namespaces: dict[str, list[pulumi.Resource]] = {}
        for ns in sorted({m.model.namespace for m in plan.models}):
            # vLLM pods meet the restricted Pod Security Standard: enforce it by default.
            created: list[pulumi.Resource] = [
                declare(namespace(ns, cfg.security.pod_security, "serving"), child())
            ]
            if token is not None:
                created.append(declare(hf_token_secret(ns, token), child(created[0])))
            namespaces[ns] = created

        secondary = cfg.dr is not None and cfg.dr.role == "secondary"
        built = None if secondary else self._build(cfg, plan, child)
        images = self._pod_images(plan, built.digests if built else None)

        # ---- DR: snapshots, identity, global DNS
        self.failover: Failover | None = None
        if cfg.dr is not None:
            self.failover = Failover(
                "failover",
                {
                    "config": cfg,
                    "stack": stack,
                    "models": plan.models,
                    "namespaces": namespaces,
                    "images": images,
                    "digests": built.digests if built else {},
                },
                child(),
            )
            if secondary and cfg.images.build:
                # The primary's digests: both sides serve identical bits.
                primary_images = {k: self.failover.image(k) for k in image_keys(plan)}
                images = self._pod_images(plan, primary_images)

        # ---- models
        self.models: dict[str, ModelServer] = {}
        for serving in plan.models:
            m = serving.model
            deps = namespaces[m.namespace] + (gpu_ready if serving.gpu is not None else [])
            source: Any = "hub"
            account = None
            if self.failover is not None:
                source = self.failover.model_source(serving)
                account = LOADER_SERVICE_ACCOUNT
                deps += self.failover.waits[m.name] + self.failover.service_accounts
            self.models[m.name] = ModelServer(
                m.name,
                {
                    "plan": serving,
                    "runtime_class": cfg.cluster.runtime_class_name,
                    "has_hf_token": token is not None,
                    "images": images.get(m.name),
                    "model_source": source,
                    "service_account": account,
                },
                child(*deps),
            )

        # ---- observability, network, gateway, chat, autoscaling
        self.observability: Observability | None = None
        if cfg.observability.enabled:
            self.observability = Observability(
                "observability",
                {
                    "config": cfg.observability,
                    "models": plan.models,
                    "gpu_pools": {n: p.gpu for n, p in plan.pools.items()},
                    "serving_namespaces": sorted(namespaces),
                    "runtime_class": cfg.cluster.runtime_class_name,
                    "gpu_runtime": gpu_runtime,
                    "gke": gke,
                },
                child(*(r for rs in namespaces.values() for r in rs)),
            )

        if cfg.security.network_policies:
            NetworkPolicies(
                "network-policies",
                {
                    "serving_namespaces": namespaces,
                    "logging": self.observability,
                    "gke_metadata": gke,
                },
                child(),
            )

        self.gateway: Gateway | None = None
        if cfg.gateway.enabled:
            clients = {c.name: c.generation for c in cfg.gateway.clients}
            if cfg.chat_ui.enabled:
                clients.setdefault(CHAT_CLIENT, 1)
            self.gateway = Gateway(
                "gateway",
                {
                    "config": cfg.gateway,
                    "routes": public_routes(cfg.gateway, plan.models),
                    "clients": clients,
                    "provided_keys": stack_config.secret_object("apiKeys")
                    if cfg.api_keys is not None
                    else None,
                    "address": self.failover.gateway_address if self.failover else None,
                    "dns01": {
                        "project": cfg.cluster.project or "",
                        "account": self.failover.dns01_account,
                    }
                    if self.failover and self.failover.dns01_account is not None
                    else None,
                },
                child(*self.models.values()),
            )
            if cfg.chat_ui.enabled:
                ChatUi(
                    "chat-ui",
                    {
                        "config": cfg.chat_ui,
                        "gateway_url": self.gateway.endpoint,
                        "api_key": self.gateway.api_keys[CHAT_CLIENT],
                    },
                    child(self.gateway),
                )

        scaled = [p for p in plan.models if p.scaling is not None]
        if scaled:
            Autoscaling(
                "autoscaling",
                {
                    "models": scaled,
                    "targets": {p.model.name: self.models[p.model.name] for p in scaled},
                },
                child(),
            )
        self.register_outputs({"models": sorted(self.models)})

    def _build(
        self, cfg: StackConfig, plan: PlatformPlan, child: Callable[..., pulumi.ResourceOptions]
    ) -> Images | None:
        """Build and push our images when the stack asks for it."""
        if not cfg.images.build:
            return None
        return Images("images", {"config": cfg.images, "wanted": image_keys(plan)}, child())

    @staticmethod
    def _pod_images(
        plan: PlatformPlan, digests: dict[str, pulumi.Output[str]] | None
    ) -> dict[str, PodImages]:
        """Per model, the images its pods run: built digests, or (None) the catalog's pins."""
        if digests is None:
            return {}
        return {
            p.model.name: PodImages(
                server=digests["vllm" if p.gpu else "vllm-cpu"], loader=digests["model-loader"]
            )
            for p in plan.models
        }
