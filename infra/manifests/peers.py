"""Who is who on the network: the pods the platform's charts and controllers run, by the
labels their renders (and, for what a controller starts, its source) give them, and the
ports they listen on. NetworkPolicies name their peers with these; tests/assembly checks
every selector here selects a pod the stack runs, and every flow against the analyzer."""

from __future__ import annotations

from typing import Final

from infra.manifests.topology import HTTP_ADD_ON

NS_LABEL: Final = "kubernetes.io/metadata.name"  # set by Kubernetes on every namespace

# --------------------------------------------------------------------------- cluster
DNS_PODS: Final = {"k8s-app": "kube-dns"}  # CoreDNS (and GKE's kube-dns) keep the label
COREDNS_METRICS_PORT: Final = 9153
KUBELET_PORT: Final = 10250  # on the node's address
API_SERVER_PORTS: Final = (443, 6443)  # the kubernetes Service's, and the control plane's

# --------------------------------------------------------------------------- gateway
ENVOY_PODS: Final = {"app.kubernetes.io/name": "envoy"}  # Envoy Gateway's proxy pods
# Envoy Gateway binds a listener port below 1024 at port + 10000 (gatewayapi/translator.go).
ENVOY_PORT_SHIFT: Final = 10000
EG_CONTROLLER_PODS: Final = {"control-plane": "envoy-gateway"}
EG_XDS_PORT: Final = 18000  # the proxies' configuration
EG_RATELIMIT_XDS_PORT: Final = 18001  # the rate-limit service's configuration
EG_WASM_PORT: Final = 18002  # Wasm modules the proxies fetch
EG_WEBHOOK_PORT: Final = 9443  # its topology injector (pods/binding)
EG_CERTGEN_PODS: Final = {"app": "certgen"}
# Envoy Gateway's rate-limit service (Deployment envoy-ratelimit in its namespace).
RATELIMIT_PODS: Final = {"app.kubernetes.io/component": "ratelimit"}
RATELIMIT_PORT: Final = 8081
AI_GATEWAY_PODS: Final = {"app.kubernetes.io/name": "ai-gateway-helm"}
AI_GATEWAY_WEBHOOK_PORT: Final = 9443  # the pod mutator that injects the proxies' processor
ACME_SOLVER_PODS: Final = {"acme.cert-manager.io/http01-solver": "true"}
ACME_SOLVER_PORT: Final = 8089
CERT_MANAGER_PODS: Final = {"app.kubernetes.io/instance": "cert-manager"}
CERT_MANAGER_CONTROLLER_PODS: Final = {
    "app.kubernetes.io/instance": "cert-manager",
    "app.kubernetes.io/component": "controller",
}
CERT_MANAGER_WEBHOOK_PODS: Final = {
    "app.kubernetes.io/instance": "cert-manager",
    "app.kubernetes.io/component": "webhook",
}
CERT_MANAGER_WEBHOOK_PORT: Final = 10250

# --------------------------------------------------------------------------- monitoring
PROMETHEUS_PODS: Final = {"app.kubernetes.io/name": "prometheus"}
ALERTMANAGER_PODS: Final = {"app.kubernetes.io/name": "alertmanager"}
ALERTMANAGER_PORT: Final = 9093
ALERTMANAGER_MESH_PORT: Final = 9094  # peers gossip on TCP and UDP
RELOADER_PORT: Final = 8080  # the operator's config reloader beside Prometheus/Alertmanager
GRAFANA_PODS: Final = {"app.kubernetes.io/name": "grafana"}
GRAFANA_PORT: Final = 3000
KPS_OPERATOR_PODS: Final = {"app": "kube-prometheus-stack-operator"}
KPS_OPERATOR_PORT: Final = 10250  # its admission webhook and metrics (https)
KPS_ADMISSION_PODS: Final = {"app.kubernetes.io/component": "prometheus-operator-webhook"}
KSM_PODS: Final = {"app.kubernetes.io/name": "kube-state-metrics"}
KSM_PORT: Final = 8080
NODE_EXPORTER_PORT: Final = 9100  # host network: on the node's address
DCGM_PODS: Final = {"app.kubernetes.io/name": "dcgm-exporter"}
DCGM_PORT: Final = 9400
DEVICE_PLUGIN_PODS: Final = {"app.kubernetes.io/name": "nvidia-device-plugin"}
LOKI_PODS: Final = {"app.kubernetes.io/name": "loki"}
LOKI_MEMBERLIST_PORT: Final = 7946
ALLOY_PODS: Final = {"app.kubernetes.io/name": "alloy"}

# --------------------------------------------------------------------------- autoscaling
KEDA_OPERATOR_PODS: Final = {"app": "keda-operator"}
KEDA_OPERATOR_PORT: Final = 9666  # the metrics server asks it over gRPC
KEDA_METRICS_PODS: Final = {"app": "keda-operator-metrics-apiserver"}
KEDA_METRICS_PORT: Final = 6443  # the external metrics API the API server proxies to
KEDA_WEBHOOK_PODS: Final = {"app": "keda-admission-webhooks"}
KEDA_WEBHOOK_PORT: Final = 9443
HTTP_ADD_ON_PODS: Final = {"app.kubernetes.io/part-of": HTTP_ADD_ON}
INTERCEPTOR_PODS: Final = {
    "app.kubernetes.io/part-of": HTTP_ADD_ON,
    "app.kubernetes.io/component": "interceptor",
}
HTTP_SCALER_PODS: Final = {
    "app.kubernetes.io/part-of": HTTP_ADD_ON,
    "app.kubernetes.io/component": "scaler",
}

# --------------------------------------------------------------------------- others
EXTERNAL_DNS_PODS: Final = {"app.kubernetes.io/name": "external-dns"}
