"""Failover: what makes two regional stacks one service. Both sides: the model loader's
cloud identity and a static gateway address. Primary: the multi-region snapshot bucket and
the Jobs that fill it. Secondary: the StackReference check (same models, same bits) and the
global DNS record, switched by `dr.active` and health-checked."""

from __future__ import annotations

from typing import Any, TypedDict, cast

import pulumi
import pulumi_gcp as gcp

from infra.components.declare import declare, snapshot_timeouts
from infra.components.peer import primary_manifest
from infra.config import DrConfig
from infra.manifests.failover import (
    loader_service_account,
    snapshot_job,
    snapshot_loader_name,
    snapshot_url,
)
from infra.manifests.model_server import PodImages, default_images, loader_config_map
from infra.manifests.topology import (
    CERT_MANAGER_NAMESPACE,
    HTTPS_PORT,
    LOADER_SERVICE_ACCOUNT,
)
from infra.planning.capacity import ServingPlan
from infra.planning.dr import published_models

GATEWAY_PORT = HTTPS_PORT
# External-endpoint health checks for Cloud DNS probe from exactly three source regions.
HEALTH_CHECK_REGIONS = ["us-east4", "europe-west1", "asia-southeast1"]
# A dead gateway leaves DNS within ~3 intervals (the checker's unhealthy threshold).
HEALTH_CHECK_INTERVAL_SECONDS = 10
HEALTH_CHECK_TIMEOUT_SECONDS = 5


class FailoverArgs(TypedDict):
    dr: DrConfig
    project: str  # the Google Cloud project of this side
    region: str  # this side's region
    stack: str
    dns01: bool  # cert-manager solves ACME DNS-01 in Cloud DNS (needs an identity)
    images_build: bool  # this side builds its images (both sides must agree)
    models: list[ServingPlan]  # in stack-file order (problems name models[i])
    namespaces: dict[str, list[pulumi.Resource]]
    images: dict[str, PodImages]  # model name -> what its pods run
    digests: dict[str, pulumi.Output[str]]  # primary: the images it built, published


def _snapshot_of(bucket: pulumi.Output[str], plan: ServingPlan) -> pulumi.Output[str]:
    return bucket.apply(lambda b: snapshot_url(b, plan))


def _workload_identity(
    name: str,
    account: gcp.serviceaccount.Account,
    project: str,
    namespace: str,
    service_account: str,
    opts: pulumi.ResourceOptions,
) -> gcp.serviceaccount.IAMMember:
    """Let a Kubernetes service account act as a Google one (Workload Identity)."""
    return gcp.serviceaccount.IAMMember(
        name,
        service_account_id=account.name,
        role="roles/iam.workloadIdentityUser",
        member=f"serviceAccount:{project}.svc.id.goog[{namespace}/{service_account}]",
        opts=opts,
    )


def _member(email: pulumi.Output[str]) -> pulumi.Output[str]:
    return email.apply(lambda e: f"serviceAccount:{e}")


class Failover(pulumi.ComponentResource):
    """Three responsibilities, one component (its children keep their URNs): the cloud
    identities of both sides, the snapshot store (the primary fills it, the secondary
    reads it and checks the primary's manifest), and the global DNS record (secondary)."""

    def __init__(
        self, name: str, args: FailoverArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("llm-platform:dr:Failover", name, None, opts)
        self._args = args
        self._child = pulumi.ResourceOptions(parent=self)
        # Pods read the bucket as the loader's Google identity (Workload Identity).
        self.loader_service_account: str | None = LOADER_SERVICE_ACCOUNT
        self.loader_env: list[dict[str, Any]] = []
        # What a loader's pod acts through: its Workload Identity binding and its bucket
        # role. A pod started before them fails its first request to the bucket.
        self.loader_grants: list[pulumi.Resource] = []
        loader = self._loader_identity()
        # The gateway keeps one address for its life: DNS points at it.
        self.gateway_address: pulumi.Output[str] = gcp.compute.Address(
            "gateway",
            project=args["project"],
            region=args["region"],
            address_type="EXTERNAL",
            opts=self._child,
        ).address
        self._dns01_identity()
        self.waits: dict[str, list[pulumi.Resource]] = {p.model.name: [] for p in args["models"]}
        if args["dr"].role == "primary":
            self._fill_snapshot_store(loader)
        else:
            self._read_snapshot_store(loader)
            self._global_dns()
        self.register_outputs({"gatewayAddress": self.gateway_address})

    def image(self, key: str) -> pulumi.Output[str]:
        """An image the primary built (a secondary with images.build runs the same digests)."""
        return self.manifest.apply(lambda m: str(m["images"][key]))

    def model_source(self, plan: ServingPlan) -> pulumi.Output[str]:
        return _snapshot_of(self.bucket, plan)

    # ------------------------------------------------------------------ identities

    def _loader_identity(self) -> gcp.serviceaccount.Account:
        """The model loader's Google identity, usable from every serving namespace."""
        args, child = self._args, self._child
        project, stack = args["project"], args["stack"]
        loader = gcp.serviceaccount.Account(
            "model-loader",
            project=project,
            account_id=f"{stack}-loader"[:30],
            display_name=f"llm-platform {stack} model loader",
            opts=child,
        )
        self.service_accounts: list[pulumi.Resource] = []
        for ns, created in args["namespaces"].items():
            self.service_accounts.append(
                declare(
                    loader_service_account(ns, loader.email),
                    pulumi.ResourceOptions(parent=self, depends_on=created),
                )
            )
            self.loader_grants.append(
                _workload_identity(
                    f"workload-identity-{ns}", loader, project, ns, LOADER_SERVICE_ACCOUNT, child
                )
            )
        return loader

    def _dns01_identity(self) -> None:
        """cert-manager answers ACME DNS-01 challenges in Cloud DNS as this account."""
        args, child = self._args, self._child
        project, stack = args["project"], args["stack"]
        self.dns01_account: pulumi.Output[str] | None = None
        self.dns01_grants: list[pulumi.Resource] = []  # cert-manager starts after them
        if args["dns01"]:
            certs = gcp.serviceaccount.Account(
                "cert-manager",
                project=project,
                account_id=f"{stack}-certs"[:30],
                display_name=f"llm-platform {stack} cert-manager DNS-01",
                opts=child,
            )
            dns_admin = gcp.projects.IAMMember(
                "cert-manager-dns",
                project=project,
                role="roles/dns.admin",
                member=_member(certs.email),
                opts=child,
            )
            binding = _workload_identity(
                "cert-manager-workload-identity",
                certs,
                project,
                CERT_MANAGER_NAMESPACE,
                "cert-manager",
                child,
            )
            self.dns01_account = certs.email
            self.dns01_grants = [dns_admin, binding]

    # ------------------------------------------------------------------ snapshot store

    def _fill_snapshot_store(self, loader: gcp.serviceaccount.Account) -> None:
        """Primary: a multi-region bucket, a Job per model copying its revision in, and the
        manifest the secondary reads (models, bucket, address, images)."""
        args, child = self._args, self._child
        project, stack = args["project"], args["stack"]
        bucket = gcp.storage.Bucket(
            "model-snapshots",
            project=project,
            name=f"{project}-{stack}-models",
            location=args["dr"].snapshot_location,  # multi-region: readable from both sides
            uniform_bucket_level_access=True,
            public_access_prevention="enforced",
            versioning={"enabled": True},
            opts=child,
        )
        writer = gcp.storage.BucketIAMMember(
            "loader-writes",
            bucket=bucket.name,
            role="roles/storage.objectAdmin",
            member=_member(loader.email),
            opts=child,
        )
        self.bucket: pulumi.Output[str] = bucket.name
        self.loader_grants.append(writer)
        for plan in args["models"]:
            images = args["images"].get(plan.model.name, default_images(plan))
            needs = [*self.loader_grants, *self.service_accounts]
            if images.loader is None:  # the loader runs from its code on the public image
                code = loader_config_map(plan, snapshot_loader_name(plan))
                needs.append(declare(code, pulumi.ResourceOptions(parent=self, depends_on=needs)))
            job = declare(
                snapshot_job(plan, images, _snapshot_of(bucket.name, plan)),
                pulumi.ResourceOptions(
                    parent=self,
                    depends_on=needs,
                    custom_timeouts=snapshot_timeouts(plan),
                ),
            )
            # Pods load from the bucket: they wait until their revision is in it.
            self.waits[plan.model.name].append(job)
        published = published_models([p.model for p in args["models"]])
        region, built = args["region"], args["images_build"]
        self.manifest: pulumi.Output[Any] = pulumi.Output.all(
            bucket.name, self.gateway_address, args["digests"]
        ).apply(
            lambda v: {
                "models": published,
                "snapshotBucket": v[0],
                "gatewayAddress": v[1],
                "region": region,
                "imagesBuilt": built,
                "images": v[2],
            }
        )

    def _read_snapshot_store(self, loader: gcp.serviceaccount.Account) -> None:
        """Secondary: the primary's manifest through a StackReference, checked (same models,
        same bits), and read access to its bucket."""
        args = self._args
        self.manifest = primary_manifest(
            args["dr"], args["stack"], args["models"], args["images_build"], self._child
        )
        self.bucket = self.manifest.apply(lambda m: str(m["snapshotBucket"]))
        reader = gcp.storage.BucketIAMMember(
            "loader-reads",
            bucket=self.bucket,
            role="roles/storage.objectViewer",
            member=_member(loader.email),
            opts=self._child,
        )
        self.loader_grants.append(reader)

    # ------------------------------------------------------------------ global DNS

    def _global_dns(self) -> None:
        """Failover routing: the active side answers while its gateway is healthy; Cloud DNS
        hands out the other side when it is not. `dr.active` picks which is which."""
        args, child = self._args, self._child
        dr = args["dr"]
        assert dr.dns is not None  # validated by config
        check = gcp.compute.HealthCheck(
            "gateway",
            project=args["project"],
            tcp_health_check={"port": GATEWAY_PORT},
            source_regions=HEALTH_CHECK_REGIONS,
            check_interval_sec=HEALTH_CHECK_INTERVAL_SECONDS,
            timeout_sec=HEALTH_CHECK_TIMEOUT_SECONDS,
            opts=child,
        )
        primary_ip = self.manifest.apply(lambda m: str(m["gatewayAddress"]))
        primary_region = self.manifest.apply(lambda m: str(m["region"]))
        own_ip: pulumi.Output[str] = self.gateway_address
        own_region: pulumi.Input[str] = args["region"]
        active_ip: pulumi.Input[str]
        standby_ip: pulumi.Input[str]
        standby_region: pulumi.Input[str]
        if dr.active == "primary":
            active_ip, standby_ip, standby_region = primary_ip, own_ip, own_region
        else:
            active_ip, standby_ip, standby_region = own_ip, primary_ip, primary_region
        gcp.dns.RecordSet(
            "endpoint",
            project=args["project"],
            managed_zone=dr.dns.managed_zone,
            name=dr.dns.name,
            type="A",
            ttl=dr.dns.ttl,
            routing_policy=cast(
                Any,
                {
                    "health_check": check.id,
                    "primary_backup": {
                        "primary": {"external_endpoints": [active_ip]},
                        "backup_geos": [
                            {
                                "location": standby_region,
                                "rrdatas": [standby_ip],
                                "health_checked_targets": {"external_endpoints": [standby_ip]},
                            }
                        ],
                        "trickle_ratio": 0.0,
                    },
                },
            ),
            opts=child,
        )
