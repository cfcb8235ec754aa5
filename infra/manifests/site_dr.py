"""On-prem DR between two sites: external-dns publishing the active site's address (RFC 2136
dynamic updates or Cloudflare), cert-manager answering ACME by DNS-01 through the same
provider, and the S3-compatible store both sites load model snapshots from."""

from __future__ import annotations

import urllib.parse
from typing import Any

from infra.config import DnsConfig, SnapshotStoreConfig
from infra.manifests.common import Manifest, labels, opaque_secret
from infra.manifests.failover import snapshot_path
from infra.manifests.network import (
    ApiServer,
    Rule,
    allow,
    anywhere,
    api_server,
    baseline,
    public,
    tcp,
    tcp_udp,
)
from infra.manifests.peers import EXTERNAL_DNS_PODS
from infra.manifests.topology import (
    CERT_MANAGER_NAMESPACE,
    EXTERNAL_DNS_NAMESPACE,
    HTTP_PORT,
    HTTPS_PORT,
)
from infra.planning.capacity import ServingPlan

DNS_CREDENTIALS_SECRET = "dns-credentials"
DNS_CREDENTIALS_KEY = "secret"
S3_SECRET = "model-snapshots-s3"
EXTERNAL_DNS_RESOURCES: Manifest = {
    "requests": {"cpu": "50m", "memory": "64Mi"},
    "limits": {"cpu": "500m", "memory": "256Mi"},
}
# external-dns reconciles this often: a flip reaches the DNS server within it (plus the TTL).
SYNC_INTERVAL = "30s"
# cert-manager's names for the TSIG algorithms.
TSIG_ALGORITHMS = {"hmac-sha256": "HMACSHA256", "hmac-sha512": "HMACSHA512"}


def store_port(store: SnapshotStoreConfig) -> int:
    """The S3 endpoint's port: as written, else the scheme's."""
    parsed = urllib.parse.urlparse(store.endpoint)
    return parsed.port or (HTTPS_PORT if parsed.scheme == "https" else HTTP_PORT)


def snapshot_url(store: SnapshotStoreConfig, plan: ServingPlan) -> str:
    return f"{store.url.rstrip('/')}/{snapshot_path(plan)}"


def s3_secret(namespace: str, keys: Any) -> Manifest:
    """The loader's keys to the store, in each serving namespace (the AWS variable names
    boto3 reads)."""
    return opaque_secret(
        {
            "name": S3_SECRET,
            "namespace": namespace,
            "labels": labels("llm-platform", S3_SECRET, "snapshots"),
        },
        {
            "AWS_ACCESS_KEY_ID": keys.apply(lambda k: k["accessKeyId"]),
            "AWS_SECRET_ACCESS_KEY": keys.apply(lambda k: k["secretAccessKey"]),
        },
    )


def s3_env(store: SnapshotStoreConfig) -> list[Manifest]:
    def key(name: str) -> Manifest:
        return {"name": name, "valueFrom": {"secretKeyRef": {"name": S3_SECRET, "key": name}}}

    return [
        {"name": "AWS_ENDPOINT_URL_S3", "value": store.endpoint.rstrip("/")},
        {"name": "AWS_DEFAULT_REGION", "value": store.region},
        key("AWS_ACCESS_KEY_ID"),
        key("AWS_SECRET_ACCESS_KEY"),
    ]


def dns_credentials_secret(namespace: str, secret: Any) -> Manifest:
    meta = {
        "name": DNS_CREDENTIALS_SECRET,
        "namespace": namespace,
        "labels": labels("llm-platform", DNS_CREDENTIALS_SECRET, "dns"),
    }
    return opaque_secret(meta, {DNS_CREDENTIALS_KEY: secret})


def _zone(dns: DnsConfig) -> str:
    if dns.rfc2136 is not None:
        return dns.rfc2136.zone
    return ".".join(dns.name.rstrip(".").split(".")[-2:])


def _secret_env(name: str) -> Manifest:
    ref = {"name": DNS_CREDENTIALS_SECRET, "key": DNS_CREDENTIALS_KEY}
    return {"name": name, "valueFrom": {"secretKeyRef": ref}}


def external_dns_values(dns: DnsConfig, owner: str) -> Manifest:
    """external-dns watching DNSEndpoint objects only, owning (TXT registry) only the
    records this stack published, in the name's zone."""
    values: Manifest = {
        "provider": {"name": dns.provider},
        "sources": ["crd"],
        "policy": "sync",
        "registry": "txt",
        "txtOwnerId": owner,
        "domainFilters": [_zone(dns)],
        "interval": SYNC_INTERVAL,
        "resources": EXTERNAL_DNS_RESOURCES,
    }
    if dns.rfc2136 is not None:
        server = dns.rfc2136
        host, _, port = server.nameserver.rpartition(":")
        values["extraArgs"] = [
            f"--rfc2136-host={host}",
            f"--rfc2136-port={port}",
            f"--rfc2136-zone={server.zone}",
            f"--rfc2136-tsig-keyname={server.tsig_key_name}",
            f"--rfc2136-tsig-secret-alg={server.tsig_algorithm}",
            "--rfc2136-tsig-axfr",
        ]
        values["env"] = [_secret_env("EXTERNAL_DNS_RFC2136_TSIG_SECRET")]
    else:
        values["env"] = [_secret_env("CF_API_TOKEN")]
    return values


def dns_endpoint(dns: DnsConfig, target: Any) -> Manifest:
    """The endpoint's A record: the active site's address, with the short TTL. It lives
    beside external-dns (which watches DNSEndpoints in every namespace), so it is created
    with the namespace and the release it needs, not after the gateway's."""
    return {
        "apiVersion": "externaldns.k8s.io/v1alpha1",
        "kind": "DNSEndpoint",
        "metadata": {
            "name": "endpoint",
            "namespace": EXTERNAL_DNS_NAMESPACE,
            "labels": labels("external-dns", "endpoint", "dns"),
        },
        "spec": {
            "endpoints": [
                {
                    "dnsName": dns.name.rstrip("."),
                    "recordType": "A",
                    "recordTTL": dns.ttl,
                    "targets": [target],
                }
            ]
        },
    }


def dns01_solver(dns: DnsConfig) -> Manifest:
    """cert-manager's DNS-01 through the same provider (its Secret in cert-manager's
    namespace): a site renews its certificate while DNS points at the other one."""
    ref = {"name": DNS_CREDENTIALS_SECRET, "key": DNS_CREDENTIALS_KEY}
    if dns.rfc2136 is not None:
        server = dns.rfc2136
        return {
            "dns01": {
                "rfc2136": {
                    "nameserver": server.nameserver,
                    "tsigKeyName": server.tsig_key_name,
                    "tsigAlgorithm": TSIG_ALGORITHMS[server.tsig_algorithm],
                    "tsigSecretSecretRef": ref,
                }
            }
        }
    return {"dns01": {"cloudflare": {"apiTokenSecretRef": ref}}}


DNS_SECRET_NAMESPACES = (EXTERNAL_DNS_NAMESPACE, CERT_MANAGER_NAMESPACE)


def external_dns_policies(dns: DnsConfig, api: ApiServer) -> list[Manifest]:
    """external-dns reads DNSEndpoints from the API server and writes the record: RFC 2136
    updates to the nameserver (TCP and UDP on its port, wherever it is) or Cloudflare's API
    (HTTPS, public addresses)."""
    ns = EXTERNAL_DNS_NAMESPACE
    if dns.rfc2136 is not None:
        port = int(dns.rfc2136.nameserver.rpartition(":")[2])
        provider: Rule = ([anywhere()], tcp_udp(port))
    else:
        provider = ([public()], [tcp(HTTPS_PORT)])
    return [
        *baseline(ns),
        allow("external-dns", ns, EXTERNAL_DNS_PODS, egress=[api_server(api), provider]),
    ]
