"""Composition root: which components a stack gets, and how they are wired."""

from __future__ import annotations

from typing import Any, TypedDict

import pulumi
import pulumi_kubernetes as k8s

from infra import config as stack_config
from infra.components.autoscaling import Autoscaling
from infra.components.chat_ui import ChatUi
from infra.components.declare import declare
from infra.components.gateway import Gateway
from infra.components.gpu_runtime import GpuRuntime
from infra.components.images import Images
from infra.components.model_server import ModelServer
from infra.components.network import NetworkPolicies
from infra.components.node_pools import GpuNodePool
from infra.components.observability import Observability
from infra.config import StackConfig
from infra.manifests.chat_ui import CHAT_CLIENT
from infra.manifests.common import labels, namespace
from infra.manifests.model_server import HF_TOKEN_KEY, HF_TOKEN_SECRET, PodImages
from infra.planning.capacity import PlatformPlan
from infra.planning.routing import public_routes


class PlatformArgs(TypedDict):
    config: StackConfig
    plan: PlatformPlan


def hf_token_secret(ns: str, token: pulumi.Output[str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {
            "name": HF_TOKEN_SECRET,
            "namespace": ns,
            "labels": labels("llm-platform", ns, "model-download"),
        },
        "stringData": {HF_TOKEN_KEY: token},
    }


class Platform(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: PlatformArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("llm-platform:platform:Platform", name, None, opts)
        cfg, plan = args["config"], args["plan"]
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

        pools = {name: p.time_slices for name, p in plan.pools.items()}
        node_pools = [
            GpuNodePool(p.pool.name, {"pool": p.pool, "time_slices": p.time_slices}, child())
            for p in plan.pools.values()
        ]
        gpu_runtime = (
            GpuRuntime(
                "gpu-runtime",
                {"pools": pools, "runtime_class": cfg.cluster.runtime_class_name},
                child(),
            )
            if pools
            else None
        )
        gpu_ready: list[pulumi.Resource] = [*node_pools, *([gpu_runtime] if gpu_runtime else [])]

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

        built: Images | None = None
        if cfg.images.build:
            wanted = ["model-loader"]
            wanted += ["vllm"] if any(p.gpu is not None for p in plan.models) else []
            wanted += ["vllm-cpu"] if any(p.gpu is None for p in plan.models) else []
            built = Images("images", {"config": cfg.images, "wanted": wanted}, child())

        self.models: dict[str, ModelServer] = {}
        for serving in plan.models:
            m = serving.model
            deps = namespaces[m.namespace] + (gpu_ready if serving.gpu is not None else [])
            self.models[m.name] = ModelServer(
                m.name,
                {
                    "plan": serving,
                    "runtime_class": cfg.cluster.runtime_class_name,
                    "has_hf_token": token is not None,
                    "images": PodImages(
                        server=built.digests["vllm" if serving.gpu else "vllm-cpu"],
                        loader=built.digests["model-loader"],
                    )
                    if built
                    else None,
                    "model_source": "hub",
                },
                child(*deps),
            )

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
                },
                child(*(r for rs in namespaces.values() for r in rs)),
            )

        if cfg.security.network_policies:
            NetworkPolicies(
                "network-policies",
                {"serving_namespaces": namespaces, "logging": self.observability},
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
