"""Every version pin: vLLM, images, Helm charts, Kubernetes versions we validate against."""

from __future__ import annotations

from dataclasses import dataclass

VLLM_VERSION = "0.33.0"


@dataclass(frozen=True)
class ImageRef:
    repository: str
    tag: str

    @property
    def ref(self) -> str:
        return f"{self.repository}:{self.tag}"

    def pinned(self, digest: str | None) -> str:
        """By digest where one is given (the tag stays for people reading it), else by tag."""
        return f"{self.ref}@{digest}" if digest else self.ref


IMAGES: dict[str, ImageRef] = {
    # The OpenAI-compatible server with CUDA.
    "vllm": ImageRef("docker.io/vllm/vllm-openai", f"v{VLLM_VERSION}"),
    # vLLM's CPU backend release image (x86_64), for clusters without GPUs (dev).
    "vllm-cpu": ImageRef("public.ecr.aws/q9t5s3a7/vllm-cpu-release-repo", f"v{VLLM_VERSION}"),
    # The gateway's global rate-limit counters (gateway.limits: global, no existing Redis).
    "redis": ImageRef("docker.io/library/redis", "7.4.2-alpine"),
    # Base of our model-loader image (images/model-loader).
    "python": ImageRef("docker.io/library/python", "3.12.8-slim-bookworm"),
}
# Version of the images this project builds (images/); bump with any change under images/.
PLATFORM_IMAGES_VERSION = "0.1.0"


# The charts as vendored in this repository (charts/README.md): what `pulumi up` installs
# by default and what the tests render.
VENDORED_CHARTS = "charts"


@dataclass(frozen=True)
class ChartRef:
    chart: str
    version: str
    repository: str  # https Helm repository, or oci://… registry path (then chart is the ref)

    @property
    def vendored(self) -> str:
        """The chart's folder, from the project root."""
        return f"{VENDORED_CHARTS}/{self.chart}-{self.version}"


ENVOY_GATEWAY_VERSION = "v1.9.0"
# Envoy Gateway's shutdown manager defaults to a mutable dev tag; pin the release image.
ENVOY_GATEWAY_IMAGE = f"docker.io/envoyproxy/gateway:{ENVOY_GATEWAY_VERSION}"

CHARTS: dict[str, ChartRef] = {
    "nvidia-device-plugin": ChartRef(
        "nvidia-device-plugin", "0.20.0", "https://nvidia.github.io/k8s-device-plugin"
    ),
    "dcgm-exporter": ChartRef(
        "dcgm-exporter", "4.8.2", "https://nvidia.github.io/dcgm-exporter/helm-charts"
    ),
    "kube-prometheus-stack": ChartRef(
        "kube-prometheus-stack", "88.5.3", "https://prometheus-community.github.io/helm-charts"
    ),
    # Loki's chart moved from grafana/helm-charts to grafana-community/helm-charts (its
    # `home` in charts/loki-18.11.0/Chart.yaml).
    "loki": ChartRef("loki", "18.11.0", "https://grafana-community.github.io/helm-charts"),
    # Log shipping: Promtail is deprecated.
    "alloy": ChartRef("alloy", "1.11.1", "https://grafana.github.io/helm-charts"),
    "keda": ChartRef("keda", "2.20.2", "https://kedacore.github.io/charts"),
    # Scale to zero: its interceptor holds a sleeping model's requests and reports demand.
    "keda-http-add-on": ChartRef(
        "keda-add-ons-http", "0.15.0", "https://kedacore.github.io/charts"
    ),
    # ingress-nginx is retired: the Gateway API with Envoy Gateway.
    "envoy-gateway": ChartRef("gateway-helm", ENVOY_GATEWAY_VERSION, "oci://docker.io/envoyproxy"),
    # The AI Gateway needs Envoy Gateway >= v1.8.1 installed with its extension values.
    "ai-gateway-crds": ChartRef("ai-gateway-crds-helm", "v1.1.0", "oci://docker.io/envoyproxy"),
    "ai-gateway": ChartRef("ai-gateway-helm", "v1.1.0", "oci://docker.io/envoyproxy"),
    "cert-manager": ChartRef("cert-manager", "v1.21.1", "oci://quay.io/jetstack/charts"),
    "open-webui": ChartRef("open-webui", "16.0.0", "https://helm.openwebui.com/"),
    # Engine-aware routing: an InferencePool and its endpoint picker per pooled model.
    "inferencepool": ChartRef(
        "inferencepool", "v1.5.0", "oci://registry.k8s.io/gateway-api-inference-extension/charts"
    ),
    # On-prem DR: publishes the active site's address (RFC 2136 or Cloudflare).
    "external-dns": ChartRef(
        "external-dns", "1.21.1", "https://kubernetes-sigs.github.io/external-dns/"
    ),
}

# Kubernetes minor versions the rendered objects are validated against (tests/stacks).
# 1.31 is the floor: the native preStop `sleep` action is on by default from 1.30.
SUPPORTED_KUBERNETES: tuple[str, ...] = ("1.31", "1.32", "1.33", "1.34")
