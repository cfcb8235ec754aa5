"""The `security` section: NetworkPolicies and Pod Security on the serving path."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from infra.config.base import Section


class SecurityConfig(Section):
    network_policies: bool = Field(
        default=True, description="default-deny NetworkPolicies on the serving path"
    )
    pod_security: Literal["restricted", "baseline"] = Field(
        default="restricted", description="Pod Security Standard enforced on serving namespaces"
    )
