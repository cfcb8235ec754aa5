"""The DR secondary's view of its primary: the manifest the primary publishes, read through a
StackReference and checked (same models, same revisions, same image policy) before anything
is planned from it. Shared by the GKE and the on-prem pair."""

from __future__ import annotations

from typing import Any

import pulumi

from infra.config import ConfigError, DrConfig, stack_file
from infra.manifests.topology import Outputs
from infra.planning.capacity import ServingPlan
from infra.planning.dr import compare_with_primary


def primary_manifest(
    dr: DrConfig,
    stack: str,
    models: list[ServingPlan],
    images_build: bool,
    opts: pulumi.ResourceOptions,
) -> pulumi.Output[Any]:
    assert dr.peer_stack is not None  # validated by config
    primary = pulumi.StackReference(dr.peer_stack, opts=opts)
    source = stack_file(stack)
    configs = [p.model for p in models]

    def checked(manifest: Any) -> dict[str, Any]:
        problems = compare_with_primary(configs, images_build, manifest or {})
        if problems:
            raise ConfigError(problems, source)
        return dict(manifest)

    return primary.get_output(Outputs.DR_MANIFEST).apply(checked)
