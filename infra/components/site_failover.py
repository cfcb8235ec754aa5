"""SiteFailover: what makes two on-prem sites one service, behind the same `dr` config and
one-flip failover as the GKE pair. Both sides: the loader's keys to the S3-compatible
snapshot store. Primary: the Jobs that mirror each pinned revision into the store, and the
manifest the secondary reads. Secondary: the StackReference check (same models, same bits)
and the endpoint's DNS record, published by external-dns for the active site."""

from __future__ import annotations

from typing import Any, TypedDict

import pulumi

from infra.components.declare import declare, helm_release, snapshot_timeouts
from infra.components.network import Network, policies_in
from infra.components.peer import primary_manifest
from infra.config import DrConfig, SnapshotStoreConfig
from infra.manifests.common import namespace
from infra.manifests.failover import snapshot_job
from infra.manifests.model_server import PodImages, default_images
from infra.manifests.site_dr import (
    dns_credentials_secret,
    dns_endpoint,
    external_dns_policies,
    external_dns_values,
    s3_env,
    s3_secret,
    snapshot_url,
)
from infra.manifests.topology import EXTERNAL_DNS_NAMESPACE
from infra.planning.capacity import ServingPlan
from infra.planning.dr import published_models
from infra.planning.plans import ReleasePlan


class SiteFailoverArgs(TypedDict):
    network: Network | None  # NetworkPolicies' inputs; None: the stack has none
    dr: DrConfig
    stack: str
    images_build: bool
    models: list[ServingPlan]  # in stack-file order (problems name models[i])
    namespaces: dict[str, list[pulumi.Resource]]
    images: dict[str, PodImages]
    digests: dict[str, pulumi.Output[str]]  # primary: the images it built, published
    snapshot_keys: pulumi.Output[Any]  # {accessKeyId, secretAccessKey}, secret
    dns_credentials: pulumi.Output[str]  # TSIG secret or Cloudflare token, secret
    releases: dict[str, ReleasePlan]  # chart key -> how its release is installed (the plan's)


class SiteFailover(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: SiteFailoverArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("llm-platform:dr:SiteFailover", name, None, opts)
        self._releases = args["releases"]
        self._args = args
        dr = args["dr"]
        assert dr.site_address is not None and dr.snapshots is not None  # validated
        self._store: SnapshotStoreConfig = dr.snapshots
        # What the Gateway and the pods need, as from the GKE Failover.
        self.gateway_address: pulumi.Input[str] = dr.site_address
        self.dns01_account: pulumi.Output[str] | None = None
        self.loader_service_account: str | None = None
        self.loader_env: list[dict[str, Any]] = s3_env(self._store)
        self.loader_grants: list[pulumi.Resource] = []  # S3 keys, not cloud grants
        self.dns01_grants: list[pulumi.Resource] = []
        self.service_accounts: list[pulumi.Resource] = [
            declare(
                s3_secret(ns, args["snapshot_keys"]),
                pulumi.ResourceOptions(parent=self, depends_on=created),
            )
            for ns, created in args["namespaces"].items()
        ]
        self.waits: dict[str, list[pulumi.Resource]] = {p.model.name: [] for p in args["models"]}
        if dr.role == "primary":
            self._fill_snapshot_store()
        else:
            self._read_primary()
            self._publish_endpoint()
        self.register_outputs({"gatewayAddress": self.gateway_address})

    def image(self, key: str) -> pulumi.Output[str]:
        return self.manifest.apply(lambda m: str(m["images"][key]))

    def model_source(self, plan: ServingPlan) -> str:
        return snapshot_url(self._store, plan)

    def _fill_snapshot_store(self) -> None:
        """Primary: a Job per model mirroring its revision into the store (pods load from
        the store: they wait for it), and the manifest the secondary reads."""
        args = self._args
        for plan in args["models"]:
            job = declare(
                snapshot_job(
                    plan,
                    args["images"].get(plan.model.name, default_images(plan)),
                    snapshot_url(self._store, plan),
                    extra_env=self.loader_env,
                    service_account=None,
                ),
                pulumi.ResourceOptions(
                    parent=self,
                    depends_on=self.service_accounts,
                    custom_timeouts=snapshot_timeouts(plan),
                ),
            )
            self.waits[plan.model.name].append(job)
        published = published_models([p.model for p in args["models"]])
        built, address, store = args["images_build"], self.gateway_address, self._store.url
        self.manifest: pulumi.Output[Any] = pulumi.Output.from_input(args["digests"]).apply(
            lambda digests: {
                "models": published,
                "snapshotStore": store,
                "gatewayAddress": address,
                "imagesBuilt": built,
                "images": digests,
            }
        )

    def _read_primary(self) -> None:
        """Secondary: the primary's manifest through a StackReference, checked."""
        args = self._args
        self.manifest = primary_manifest(
            args["dr"],
            args["stack"],
            args["models"],
            args["images_build"],
            pulumi.ResourceOptions(parent=self),
        )

    def _publish_endpoint(self) -> None:
        """Secondary: external-dns and the record for the active site. The secondary owns it
        so a flip works while the primary site is down; no health check exists for RFC 2136
        or Cloudflare records: the flip is manual (`make failover`)."""
        args = self._args
        dr = args["dr"]
        assert dr.dns is not None  # validated by config
        opts = pulumi.ResourceOptions(parent=self)
        ns = declare(namespace(EXTERNAL_DNS_NAMESPACE, "restricted", "dns"), opts)
        under_ns = pulumi.ResourceOptions(parent=self, depends_on=[ns])
        creds = declare(
            dns_credentials_secret(EXTERNAL_DNS_NAMESPACE, args["dns_credentials"]), under_ns
        )
        network = args["network"]
        flows = (
            policies_in(external_dns_policies(dr.dns, network["api_server"]), under_ns)
            if network is not None
            else []
        )
        release = helm_release(
            "external-dns",
            self._releases["external-dns"],
            EXTERNAL_DNS_NAMESPACE,
            external_dns_values(dr.dns, args["stack"]),
            pulumi.ResourceOptions(parent=self, depends_on=[creds, *flows]),
        )
        primary_ip = self.manifest.apply(lambda m: str(m["gatewayAddress"]))
        active = primary_ip if dr.active == "primary" else self.gateway_address
        declare(
            dns_endpoint(dr.dns, active),
            pulumi.ResourceOptions(parent=self, depends_on=[ns, release]),
        )
