"""The flows the platform intends, rendered as docs/network-flows.md (`make docs`): who
must reach whom on which port, and who must not. Independent of the
policy builders in infra/manifests: the analyzer (connectivity.py) judges those against
this. Roles name pods by the labels their renders and controllers give them; addresses
stand for what is not a pod (the internet, a node, the API server, GKE's metadata server).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from infra.config import StackConfig
from infra.planning.capacity import PlatformPlan


@dataclass(frozen=True)
class Context:
    config: StackConfig
    plan: PlatformPlan


@dataclass(frozen=True)
class Role:
    """Pods with these labels in this namespace ("serving": every model's namespace);
    `models`: only the model servers of these models (by their instance label)."""

    title: str
    namespace: str
    labels: dict[str, str] = field(default_factory=dict)
    models: Callable[[Context], set[str]] | None = None


# Addresses standing for what is not a pod.
INTERNET = "8.8.8.8"
PRIVATE_HOST = "10.20.30.40"  # some other host on the site's (or the VPC's) network
NODE = "192.168.1.10"  # a node (k3s, kubeadm) on a typical site network
METADATA = "169.254.169.254"

SERVING = "serving"
EVERY = "*"  # every namespace the platform creates (not kube-system)
VLLM = Role(
    "vLLM model servers",
    SERVING,
    {"app.kubernetes.io/name": "vllm", "app.kubernetes.io/component": "model-server"},
)
SNAPSHOT = Role("DR snapshot Jobs", SERVING, {"app.kubernetes.io/component": "model-snapshot"})
EPP = Role("endpoint pickers", SERVING, {"inference.networking.k8s.io/igw-mode": "inferencepool"})
SLEEPING = Role(
    "sleeping models' servers",
    SERVING,
    VLLM.labels,
    lambda c: {p.model.name for p in c.plan.models if p.sleeps},
)
POOLED = Role(
    "pooled models' servers",
    SERVING,
    VLLM.labels,
    lambda c: {p.model.name for p in c.plan.models if p.model.routing == "inferencePool"},
)
ENVOY = Role("Envoy proxies", "envoy-gateway-system", {"app.kubernetes.io/name": "envoy"})
EG = Role("Envoy Gateway", "envoy-gateway-system", {"control-plane": "envoy-gateway"})
RATELIMIT = Role(
    "rate-limit service", "envoy-gateway-system", {"app.kubernetes.io/name": "envoy-ratelimit"}
)
AI = Role(
    "AI Gateway controller",
    "envoy-ai-gateway-system",
    {"app.kubernetes.io/name": "ai-gateway-helm"},
)
REDIS = Role("rate-limit Redis", "llm-ratelimit", {"app.kubernetes.io/name": "redis"})
SOLVER = Role("ACME HTTP-01 solvers", "llm-gateway", {"acme.cert-manager.io/http01-solver": "true"})
CERT_MANAGER = Role("cert-manager", "cert-manager", {"app.kubernetes.io/component": "controller"})
CM_WEBHOOK = Role(
    "cert-manager's webhook", "cert-manager", {"app.kubernetes.io/component": "webhook"}
)
PROMETHEUS = Role("Prometheus", "monitoring", {"app.kubernetes.io/name": "prometheus"})
ALERTMANAGER = Role("Alertmanager", "monitoring", {"app.kubernetes.io/name": "alertmanager"})
GRAFANA = Role("Grafana", "monitoring", {"app.kubernetes.io/name": "grafana"})
KSM = Role("kube-state-metrics", "monitoring", {"app.kubernetes.io/name": "kube-state-metrics"})
LOKI = Role("Loki", "logging", {"app.kubernetes.io/name": "loki"})
ALLOY = Role("Alloy", "logging", {"app.kubernetes.io/name": "alloy"})
DCGM = Role("DCGM exporter", "gpu-system", {"app.kubernetes.io/name": "dcgm-exporter"})
DEVICE_PLUGIN = Role(
    "NVIDIA device plugin", "gpu-system", {"app.kubernetes.io/name": "nvidia-device-plugin"}
)
KEDA = Role("KEDA operator", "keda", {"app": "keda-operator"})
KEDA_METRICS = Role("KEDA's metrics server", "keda", {"app": "keda-operator-metrics-apiserver"})
INTERCEPTOR = Role("wake-up interceptor", "keda", {"app.kubernetes.io/component": "interceptor"})
HTTP_SCALER = Role("HTTP add-on's scaler", "keda", {"app.kubernetes.io/component": "scaler"})
OPEN_WEBUI = Role("Open WebUI", "chat", {"app.kubernetes.io/name": "open-webui"})
LOADTEST = Role("load test", "llm-loadtest", {"app.kubernetes.io/name": "loadtest"})
EXTERNAL_DNS = Role("external-dns", "external-dns", {"app.kubernetes.io/name": "external-dns"})
DNS = Role("CoreDNS", "kube-system", {"k8s-app": "kube-dns"})
ANY = Role("every pod", EVERY)  # every pod of the platform

Endpoint = Role | str  # a role, an address, or "api" (the stack's API server address)
API = "api"
When = Callable[[Context], bool]


def always(_: Context) -> bool:
    return True


def _gke(c: Context) -> bool:
    return c.config.cluster.provider == "gke"


def _http01(c: Context) -> bool:
    tls = c.config.gateway.tls
    return tls.mode == "acme" and tls.solver == "http01"


def _tls(c: Context) -> bool:
    return c.config.gateway.tls.mode != "none"


def _chat_hostname(c: Context) -> bool:
    return c.config.chat_ui.enabled and c.config.chat_ui.hostname is not None


def _webhooks(c: Context) -> bool:
    return any(r.webhook for r in c.config.observability.alerting.receivers)


def _no_hostname(c: Context) -> bool:
    return c.config.gateway.hostname is None


def _rfc2136(c: Context) -> bool:
    dr = c.config.dr
    return dr is not None and dr.dns is not None and dr.dns.rfc2136 is not None


@dataclass(frozen=True)
class Flow:
    src: Endpoint
    dst: Endpoint
    port: int
    must: bool  # True: needed, allowed; False: forbidden, denied
    why: str
    protocol: str = "TCP"
    when: When = always


def needed(src: Endpoint, dst: Endpoint, port: int, why: str, **kw: object) -> Flow:
    return Flow(src, dst, port, True, why, **kw)  # type: ignore[arg-type]


def forbidden(src: Endpoint, dst: Endpoint, port: int, why: str, **kw: object) -> Flow:
    return Flow(src, dst, port, False, why, **kw)  # type: ignore[arg-type]


FLOWS: list[Flow] = [
    needed(ANY, DNS, 53, "every pod resolves names", protocol="UDP"),
    needed(ANY, DNS, 53, "… over TCP too"),
    # ------------------------------------------------------------------ serving path
    needed(INTERNET, ENVOY, 10443, "clients reach the HTTPS listener", when=_tls),
    needed(INTERNET, ENVOY, 10080, "clients reach the HTTP listener (redirect, ACME, dev)"),
    needed(ENVOY, VLLM, 8000, "the gateway's proxies reach the model servers"),
    needed(ENVOY, EPP, 9002, "the proxies ask an InferencePool's picker"),
    needed(EPP, POOLED, 8000, "the picker reads its model servers' metrics"),
    needed(EPP, API, 6443, "the picker watches its pool and pods"),
    needed(ENVOY, INTERCEPTOR, 8080, "requests for a sleeping model go to the interceptor"),
    needed(INTERCEPTOR, SLEEPING, 8000, "the interceptor passes them on once the model is up"),
    needed(HTTP_SCALER, INTERCEPTOR, 9090, "the add-on's scaler reads the held requests"),
    needed(KEDA, HTTP_SCALER, 9090, "KEDA asks the add-on's scaler about sleeping models"),
    needed(PROMETHEUS, VLLM, 8000, "Prometheus scrapes vLLM's metrics"),
    needed(PROMETHEUS, EPP, 9090, "Prometheus scrapes the picker"),
    needed(VLLM, INTERNET, 443, "the model loader downloads the pinned revision"),
    needed(VLLM, METADATA, 80, "GKE: loaders get their Workload Identity token", when=_gke),
    forbidden(OPEN_WEBUI, VLLM, 8000, "nothing but the gateway's path reaches a model server"),
    forbidden(LOADTEST, VLLM, 8000, "the load test goes through the gateway, as clients do"),
    forbidden(GRAFANA, VLLM, 8000, "Grafana reads Prometheus, not the servers"),
    forbidden(ALLOY, VLLM, 8000, "log shipping reads logs through the API server"),
    forbidden(KEDA, VLLM, 8000, "KEDA reads Prometheus, not the servers"),
    forbidden(CERT_MANAGER, VLLM, 8000, "cert-manager has no business with the models"),
    forbidden(INTERNET, VLLM, 8000, "the model servers are not exposed"),
    forbidden(VLLM, PRIVATE_HOST, 443, "downloads go to public addresses only"),
    forbidden(VLLM, INTERNET, 80, "downloads are HTTPS only"),
    forbidden(VLLM, API, 6443, "model servers do not talk to the API server"),
    forbidden(EPP, INTERNET, 443, "the picker reaches its pool, DNS and the API server only"),
    forbidden(EPP, PRIVATE_HOST, 443, "… and no other host"),
    # ------------------------------------------------------------------ gateway
    needed(ENVOY, EG, 18000, "the proxies get their configuration"),
    needed(ENVOY, EG, 18002, "… and fetch Wasm modules"),
    needed(EG, AI, 1063, "Envoy Gateway calls the AI Gateway's extension server"),
    needed(EG, API, 6443, "Envoy Gateway watches the Gateway API objects"),
    needed(AI, API, 6443, "the AI Gateway controller watches its routes"),
    needed(API, AI, 9443, "the API server calls the AI Gateway's pod webhook"),
    needed(API, EG, 9443, "the API server calls Envoy Gateway's topology webhook"),
    needed(ENVOY, RATELIMIT, 8081, "global limits: the proxies ask the rate-limit service"),
    needed(RATELIMIT, REDIS, 6379, "the rate-limit service counts in Redis"),
    needed(RATELIMIT, EG, 18001, "the rate-limit service gets its configuration"),
    needed(ENVOY, SOLVER, 8089, "ACME HTTP-01 challenges reach cert-manager's solver",
           when=_http01),
    needed(ENVOY, OPEN_WEBUI, 8080, "the chat UI is served on its own hostname",
           when=_chat_hostname),
    needed(PROMETHEUS, ENVOY, 19001, "Prometheus scrapes Envoy's statistics"),
    needed(PROMETHEUS, ENVOY, 1064, "… and the AI Gateway's usage metrics"),
    forbidden(ENVOY, REDIS, 6379, "only the rate-limit service reaches Redis"),
    forbidden(OPEN_WEBUI, REDIS, 6379, "… nobody else"),
    forbidden(VLLM, REDIS, 6379, "… nobody else"),
    forbidden(INTERNET, EG, 18000, "the controller's xDS serves the proxies only"),
    forbidden(INTERNET, INTERCEPTOR, 8080, "the interceptor takes the proxies' requests only"),
    forbidden(VLLM, INTERCEPTOR, 8080, "… only"),
    forbidden(ENVOY, INTERNET, 443, "the proxies reach the routes' backends only"),
    # ------------------------------------------------------------------ autoscaling
    needed(KEDA, PROMETHEUS, 9090, "KEDA's triggers query Prometheus"),
    needed(KEDA, API, 6443, "KEDA's operator manages the HPAs"),
    needed(API, KEDA_METRICS, 6443, "the API server asks KEDA's metrics server"),
    needed(KEDA_METRICS, KEDA, 9666, "KEDA's metrics server asks its operator"),
    needed(INTERCEPTOR, API, 6443, "the interceptor watches its routes and endpoints"),
    # ------------------------------------------------------------------ monitoring, logs
    needed(PROMETHEUS, API, 6443, "Prometheus discovers its targets"),
    needed(PROMETHEUS, ALERTMANAGER, 9093, "Prometheus sends its alerts"),
    needed(PROMETHEUS, KSM, 8080, "Prometheus scrapes kube-state-metrics"),
    needed(PROMETHEUS, DCGM, 9400, "Prometheus scrapes the GPUs"),
    needed(PROMETHEUS, DNS, 9153, "Prometheus scrapes CoreDNS"),
    needed(PROMETHEUS, NODE, 10250, "Prometheus scrapes the kubelet (cAdvisor)"),
    needed(PROMETHEUS, NODE, 9100, "Prometheus scrapes node-exporter on the host network"),
    needed(GRAFANA, PROMETHEUS, 9090, "Grafana reads Prometheus"),
    needed(GRAFANA, ALERTMANAGER, 9093, "Grafana shows Alertmanager's alerts"),
    needed(PROMETHEUS, GRAFANA, 3000, "Prometheus scrapes Grafana"),
    needed(PROMETHEUS, ALERTMANAGER, 8080, "Prometheus scrapes the config reloaders"),
    needed(GRAFANA, LOKI, 3100, "Grafana reads Loki"),
    needed(GRAFANA, API, 6443, "Grafana's sidecars load dashboards and datasources"),
    needed(ALLOY, LOKI, 3100, "Alloy pushes the logs"),
    needed(ALLOY, API, 6443, "Alloy tails the pods' logs through the API server"),
    needed(ALERTMANAGER, INTERNET, 443, "Alertmanager reaches its webhook receivers",
           when=_webhooks),
    needed(DEVICE_PLUGIN, API, 6443, "the device plugin's config manager reads its node"),
    forbidden(VLLM, LOKI, 3100, "Loki takes Alloy's pushes and Grafana's queries only"),
    forbidden(OPEN_WEBUI, LOKI, 3100, "… only"),
    forbidden(INTERNET, PROMETHEUS, 9090, "monitoring is reached by port-forward only"),
    forbidden(INTERNET, GRAFANA, 3000, "… only"),
    forbidden(INTERNET, ALERTMANAGER, 9093, "… only"),
    forbidden(PROMETHEUS, INTERNET, 443, "Prometheus reaches its targets only"),
    forbidden(ALLOY, INTERNET, 443, "Alloy reaches Loki and the API server only"),
    # ------------------------------------------------------------------ TLS, DNS, chat, load test
    needed(CERT_MANAGER, INTERNET, 443, "cert-manager reaches the ACME server and DNS APIs"),
    needed(CERT_MANAGER, API, 6443, "cert-manager watches its objects"),
    needed(API, CM_WEBHOOK, 10250, "the API server calls cert-manager's webhook"),
    needed(CERT_MANAGER, METADATA, 80, "GKE: Cloud DNS as its Google identity", when=_gke),
    needed(EXTERNAL_DNS, API, 6443, "external-dns reads its DNSEndpoints"),
    needed(EXTERNAL_DNS, PRIVATE_HOST, 53, "external-dns updates the site's nameserver",
           when=_rfc2136),
    needed(OPEN_WEBUI, INTERNET, 443, "the chat UI reaches the gateway's public name and the Hub"),
    needed(OPEN_WEBUI, ENVOY, 10080, "without a hostname, through the proxies' Service",
           when=_no_hostname),
    needed(LOADTEST, ENVOY, 10080, "the load test too", when=_no_hostname),
    needed(LOADTEST, INTERNET, 443, "the load test's tokenizer, and the public endpoint"),
    needed(LOADTEST, API, 6443, "the load test keeps its result in a ConfigMap"),
    forbidden(VLLM, OPEN_WEBUI, 8080, "the chat UI takes the gateway's connections only"),
    forbidden(LOADTEST, OPEN_WEBUI, 8080, "… only"),
    forbidden(INTERNET, OPEN_WEBUI, 8080, "… only"),
    forbidden(OPEN_WEBUI, API, 6443, "the chat UI does not talk to the API server"),
]  # fmt: skip


def _name(endpoint: Endpoint) -> str:
    if isinstance(endpoint, str):
        return {
            INTERNET: "the internet",
            PRIVATE_HOST: "another host of the site",
            NODE: "a node",
            METADATA: "GKE's metadata server",
            API: "the API server",
        }[endpoint]
    return endpoint.title


def markdown() -> str:
    """The table as docs/network-flows.md shows it (a test keeps the file current)."""
    lines = [
        "# Network flows",
        "",
        "Generated from `tests/assembly/flows.py` (`make docs`); the connectivity tests hold",
        "every stack and example to it with network-config-analyzer: every *needed* flow",
        "allowed, every *forbidden* one denied, and no connection between the platform's pods",
        "that this table does not list. Ports are the pods' own (the proxies' listeners 80 and",
        "443 are bound at 10080 and 10443).",
        "",
        "| from | to | port | | why |",
        "|---|---|---|---|---|",
    ]
    for f in FLOWS:
        verdict = "needed" if f.must else "**forbidden**"
        port = f"{f.port}/{f.protocol}" if f.protocol != "TCP" else str(f.port)
        lines.append(f"| {_name(f.src)} | {_name(f.dst)} | {port} | {verdict} | {f.why} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
