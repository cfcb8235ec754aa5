"""What every config section shares: the section base model, string shapes, problems."""

from __future__ import annotations

import re
from typing import Annotated, NamedTuple

from pydantic import BaseModel, ConfigDict, StringConstraints
from pydantic.alias_generators import to_camel

PROJECT = "llm-platform"
STACK_CONFIG_DIR = "stacks"

# RFC 1123 label, short enough that derived names (`<name>-model-cache`) stay valid.
DNS_LABEL_PATTERN = r"^[a-z]([-a-z0-9]*[a-z0-9])?$"
DnsLabel = Annotated[str, StringConstraints(pattern=DNS_LABEL_PATTERN, max_length=40)]
# Hub repository id: `org/name`.
REPO_ID_PATTERN = r"^[A-Za-z0-9][-\w.]*/[-\w.]+$"
RepoId = Annotated[str, StringConstraints(pattern=REPO_ID_PATTERN)]
# Prometheus/Loki duration: 15d, 12h, 1h30m.
DURATION_PATTERN = r"^([0-9]+(ms|s|m|h|d|w|y))+$"
Duration = Annotated[str, StringConstraints(pattern=DURATION_PATTERN)]
_DURATION_SECONDS = {
    "ms": 0.001,
    "s": 1,
    "m": 60,
    "h": 3600,
    "d": 86400,
    "w": 604800,
    "y": 31536000,
}
# A DNS name a certificate can be issued for (lowercase, at least one dot).
HOSTNAME_PATTERN = r"^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"
# An HTTP header name (RFC 9110 token).
HEADER_PATTERN = r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$"
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
GCP_PROJECT_PATTERN = r"^[a-z][-a-z0-9]{4,28}[a-z0-9]$"
GCP_REGION_PATTERN = r"^[a-z]+-[a-z]+[0-9]+$"
GCP_ZONE_PATTERN = r"^[a-z]+-[a-z]+[0-9]+-[a-z]$"
Zone = Annotated[str, StringConstraints(pattern=GCP_ZONE_PATTERN)]
# RFC 1123 subdomain: what Kubernetes accepts as a node, StorageClass or RuntimeClass name.
DNS_SUBDOMAIN_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
DnsSubdomain = Annotated[str, StringConstraints(pattern=DNS_SUBDOMAIN_PATTERN, max_length=253)]
# What an offline plan reads for a `secure:` value it cannot decrypt.
SECRET_PLACEHOLDER = "offline-placeholder-secret"

# Bounds of the API fields numbers land in.
INT32_MAX = 2**31 - 1
UINT32_MAX = 2**32 - 1

# What a pattern means, for error messages (patterns not listed are shown as they are).
PATTERN_MEANINGS = {
    DNS_LABEL_PATTERN: "a DNS label: lowercase letters, digits and '-', starting with a letter",
    REPO_ID_PATTERN: "a Hugging Face repository id like org/name",
    DURATION_PATTERN: "a duration like 30d, 12h or 90m",
    HOSTNAME_PATTERN: "a lowercase DNS name like llm.example.com",
    HEADER_PATTERN: "an HTTP header name like x-session-id",
    EMAIL_PATTERN: "an e-mail address",
    DNS_SUBDOMAIN_PATTERN: "a DNS name: lowercase letters, digits, '-' and '.'",
    GCP_PROJECT_PATTERN: "a Google Cloud project id like my-project-123",
    GCP_REGION_PATTERN: "a Google Cloud region like us-central1",
    GCP_ZONE_PATTERN: "a Google Cloud zone like us-central1-a",
}


def duration_seconds(text: str) -> float:
    return sum(
        int(n) * _DURATION_SECONDS[u] for n, u in re.findall(r"([0-9]+)(ms|s|m|h|d|w|y)", text)
    )


class Section(BaseModel):
    """camelCase keys in stack files, unknown keys refused, immutable once validated."""

    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        frozen=True,
        allow_inf_nan=False,  # .inf or .nan is never a sensible size, rate or ratio
    )


class Problem(NamedTuple):
    path: str  # e.g. `models[0].tensorParallel` (without the project namespace)
    message: str


def problems_if(condition: bool, path: str, message: str) -> list[Problem]:
    """One problem when the condition holds, none otherwise."""
    return [Problem(path, message)] if condition else []
