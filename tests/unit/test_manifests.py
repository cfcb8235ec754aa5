"""Manifest builders called directly: the shared fragments and the names they use."""

from __future__ import annotations

import re
from dataclasses import replace

from infra.catalog.gpus import GPUS
from infra.catalog.metrics import DCGM_BASE, DCGM_PROFILING, dcgm_fields
from infra.manifests.common import (
    GPU_RESOURCE,
    POOL_LABEL,
    POOL_TAINT,
    claim_spec,
    gpu_pool_placement,
    labels,
    namespace,
    opaque_secret,
)
from infra.manifests.failover import snapshot_job_name
from infra.manifests.observability.values import grafana_admin_secret
from infra.manifests.topology import (
    GRAFANA_ADMIN_SECRET,
    MONITORING_NAMESPACE,
    PLATFORM_NAMESPACES,
)
from tests.builders import gpu_box
from tests.helpers import plan_of


def test_claim_spec_uses_the_cluster_default_class_unless_one_is_named() -> None:
    assert claim_spec(50, None) == {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": "50Gi"}},
    }
    shared = claim_spec(20, "nfs", "ReadWriteMany")
    assert shared["storageClassName"] == "nfs"
    assert shared["accessModes"] == ["ReadWriteMany"]


def test_gpu_pool_placement_selects_only_named_pools_and_tolerates_their_taints() -> None:
    placement = gpu_pool_placement({"b", "a"})
    [term] = placement["affinity"]["nodeAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"
    ]["nodeSelectorTerms"]
    assert term["matchExpressions"] == [{"key": POOL_LABEL, "operator": "In", "values": ["a", "b"]}]
    assert {t["key"] for t in placement["tolerations"]} == {POOL_TAINT, GPU_RESOURCE}


def test_opaque_secret_carries_string_data_only() -> None:
    secret = opaque_secret({"name": "x", "namespace": "y"}, {"k": "v"})
    assert secret["type"] == "Opaque"
    assert secret["stringData"] == {"k": "v"}
    assert "data" not in secret
    admin = grafana_admin_secret("pw")
    assert admin["metadata"]["name"] == GRAFANA_ADMIN_SECRET
    assert admin["metadata"]["namespace"] == MONITORING_NAMESPACE
    assert admin["stringData"]["admin-password"] == "pw"


def test_namespace_enforces_and_warns_the_pod_security_level() -> None:
    ns = namespace("llm-serving", "restricted", "serving")
    got = ns["metadata"]["labels"]
    assert got["pod-security.kubernetes.io/enforce"] == "restricted"
    assert got["pod-security.kubernetes.io/warn"] == "restricted"
    assert labels("llm-platform", "llm-serving", "serving").items() <= got.items()


def test_dcgm_fields_offer_profiling_only_when_every_gpu_family_has_it() -> None:
    assert dcgm_fields([]) == DCGM_BASE
    assert dcgm_fields([GPUS["h100-80gb"], GPUS["l4"]]) == {**DCGM_BASE, **DCGM_PROFILING}
    assert dcgm_fields([GPUS["h100-80gb"], GPUS["rtx-4090d"]]) == DCGM_BASE


def test_platform_namespaces_are_dns_labels_and_distinct() -> None:
    assert len(PLATFORM_NAMESPACES) == 12  # one per constant in topology: none shared
    assert all(n.replace("-", "").isalnum() and n.islower() for n in PLATFORM_NAMESPACES)


def test_snapshot_job_names_stay_dns_labels_for_any_revision() -> None:
    plan = plan_of(gpu_box()).models[0]
    assert snapshot_job_name(plan) == "qwen2-5-7b-snapshot-a09a3545"  # a commit: its prefix
    for revision in ("refs/pr/12", "v1.0", "main"):
        model = plan.model.model_copy(update={"revision": revision})
        name = snapshot_job_name(replace(plan, model=model))
        assert re.fullmatch(r"qwen2-5-7b-snapshot-[0-9a-f]{8}", name), name
