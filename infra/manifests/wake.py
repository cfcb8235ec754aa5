"""Scale to zero and back, with the KEDA HTTP add-on (0.15).

A sleeping model's AIGatewayRoute rule goes to the add-on's interceptor instead of the
model's pods; the AI Gateway marks each request with the deployment it chose. The
interceptor counts the requests per InterceptorRoute (the add-on's scaler reports that
count to KEDA, which wakes the Deployment from zero) and holds each request until the
model's Service has a ready endpoint, for the model's wake-up hold at most. Past the hold it
answers 504 text/plain (interceptor/middleware/endpoint_resolver.go, handler/static.go at
v0.15.0), which the gateway turns into a 503 with Retry-After and an OpenAI-style error.
"""

from __future__ import annotations

from infra.catalog.vllm import SERVER_PORT
from infra.manifests.common import (
    NONROOT_UID,
    Manifest,
    container_security_context,
    labels,
    pod_security_context,
)
from infra.manifests.model_server import APP, pod_selector
from infra.manifests.network import network_policy, peer, tcp
from infra.manifests.peers import (
    ENVOY_PODS,
    HTTP_SCALER_PODS,
    INTERCEPTOR_PODS,
)
from infra.manifests.topology import (
    EG_NAMESPACE,
    HTTP_ADD_ON,
    HTTP_SCALER,
    HTTP_SCALER_PORT,
    INTERCEPTOR_ADMIN_PORT,
    INTERCEPTOR_PROXY,
    INTERCEPTOR_PROXY_PORT,
    KEDA_NAMESPACE,
    service_host,
)
from infra.planning.plans import ServingPlan
from infra.planning.wake import wake_plan

# Set by the AI Gateway on a sleeping deployment's backend: the interceptor routes on it
# (the Host header is the client's, the same for every model).
WAKE_HEADER = "x-llm-deployment"
ROUTE_API = "http.keda.sh/v1beta1"
# The interceptors scale on their own load (the chart's ScaledObject) up to this many.
INTERCEPTOR_MAX_REPLICAS = 10
ADD_ON_OPERATOR_REPLICAS = 1  # leader-elected: one is enough
# Held requests are cheap (a goroutine and a buffer each); streams pass through.
INTERCEPTOR_RESOURCES: Manifest = {
    "requests": {"cpu": "100m", "memory": "64Mi"},
    "limits": {"cpu": "1", "memory": "256Mi"},
}
ADD_ON_RESOURCES: Manifest = {
    "requests": {"cpu": "50m", "memory": "32Mi"},
    "limits": {"cpu": "500m", "memory": "128Mi"},
}
# What the interceptor's give-up looks like to the gateway (Go's http.Error).
INTERCEPTOR_TIMEOUT_STATUS = 504
INTERCEPTOR_ERROR_TYPE = "text/plain; charset=utf-8"
# What the caller gets instead: try again later (with Retry-After).
WAKE_GIVE_UP_STATUS = 503


def http_add_on_values(replicas: int) -> Manifest:
    """`replicas`: interceptors and scalers, as many as the gateway's proxies (the request
    path is as available as its weakest hop). Restricted Pod Security: the images are
    ko-built and run as nonroot."""
    pod = pod_security_context(NONROOT_UID)
    container = container_security_context()
    return {
        "operator": {
            "replicas": ADD_ON_OPERATOR_REPLICAS,
            "pullPolicy": "IfNotPresent",
            "resources": ADD_ON_RESOURCES,
        },
        "scaler": {
            "replicas": replicas,
            "pullPolicy": "IfNotPresent",
            "resources": ADD_ON_RESOURCES,
        },
        "interceptor": {
            "replicas": {"min": replicas, "max": max(replicas, INTERCEPTOR_MAX_REPLICAS)},
            "pullPolicy": "IfNotPresent",
            "resources": INTERCEPTOR_RESOURCES,
        },
        "podSecurityContext": {c: pod for c in ("operator", "scaler", "interceptor")},
        "securityContext": {c: container for c in ("operator", "scaler", "interceptor")},
    }


def interceptor_host() -> str:
    return service_host(INTERCEPTOR_PROXY, KEDA_NAMESPACE)


def interceptor_route(plan: ServingPlan, request_timeout_seconds: int) -> Manifest:
    """Requests the gateway marked for this deployment, to its Service, held while no
    replica is ready (the wake-up hold), then timed like the gateway's own deadline."""
    m, wake = plan.model, wake_plan(plan)
    deadline = f"{request_timeout_seconds}s"
    return {
        "apiVersion": ROUTE_API,
        "kind": "InterceptorRoute",
        "metadata": {
            "name": m.name,
            "namespace": m.namespace,
            "labels": labels(APP, m.name, "wake"),
        },
        "spec": {
            "target": {"service": m.name, "port": SERVER_PORT},
            "rules": [
                {
                    "hosts": ["*"],
                    "paths": [{"value": "/"}],
                    "headers": [{"name": WAKE_HEADER, "value": m.name}],
                }
            ],
            # Requests in flight per replica: a replica runs this many at once.
            "scalingMetric": {"concurrency": {"targetValue": plan.max_num_seqs}},
            "timeouts": {
                "readiness": f"{wake.hold_seconds}s",
                # A non-streamed completion sends its headers when it is done.
                "responseHeader": deadline,
                "request": deadline,
            },
        },
    }


def demand_trigger(plan: ServingPlan) -> Manifest:
    """The ScaledObject trigger that exists at zero replicas: requests the interceptor
    holds or passes for this deployment."""
    return {
        "type": "external-push",
        "name": "requests-in-flight",
        "metadata": {
            "scalerAddress": f"{HTTP_SCALER}.{KEDA_NAMESPACE}:{HTTP_SCALER_PORT}",
            "interceptorRoute": plan.model.name,
        },
    }


def wake_response_override(retry_after_seconds: int) -> Manifest:
    """The interceptor's give-up, as the caller should see it: try again shortly."""
    message = (
        "The model is starting from zero replicas and was not ready in time. "
        f"Retry after {retry_after_seconds} seconds."
    )
    body = (
        '{"error": {"message": "' + message + '", "type": "service_unavailable", '
        '"param": null, "code": "model_waking"}}'
    )
    return {
        "match": {
            "statusCodes": [{"type": "Value", "value": INTERCEPTOR_TIMEOUT_STATUS}],
            "responseHeaders": [
                {
                    "name": "content-type",
                    "value": {"type": "Exact", "value": INTERCEPTOR_ERROR_TYPE},
                }
            ],
        },
        "source": "Backend",
        "response": {
            "statusCode": WAKE_GIVE_UP_STATUS,
            "contentType": "application/json",
            "body": {"type": "Inline", "inline": body},
            "header": {"set": [{"name": "Retry-After", "value": str(retry_after_seconds)}]},
        },
    }


def scaler_disruption_budget() -> Manifest:
    """The chart has one for its interceptors only: a node drain must leave a scaler, or
    nothing tells KEDA that a sleeping model has a request waiting."""
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {
            "name": HTTP_SCALER,
            "namespace": KEDA_NAMESPACE,
            "labels": labels(HTTP_ADD_ON, HTTP_SCALER, "scaler"),
        },
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": HTTP_SCALER_PODS}},
    }


def _exact(value: str) -> Manifest:
    return {"type": "Exact", "value": value}


def interceptor_policy() -> Manifest:
    """The interceptors take requests from the gateway's proxies and count queries from the
    add-on's scaler; nothing else reaches them."""
    return network_policy(
        "interceptor-ingress",
        KEDA_NAMESPACE,
        {
            "podSelector": {"matchLabels": INTERCEPTOR_PODS},
            "policyTypes": ["Ingress"],
            "ingress": [
                {"from": [peer(EG_NAMESPACE, ENVOY_PODS)], "ports": [tcp(INTERCEPTOR_PROXY_PORT)]},
                {
                    "from": [{"podSelector": {"matchLabels": HTTP_SCALER_PODS}}],
                    "ports": [tcp(INTERCEPTOR_ADMIN_PORT)],
                },
            ],
        },
    )


def from_interceptor_policy(plan: ServingPlan) -> Manifest:
    """Beside the serving namespace's default deny: the interceptors reach the model."""
    return network_policy(
        f"{plan.model.name}-from-interceptor",
        plan.model.namespace,
        {
            "podSelector": {"matchLabels": pod_selector(plan)},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [peer(KEDA_NAMESPACE, INTERCEPTOR_PODS)],
                    "ports": [tcp(SERVER_PORT)],
                }
            ],
        },
    )
