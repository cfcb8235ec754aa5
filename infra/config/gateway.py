"""The `gateway`, `apiKeys` and `chatUi` sections: the one OpenAI-compatible endpoint."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field, StringConstraints

from infra.config.base import (
    EMAIL_PATTERN,
    HEADER_PATTERN,
    HOSTNAME_PATTERN,
    INT32_MAX,
    UINT32_MAX,
    DnsLabel,
    DnsSubdomain,
    Problem,
    Section,
    problems_if,
)

if TYPE_CHECKING:
    from infra.config.stack import StackConfig

LETS_ENCRYPT = "https://acme-v02.api.letsencrypt.org/directory"


class TlsConfig(Section):
    """The endpoint's certificate, issued and renewed by cert-manager."""

    mode: Literal["acme", "selfSigned", "none"] = Field(
        default="acme",
        description="acme: a public certificate (HTTP-01 through the gateway); selfSigned: dev; "
        "none: plain HTTP",
    )
    issuer_email: Annotated[str, StringConstraints(pattern=EMAIL_PATTERN)] | None = Field(
        default=None, description="ACME account e-mail (required for acme)"
    )
    acme_server: Annotated[str, StringConstraints(pattern=r"^https://")] = Field(
        default=LETS_ENCRYPT, description="ACME directory URL (Let's Encrypt production)"
    )
    solver: Literal["http01", "dns01CloudDns", "dns01"] = Field(
        default="http01",
        description="how ACME checks the name: http01 through the gateway; dns01CloudDns with a "
        "Cloud DNS record (GKE DR); dns01 through dr.dns's provider (on-prem DR): the standby "
        "side must renew while DNS points elsewhere",
    )


class RateLimitConfig(Section):
    """Requests one client (API key) may send per unit of time."""

    requests: int = Field(default=60, ge=1, le=UINT32_MAX, description="requests per unit")
    unit: Literal["Second", "Minute", "Hour", "Day"] = Field(
        default="Minute", description="the window the count is over"
    )


class TokenLimitConfig(Section):
    """A budget of LLM tokens per client, as the AI Gateway counts them from the response's
    usage (input = prompt, output = completion, total = both)."""

    tokens: Literal["input", "output", "total"] = Field(
        default="total", description="which tokens count against the budget"
    )
    limit: int = Field(ge=1, le=UINT32_MAX, description="tokens per unit")
    unit: Literal["Minute", "Hour", "Day"] = Field(
        default="Minute", description="the window the budget is over"
    )


class RedisConfig(Section):
    """Where global limits are counted."""

    url: Annotated[str, StringConstraints(pattern=r"^[a-z0-9.-]+:[0-9]{1,5}$")] | None = Field(
        default=None,
        description="an existing Redis (host:port; its password as the secret "
        "`redisPassword`); None = the stack runs one for the limits",
    )
    storage_class: DnsSubdomain | None = Field(
        default=None, description="the stack's Redis volume (production only); None = default"
    )
    size_gib: int = Field(
        default=2, ge=1, le=1024, description="the stack's Redis volume, GiB (production only)"
    )


class ApiClientConfig(Section):
    """A caller of the endpoint: one API key, its own limits."""

    name: DnsLabel = Field(description="client id; its API key is generated unless apiKeys has it")
    rate_limit: RateLimitConfig | None = Field(
        default=None, description="this client's own limit; None = gateway.rateLimit"
    )
    token_limits: list[TokenLimitConfig] | None = Field(
        default=None, description="this client's own token budgets; None = gateway.tokenLimits"
    )
    generation: int = Field(
        default=1, ge=1, le=INT32_MAX, description="bump to rotate a generated key"
    )


class RouteBackendConfig(Section):
    deployment: DnsLabel = Field(description="a models[].name")
    weight: int = Field(ge=0, le=100, description="share of the route's requests, relative")


class RouteConfig(Section):
    """A model name clients send, split over several deployments by weight."""

    model: str = Field(min_length=1, description="the model name clients send")
    backends: list[RouteBackendConfig] = Field(
        min_length=1, description="the deployments serving this name, with their weights"
    )


class OutlierConfig(Section):
    """How Envoy stops sending to a replica that keeps failing."""

    consecutive_errors: int = Field(
        default=3, ge=1, le=1000, description="5xx in a row before ejection"
    )
    ejection_seconds: int = Field(
        default=30, ge=1, le=86400, description="how long an ejected replica gets no requests"
    )
    max_ejection_percent: int = Field(
        default=50, ge=1, le=100, description="at most this share of replicas is ejected at once"
    )


class GatewayConfig(Section):
    """The one OpenAI-compatible endpoint: Envoy Gateway with the AI Gateway in front of
    every model, with API keys, limits and TLS."""

    enabled: bool = Field(default=True, description="deploy the gateway (off: models only)")
    hostname: Annotated[str, StringConstraints(pattern=HOSTNAME_PATTERN, max_length=253)] | None = (
        Field(default=None, description="public DNS name of the endpoint (required with TLS)")
    )
    tls: TlsConfig = Field(default_factory=TlsConfig, description=TlsConfig.__doc__)
    clients: list[ApiClientConfig] = Field(
        default_factory=lambda: [ApiClientConfig(name="default")],
        min_length=1,
        description="who may call the endpoint; one API key each",
    )
    rate_limit: RateLimitConfig = Field(
        default_factory=RateLimitConfig, description="per client (API key)"
    )
    limits: Literal["local", "global"] = Field(
        default="local",
        description="local: each proxy replica counts on its own (N replicas allow N × the "
        "limit); global: one count per client across replicas, in Redis",
    )
    token_limits: list[TokenLimitConfig] = Field(
        default_factory=list, description="token budgets per client (limits: global)"
    )
    redis: RedisConfig = Field(default_factory=RedisConfig, description="for limits: global")
    session_header: Annotated[str, StringConstraints(pattern=HEADER_PATTERN)] = Field(
        default="x-session-id",
        description="requests with the same value go to the same replica (prefix-cache hits)",
    )
    request_timeout_seconds: int = Field(
        default=600, ge=10, le=3600, description="long generations stream for minutes"
    )
    max_request_body_mib: int = Field(
        default=8, ge=1, le=256, description="largest request body accepted, MiB (long prompts)"
    )
    retries: int = Field(
        default=2, ge=0, le=5, description="only for failures before the request reached vLLM"
    )
    outlier_detection: OutlierConfig = Field(
        default_factory=OutlierConfig, description=OutlierConfig.__doc__
    )
    routes: list[RouteConfig] = Field(
        default_factory=list, description="weighted splits; other models get a route each"
    )
    replicas: int = Field(default=2, ge=1, le=16, description="Envoy proxy replicas")
    service_type: Literal["LoadBalancer", "NodePort", "ClusterIP"] = Field(
        default="LoadBalancer",
        description="how the proxy is reached: LoadBalancer needs cluster.loadBalancers",
    )


class ChatUiConfig(Section):
    """Open WebUI, talking to the models through the gateway."""

    enabled: bool = Field(default=False, description="deploy the chat UI")
    storage_class: DnsSubdomain | None = Field(
        default=None, description="its data volume's StorageClass; None = the cluster default"
    )
    size_gib: int = Field(default=2, ge=1, le=65536, description="its data volume, GiB")
    hostname: DnsSubdomain | None = Field(
        default=None,
        description="serve the chat UI through the gateway on this hostname, over HTTPS, "
        "behind the gateway's sign-in and its own accounts; None = port-forward only",
    )
    username: DnsLabel = Field(
        default="chat", description="the user of the gateway's sign-in in front of the chat UI"
    )


# --------------------------------------------------------------------------- checks


def _check_tls(cfg: StackConfig) -> list[Problem]:
    gw = cfg.gateway
    return (
        problems_if(
            gw.tls.mode != "none" and gw.hostname is None,
            "gateway.hostname",
            f"TLS mode {gw.tls.mode!r} needs the hostname to put in the certificate",
        )
        + problems_if(
            gw.tls.solver == "dns01CloudDns" and (cfg.dr is None or cfg.cluster.provider != "gke"),
            "gateway.tls.solver",
            "dns01CloudDns is set up for GKE DR stacks (dr section); elsewhere use http01",
        )
        + problems_if(
            gw.tls.solver == "dns01" and (cfg.dr is None or cfg.cluster.provider != "existing"),
            "gateway.tls.solver",
            "dns01 answers through dr.dns's provider (on-prem DR stacks); elsewhere use http01",
        )
        + problems_if(
            gw.tls.mode == "acme" and gw.tls.issuer_email is None,
            "gateway.tls.issuerEmail",
            "ACME needs an account e-mail; or use tls.mode: selfSigned (dev) or none",
        )
    )


def _check_clients(cfg: StackConfig) -> list[Problem]:
    names = [c.name for c in cfg.gateway.clients]
    problems: list[Problem] = []
    for i, name in enumerate(names):
        problems += problems_if(
            names.index(name) != i, f"gateway.clients[{i}].name", f"duplicate client {name!r}"
        )
    if cfg.api_keys is None:
        return problems
    for name in names:
        problems += problems_if(
            name not in cfg.api_keys,
            f"apiKeys.{name}",
            f"client {name!r} has no key; set it with pulumi config set --secret --path "
            f"'apiKeys.{name}' KEY, or remove the client",
        )
    for name in cfg.api_keys:
        problems += problems_if(
            name not in names,
            f"apiKeys.{name}",
            f"no gateway.clients entry has this name; clients: {', '.join(names)}",
        )
    return problems


def _check_pool_splits(cfg: StackConfig) -> list[Problem]:
    """Envoy AI Gateway v1.1 takes one InferencePool per route rule, never beside other
    backends: a weighted split cannot include a pooled deployment."""
    pooled = {m.name for m in cfg.models if m.routing == "inferencePool"}
    return [
        Problem(
            f"gateway.routes[{i}].backends",
            f"{', '.join(sorted(pooled & names))} route(s) through an InferencePool, which "
            "the AI Gateway accepts only alone in a route: serve the split from one pool "
            "(one deployment, more replicas) or use routing: backend for the split",
        )
        for i, route in enumerate(cfg.gateway.routes)
        if len(names := {b.deployment for b in route.backends}) > 1 and pooled & names
    ]


def _check_routes(cfg: StackConfig) -> list[Problem]:
    deployments = {m.name: m for m in cfg.models}
    routed: set[str] = set()
    public: set[str] = set()
    problems: list[Problem] = []
    for i, route in enumerate(cfg.gateway.routes):
        at = f"gateway.routes[{i}]"
        total = sum(b.weight for b in route.backends)
        problems += problems_if(
            total != 100, f"{at}.backends", f"weights sum to {total}; they must sum to 100"
        )
        problems += problems_if(
            route.model in public, f"{at}.model", f"{route.model!r} is routed twice"
        )
        public.add(route.model)
        for j, backend in enumerate(route.backends):
            problems += problems_if(
                backend.deployment not in deployments,
                f"{at}.backends[{j}].deployment",
                f"unknown model {backend.deployment!r}; models: {', '.join(deployments)}",
            )
            routed.add(backend.deployment)
    for name, m in deployments.items():
        problems += problems_if(
            name not in routed and m.served_name in public,
            "gateway.routes",
            f"{m.served_name!r} is both a route and the served name of model {name!r}, "
            "which no route uses",
        )
    return problems


def _check_limits(cfg: StackConfig) -> list[Problem]:
    gw = cfg.gateway
    per_client = [i for i, c in enumerate(gw.clients) if c.token_limits]
    return problems_if(
        gw.limits == "local" and bool(gw.token_limits or per_client),
        "gateway.limits",
        "token budgets are counted from each response by the rate-limit service: set "
        "limits: global (or remove tokenLimits)",
    ) + problems_if(
        gw.redis.url is None and cfg.redis_password is not None,
        "redisPassword",
        "the stack's own Redis gets a generated password: remove it, or set "
        "gateway.redis.url to the Redis it belongs to",
    )


def _check_chat_ui(cfg: StackConfig) -> list[Problem]:
    chat, gw = cfg.chat_ui, cfg.gateway
    if not chat.enabled or chat.hostname is None:
        return []
    return problems_if(
        gw.tls.mode == "none",
        "chatUi.hostname",
        "the chat UI is served through the gateway only over HTTPS (passwords cross it): "
        "set gateway.tls.mode (acme or selfSigned), or remove the hostname and port-forward",
    ) + problems_if(
        chat.hostname == gw.hostname,
        "chatUi.hostname",
        f"{chat.hostname!r} is the API's hostname, where every request needs an API key: "
        "give the chat UI a hostname of its own, e.g. chat.<domain>",
    )


def check_gateway(cfg: StackConfig) -> list[Problem]:
    """TLS needs a name and an issuer; clients and keys match; routes name real models."""
    if not cfg.gateway.enabled:
        pooled = [i for i, m in enumerate(cfg.models) if m.routing == "inferencePool"]
        return problems_if(
            cfg.chat_ui.enabled,
            "chatUi.enabled",
            "the chat UI talks to the gateway: enable gateway or disable chatUi",
        ) + [
            Problem(f"models[{i}].routing", "an InferencePool is routed to by the gateway: "
                    "enable gateway or use routing: backend")
            for i in pooled
        ]  # fmt: skip
    return (
        _check_tls(cfg)
        + _check_clients(cfg)
        + _check_routes(cfg)
        + _check_chat_ui(cfg)
        + _check_limits(cfg)
        + _check_pool_splits(cfg)
    )
