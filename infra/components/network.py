"""NetworkPolicies of the serving namespaces (each component declares its own namespaces'
right after creating them, before anything runs there: see manifests/network.py)."""

from __future__ import annotations

from typing import TypedDict

import pulumi

from infra.components.declare import declare
from infra.manifests.network import ApiServer
from infra.manifests.serving_network import serving_policies


class Network(TypedDict):
    """What every component's NetworkPolicies need from the stack."""

    api_server: ApiServer  # where the API server answers


class NetworkPoliciesArgs(TypedDict):
    serving_namespaces: dict[str, list[pulumi.Resource]]  # namespace -> what creates it
    gke_metadata: bool  # pods reach GKE's metadata server (Workload Identity)
    snapshot_port: int | None  # on-prem DR: the S3 store's port the loaders reach


class NetworkPolicies(pulumi.ComponentResource):
    """`policies[ns]`: what a serving namespace's pods start under (they wait for it)."""

    def __init__(
        self, name: str, args: NetworkPoliciesArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("llm-platform:security:NetworkPolicies", name, None, opts)
        self.policies: dict[str, list[pulumi.Resource]] = {}
        for ns, created in args["serving_namespaces"].items():
            self.policies[ns] = [
                declare(policy, pulumi.ResourceOptions(parent=self, depends_on=created))
                for policy in serving_policies(ns, args["gke_metadata"], args["snapshot_port"])
            ]
        self.register_outputs({})


def policies_in(
    manifests: list[dict[str, object]], opts: pulumi.ResourceOptions
) -> list[pulumi.Resource]:
    """Declare a namespace's NetworkPolicies; what runs there waits for the whole set."""
    return [declare(m, opts) for m in manifests]
