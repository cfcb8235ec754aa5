"""The `charts` section: where `pulumi up` takes each Helm chart from."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from infra.config.base import Section


class ChartsConfig(Section):
    """Where Helm charts come from when releases are installed or upgraded."""

    source: Literal["vendored", "upstream"] = Field(
        default="vendored",
        description="vendored: the chart folders in this repository's charts/, the files "
        "the tests render (no chart repository is reached); upstream: each chart's own "
        "Helm repository or OCI registry at install time, at the same pinned version",
    )
