"""NetworkPolicies of the gateway's namespaces: Envoy Gateway's (its controller, the proxies
it runs, the rate-limit service), the AI Gateway controller's, and llm-gateway's (nothing
runs there but cert-manager's HTTP-01 solvers). Clients reach the proxies' listeners from
anywhere; the proxies reach only the backends the routes name."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from infra.catalog.metrics import AI_GATEWAY_METRICS_PORT, ENVOY_METRICS_PORT
from infra.catalog.vllm import SERVER_PORT
from infra.config import GatewayConfig
from infra.manifests.common import Manifest
from infra.manifests.inference_pool import EPP_PORT
from infra.manifests.network import (
    ApiServer,
    Rule,
    allow,
    anywhere,
    api_server,
    baseline,
    local,
    peer,
    tcp,
)
from infra.manifests.peers import (
    ACME_SOLVER_PODS,
    ACME_SOLVER_PORT,
    AI_GATEWAY_PODS,
    AI_GATEWAY_WEBHOOK_PORT,
    EG_CERTGEN_PODS,
    EG_CONTROLLER_PODS,
    EG_RATELIMIT_XDS_PORT,
    EG_WASM_PORT,
    EG_WEBHOOK_PORT,
    EG_XDS_PORT,
    ENVOY_PODS,
    ENVOY_PORT_SHIFT,
    INTERCEPTOR_PODS,
    PROMETHEUS_PODS,
    RATELIMIT_PODS,
    RATELIMIT_PORT,
)
from infra.manifests.ratelimit import REDIS_PODS, REDIS_PORT
from infra.manifests.topology import (
    AI_GATEWAY_EXTENSION_PORT,
    AI_GATEWAY_NAMESPACE,
    CHAT_NAMESPACE,
    EG_NAMESPACE,
    GATEWAY_NAMESPACE,
    HTTP_PORT,
    HTTPS_PORT,
    INTERCEPTOR_PROXY_PORT,
    KEDA_NAMESPACE,
    MONITORING_NAMESPACE,
    OPEN_WEBUI_CONTAINER_PORT,
    OPEN_WEBUI_PODS,
    RATELIMIT_NAMESPACE,
)
from infra.planning.routing import PublicRoute


@dataclass(frozen=True)
class GatewayFlows:
    """What the gateway's proxies must reach, from the stack's routes and features."""

    listener_ports: Sequence[int]  # the Gateway's listeners (80, 443)
    serving_namespaces: Sequence[str]
    pools: bool  # an InferencePool's picker
    sleepers: bool  # the KEDA HTTP add-on's interceptor
    chat: bool  # the chat UI on its own hostname
    acme_http01: bool  # cert-manager's HTTP-01 solvers
    global_limits: bool  # the rate-limit service
    redis: tuple[str, int] | None  # an existing Redis (host, port); None: the stack's own


def container_port(listener_port: int) -> int:
    return listener_port + ENVOY_PORT_SHIFT if listener_port < 1024 else listener_port


def _proxy_egress(flows: GatewayFlows) -> list[Rule]:
    backends = [SERVER_PORT, *([EPP_PORT] if flows.pools else [])]
    rules: list[Rule] = [
        ([peer(ns) for ns in flows.serving_namespaces], [tcp(p) for p in backends]),
        ([local(EG_CONTROLLER_PODS)], [tcp(EG_XDS_PORT), tcp(EG_WASM_PORT)]),
    ]
    if flows.sleepers:
        rules.append(([peer(KEDA_NAMESPACE, INTERCEPTOR_PODS)], [tcp(INTERCEPTOR_PROXY_PORT)]))
    if flows.chat:
        rules.append(([peer(CHAT_NAMESPACE, OPEN_WEBUI_PODS)], [tcp(OPEN_WEBUI_CONTAINER_PORT)]))
    if flows.acme_http01:
        rules.append(([peer(GATEWAY_NAMESPACE, ACME_SOLVER_PODS)], [tcp(ACME_SOLVER_PORT)]))
    if flows.global_limits:
        rules.append(([local(RATELIMIT_PODS)], [tcp(RATELIMIT_PORT)]))
    return rules


def _controller_ingress(flows: GatewayFlows) -> list[Rule]:
    """The proxies' (and the rate-limit service's) configuration, and the API server's calls
    to its webhook (from the control plane's address, which no selector names)."""
    rules: list[Rule] = [
        ([local(ENVOY_PODS)], [tcp(EG_XDS_PORT), tcp(EG_WASM_PORT)]),
        ([anywhere()], [tcp(EG_WEBHOOK_PORT)]),
    ]
    if flows.global_limits:
        rules.append(([local(RATELIMIT_PODS)], [tcp(EG_RATELIMIT_XDS_PORT)]))
    return rules


def envoy_gateway_policies(flows: GatewayFlows, api: ApiServer) -> list[Manifest]:
    ns, prometheus = EG_NAMESPACE, peer(MONITORING_NAMESPACE, PROMETHEUS_PODS)
    listeners = [tcp(container_port(p)) for p in sorted(set(flows.listener_ports))]
    policies = [
        *baseline(ns),
        allow("envoy-proxies", ns, ENVOY_PODS,
              ingress=[([], listeners),  # clients, from anywhere
                       ([prometheus], [tcp(ENVOY_METRICS_PORT), tcp(AI_GATEWAY_METRICS_PORT)])],
              egress=_proxy_egress(flows)),
        allow("envoy-gateway-controller", ns, EG_CONTROLLER_PODS,
              ingress=_controller_ingress(flows),
              egress=[api_server(api),
                      ([peer(AI_GATEWAY_NAMESPACE, AI_GATEWAY_PODS)],
                       [tcp(AI_GATEWAY_EXTENSION_PORT)])]),
        allow("envoy-gateway-certgen", ns, EG_CERTGEN_PODS, egress=[api_server(api)]),
    ]  # fmt: skip
    if flows.global_limits:
        redis: Rule = (
            ([anywhere()], [tcp(flows.redis[1])])
            if flows.redis is not None
            else ([peer(RATELIMIT_NAMESPACE, REDIS_PODS)], [tcp(REDIS_PORT)])
        )
        policies.append(
            allow("envoy-ratelimit", ns, RATELIMIT_PODS,
                  ingress=[([local(ENVOY_PODS)], [tcp(RATELIMIT_PORT)])],
                  egress=[([local(EG_CONTROLLER_PODS)], [tcp(EG_RATELIMIT_XDS_PORT)]), redis])
        )  # fmt: skip
    return policies


def ai_gateway_policies(api: ApiServer) -> list[Manifest]:
    """The controller: Envoy Gateway's extension calls, the API server's webhook calls (it
    injects the proxies' processor), and the API server."""
    ns = AI_GATEWAY_NAMESPACE
    return [
        *baseline(ns),
        allow("ai-gateway-controller", ns, AI_GATEWAY_PODS,
              ingress=[([peer(EG_NAMESPACE, EG_CONTROLLER_PODS)], [tcp(AI_GATEWAY_EXTENSION_PORT)]),
                       ([anywhere()], [tcp(AI_GATEWAY_WEBHOOK_PORT)])],
              egress=[api_server(api)]),
    ]  # fmt: skip


def gateway_namespace_policies(acme_http01: bool) -> list[Manifest]:
    """llm-gateway holds routes, keys and the certificate; only HTTP-01 solvers run there,
    reached by the proxies."""
    policies = baseline(GATEWAY_NAMESPACE)
    if acme_http01:
        policies.append(
            allow("acme-solvers", GATEWAY_NAMESPACE, ACME_SOLVER_PODS,
                  ingress=[([peer(EG_NAMESPACE, ENVOY_PODS)], [tcp(ACME_SOLVER_PORT)])])
        )  # fmt: skip
    return policies


def gateway_client(hostname: str | None, tls: bool) -> Rule:
    """How a pod in the cluster reaches the public endpoint: by its name, which resolves to
    the gateway's address (a load balancer's, anywhere), or without one through the proxies'
    Service (to the proxies themselves)."""
    if hostname is not None:
        return [anywhere()], [tcp(HTTPS_PORT if tls else HTTP_PORT)]
    return [peer(EG_NAMESPACE, ENVOY_PODS)], [tcp(container_port(HTTP_PORT))]


def gateway_flows(
    gw: GatewayConfig,
    routes: Sequence[PublicRoute],
    pools: bool,
    sleepers: bool,
    chat_hostname: str | None,
) -> GatewayFlows:
    """The proxies' flows from the gateway's config and the routes it serves."""
    redis = None
    if gw.limits == "global" and gw.redis.url is not None:
        host, _, port = gw.redis.url.rpartition(":")
        redis = (host, int(port))
    return GatewayFlows(
        listener_ports=[HTTP_PORT, *([HTTPS_PORT] if gw.tls.mode != "none" else [])],
        serving_namespaces=sorted({b.plan.model.namespace for r in routes for b in r.backends}),
        pools=pools,
        sleepers=sleepers,
        chat=chat_hostname is not None,
        acme_http01=gw.tls.mode == "acme" and gw.tls.solver == "http01",
        global_limits=gw.limits == "global",
        redis=redis,
    )
