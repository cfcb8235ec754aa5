"""GpuNodePool: an on-prem GPU pool made of existing nodes, labelled and tainted."""

from __future__ import annotations

from typing import TypedDict

import pulumi

from infra.components.declare import declare
from infra.config import NodePoolConfig
from infra.manifests.node_pools import node_patch


class GpuNodePoolArgs(TypedDict):
    pool: NodePoolConfig
    time_slices: int  # device-plugin time-slicing replicas for this pool (1 = exclusive)


class GpuNodePool(pulumi.ComponentResource):
    """Patches each named node (server-side apply) with the pool's labels and taint, so GPU
    pods select and tolerate exactly this pool. Removing the pool removes only our fields."""

    def __init__(
        self, name: str, args: GpuNodePoolArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("llm-platform:nodes:GpuNodePool", name, None, opts)
        pool = args["pool"]
        child = pulumi.ResourceOptions(parent=self)
        self.nodes = [
            declare(node_patch(node, pool, args["time_slices"]), child, patch=True)
            for node in pool.nodes
        ]
        self.register_outputs({"nodes": pool.nodes})
