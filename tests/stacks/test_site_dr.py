"""DR between two on-prem sites (site-a, site-b): the same dr config and one-flip failover as
the GKE pair, with an S3-compatible snapshot store and DNS published by external-dns."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from infra.config import ConfigError
from infra.failover_switch import main as switch
from infra.failover_switch import set_active
from infra.plan import manifest_of
from policies.helm import render_release
from tests import crd_schema
from tests.helpers import one, planned, pod_spec
from tests.stacks.test_dr import leaf_paths, plan_text, stack_text

SITES = ("site-a", "site-b")
SITE_A, SITE_B = "203.0.113.10", "198.51.100.20"
SNAPSHOT = (
    "s3://llm-models/snapshots/models/Qwen/Qwen2.5-7B-Instruct/"
    "a09a35458c702b33eeacc393d103063234e8bc28"
)
ALLOWED = (
    "spec.minReplicaCount",
    "spec.maxReplicaCount",
    "spec.replicas",
    "spec.endpoints[0].targets[0]",
)


@pytest.mark.parametrize("stack", SITES)
def test_flipping_active_changes_only_replicas_bounds_and_the_dns_endpoint(
    stack: str, tmp_path: Path
) -> None:
    before = planned(stack)
    text, was = set_active(stack_text(stack), "secondary")
    assert was == "primary"
    after = plan_text(tmp_path, stack, text)
    assert {(r.urn, r.type) for r in before.resources} == {(r.urn, r.type) for r in after.resources}
    old = {r.urn: leaf_paths(r.inputs) for r in before.resources}
    changed: dict[str, list[str]] = {}
    for r in after.resources:
        new = leaf_paths(r.inputs)
        diff = sorted(p for p in set(new) | set(old[r.urn]) if new.get(p) != old[r.urn].get(p))
        if diff:
            changed[r.type] = diff
    assert all(p in ALLOWED for paths in changed.values() for p in paths), changed
    assert "kubernetes:keda.sh/v1alpha1:ScaledObject" in changed
    if stack == "site-b":
        assert "kubernetes:externaldns.k8s.io/v1alpha1:DNSEndpoint" in changed


def endpoint_target(stack_or_text: str, tmp_path: Path | None = None) -> str:
    result = (
        planned(stack_or_text) if tmp_path is None else plan_text(tmp_path, "site-b", stack_or_text)
    )
    record = manifest_of(one(result, "externaldns.k8s.io/v1alpha1:DNSEndpoint"))
    assert record is not None
    crd_schema.validate(record)
    [endpoint] = record["spec"]["endpoints"]
    assert (endpoint["dnsName"], endpoint["recordType"], endpoint["recordTTL"]) == (
        "llm.example.com",
        "A",
        30,
    )
    return str(endpoint["targets"][0])


def test_the_record_points_at_the_active_site_and_the_secondary_owns_it(tmp_path: Path) -> None:
    assert endpoint_target("site-b") == SITE_A
    text, _ = set_active(stack_text("site-b"), "secondary")
    assert endpoint_target(text, tmp_path) == SITE_B
    # The primary publishes nothing: the flip works while site A is down.
    assert not [r for r in planned("site-a").resources if "DNSEndpoint" in r.type]
    assert not [r for r in planned("site-a").resources if r.name.endswith("external-dns")]


def test_external_dns_sends_rfc2136_updates_with_the_tsig_secret() -> None:
    release = one(planned("site-b"), "helm.sh/v3:Release", "external-dns/external-dns")
    [deployment] = [o for o in render_release(release, "1.31") if o["kind"] == "Deployment"]
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    args = container["args"]
    for flag in (
        "--provider=rfc2136",
        "--source=crd",
        "--policy=sync",
        "--txt-owner-id=site-b",
        "--domain-filter=example.com",
        "--rfc2136-host=ns1.example.com",
        "--rfc2136-port=53",
        "--rfc2136-zone=example.com",
        "--rfc2136-tsig-keyname=llm-platform",
        "--rfc2136-tsig-secret-alg=hmac-sha256",
    ):
        assert flag in args, flag
    [env] = container["env"]
    assert env["name"] == "EXTERNAL_DNS_RFC2136_TSIG_SECRET"
    assert env["valueFrom"]["secretKeyRef"]["name"] == "dns-credentials"
    creds = one(planned("site-b"), "core/v1:Secret", "external-dns/dns-credentials")
    assert creds.secret_paths


def test_certificates_renew_by_dns01_through_the_same_server() -> None:
    for stack in SITES:
        issuer = manifest_of(one(planned(stack), "cert-manager.io/v1:ClusterIssuer"))
        assert issuer is not None
        crd_schema.validate(issuer)
        [solver] = issuer["spec"]["acme"]["solvers"]
        rfc2136 = solver["dns01"]["rfc2136"]
        assert rfc2136["nameserver"] == "ns1.example.com:53"
        assert rfc2136["tsigAlgorithm"] == "HMACSHA256"
        secret = one(planned(stack), "core/v1:Secret", "cert-manager/dns-credentials")
        assert secret.secret_paths


def test_both_sites_load_the_same_snapshot_from_the_s3_store() -> None:
    for stack in SITES:
        deployment = one(planned(stack), "apps/v1:Deployment")
        [loader] = pod_spec(deployment)["initContainers"]
        env = {e["name"]: e for e in loader["env"]}
        assert env["MODEL_SOURCE"]["value"] == SNAPSHOT
        assert env["AWS_ENDPOINT_URL_S3"]["value"] == "https://minio.example.com:9000"
        assert env["AWS_ACCESS_KEY_ID"]["valueFrom"]["secretKeyRef"]["name"] == "model-snapshots-s3"
        keys = one(planned(stack), "core/v1:Secret", "llm-serving/model-snapshots-s3")
        assert keys.secret_paths
    job = one(planned("site-a"), "batch/v1:Job")
    env = {
        e["name"]: e.get("value")
        for e in job.inputs["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert (env["MODEL_SOURCE"], env["MODEL_MIRROR"]) == ("hub", SNAPSHOT)
    assert job.urn in one(planned("site-a"), "ModelServer").depends_on  # pods wait for it
    assert planned("site-a").outputs["drManifest"]["snapshotStore"] == "s3://llm-models/snapshots"


def test_the_secondary_refuses_a_revision_the_primary_does_not_serve(tmp_path: Path) -> None:
    text = stack_text("site-b").replace("a09a35458c702b33eeacc393d103063234e8bc28", "c" * 40)
    with pytest.raises(ConfigError) as caught:
        plan_text(tmp_path, "site-b", text)
    [line] = caught.value.lines()
    assert "llm-platform:models[0].revision:" in line


def test_make_failover_flips_the_site_pair(tmp_path: Path) -> None:
    for stack in SITES:
        (tmp_path / f"Pulumi.{stack}.yaml").write_text(stack_text(stack))
    assert switch(["--to", "secondary", "--pair", "site", "--stacks-dir", str(tmp_path)]) == 0
    for stack in SITES:
        assert "    active: secondary\n" in (tmp_path / f"Pulumi.{stack}.yaml").read_text()


def test_cloudflare_is_the_hosted_alternative(tmp_path: Path) -> None:
    """The same pair with Cloudflare: external-dns and cert-manager use the API token."""
    text = (
        stack_text("site-b")
        .replace("      provider: rfc2136\n", "      provider: cloudflare\n")
        .replace(
            '      rfc2136: {nameserver: "ns1.example.com:53", zone: example.com, tsigKeyName: '
            "llm-platform}\n",
            "",
        )
    )
    assert "rfc2136" not in text.split("llm-platform:dr:")[1].split("llm-platform:images")[0]
    result = plan_text(tmp_path, "site-b", text)
    release = one(result, "helm.sh/v3:Release", "external-dns/external-dns")
    [deployment] = [o for o in render_release(release, "1.31") if o["kind"] == "Deployment"]
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    assert "--provider=cloudflare" in container["args"]
    assert "--domain-filter=example.com" in container["args"]
    assert [e["name"] for e in container["env"]] == ["CF_API_TOKEN"]
    issuer = manifest_of(one(result, "cert-manager.io/v1:ClusterIssuer"))
    assert issuer is not None
    crd_schema.validate(issuer)
    [solver] = issuer["spec"]["acme"]["solvers"]
    assert solver["dns01"]["cloudflare"]["apiTokenSecretRef"]["name"] == "dns-credentials"


def network_policies(stack: str) -> dict[str, Any]:
    """The stack's serving-namespace NetworkPolicies, by name."""
    manifests = (manifest_of(r) for r in planned(stack).resources)
    return {
        m["metadata"]["name"]: m["spec"]
        for m in manifests
        if m and m["kind"] == "NetworkPolicy" and m["metadata"]["namespace"] == "llm-serving"
    }


def test_the_loaders_reach_the_snapshot_store_through_the_default_deny() -> None:
    """An on-prem S3 store lives on a private network and a non-HTTPS port (MinIO :9000):
    the model-download rule (public addresses, 443) would not let the loader reach it."""
    [rule] = network_policies("site-b")["allow-snapshot-store"]["egress"]
    assert rule["ports"] == [{"protocol": "TCP", "port": 9000}]
    assert rule["to"] == [{"ipBlock": {"cidr": "0.0.0.0/0"}}]
    assert "allow-snapshot-store" not in network_policies("single-4090d")
