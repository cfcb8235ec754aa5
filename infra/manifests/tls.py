"""TLS for the gateway: cert-manager's values, the issuer (ACME HTTP-01 on the port-80
listeners, or DNS-01 in Cloud DNS), the certificate for the API's hostname (and the chat
UI's), and the port-80 redirect to HTTPS."""

from __future__ import annotations

from typing import Any

from infra.config import GatewayConfig
from infra.manifests.common import HELPER_RESOURCES, Manifest
from infra.manifests.gateway import CONTROLLER_RESOURCES, gateway_meta
from infra.manifests.network import (
    ApiServer,
    Rule,
    allow,
    anywhere,
    api_server,
    baseline,
    gke_metadata_rules,
    tcp,
    tcp_udp,
)
from infra.manifests.peers import (
    CERT_MANAGER_CONTROLLER_PODS,
    CERT_MANAGER_PODS,
    CERT_MANAGER_WEBHOOK_PODS,
    CERT_MANAGER_WEBHOOK_PORT,
)
from infra.manifests.site_dr import dns01_solver
from infra.manifests.topology import (
    CERT_MANAGER_NAMESPACE,
    CHAT_HTTP_LISTENER,
    DNS_PORT,
    GATEWAY,
    GATEWAY_API,
    GATEWAY_NAMESPACE,
    HTTP_PORT,
    HTTPS_PORT,
    ISSUER,
    TLS_SECRET,
)


def cert_manager_values(dns01_account: Any = None) -> Manifest:
    """`dns01_account`: the Google service account cert-manager acts as for Cloud DNS."""
    values: Manifest = {
        "crds": {"enabled": True},
        # HTTP-01 challenges are answered through our Gateway (an HTTPRoute per challenge).
        "config": {
            "apiVersion": "controller.config.cert-manager.io/v1alpha1",
            "kind": "ControllerConfiguration",
            "enableGatewayAPI": True,
        },
        "resources": CONTROLLER_RESOURCES,
        "cainjector": {"resources": CONTROLLER_RESOURCES},
        "webhook": {"resources": CONTROLLER_RESOURCES},
        "startupapicheck": {"resources": HELPER_RESOURCES},
    }
    if dns01_account is not None:
        values["serviceAccount"] = {
            "annotations": {"iam.gke.io/gcp-service-account": dns01_account}
        }
    return values


def _http_sections(chat_hostname: str | None) -> list[Manifest]:
    """Every port-80 listener: the API's, and the chat UI's where it has one."""
    sections = ["http", CHAT_HTTP_LISTENER] if chat_hostname else ["http"]
    return [
        {
            "group": GATEWAY_API,
            "kind": "Gateway",
            "name": GATEWAY,
            "namespace": GATEWAY_NAMESPACE,
            "sectionName": section,
        }
        for section in sections
    ]


def https_redirect(gw: GatewayConfig, chat_hostname: str | None = None) -> Manifest:
    """Port 80 answers only with a redirect (and cert-manager's HTTP-01 challenge routes,
    which are more specific and so take precedence)."""
    spec: Manifest = {
        "parentRefs": _http_sections(chat_hostname),
        "rules": [
            {
                "filters": [
                    {
                        "type": "RequestRedirect",
                        "requestRedirect": {"scheme": "https", "statusCode": 301},
                    }
                ]
            }
        ],
    }
    if gw.hostname:
        spec["hostnames"] = [gw.hostname, *([chat_hostname] if chat_hostname else [])]
    return {
        "apiVersion": f"{GATEWAY_API}/v1",
        "kind": "HTTPRoute",
        "metadata": gateway_meta("https-redirect", "redirect"),
        "spec": spec,
    }


def _solver(
    gw: GatewayConfig, dns_project: str | None, chat_hostname: str | None, dns: Any
) -> Manifest:
    if gw.tls.solver == "dns01CloudDns":
        return {"dns01": {"cloudDNS": {"project": dns_project}}}
    if gw.tls.solver == "dns01":
        return dns01_solver(dns)
    return {"http01": {"gatewayHTTPRoute": {"parentRefs": _http_sections(chat_hostname)}}}


def cluster_issuer(
    gw: GatewayConfig,
    dns_project: str | None = None,
    chat_hostname: str | None = None,
    dns: Any = None,
) -> Manifest:
    """`dns`: dr.dns, whose provider answers DNS-01 (on-prem DR)."""
    if gw.tls.mode == "acme":
        spec: Manifest = {
            "acme": {
                "server": gw.tls.acme_server,
                "email": gw.tls.issuer_email,
                "privateKeySecretRef": {"name": f"{ISSUER}-acme-account"},
                "solvers": [_solver(gw, dns_project, chat_hostname, dns)],
            }
        }
    else:
        spec = {"selfSigned": {}}
    return {
        "apiVersion": "cert-manager.io/v1",
        "kind": "ClusterIssuer",
        "metadata": gateway_meta(ISSUER, "issuer", None),
        "spec": spec,
    }


def certificate(gw: GatewayConfig, chat_hostname: str | None = None) -> Manifest:
    return {
        "apiVersion": "cert-manager.io/v1",
        "kind": "Certificate",
        "metadata": gateway_meta(GATEWAY, "certificate"),
        "spec": {
            "secretName": TLS_SECRET,
            "dnsNames": [gw.hostname, *([chat_hostname] if chat_hostname else [])],
            "issuerRef": {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": ISSUER},
            "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
        },
    }


def cert_manager_policies(
    api: ApiServer, nameserver_port: int | None, gke_metadata: bool
) -> list[Manifest]:
    """cert-manager's pods reach the API server; its webhook takes the API server's calls;
    its controller reaches ACME servers and DNS APIs (HTTPS), nameservers (DNS-01 checks,
    RFC 2136 updates on `nameserver_port`) and the gateway's address on port 80 (its HTTP-01
    self-check), wherever those are; on GKE, the metadata server (Cloud DNS as its Google
    identity)."""
    ns = CERT_MANAGER_NAMESPACE
    outside = [tcp(HTTP_PORT), tcp(HTTPS_PORT), *tcp_udp(DNS_PORT)]
    if nameserver_port is not None and nameserver_port != DNS_PORT:
        outside += tcp_udp(nameserver_port)
    controller: list[Rule] = [([anywhere()], outside)]
    if gke_metadata:
        controller += gke_metadata_rules()
    return [
        *baseline(ns),
        allow("cert-manager-api", ns, CERT_MANAGER_PODS, egress=[api_server(api)]),
        allow("cert-manager-controller", ns, CERT_MANAGER_CONTROLLER_PODS, egress=controller),
        allow("cert-manager-webhook", ns, CERT_MANAGER_WEBHOOK_PODS,
              ingress=[([anywhere()], [tcp(CERT_MANAGER_WEBHOOK_PORT)])]),
    ]  # fmt: skip
