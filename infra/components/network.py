"""NetworkPolicies: default deny on the serving path and for logs, then explicit allows."""

from __future__ import annotations

from typing import TypedDict

import pulumi

from infra.components.declare import declare
from infra.manifests.network import logging_policies, serving_policies


class NetworkPoliciesArgs(TypedDict):
    serving_namespaces: dict[str, list[pulumi.Resource]]  # namespace -> what creates it
    logging: pulumi.Resource | None  # the observability component, when logs are on
    gke_metadata: bool  # pods reach GKE's metadata server (Workload Identity)
    snapshot_port: int | None  # on-prem DR: the S3 store's port the loaders reach


class NetworkPolicies(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: NetworkPoliciesArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("llm-platform:security:NetworkPolicies", name, None, opts)
        for ns, created in args["serving_namespaces"].items():
            for policy in serving_policies(ns, args["gke_metadata"], args["snapshot_port"]):
                declare(policy, pulumi.ResourceOptions(parent=self, depends_on=created))
        if args["logging"] is not None:
            for policy in logging_policies():
                declare(policy, pulumi.ResourceOptions(parent=self, depends_on=[args["logging"]]))
        self.register_outputs({})
