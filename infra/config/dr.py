"""The `dr` section: two stacks, one active, switched by one value."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field, StringConstraints

from infra.config.base import DnsLabel, Problem, Section, problems_if

if TYPE_CHECKING:
    from infra.config.stack import StackConfig


DnsName = Annotated[
    str, StringConstraints(pattern=r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)+[a-z]{2,}$")
]
IPv4 = Annotated[str, StringConstraints(pattern=r"^([0-9]{1,3}\.){3}[0-9]{1,3}$")]


class Rfc2136Config(Section):
    """A DNS server taking dynamic updates (BIND, PowerDNS, Knot) signed with a TSIG key; the
    key's secret is the `dnsCredentials` secret."""

    nameserver: Annotated[str, StringConstraints(pattern=r"^[a-z0-9.-]+:[0-9]{1,5}$")] = Field(
        description="host:port of the server taking updates, e.g. ns1.example.com:53"
    )
    zone: DnsName = Field(description="the zone the name lives in, e.g. example.com")
    tsig_key_name: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{1,253}$")] = Field(
        description="the TSIG key's name as the server knows it"
    )
    tsig_algorithm: Literal["hmac-sha256", "hmac-sha512"] = Field(
        default="hmac-sha256", description="the TSIG key's algorithm"
    )


class DnsConfig(Section):
    """The one DNS name clients use, pointed at the active side."""

    provider: Literal["cloudDns", "rfc2136", "cloudflare"] = Field(
        default="cloudDns",
        description="cloudDns (GKE pairs); on-prem: rfc2136 or cloudflare (token: the "
        "`dnsCredentials` secret), published by external-dns",
    )
    managed_zone: DnsLabel | None = Field(
        default=None, description="cloudDns: the managed zone that holds the name"
    )
    rfc2136: Rfc2136Config | None = Field(default=None, description=Rfc2136Config.__doc__)
    name: Annotated[str, StringConstraints(pattern=r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)+$")] = (
        Field(description="the endpoint's DNS name, with the trailing dot: llm.example.com.")
    )
    ttl: int = Field(default=30, ge=5, le=3600, description="short: clients follow a failover")


class SnapshotStoreConfig(Section):
    """An S3-compatible bucket (MinIO, Ceph RGW, AWS) both sites reach; its keys are the
    `snapshotCredentials` secret ({accessKeyId, secretAccessKey})."""

    url: Annotated[
        str, StringConstraints(pattern=r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[^\s]*)?$")
    ] = Field(description="s3://bucket/prefix")
    endpoint: Annotated[str, StringConstraints(pattern=r"^https?://[^\s/]+(:[0-9]+)?/?$")] = Field(
        description="the S3 API endpoint, e.g. https://minio.example.com:9000"
    )
    region: Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]{1,32}$")] = Field(
        default="us-east-1", description="the region the store signs requests for"
    )


class DrConfig(Section):
    """Two stacks serving the same models, one active; `active` is the one flip of a
    failover."""

    role: Literal["primary", "secondary"] = Field(description="this stack's side")
    active: Literal["primary", "secondary"] = Field(
        default="primary", description="which side takes traffic: flip it to fail over"
    )
    peer_stack: Annotated[str, StringConstraints(pattern=r"^[^/\s]+/[^/\s]+/[^/\s]+$")] | None = (
        Field(default=None, description="secondary: the primary's org/project/stack")
    )
    standby_replicas: int = Field(
        default=1, ge=1, le=16, description="replicas per model kept warm on the standby side"
    )
    dns: DnsConfig | None = Field(
        default=None,
        description="secondary: the global record it switches (it stays up when "
        "the primary region is down)",
    )
    snapshot_location: Annotated[str, StringConstraints(pattern=r"^[A-Z0-9-]+$")] = Field(
        default="US", description="primary: multi-region of the model snapshot bucket"
    )
    site_address: IPv4 | None = Field(
        default=None,
        description="on-prem: this site's public gateway address (what DNS points at)",
    )
    snapshots: SnapshotStoreConfig | None = Field(
        default=None,
        description="on-prem: the S3-compatible store both sites load snapshots from",
    )

    @property
    def standby(self) -> bool:
        return self.role != self.active


def _check_roles(dr: DrConfig, onprem: bool) -> list[Problem]:
    if dr.role == "primary":
        # On-prem both sides hold the DNS provider settings (certificates renew by DNS-01);
        # only the secondary publishes the record.
        return problems_if(
            dr.dns is not None and not onprem,
            "dr.dns",
            "belongs on the secondary stack, which switches it",
        )
    return problems_if(
        dr.peer_stack is None,
        "dr.peerStack",
        "the secondary reads the primary's models through it: org/llm-platform/dr-primary",
    ) + problems_if(
        dr.dns is None,
        "dr.dns",
        "the secondary owns the global DNS record (it must work while the primary site is down)",
    )


def _check_gke(cfg: StackConfig, dr: DrConfig) -> list[Problem]:
    dns = dr.dns
    return (
        problems_if(
            dns is not None and dns.provider != "cloudDns",
            "dr.dns.provider",
            "GKE pairs switch a Cloud DNS record: use cloudDns",
        )
        + problems_if(
            dns is not None and dns.managed_zone is None,
            "dr.dns.managedZone",
            "the Cloud DNS managed zone that holds the name",
        )
        + [
            Problem(f"dr.{key}", "for on-prem pairs (cluster.provider: existing)")
            for key, value in (("siteAddress", dr.site_address), ("snapshots", dr.snapshots))
            if value is not None
        ]
        + problems_if(
            cfg.gateway.tls.mode == "acme" and cfg.gateway.tls.solver != "dns01CloudDns",
            "gateway.tls.solver",
            "a DR side must renew its certificate while DNS points at the other region: "
            "use dns01CloudDns",
        )
    )


def _check_onprem(cfg: StackConfig, dr: DrConfig) -> list[Problem]:
    dns = dr.dns
    return (
        problems_if(
            dr.site_address is None,
            "dr.siteAddress",
            "this site's public gateway address: what DNS points at when it is active",
        )
        + problems_if(
            dr.snapshots is None,
            "dr.snapshots",
            "both sites load models from an S3-compatible store: {url: s3://bucket/prefix, "
            "endpoint: https://minio.example.com:9000}",
        )
        + problems_if(
            dns is None, "dr.dns", "both sites need the DNS provider (records, certificates)"
        )
        + problems_if(
            dns is not None and dns.provider == "cloudDns",
            "dr.dns.provider",
            "Cloud DNS is for GKE pairs: use rfc2136 (your DNS server) or cloudflare",
        )
        + problems_if(
            dns is not None and dns.provider == "rfc2136" and dns.rfc2136 is None,
            "dr.dns.rfc2136",
            "the server, zone and TSIG key name: {nameserver: ns1.example.com:53, zone: "
            "example.com, tsigKeyName: llm-platform}",
        )
        + problems_if(
            cfg.snapshot_credentials is None
            or set(cfg.snapshot_credentials) != {"accessKeyId", "secretAccessKey"},
            "snapshotCredentials",
            "the S3 store's keys, as secrets: pulumi config set --secret --path "
            "'snapshotCredentials.accessKeyId' …, and the same for secretAccessKey",
        )
        + problems_if(
            cfg.dns_credentials is None,
            "dnsCredentials",
            "the TSIG secret (rfc2136) or API token (cloudflare): pulumi config set --secret "
            "dnsCredentials",
        )
        + problems_if(
            not cfg.images.build,
            "images.build",
            "S3 snapshots are loaded by the model-loader image (it carries boto3): set "
            "images.build: true",
        )
        + problems_if(
            cfg.gateway.tls.mode == "acme" and cfg.gateway.tls.solver != "dns01",
            "gateway.tls.solver",
            "a site must renew its certificate while DNS points at the other one: use dns01 "
            "(through dr.dns)",
        )
    )


def check_dr(cfg: StackConfig) -> list[Problem]:
    """GKE regions or on-prem sites; the secondary owns the DNS record; certificates renew
    on both sides."""
    dr = cfg.dr
    if dr is None:
        return []
    hostname = cfg.gateway.hostname
    provider = cfg.cluster.provider
    if provider == "kind":
        return [
            Problem("dr", "a kind cluster is one laptop: DR pairs are GKE regions or on-prem sites")
        ]
    onprem = provider == "existing"
    return (
        _check_roles(dr, onprem)
        + (_check_onprem(cfg, dr) if onprem else _check_gke(cfg, dr))
        + problems_if(
            dr.dns is not None and hostname is not None and dr.dns.name != f"{hostname}.",
            "dr.dns.name",
            f"{dr.dns.name if dr.dns else ''!r} is not gateway.hostname {hostname!r} "
            "(plus the trailing dot)",
        )
    )
