"""The `security` section: NetworkPolicies and Pod Security."""

from __future__ import annotations

import ipaddress
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from infra.config.base import Section


def _ipv4_network(value: str) -> str:
    try:
        ipaddress.IPv4Network(value)
    except ValueError:
        raise ValueError(
            "expected an IPv4 network like 192.168.1.10/32 (host bits unset)"
        ) from None
    return value


Cidr = Annotated[str, AfterValidator(_ipv4_network)]


class SecurityConfig(Section):
    """Who may talk to whom, and what pods may do."""

    network_policies: bool = Field(
        default=True,
        description="every namespace the platform creates denies all traffic but the flows "
        "its pods need (docs/network-flows.md)",
    )
    pod_security: Literal["restricted", "baseline"] = Field(
        default="restricted", description="Pod Security Standard enforced on serving namespaces"
    )
    api_server_cidrs: list[Cidr] = Field(
        default_factory=list,
        description="the API server's addresses (CIDRs) the controllers' egress is limited "
        "to; empty = the cluster's private ranges (10/8, 172.16/12, 192.168/16, 100.64/10), "
        "on gke the cluster's endpoint",
    )
