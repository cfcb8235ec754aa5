"""`make doctor` against a fake kubectl: what it reports for a ready cluster and for each
first-install problem, that it only reads, and what it says it cannot check."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from infra.doctor.__main__ import cluster, main, not_checked
from infra.doctor.checks import Finding, quantity
from tests.builders import Raw, gke_region, gpu_box, rendered, write_stack_file
from tests.helpers import config_of

FAKE = Path(__file__).with_name("fake_kubectl.py")
DNS_POD = {
    "metadata": {
        "name": "coredns-1",
        "namespace": "kube-system",
        "labels": {"k8s-app": "kube-dns"},
    },
    "status": {"phase": "Running"},
}


def node(name: str = "gpu-box", ready: bool = True, **status: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "labels": {"node.kubernetes.io/instance-type": "k3s"}},
        "spec": {},
        "status": {
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
            "allocatable": {"cpu": "32", "memory": "131072000Ki"},
            **status,
        },
    }


def ready_box() -> dict[str, Any]:
    """A k3s node as gpu_box() names it, after the NVIDIA toolkit and before pulumi up."""
    return {
        "contexts": ["gpu-box", "other"],
        "current": "other",
        "version": {"major": "1", "minor": "31", "gitVersion": "v1.31.4+k3s1"},
        "objects": {
            "nodes": [node()],
            "runtimeclasses": [{"metadata": {"name": "nvidia"}, "handler": "nvidia"}],
            "storageclasses": [
                {
                    "metadata": {
                        "name": "local-path",
                        "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
                    }
                }
            ],
            "pods": [DNS_POD],
            "namespaces": [
                {"metadata": {"name": "default"}},
                {"metadata": {"name": "kube-system"}},
            ],
            "services": [],
            "daemonsets": [],
            "deployments": [],
            "customresourcedefinitions": [],
            "secrets": [],
        },
    }


@pytest.fixture
def fake_bin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """PATH holds only a fake kubectl, pulumi and docker; returns the state file."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "kubectl").write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE}" "$@"\n')
    (bin_dir / "pulumi").write_text("#!/bin/sh\necho v3.200.0\n")
    (bin_dir / "docker").write_text("#!/bin/sh\necho Docker version 28.2.2\n")
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    state = tmp_path / "state.json"
    state.write_text(json.dumps(ready_box()))
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.delenv("KUBECTL", raising=False)
    monkeypatch.setenv("FAKE_KUBECTL_STATE", str(state))
    monkeypatch.setenv("FAKE_KUBECTL_LOG", str(tmp_path / "calls.log"))
    return state


def set_state(path: Path, change: dict[str, Any]) -> None:
    state = ready_box()
    for key, value in change.items():
        if key in state["objects"]:
            state["objects"][key] = value
        else:
            state[key] = value
    path.write_text(json.dumps(state))


def calls(state: Path) -> list[list[str]]:
    log = state.with_name("calls.log")
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def findings(raw: Raw) -> list[Finding]:
    return cluster(config_of(raw), rendered(raw).resources)


def levels(found: list[Finding]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for f in found:
        out.setdefault(f.level, set()).add(f.subject)
    return out


def test_a_ready_k3s_box_passes_and_the_doctor_only_reads(
    fake_bin: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_stack_file(tmp_path, gpu_box())
    assert main(["--stack", "test", "--config-file", str(path)]) == 0
    out = capsys.readouterr().out
    assert "ok    cluster.context: gpu-box" in out
    assert "ok    cluster.runtimeClassName: 'nvidia' (handler nvidia)" in out
    assert "k3s ServiceLB" in out and "1 cluster DNS pods" in out
    assert "--    gpu: the NVIDIA driver and container toolkit on gpu-box" in out
    assert "doctor: 0 failed" in out
    made = calls(fake_bin)
    assert made, "kubectl was never asked"
    for call in made:
        verb = [a for a in call if not a.startswith("-")][:2]
        assert verb[0] in {"config", "version", "get"} or verb[:1] == ["gpu-box"], call
        if verb[0] != "config":
            assert call[call.index("--context") + 1] == "gpu-box"  # the stack's, not current


def test_every_first_install_problem_is_named_by_its_key(fake_bin: Path) -> None:
    set_state(
        fake_bin,
        {
            "nodes": [
                {
                    **node(ready=False, capacity={"nvidia.com/gpu": "2"}),
                    "metadata": {"name": "gpu-box"},
                }
            ],
            "runtimeclasses": [],
            "storageclasses": [{"metadata": {"name": "standard"}}],
            "pods": [],
            "namespaces": [{"metadata": {"name": "monitoring"}}],
            "daemonsets": [
                {
                    "metadata": {
                        "name": "nvidia-device-plugin-daemonset",
                        "namespace": "gpu-operator",
                    }
                }
            ],
        },
    )
    raw = gpu_box()
    raw["nodePools"][0]["nodeCpu"] = 64
    found = levels(findings(raw))
    assert {
        "nodePools[0].nodes",  # not Ready
        "nodePools[0].nodeCpu",  # 64 > 32 allocatable
        "nodePools[0].gpusPerNode",  # 4 configured, 2 advertised
        "cluster.runtimeClassName",
        "models[0].cache.storageClass",  # local-path does not exist
        "dns",
        "namespaces",  # monitoring exists, not made by Pulumi
    } <= found["fail"]
    assert {"gpu", "cluster.loadBalancers"} <= found["warn"]


def test_k3s_traefik_holding_the_gateway_ports_is_named(fake_bin: Path) -> None:
    traefik = {
        "metadata": {"name": "traefik", "namespace": "kube-system"},
        "spec": {"type": "LoadBalancer", "ports": [{"port": 80}, {"port": 443}]},
        "status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.10"}]}},
    }
    set_state(fake_bin, {"services": [traefik]})
    (blocked,) = [f for f in findings(gpu_box()) if f.level == "fail"]
    assert blocked.subject == "gateway.serviceType"
    assert "kube-system/traefik" in blocked.text and "--disable traefik" in blocked.text


def test_what_pulumi_created_on_an_earlier_run_is_no_problem(fake_bin: Path) -> None:
    made_by_pulumi = {
        "name": "monitoring",
        "managedFields": [{"manager": "pulumi-kubernetes-7f3a"}],
    }
    set_state(fake_bin, {"namespaces": [{"metadata": made_by_pulumi}]})
    assert "namespaces" not in levels(findings(gpu_box())).get("fail", set())


def test_an_unset_storage_class_needs_a_default_one(fake_bin: Path) -> None:
    set_state(fake_bin, {"storageclasses": [{"metadata": {"name": "local-path"}}]})
    raw = gpu_box()
    raw["models"][0]["cache"] = {}
    found = [f for f in findings(raw) if f.level == "fail"]
    assert [f.subject for f in found] == ["models[0].cache.storageClass"]
    assert "no StorageClass is the default (it has: local-path)" in found[0].text


def test_an_unreachable_api_server_is_one_line(fake_bin: Path) -> None:
    set_state(fake_bin, {"unreachable": True})
    found = findings(gpu_box())
    assert [(f.level, f.subject) for f in found] == [("fail", "cluster")]
    assert "i/o timeout" in found[0].text


def test_a_missing_context_names_the_ones_there_are(fake_bin: Path) -> None:
    set_state(fake_bin, {"contexts": ["kind-llm-platform"]})
    (only,) = findings(gpu_box())
    assert only.level == "fail" and only.subject == "cluster.context"
    assert "'gpu-box'" in only.text and "kind-llm-platform" in only.text


def test_a_gke_stack_reads_no_cluster_and_says_so(fake_bin: Path) -> None:
    (only,) = findings(gke_region())
    assert only.level == "skip" and "creates its GKE cluster" in only.text
    assert calls(fake_bin) == []


def test_what_cannot_be_checked_from_here_is_listed_with_how() -> None:
    said = {f.subject: f.text for f in not_checked(config_of(gpu_box()))}
    assert "nvidia-smi" in said["gpu"]
    assert "docker login registry.internal:5000/llm-platform" in said["images.registry"]
    assert "gatewayAddress" in said["gateway.hostname"]


def test_a_stack_file_that_does_not_plan_stops_the_doctor(
    fake_bin: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = gpu_box()
    raw["models"][0]["tensorParallel"] = 3
    path = write_stack_file(tmp_path, raw)
    assert main(["--stack", "test", "--config-file", str(path)]) == 2
    err = capsys.readouterr().err
    assert "llm-platform:models[0].tensorParallel" in err and "1, 2, 4" in err
    assert calls(fake_bin) == []


@pytest.mark.parametrize(
    ("text", "value"), [("32", 32), ("31500m", 31.5), ("131072Ki", 2**27), ("120Gi", 120 * 2**30)]
)
def test_quantities_read_as_kubernetes_writes_them(text: str, value: float) -> None:
    assert quantity(text) == value


def test_in_a_pair_the_record_is_the_programs_not_the_users() -> None:
    said = {f.subject: f.text for f in not_checked(config_of(gke_region()))}
    assert "written by the secondary stack" in said["gateway.hostname"]
    secondary = gke_region()
    secondary["dr"] = {
        "role": "secondary",
        "active": "primary",
        "peerStack": "org/llm-platform/dr-primary",
        "dns": {"provider": "cloudDns", "name": "llm.example.com.", "managedZone": "example"},
    }
    said = {f.subject: f.text for f in not_checked(config_of(secondary))}
    assert "gateway.hostname" not in said
    assert "through cloudDns" in said["dr.dns"]
