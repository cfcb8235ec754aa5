"""Where things live in the cluster: namespaces, release and service names, in-cluster URLs,
third-party pod labels, and the stack-output keys. One place, so a rename is one edit."""

from __future__ import annotations

from typing import Final

# --------------------------------------------------------------------------- namespaces
GPU_NAMESPACE: Final = "gpu-system"  # device plugin and DCGM exporter (privileged)
MONITORING_NAMESPACE: Final = "monitoring"
LOGGING_NAMESPACE: Final = "logging"
KEDA_NAMESPACE: Final = "keda"
CHAT_NAMESPACE: Final = "chat"
GATEWAY_NAMESPACE: Final = "llm-gateway"  # our Gateway API objects, keys and certificate
EG_NAMESPACE: Final = "envoy-gateway-system"  # Envoy Gateway's controller and the Envoy proxies
AI_GATEWAY_NAMESPACE: Final = "envoy-ai-gateway-system"
CERT_MANAGER_NAMESPACE: Final = "cert-manager"
LOADTEST_NAMESPACE: Final = "llm-loadtest"
RATELIMIT_NAMESPACE: Final = "llm-ratelimit"  # the Redis behind global limits
EXTERNAL_DNS_NAMESPACE: Final = "external-dns"  # on-prem DR: publishes the active site
# Namespaces the platform itself owns: a model may not be deployed into one of them.
PLATFORM_NAMESPACES: Final = frozenset(
    {
        GPU_NAMESPACE,
        MONITORING_NAMESPACE,
        LOGGING_NAMESPACE,
        KEDA_NAMESPACE,
        CHAT_NAMESPACE,
        GATEWAY_NAMESPACE,
        EG_NAMESPACE,
        AI_GATEWAY_NAMESPACE,
        CERT_MANAGER_NAMESPACE,
        LOADTEST_NAMESPACE,
        RATELIMIT_NAMESPACE,
        EXTERNAL_DNS_NAMESPACE,
    }
)

# Namespaces Kubernetes itself owns: declaring one would adopt (and on destroy delete) it.
RESERVED_NAMESPACES: Final = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})

# --------------------------------------------------------------------------- API groups
GATEWAY_API: Final = "gateway.networking.k8s.io"
EG_API: Final = "gateway.envoyproxy.io"  # Envoy Gateway's own kinds
AI_GATEWAY_API: Final = "aigateway.envoyproxy.io"
POOL_API: Final = "inference.networking.k8s.io"  # the InferencePool

# --------------------------------------------------------------------------- well-known ports
HTTP_PORT: Final = 80
HTTPS_PORT: Final = 443
DNS_PORT: Final = 53

# --------------------------------------------------------------------------- names and URLs


def service_host(name: str, namespace: str) -> str:
    """A Service's cluster DNS name (fully qualified: Envoy and Redis clients resolve it
    without the pod's search domains)."""
    return f"{name}.{namespace}.svc.cluster.local"


KPS_RELEASE: Final = "kube-prometheus-stack"
KPS_NAME: Final = "kps"  # kube-prometheus-stack fullnameOverride: services are kps-prometheus, …
# The node-exporter DaemonSet (the subchart's fullname: release name + chart name).
NODE_EXPORTER: Final = f"{KPS_RELEASE}-prometheus-node-exporter"
PROMETHEUS_PORT: Final = 9090
PROMETHEUS_URL: Final = f"http://{KPS_NAME}-prometheus.{MONITORING_NAMESPACE}.svc:{PROMETHEUS_PORT}"
LOKI_NAME: Final = "loki"
LOKI_PORT: Final = 3100
LOKI_URL: Final = f"http://{LOKI_NAME}.{LOGGING_NAMESPACE}.svc:{LOKI_PORT}"
GRAFANA_NAME: Final = "grafana"
GRAFANA_ADMIN_SECRET: Final = "grafana-admin"
ALERTMANAGER_CREDENTIALS: Final = "alertmanager-credentials"  # receivers' secrets, as files
GATEWAY_POD_MONITOR: Final = "envoy-proxies"  # scrapes the gateway's Envoy pods
# Prometheus job labels: a PodMonitor's is <namespace>/<name>, a ServiceMonitor's the Service.
GATEWAY_JOB: Final = f"{EG_NAMESPACE}/{GATEWAY_POD_MONITOR}"
DCGM_JOB: Final = "dcgm-exporter"  # the release's Service (fullname = release name)


VLLM_APP: Final = "vllm"  # app.kubernetes.io/name of vLLM pods, and their PodMonitor's name


def vllm_job(namespace: str) -> str:
    """Job label of the vLLM PodMonitor in a serving namespace."""
    return f"{namespace}/{VLLM_APP}"


DASHBOARD_LABEL: Final = "grafana_dashboard"  # Grafana's sidecar loads ConfigMaps with it
PROMETHEUS_UID: Final = "prometheus"  # Grafana datasource uids
LOKI_UID: Final = "loki"
GATEWAY_CLASS: Final = "llm-platform"
GATEWAY: Final = "llm-gateway"
PROXY_SERVICE: Final = "llm-gateway"  # fixed name of the Envoy Service (in EG_NAMESPACE)
AI_GATEWAY_EXTENSION: Final = service_host("ai-gateway-controller", AI_GATEWAY_NAMESPACE)
AI_GATEWAY_EXTENSION_PORT: Final = 1063
API_KEYS_SECRET: Final = "llm-api-keys"
TLS_SECRET: Final = "llm-gateway-tls"
ISSUER: Final = "llm-platform"
CLIENT_HEADER: Final = "x-llm-client"  # the authenticated client id (per-client limits, usage)
CHAT_CLIENT: Final = "chat-ui"  # the chat UI's gateway client id
CHAT_KEY_SECRET: Final = "chat-ui-api-key"
LOADTEST_CLIENT: Final = "loadtest"  # the load test's gateway client id
LOADTEST: Final = "loadtest"  # its CronJob, ServiceAccount, Role, key Secret and runner
CHAT_SESSION_SECRET: Final = "chat-ui-session-key"  # Open WebUI's WEBUI_SECRET_KEY
CHAT_USERS_SECRET: Final = "chat-ui-users"  # htpasswd of the gateway's sign-in
CHAT_ROUTE: Final = "chat-ui"
CHAT_LISTENER: Final = "chat-https"  # the chat UI's own listener: no API keys there
CHAT_HTTP_LISTENER: Final = "chat-http"  # its redirect and ACME challenges
OPEN_WEBUI_SERVICE: Final = "open-webui"
OPEN_WEBUI_PORT: Final = 80
OPEN_WEBUI_CONTAINER_PORT: Final = 8080
OPEN_WEBUI_PODS: Final = {
    "app.kubernetes.io/instance": "open-webui",
    "app.kubernetes.io/component": "open-webui",
}
# The KEDA HTTP add-on (scale to zero), installed in KEDA_NAMESPACE: its chart names its
# Services after the chart, not the release.
HTTP_ADD_ON: Final = "keda-add-ons-http"
INTERCEPTOR_PROXY: Final = f"{HTTP_ADD_ON}-interceptor-proxy"  # holds requests for sleepers
INTERCEPTOR_PROXY_PORT: Final = 8080
INTERCEPTOR_ADMIN_PORT: Final = 9090  # the scaler reads the held-request counts here
HTTP_SCALER: Final = f"{HTTP_ADD_ON}-external-scaler"
HTTP_SCALER_PORT: Final = 9090  # KEDA asks it whether a sleeping model has demand
HF_TOKEN_SECRET: Final = "hf-token"
HF_TOKEN_KEY: Final = "token"
LOADER_SERVICE_ACCOUNT: Final = "model-loader"


# --------------------------------------------------------------------------- stack outputs
class Outputs:
    """Stack-output keys (`pulumi stack output <key>`), as the README and docs/ name them."""

    ENVIRONMENT: Final = "environment"
    MODELS: Final = "models"
    GPU_POOLS: Final = "gpuPools"
    GRAFANA: Final = "grafana"
    GRAFANA_PASSWORD: Final = "grafanaAdminPassword"
    ENDPOINT: Final = "endpoint"
    API_KEYS: Final = "apiKeys"
    API_KEY_HINT: Final = "apiKeyHint"
    GATEWAY_PORT_FORWARD: Final = "gatewayPortForward"
    DR: Final = "dr"
    GATEWAY_ADDRESS: Final = "gatewayAddress"
    DR_MANIFEST: Final = "drManifest"
    ALERTING: Final = "alerting"
    CHAT_UI: Final = "chatUi"
    CHAT_UI_PASSWORD: Final = "chatUiPassword"
    LOADTEST: Final = "loadTest"
