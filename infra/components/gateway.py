"""Gateway: one OpenAI-compatible endpoint in front of every model, with API keys, limits,
TLS, session affinity and passive health checking."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypedDict

import pulumi
import pulumi_random as random

from infra.components.declare import declare, helm_release
from infra.components.network import Network, policies_in
from infra.config import DnsConfig, GatewayConfig
from infra.manifests.common import Manifest, namespace
from infra.manifests.gateway import (
    ai_gateway_route,
    ai_gateway_values,
    ai_service_backend,
    api_keys_secret,
    backend,
    client_policy,
    endpoint,
    envoy_gateway_values,
    envoy_proxy,
    gateway,
    gateway_class,
    security_policy,
    traffic_policy,
)
from infra.manifests.gateway_network import (
    ai_gateway_policies,
    envoy_gateway_policies,
    gateway_flows,
    gateway_namespace_policies,
)
from infra.manifests.inference_pool import (
    HARDEN_POSTRENDER,
    epp_pod_monitor,
    pool_crd,
    pool_grant,
    pool_name,
    pool_policies,
    pool_values,
)
from infra.manifests.network import ApiServer
from infra.manifests.observability.dashboards import dashboard_config_map, usage_dashboard
from infra.manifests.observability.values import gateway_pod_monitor
from infra.manifests.ratelimit import (
    ratelimit_auth_secret,
    redis_config,
    redis_config_secret,
    redis_policies,
    redis_service,
    redis_stateful_set,
)
from infra.manifests.site_dr import dns_credentials_secret
from infra.manifests.tls import (
    cert_manager_policies,
    cert_manager_values,
    certificate,
    cluster_issuer,
    https_redirect,
)
from infra.manifests.topology import (
    AI_GATEWAY_NAMESPACE,
    CERT_MANAGER_NAMESPACE,
    EG_NAMESPACE,
    GATEWAY_NAMESPACE,
    RATELIMIT_NAMESPACE,
)
from infra.planning.capacity import ServingPlan
from infra.planning.plans import ReleasePlan
from infra.planning.routing import PublicRoute
from infra.planning.wake import wake_plan

API_KEY_LENGTH = 48
REDIS_PASSWORD_LENGTH = 48


def _key_of(client: str) -> Callable[[dict[str, Any]], str]:
    return lambda keys: str(keys[client])


class Dns01(TypedDict):
    project: str
    account: pulumi.Output[str]  # Google service account e-mail (Workload Identity)
    grants: list[pulumi.Resource]  # its DNS role and binding: cert-manager starts after them


class GatewayArgs(TypedDict):
    network: Network | None  # NetworkPolicies' inputs; None: the stack has none
    config: GatewayConfig
    routes: list[PublicRoute]
    clients: dict[str, int]  # client id -> key generation (bumping it rotates the key)
    provided_keys: pulumi.Output[Any] | None  # secret config map client -> key
    address: pulumi.Input[str] | None  # a reserved static IP for the proxies' Service
    dns01: Dns01 | None  # Cloud DNS project and the identity cert-manager uses for it
    monitoring: pulumi.Resource | None  # the release installing the PodMonitor CRD, if any
    chat_hostname: str | None  # the chat UI's own listeners and certificate name, if served
    limits: GlobalLimitsArgs | None  # gateway.limits: global (the Redis behind the counts)
    dns: DnsConfig | None  # on-prem DR: the provider cert-manager answers DNS-01 through
    dns_credentials: pulumi.Output[str] | None  # its TSIG secret or API token
    releases: dict[str, ReleasePlan]  # chart key -> how its release is installed (the plan's)


class GlobalLimitsArgs(TypedDict):
    redis_image: str  # for the stack's own Redis (unused with gateway.redis.url)
    persistent: bool  # the stack's own Redis keeps its counts on a volume (production)
    password: pulumi.Output[str] | None  # an existing Redis's password (redisPassword)


class Gateway(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: GatewayArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("llm-platform:gateway:Gateway", name, None, opts)
        self._releases = args["releases"]
        cfg = args["config"]

        def child(*deps: pulumi.Resource) -> pulumi.ResourceOptions:
            return pulumi.ResourceOptions(parent=self, depends_on=list(deps))

        # Only Gateway API objects and secrets live here: nothing runs, enforce restricted.
        ns = declare(namespace(GATEWAY_NAMESPACE, "restricted", "gateway"), child())
        eg_ns = declare(namespace(EG_NAMESPACE, "baseline", "gateway"), child())
        ai_ns = declare(namespace(AI_GATEWAY_NAMESPACE, "restricted", "gateway"), child())

        # Envoy Gateway installs the Gateway API and its own CRDs; the AI Gateway hooks in.
        limits = args["limits"]
        auth = self._global_limits(cfg, limits, eg_ns, args["network"]) if limits else []
        pooled = {
            b.plan.model.name: b.plan
            for r in args["routes"]
            for b in r.backends
            if b.plan.model.routing == "inferencePool"
        }
        sleepers = {
            b.plan.model.name: b.plan for r in args["routes"] for b in r.backends if b.plan.sleeps
        }
        chat_host = args["chat_hostname"]
        network = args["network"]
        self._api = network["api_server"] if network is not None else ApiServer(())
        flows = gateway_flows(cfg, args["routes"], bool(pooled), bool(sleepers), chat_host)

        def policies(manifests: list[Manifest], ns: pulumi.Resource) -> list[pulumi.Resource]:
            return policies_in(manifests, child(ns)) if network is not None else []

        policies(gateway_namespace_policies(flows.acme_http01), ns)
        eg_flows = policies(envoy_gateway_policies(flows, self._api), eg_ns)
        ai_flows = policies(ai_gateway_policies(self._api), ai_ns)
        self._network = network
        eg = helm_release(
            "envoy-gateway",
            self._releases["envoy-gateway"],
            EG_NAMESPACE,
            envoy_gateway_values(cfg, bool(auth), pools=bool(pooled)),
            child(eg_ns, *auth, *eg_flows),
        )
        ai_crds = helm_release(
            "ai-gateway-crds",
            self._releases["ai-gateway-crds"],
            AI_GATEWAY_NAMESPACE,
            {},
            child(ai_ns),
        )
        ai = helm_release(
            "ai-gateway",
            self._releases["ai-gateway"],
            AI_GATEWAY_NAMESPACE,
            ai_gateway_values(),
            child(ai_crds, eg, *ai_flows),
        )

        self.api_keys: dict[str, pulumi.Output[str]] = {}
        provided = args["provided_keys"]
        for client, generation in args["clients"].items():
            if provided is not None:
                self.api_keys[client] = provided.apply(_key_of(client))
            else:
                self.api_keys[client] = random.RandomPassword(
                    f"api-key-{client}",
                    length=API_KEY_LENGTH,
                    special=False,
                    keepers={"generation": str(generation)},
                    opts=child(),
                ).result
        keys = declare(api_keys_secret(dict(self.api_keys)), child(ns))

        proxy = declare(envoy_proxy(cfg, args["address"]), child(eg, ns))
        declare(gateway_class(), child(eg, proxy))
        # The Gateway makes Envoy Gateway start the proxies, whose pods the AI Gateway's
        # webhook (failurePolicy Fail) must admit and inject: it waits for that release.
        gw = declare(gateway(cfg, chat_host), child(ai, ns))
        self.namespace = ns
        declare(security_policy(cfg), child(gw, keys))
        # A caller whose model did not wake in time retries after a (the longest) wake-up.
        retry_after = max((wake_plan(p).estimate_seconds for p in sleepers.values()), default=None)
        declare(traffic_policy(cfg, retry_after), child(gw))
        declare(client_policy(cfg), child(gw))
        if cfg.tls.mode != "none":
            cm_ns = declare(namespace(CERT_MANAGER_NAMESPACE, "restricted", "tls"), child())
            dns01 = args["dns01"]
            nameserver = (
                args["dns"].rfc2136.nameserver if args["dns"] and args["dns"].rfc2136 else None
            )
            cm_flows = policies(
                cert_manager_policies(
                    self._api,
                    int(nameserver.rpartition(":")[2]) if nameserver else None,
                    gke_metadata=dns01 is not None,
                ),
                cm_ns,
            )
            cert_manager = helm_release(
                "cert-manager",
                self._releases["cert-manager"],
                CERT_MANAGER_NAMESPACE,
                cert_manager_values(dns01["account"] if dns01 else None),
                child(cm_ns, eg, *cm_flows, *(dns01["grants"] if dns01 else [])),
            )
            issuer_deps: list[pulumi.Resource] = [cert_manager]
            if cfg.tls.solver == "dns01" and args["dns_credentials"] is not None:
                secret = dns_credentials_secret(CERT_MANAGER_NAMESPACE, args["dns_credentials"])
                issuer_deps.append(declare(secret, child(cm_ns)))
            issuer = declare(
                cluster_issuer(cfg, dns01["project"] if dns01 else None, chat_host, args["dns"]),
                child(*issuer_deps),
            )
            declare(certificate(cfg, chat_host), child(issuer, ns))
            declare(https_redirect(cfg, chat_host), child(gw))

        deployments = {
            b.plan.model.name: b.plan.model.namespace for r in args["routes"] for b in r.backends
        }
        backends = self._inference_pools(
            [pooled[m] for m in sorted(pooled)], args["monitoring"], eg
        )
        for model, model_ns in sorted(deployments.items()):
            if model in pooled:
                continue  # its pool's endpoint picker chooses the pod
            sleeps = model in sleepers
            eg_backend = declare(backend(model, model_ns, sleeps), child(eg, ns))
            backends.append(declare(ai_service_backend(model, sleeps), child(ai, eg_backend)))
        declare(ai_gateway_route(cfg, args["routes"]), child(ai, gw, *backends))

        self.endpoint = endpoint(cfg)
        if args["monitoring"] is not None:
            # The gateway's own SLIs (every request, also those no vLLM pod saw), and usage
            # per client and model as the AI Gateway counts it.
            declare(gateway_pod_monitor(), child(eg_ns, args["monitoring"]))
            dashboard = dashboard_config_map("llm-platform-usage", usage_dashboard())
            declare(dashboard, child(args["monitoring"]))
        self.register_outputs({"endpoint": self.endpoint})

    def _inference_pools(
        self, plans: list[ServingPlan], monitoring: pulumi.Resource | None, eg: pulumi.Resource
    ) -> list[pulumi.Resource]:
        """Per pooled model: its InferencePool and endpoint picker (the upstream chart,
        hardened by the post-renderer), the flows they need, and the picker's metrics."""
        if not plans:
            return []
        opts = pulumi.ResourceOptions(parent=self, depends_on=[eg])
        crd = declare(pool_crd(), opts)
        pools: list[pulumi.Resource] = []
        for plan in plans:
            under = pulumi.ResourceOptions(parent=self, depends_on=[crd])
            # The picker starts under its flows (its namespace denies everything else).
            flows = policies_in(pool_policies(plan, self._api), under) if self._network else []
            pools.append(
                helm_release(
                    pool_name(plan),
                    self._releases["inferencepool"],
                    plan.model.namespace,
                    pool_values(plan),
                    pulumi.ResourceOptions(parent=self, depends_on=[crd, *flows]),
                    postrender=HARDEN_POSTRENDER,
                )
            )
            pools.append(declare(pool_grant(plan), under))
            if monitoring is not None:
                declare(
                    epp_pod_monitor(plan),
                    pulumi.ResourceOptions(parent=self, depends_on=[monitoring]),
                )
        return pools

    def _global_limits(
        self,
        cfg: GatewayConfig,
        limits: GlobalLimitsArgs,
        eg_ns: pulumi.Resource,
        network: Network | None,
    ) -> list[pulumi.Resource]:
        """The Redis the rate-limit service counts in (the stack's own unless an existing
        one is named), and the Secret handing its password to the service."""
        opts = pulumi.ResourceOptions(parent=self)
        password = limits["password"]
        if cfg.redis.url is None:
            ns = declare(namespace(RATELIMIT_NAMESPACE, "restricted", "ratelimit"), opts)
            own = random.RandomPassword(
                "ratelimit-redis", length=REDIS_PASSWORD_LENGTH, special=False, opts=opts
            ).result
            persistent = limits["persistent"]
            config = own.apply(lambda p: redis_config(p, persistent))
            under_ns = pulumi.ResourceOptions(parent=self, depends_on=[ns])
            conf = declare(redis_config_secret(config), under_ns)
            declare(redis_service(), under_ns)
            flows = policies_in(redis_policies(), under_ns) if network is not None else []
            stateful = redis_stateful_set(cfg, limits["redis_image"], persistent)
            declare(stateful, pulumi.ResourceOptions(parent=self, depends_on=[conf, *flows]))
            password = own
        if password is None:
            return []
        secret = ratelimit_auth_secret(password)
        return [declare(secret, pulumi.ResourceOptions(parent=self, depends_on=[eg_ns]))]
