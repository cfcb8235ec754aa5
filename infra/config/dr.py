"""The `dr` section: two stacks, one active, switched by one value."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field, StringConstraints

from infra.config.base import DnsLabel, Problem, Section, problems_if

if TYPE_CHECKING:
    from infra.config.stack import StackConfig


class DnsConfig(Section):
    managed_zone: DnsLabel = Field(description="Cloud DNS managed zone that holds the name")
    name: Annotated[str, StringConstraints(pattern=r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)+$")] = (
        Field(description="the endpoint's DNS name, with the trailing dot: llm.example.com.")
    )
    ttl: int = Field(default=30, ge=5, le=3600, description="short: clients follow a failover")


class DrConfig(Section):
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

    @property
    def standby(self) -> bool:
        return self.role != self.active


def _check_roles(dr: DrConfig) -> list[Problem]:
    if dr.role == "primary":
        return problems_if(
            dr.dns is not None, "dr.dns", "belongs on the secondary stack, which switches it"
        )
    return problems_if(
        dr.peer_stack is None,
        "dr.peerStack",
        "the secondary reads the primary's models through it: org/llm-platform/dr-primary",
    ) + problems_if(
        dr.dns is None,
        "dr.dns",
        "the secondary owns the global DNS record (it must work while the primary region is down)",
    )


def check_dr(cfg: StackConfig) -> list[Problem]:
    """GKE only; the secondary owns the DNS record; certificates renew on both sides."""
    dr = cfg.dr
    if dr is None:
        return []
    hostname = cfg.gateway.hostname
    return (
        problems_if(
            cfg.cluster.provider != "gke",
            "dr",
            "DR stacks are regional GKE clusters: set cluster.provider: gke",
        )
        + _check_roles(dr)
        + problems_if(
            dr.dns is not None and hostname is not None and dr.dns.name != f"{hostname}.",
            "dr.dns.name",
            f"{dr.dns.name if dr.dns else ''!r} is not gateway.hostname {hostname!r} "
            "(plus the trailing dot)",
        )
        + problems_if(
            cfg.gateway.tls.mode == "acme" and cfg.gateway.tls.solver != "dns01CloudDns",
            "gateway.tls.solver",
            "a DR side must renew its certificate while DNS points at the other region: "
            "use dns01CloudDns",
        )
        + problems_if(
            cfg.autoscaling.scale_to_zero and not dr.standby,
            "autoscaling.scaleToZero",
            "never on the active side of a DR pair: it must serve the moment traffic arrives",
        )
    )
