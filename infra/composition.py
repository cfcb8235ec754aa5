"""Composition root: which components a stack gets, and how they are wired."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypedDict

import pulumi
import pulumi_kubernetes as k8s

from infra import config as stack_config
from infra.catalog.versions import IMAGES
from infra.components.autoscaling import Autoscaling
from infra.components.chat_ui import ChatUi
from infra.components.cluster import GkeCluster
from infra.components.declare import declare
from infra.components.failover import Failover
from infra.components.gateway import Gateway, GlobalLimitsArgs
from infra.components.gpu_runtime import GpuRuntime
from infra.components.images import Images
from infra.components.loadtest import LoadTest
from infra.components.model_server import ModelServer
from infra.components.network import Network, NetworkPolicies
from infra.components.node_pools import gpu_node_pool
from infra.components.observability import Observability
from infra.components.site_failover import SiteFailover
from infra.config import ImagesConfig, StackConfig
from infra.manifests.common import namespace
from infra.manifests.gateway_network import gateway_client
from infra.manifests.model_server import PodImages, hf_token_secret, public_image
from infra.manifests.network import ApiServer, Rule
from infra.manifests.site_dr import store_port
from infra.manifests.topology import (
    CHAT_CLIENT,
    LOADTEST_CLIENT,
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
    """The whole platform of one stack, composed in stages; each stage reads only the
    config sections and the earlier stages it needs."""

    def __init__(
        self, name: str, args: PlatformArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("llm-platform:platform:Platform", name, None, opts)
        cfg, plan = args["config"], args["plan"]
        self._cfg, self._plan = cfg, plan
        self._cluster_and_provider()
        self._network = self._network_inputs()
        gpu_ready, gpu_runtime = self._gpu_pools()
        namespaces = self._serving_namespaces()
        self._namespaces = namespaces
        images = self._images_and_failover(namespaces)
        self._images = images
        self._models(namespaces, images, gpu_ready)
        self.observability = self._observability(namespaces, gpu_runtime)
        self.chat_ui: ChatUi | None = None
        self.gateway = self._gateway()
        self._autoscaling()
        self.register_outputs({"models": sorted(self.models)})

    def _child(self, *deps: pulumi.Resource) -> pulumi.ResourceOptions:
        """A child that talks to the stack's cluster."""
        return pulumi.ResourceOptions(
            parent=self, providers={"kubernetes": self._provider}, depends_on=list(deps)
        )

    # ------------------------------------------------------------------ stages

    def _cluster_and_provider(self) -> None:
        """The GKE cluster this stack creates, or the cluster it is pointed at."""
        cluster_cfg = self._cfg.cluster
        self._gke = cluster_cfg.provider == "gke"
        self._cluster: GkeCluster | None = None
        self._provider: pulumi.ProviderResource
        if self._gke:
            self._cluster = GkeCluster(
                "cluster",
                {"config": cluster_cfg, "name": f"llm-{pulumi.get_stack()}"},
                pulumi.ResourceOptions(parent=self),
            )
            self._provider = self._cluster.provider
        else:
            self._provider = k8s.Provider(
                "cluster",
                kubeconfig=cluster_cfg.kubeconfig,
                context=cluster_cfg.effective_context,
                enable_server_side_apply=True,
                opts=pulumi.ResourceOptions(parent=self),
            )

    def _network_inputs(self) -> Network | None:
        """What every namespace's NetworkPolicies need: the API server's addresses (as the
        stack says, the GKE cluster's endpoint, or the cluster's private ranges)."""
        security = self._cfg.security
        if not security.network_policies:
            return None
        if security.api_server_cidrs:
            return {"api_server": ApiServer(tuple(security.api_server_cidrs))}
        if self._cluster is not None:
            endpoint = self._cluster.cluster.endpoint.apply(lambda e: f"{e}/32")
            return {"api_server": ApiServer((endpoint,))}
        return {"api_server": ApiServer.cluster_default()}

    def _gpu_pools(self) -> tuple[list[pulumi.Resource], GpuRuntime | None]:
        """GPU pools (patched nodes, or GKE pools) and, off GKE, the device plugin."""
        plan, cluster = self._plan, self._cluster
        gpu_ready: list[pulumi.Resource] = [
            gpu_node_pool(
                p,
                self._cfg.cluster,
                cluster.cluster.name if cluster else None,
                self._child() if cluster is None else pulumi.ResourceOptions(parent=self),
            )
            for p in plan.pools.values()
        ]
        gpu_runtime: GpuRuntime | None = None
        if plan.pools and not self._gke:  # GKE installs the driver and the device plugin itself
            gpu_runtime = GpuRuntime(
                "gpu-runtime",
                {
                    "releases": self._plan.releases,
                    "pools": {n: p.time_slices for n, p in plan.pools.items()},
                    "runtime_class": self._cfg.cluster.runtime_class_name,
                    "network": self._network,
                    "exporter": self._cfg.observability.enabled,
                },
                self._child(),
            )
            gpu_ready.append(gpu_runtime)
        return gpu_ready, gpu_runtime

    def _serving_namespaces(self) -> dict[str, list[pulumi.Resource]]:
        """Each serving namespace (restricted Pod Security by default), its HF token and its
        NetworkPolicies: what the namespace's pods wait for."""
        cfg = self._cfg
        self._token = stack_config.secret("hfToken") if cfg.hf_token else None
        namespaces: dict[str, list[pulumi.Resource]] = {}
        for ns in sorted({m.model.namespace for m in self._plan.models}):
            created: list[pulumi.Resource] = [
                declare(namespace(ns, cfg.security.pod_security, "serving"), self._child())
            ]
            if self._token is not None:
                created.append(declare(hf_token_secret(ns, self._token), self._child(created[0])))
            namespaces[ns] = created
        if self._network is not None:
            snapshots = cfg.dr.snapshots if cfg.dr is not None else None
            policies = NetworkPolicies(
                "network-policies",
                {
                    "serving_namespaces": {ns: list(c) for ns, c in namespaces.items()},
                    "gke_metadata": self._gke,
                    "snapshot_port": store_port(snapshots) if snapshots is not None else None,
                },
                self._child(),
            )
            for ns, applied in policies.policies.items():
                namespaces[ns] += applied
        return namespaces

    def _images_and_failover(
        self, namespaces: dict[str, list[pulumi.Resource]]
    ) -> dict[str, PodImages]:
        """Built images (never on a DR secondary, which runs the primary's), then DR."""
        cfg, plan = self._cfg, self._plan
        secondary = cfg.dr is not None and cfg.dr.role == "secondary"
        built = None if secondary else self._build(cfg, plan, self._child)
        images = self._pod_images(plan, built.digests if built else None, cfg.images)
        self.failover: Failover | SiteFailover | None = None
        if cfg.dr is None:
            return images
        digests = built.digests if built else {}
        if cfg.cluster.provider == "existing":
            self.failover = self._site_failover(namespaces, images, digests)
        else:
            assert cfg.cluster.project and cfg.cluster.region  # validated by config
            self.failover = Failover(
                "failover",
                {
                    "dr": cfg.dr,
                    "project": cfg.cluster.project,
                    "region": cfg.cluster.region,
                    "stack": pulumi.get_stack(),
                    "dns01": cfg.gateway.tls.solver == "dns01CloudDns",
                    "images_build": cfg.images.build,
                    "models": plan.models,
                    "namespaces": namespaces,
                    "images": images,
                    "digests": digests,
                },
                self._child(),
            )
        if secondary and cfg.images.build:
            # The primary's digests: both sides serve identical bits.
            primary_images = {k: self.failover.image(k) for k in image_keys(plan)}
            images = self._pod_images(plan, primary_images, cfg.images)
        return images

    def _site_failover(
        self,
        namespaces: dict[str, list[pulumi.Resource]],
        images: dict[str, PodImages],
        digests: dict[str, pulumi.Output[str]],
    ) -> SiteFailover:
        """On-prem sites: S3 snapshots, DNS through external-dns (secrets from config)."""
        cfg = self._cfg
        assert cfg.dr is not None
        keys = stack_config.secret_object("snapshotCredentials", cfg.snapshot_credentials)
        dns = stack_config.secret("dnsCredentials")
        assert keys is not None and dns is not None  # validated by config
        return SiteFailover(
            "site-failover",
            {
                "releases": self._plan.releases,
                "network": self._network,
                "dr": cfg.dr,
                "stack": pulumi.get_stack(),
                "images_build": cfg.images.build,
                "models": self._plan.models,
                "namespaces": namespaces,
                "images": images,
                "digests": digests,
                "snapshot_keys": keys,
                "dns_credentials": dns,
            },
            self._child(),
        )

    def _models(
        self,
        namespaces: dict[str, list[pulumi.Resource]],
        images: dict[str, PodImages],
        gpu_ready: list[pulumi.Resource],
    ) -> None:
        """One ModelServer per model, after its namespace, its GPUs, the cache claim it
        shares with another model (owners first) and (DR) its snapshot and identity."""
        self.models: dict[str, ModelServer] = {}
        owners_first = sorted(self._plan.models, key=lambda p: not p.owns_cache_claim)
        for serving in owners_first:
            m = serving.model
            deps = namespaces[m.namespace] + (gpu_ready if serving.gpu is not None else [])
            if not serving.cache_per_pod and not serving.owns_cache_claim:
                owner = self.models[serving.cache_layout.owner].cache_claim
                deps += [owner] if owner is not None else []
            source: Any = "hub"
            account = None
            loader_env: list[dict[str, Any]] = []
            if self.failover is not None:
                source = self.failover.model_source(serving)
                account = self.failover.loader_service_account
                loader_env = self.failover.loader_env
                deps += self.failover.waits[m.name] + self.failover.service_accounts
                deps += self.failover.loader_grants
            self.models[m.name] = ModelServer(
                m.name,
                {
                    "plan": serving,
                    "runtime_class": self._cfg.cluster.runtime_class_name,
                    "has_hf_token": self._token is not None,
                    "images": images.get(m.name),
                    "model_source": source,
                    "service_account": account,
                    "loader_env": loader_env,
                },
                self._child(*deps),
            )

    def _observability(
        self, namespaces: dict[str, list[pulumi.Resource]], gpu_runtime: GpuRuntime | None
    ) -> Observability | None:
        if not self._cfg.observability.enabled:
            return None
        return Observability(
            "observability",
            {
                "releases": self._plan.releases,
                "network": self._network,
                "autoscaling": any(p.scaling is not None for p in self._plan.models),
                "config": self._cfg.observability,
                "models": self._plan.models,
                "gpu_pools": {n: p.gpu for n, p in self._plan.pools.items()},
                "serving_namespaces": sorted(namespaces),
                "runtime_class": self._cfg.cluster.runtime_class_name,
                "gpu_runtime": gpu_runtime,
                "gke": self._gke,
                "gateway": self._cfg.gateway.enabled,
                "alerting_secrets": stack_config.secret_object(
                    "alertingSecrets", self._cfg.alerting_secrets
                )
                if self._cfg.alerting_secrets is not None
                else None,
            },
            self._child(*(r for rs in namespaces.values() for r in rs)),
        )

    def _gateway(self) -> Gateway | None:
        """The one endpoint (API keys, limits, TLS) and the chat UI behind it."""
        cfg, failover = self._cfg, self.failover
        if not cfg.gateway.enabled:
            return None
        clients = {c.name: c.generation for c in cfg.gateway.clients}
        if cfg.chat_ui.enabled:
            clients.setdefault(CHAT_CLIENT, 1)
        if cfg.load_test.enabled:
            clients.setdefault(LOADTEST_CLIENT, 1)
        gateway = Gateway(
            "gateway",
            {
                "releases": self._plan.releases,
                "network": self._network,
                "config": cfg.gateway,
                "routes": public_routes(cfg.gateway, self._plan.models),
                "clients": clients,
                "provided_keys": stack_config.secret_object("apiKeys", cfg.api_keys)
                if cfg.api_keys is not None
                else None,
                "address": failover.gateway_address if failover else None,
                "monitoring": self.observability.prometheus_stack if self.observability else None,
                "dns01": {
                    "project": cfg.cluster.project or "",
                    "account": failover.dns01_account,
                    "grants": failover.dns01_grants,
                }
                if failover and failover.dns01_account is not None
                else None,
                "chat_hostname": cfg.chat_ui.hostname if cfg.chat_ui.enabled else None,
                "limits": self._limits() if cfg.gateway.limits == "global" else None,
                "dns": cfg.dr.dns if cfg.dr is not None else None,
                # On-prem DR: cert-manager answers DNS-01 with the provider's credentials.
                "dns_credentials": stack_config.secret("dnsCredentials")
                if cfg.gateway.tls.solver == "dns01"
                else None,
            },
            # Not after the models: the routes name their Services by DNS, and the gateway
            # installs while the weights download. Pools and their flows live in the
            # serving namespaces.
            self._child(*(r for rs in self._namespaces.values() for r in rs)),
        )
        if cfg.chat_ui.enabled:
            self.chat_ui = ChatUi(
                "chat-ui",
                {
                    "releases": self._plan.releases,
                    "network": self._network,
                    "gateway_client": self._gateway_client(),
                    "config": cfg.chat_ui,
                    "gateway_url": gateway.endpoint,
                    "api_key": gateway.api_keys[CHAT_CLIENT],
                    "gateway_namespace": gateway.namespace,
                },
                self._child(gateway),
            )
        if cfg.load_test.enabled:
            self._load_test(gateway)
        return gateway

    def _gateway_client(self) -> Rule:
        """How a pod in the cluster reaches the public endpoint (NetworkPolicies)."""
        gw = self._cfg.gateway
        return gateway_client(gw.hostname, gw.tls.mode != "none")

    def _limits(self) -> GlobalLimitsArgs:
        cfg = self._cfg
        return {
            "redis_image": IMAGES["redis"].pinned(cfg.images.redis_digest),
            "persistent": cfg.environment == "production",
            "password": stack_config.secret("redisPassword") if cfg.redis_password else None,
        }

    def _load_test(self, gateway: Gateway) -> None:
        cfg = self._cfg
        routes = public_routes(cfg.gateway, self._plan.models)
        wanted = cfg.load_test.model or routes[0].model
        route = next(r for r in routes if r.model == wanted)
        target = route.backends[0].plan  # its tokenizer is the model's own
        images = self._images.get(target.model.name)
        LoadTest(
            "loadtest",
            {
                "network": self._network,
                "gateway_client": self._gateway_client(),
                "config": cfg.load_test,
                "base_url": gateway.endpoint.removesuffix("/v1"),
                "model": wanted,
                "tokenizer": target.model.model,
                "image": images.server if images else public_image(target, cfg.images),
                "api_key": gateway.api_keys[LOADTEST_CLIENT],
                "ttft_p95_seconds": cfg.observability.slo.ttft_p95_seconds,
            },
            self._child(gateway),
        )

    def _autoscaling(self) -> None:
        scaled = [p for p in self._plan.models if p.scaling is not None]
        if scaled:
            Autoscaling(
                "autoscaling",
                {
                    "releases": self._plan.releases,
                    "models": scaled,
                    "targets": {p.model.name: self.models[p.model.name] for p in scaled},
                    "network": self._network,
                    "wake": {
                        "replicas": self._cfg.gateway.replicas,
                        "request_timeout_seconds": self._cfg.gateway.request_timeout_seconds,
                    },
                },
                self._child(),
            )

    def _build(
        self, cfg: StackConfig, plan: PlatformPlan, child: Callable[..., pulumi.ResourceOptions]
    ) -> Images | None:
        """Build and push our images when the stack asks for it."""
        if not cfg.images.build:
            return None
        return Images("images", {"config": cfg.images, "wanted": image_keys(plan)}, child())

    @staticmethod
    def _pod_images(
        plan: PlatformPlan, digests: dict[str, pulumi.Output[str]] | None, config: ImagesConfig
    ) -> dict[str, PodImages]:
        """Per model, the images its pods run: built digests, or (None) the public images,
        by the digest the stack pins for them where it pins one."""
        if digests is None:
            return {p.model.name: PodImages(server=public_image(p, config)) for p in plan.models}
        return {
            p.model.name: PodImages(
                server=digests["vllm" if p.gpu else "vllm-cpu"], loader=digests["model-loader"]
            )
            for p in plan.models
        }
