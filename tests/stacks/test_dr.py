"""DR: zone resilience, identical bits on both sides, and a failover that only moves
replicas, KEDA bounds and DNS."""

import re
from pathlib import Path
from typing import Any

import pytest

from infra import stack_run as plan_module
from infra.config import ConfigError
from infra.engine import RunResult
from infra.failover_switch import main as switch
from infra.failover_switch import set_active
from infra.plan import manifest_of, plan_stack
from infra.root import PROJECT_ROOT
from tests.helpers import one, plan_of, planned, pod_spec, raw_config

DR = ("dr-primary", "dr-secondary")


def stack_text(stack: str) -> str:
    return (PROJECT_ROOT / f"stacks/Pulumi.{stack}.yaml").read_text()


def plan_text(tmp_path: Path, stack: str, text: str) -> RunResult:
    path = tmp_path / f"Pulumi.{stack}.yaml"
    path.write_text(text)
    return plan_stack(stack, path)


# ----------------------------------------------------------------------- zone loss


def refuse(raw: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        plan_of(raw)
    return caught.value.lines()


@pytest.mark.parametrize("stack", DR)
def test_shipped_dr_stacks_survive_a_zone(stack: str) -> None:
    plan = plan_of(raw_config(stack)).models[0]
    assert len(plan.zones) == 3 and plan.active_replicas == 3


def test_a_pool_in_one_zone_is_refused() -> None:
    raw = raw_config("dr-primary")
    raw["nodePools"][0]["zones"] = ["us-central1-a"]
    assert (
        "stacks/Pulumi.test.yaml: llm-platform:autoscaling.minReplicas: 3 replica(s) of "
        "'qwen2-5-7b' over 1 zone(s) (us-central1-a): losing one zone leaves 0, fewer than "
        "⌈2/3 × 3⌉ = 2; spread pool 'l4' over 3+ zones with at least one replica in each"
    ) in refuse(raw)


def test_two_zones_cannot_keep_two_thirds() -> None:
    raw = raw_config("dr-primary")
    raw["nodePools"][0]["zones"] = ["us-central1-a", "us-central1-b"]
    raw["nodePools"][0]["maxNodes"] = 3  # room for the maximum: only the zone rule fails
    [line] = refuse(raw)
    assert "losing one zone leaves 1, fewer than ⌈2/3 × 3⌉ = 2" in line


# ----------------------------------------------------------------------- failover


def leaf_paths(value: Any, path: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(leaf_paths(v, f"{path}.{k}" if path else k))
        return out
    if isinstance(value, list):
        out = {}
        for i, v in enumerate(value):
            out.update(leaf_paths(v, f"{path}[{i}]"))
        return out
    return {path: value}


ALLOWED_CHANGES = re.compile(
    r"^(spec\.(minReplicaCount|maxReplicaCount|replicas)"
    r"|routingPolicy\.primaryBackup\..*)$"
)


@pytest.mark.parametrize("stack", DR)
def test_flipping_active_replaces_and_deletes_nothing(stack: str, tmp_path: Path) -> None:
    before = planned(stack)
    flipped_text, was = set_active(stack_text(stack), "secondary")
    assert was == "primary"
    after = plan_text(tmp_path, stack, flipped_text)
    assert {(r.urn, r.type) for r in before.resources} == {(r.urn, r.type) for r in after.resources}
    changed: dict[str, list[str]] = {}
    old = {r.urn: leaf_paths(r.inputs) for r in before.resources}
    for r in after.resources:
        new = leaf_paths(r.inputs)
        diff = sorted(p for p in set(new) | set(old[r.urn]) if new.get(p) != old[r.urn].get(p))
        if diff:
            changed[r.type] = diff
    for kind, paths in changed.items():
        assert all(ALLOWED_CHANGES.match(p) for p in paths), (kind, paths)
    assert "kubernetes:keda.sh/v1alpha1:ScaledObject" in changed
    if stack == "dr-secondary":
        assert "gcp:dns/recordSet:RecordSet" in changed


def test_the_standby_keeps_a_warm_minimum_and_the_active_side_full_capacity(
    tmp_path: Path,
) -> None:
    def bounds(result: RunResult) -> tuple[int, int]:
        [scaled] = [
            m for r in result.resources if (m := manifest_of(r)) and m["kind"] == "ScaledObject"
        ]
        return scaled["spec"]["minReplicaCount"], scaled["spec"]["maxReplicaCount"]

    assert bounds(planned("dr-primary")) == (3, 6)
    assert bounds(planned("dr-secondary")) == (1, 1)
    text, _ = set_active(stack_text("dr-secondary"), "secondary")
    assert bounds(plan_text(tmp_path, "dr-secondary", text)) == (3, 6)


def dns(result: RunResult) -> dict[str, Any]:
    record = one(result, "gcp:dns/recordSet:RecordSet")
    policy: dict[str, Any] = record.inputs["routingPolicy"]
    return policy


def test_dns_sends_traffic_to_the_active_side_and_fails_over_on_health(tmp_path: Path) -> None:
    primary_ip = planned("dr-primary").outputs["gatewayAddress"]
    secondary_ip = planned("dr-secondary").outputs["gatewayAddress"]
    assert primary_ip != secondary_ip
    policy = dns(planned("dr-secondary"))
    assert policy["healthCheck"]
    assert policy["primaryBackup"]["primary"]["externalEndpoints"] == [primary_ip]
    assert policy["primaryBackup"]["backupGeos"][0]["rrdatas"] == [secondary_ip]
    text, _ = set_active(stack_text("dr-secondary"), "secondary")
    flipped = dns(plan_text(tmp_path, "dr-secondary", text))
    assert flipped["primaryBackup"]["primary"]["externalEndpoints"] == [secondary_ip]
    assert flipped["primaryBackup"]["backupGeos"][0]["location"] == "us-central1"
    assert not [r for r in planned("dr-primary").resources if r.type.startswith("gcp:dns")]


# ----------------------------------------------------------------------- same bits


def test_the_secondary_refuses_a_revision_the_primary_does_not_serve(tmp_path: Path) -> None:
    text = stack_text("dr-secondary").replace("a09a35458c702b33eeacc393d103063234e8bc28", "b" * 40)
    with pytest.raises(ConfigError) as caught:
        plan_text(tmp_path, "dr-secondary", text)
    [line] = caught.value.lines()
    assert line.startswith(f"{tmp_path}/Pulumi.dr-secondary.yaml: llm-platform:models[0].revision:")
    assert "differs from the primary's 'a09a35458c702b33eeacc393d103063234e8bc28'" in line


def test_both_sides_load_the_same_snapshot(tmp_path: Path) -> None:
    bucket = planned("dr-primary").outputs["drManifest"]["snapshotBucket"]
    url = f"gs://{bucket}/models/Qwen/Qwen2.5-7B-Instruct/a09a35458c702b33eeacc393d103063234e8bc28"
    for stack in DR:
        deployment = one(planned(stack), "apps/v1:Deployment")
        spec = pod_spec(deployment)
        [init] = spec["initContainers"]
        env = {e["name"]: e.get("value") for e in init["env"]}
        assert env["MODEL_SOURCE"] == url
        assert spec["serviceAccountName"] == "model-loader"
        cache = next(v for v in spec["volumes"] if v["name"] == "model-cache")
        assert "ephemeral" in cache  # per pod, in its own zone
        zones = [
            c
            for c in spec["topologySpreadConstraints"]
            if c["topologyKey"] == "topology.kubernetes.io/zone"
        ]
        assert zones[0]["whenUnsatisfiable"] == "DoNotSchedule"
    job = one(planned("dr-primary"), "batch/v1:Job")
    env = {
        e["name"]: e.get("value")
        for e in job.inputs["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert env["MODEL_MIRROR"] == url and env["MODEL_SOURCE"] == "hub"
    assert job.urn in one(planned("dr-primary"), "ModelServer").depends_on
    bucket_res = one(planned("dr-primary"), "gcp:storage/bucket:Bucket")
    assert bucket_res.inputs["location"] == "US"
    assert bucket_res.inputs["uniformBucketLevelAccess"] is True
    assert bucket_res.inputs["publicAccessPrevention"] == "enforced"


# ----------------------------------------------------------------------- GKE


def test_gke_cluster_and_gpu_pool() -> None:
    result = planned("dr-primary")
    cluster = one(result, "gcp:container/cluster:Cluster").inputs
    assert cluster["location"] == "us-central1"
    assert cluster["nodeLocations"] == ["us-central1-a", "us-central1-b", "us-central1-c"]
    assert cluster["datapathProvider"] == "ADVANCED_DATAPATH"  # NetworkPolicy enforcement
    assert cluster["workloadIdentityConfig"] == {"workloadPool": "llm-platform-prod.svc.id.goog"}
    pool = one(result, "gcp:container/nodePool:NodePool", "l4").inputs
    [accelerator] = pool["nodeConfig"]["guestAccelerators"]
    assert accelerator["type"] == "nvidia-l4" and accelerator["count"] == 1
    assert accelerator["gpuDriverInstallationConfig"] == {"gpuDriverVersion": "LATEST"}
    assert pool["autoscaling"] == {
        "minNodeCount": 1,
        "maxNodeCount": 2,
        "locationPolicy": "BALANCED",
    }
    assert pool["nodeConfig"]["labels"] == {
        "llm-platform.io/pool": "l4",
        "llm-platform.io/gpu": "l4",
    }
    assert pool["nodeConfig"]["taints"] == [
        {"key": "llm-platform.io/gpu-pool", "value": "l4", "effect": "NO_SCHEDULE"}
    ]
    spec = pod_spec(one(result, "apps/v1:Deployment"))
    assert spec["nodeSelector"] == {"llm-platform.io/pool": "l4"}  # same interface as on-prem
    names = {r.name for r in result.resources}
    assert "gpu-system/nvidia-device-plugin" not in names  # GKE installs it


def test_loader_identity_and_metadata_server_egress() -> None:
    result = planned("dr-secondary")
    account = one(result, "core/v1:ServiceAccount", "llm-serving/model-loader")
    assert "iam.gke.io/gcp-service-account" in account.inputs["metadata"]["annotations"]
    policy = one(result, "NetworkPolicy", "llm-serving/allow-metadata-server")
    cidrs = [r["to"][0]["ipBlock"]["cidr"] for r in policy.inputs["spec"]["egress"]]
    assert cidrs == ["169.254.169.254/32", "169.254.169.252/32"]
    [issuer] = [
        m for r in result.resources if (m := manifest_of(r)) and m["kind"] == "ClusterIssuer"
    ]
    assert issuer["spec"]["acme"]["solvers"] == [
        {"dns01": {"cloudDNS": {"project": "llm-platform-prod"}}}
    ]


# ----------------------------------------------------------------------- switch


def test_switch_flips_both_stacks_and_keeps_comments(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for stack in DR:
        (tmp_path / f"Pulumi.{stack}.yaml").write_text(stack_text(stack))
    assert switch(["--to", "secondary", "--stacks-dir", str(tmp_path)]) == 0
    for stack in DR:
        text = (tmp_path / f"Pulumi.{stack}.yaml").read_text()
        assert "    active: secondary\n" in text and "# DR pair" in text
        assert text.replace("active: secondary", "active: primary") == stack_text(stack)
    assert "dr.active primary -> secondary" in capsys.readouterr().out


def test_switch_writes_nothing_unless_both_files_switch(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.dr-primary.yaml").write_text(stack_text("dr-primary"))
    (tmp_path / "Pulumi.dr-secondary.yaml").write_text("config: {}\n")
    assert switch(["--to", "secondary", "--stacks-dir", str(tmp_path)]) == 2
    assert (tmp_path / "Pulumi.dr-primary.yaml").read_text() == stack_text("dr-primary")


# ----------------------------------------------------------------------- bad DR config

DR_CASES = [
    (
        "dr-primary",
        lambda r: r["cluster"].update(zones=[]),
        "cluster.zones",
        "required for provider gke",
    ),
    (
        "dr-primary",
        lambda r: r["cluster"].update(zones=["us-east1-b"]),
        "cluster.zones[0]",
        "'us-east1-b' is not in region 'us-central1'",
    ),
    (
        "dr-primary",
        lambda r: r["nodePools"][0].update(nodes=["node-1"]),
        "nodePools[0].nodes",
        "a GKE pool's nodes are created by the node pool",
    ),
    (
        "dr-primary",
        lambda r: r["nodePools"][0].update(gpu="rtx-4090d"),
        "nodePools[0].gpu",
        "GKE does not offer 'rtx-4090d'",
    ),
    (
        "dr-primary",
        lambda r: r["nodePools"][0].update(minNodes=3),
        "nodePools[0].minNodes",
        "3 is above maxNodes 2",
    ),
    (
        "dr-primary",
        lambda r: r["gateway"]["tls"].update(solver="http01"),
        "gateway.tls.solver",
        "must renew its certificate while DNS points at the other region",
    ),
    (
        "dr-primary",
        lambda r: r["dr"].update(dns={"managedZone": "z", "name": "llm.example.com."}),
        "dr.dns",
        "belongs on the secondary",
    ),
    (
        "dr-secondary",
        lambda r: r["dr"].pop("peerStack"),
        "dr.peerStack",
        "the secondary reads the primary's models",
    ),
    (
        "dr-secondary",
        lambda r: r["dr"]["dns"].update(name="other.example.com."),
        "dr.dns.name",
        "is not gateway.hostname",
    ),
    (
        "single-4090d",
        lambda r: r.update(dr={"role": "primary"}),
        "dr.siteAddress",  # on-prem DR is supported; it needs its site's address, store, DNS
        "this site's public gateway address",
    ),
    (
        "single-4090d",
        lambda r: r.update(dr={"role": "primary"}),
        "dr.snapshots",
        "S3-compatible store",
    ),
    (
        "dr-primary",
        lambda r: r["autoscaling"].update(enabled=True, minReplicas=0),
        "autoscaling.minReplicas",
        "0 is refused in a DR pair",
    ),
    (
        "dev",
        lambda r: r.update(dr={"role": "primary"}),
        "dr",
        "a kind cluster is one laptop",
    ),
    (
        "single-4090d",
        lambda r: r["nodePools"][0].update(maxNodes=2),
        "nodePools[0]",
        "for GKE pools",
    ),
]


@pytest.mark.parametrize(
    ("stack", "edit", "path", "words"), DR_CASES, ids=[f"{c[0]}:{c[2]}" for c in DR_CASES]
)
def test_bad_dr_and_gke_config_is_refused_in_one_line(
    stack: str, edit: Any, path: str, words: str
) -> None:
    raw = raw_config(stack)
    edit(raw)
    lines = refuse(raw)
    hits = [line for line in lines if f": llm-platform:{path}: " in line]
    assert hits and words in hits[0], lines


def _pair(tmp_path: Path, primary: str, secondary: str) -> None:
    folder = tmp_path / "stacks"
    folder.mkdir(exist_ok=True)
    (folder / "Pulumi.dr-primary.yaml").write_text(primary)
    (folder / "Pulumi.dr-secondary.yaml").write_text(secondary)


def test_the_stack_own_config_is_checked_before_its_peer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _pair(tmp_path, "config: {llm-platform:models: []}\n", stack_text("dr-secondary"))
    text = stack_text("dr-secondary").replace("role: secondary", "role: tertiary")
    (tmp_path / "stacks" / "Pulumi.dr-secondary.yaml").write_text(text)
    monkeypatch.setattr(plan_module, "PROJECT_ROOT", tmp_path)
    with pytest.raises(ConfigError) as caught:
        plan_module.plan_stack("dr-secondary")
    [line] = caught.value.lines()
    assert line.startswith("stacks/Pulumi.dr-secondary.yaml: llm-platform:dr.role:")


def test_a_broken_peer_is_reported_under_dr_peer_stack_naming_both_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _pair(tmp_path, "config: {llm-platform:models: []}\n", stack_text("dr-secondary"))
    monkeypatch.setattr(plan_module, "PROJECT_ROOT", tmp_path)
    with pytest.raises(ConfigError) as caught:
        plan_module.plan_stack("dr-secondary")
    [line] = caught.value.lines()
    assert line.startswith(
        "stacks/Pulumi.dr-secondary.yaml: llm-platform:dr.peerStack: the peer "
        "'acme/llm-platform/dr-primary' does not plan: stacks/Pulumi.dr-primary.yaml: "
        "llm-platform:models:"
    )


def test_a_missing_peer_file_names_the_key_and_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "stacks"
    folder.mkdir()
    (folder / "Pulumi.dr-secondary.yaml").write_text(stack_text("dr-secondary"))
    monkeypatch.setattr(plan_module, "PROJECT_ROOT", tmp_path)
    with pytest.raises(ConfigError) as caught:
        plan_module.plan_stack("dr-secondary")
    assert caught.value.lines() == [
        "stacks/Pulumi.dr-secondary.yaml: llm-platform:dr.peerStack: the peer "
        "'acme/llm-platform/dr-primary' does not plan: stacks/Pulumi.dr-primary.yaml: "
        "no such stack file"
    ]


def test_two_stacks_naming_each_other_are_refused_not_recursed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    primary = stack_text("dr-primary").replace(
        "role: primary", "role: primary\n    peerStack: acme/llm-platform/dr-secondary"
    )
    _pair(tmp_path, primary, stack_text("dr-secondary"))
    monkeypatch.setattr(plan_module, "PROJECT_ROOT", tmp_path)
    with pytest.raises(ConfigError) as caught:
        plan_module.plan_stack("dr-secondary")
    [line] = caught.value.lines()
    assert "leads back here (dr-secondary -> dr-primary -> dr-secondary)" in line
