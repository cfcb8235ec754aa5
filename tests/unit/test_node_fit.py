"""Replicas fit their node's CPU and memory, not only its GPUs."""

from __future__ import annotations

from typing import Any

import pytest

from infra.catalog.machines import MACHINE_TYPES, NODE_AGENTS, gke_allocatable
from infra.catalog.vllm import GIB
from infra.config import ConfigError
from infra.manifests.gpu_runtime import DEVICE_PLUGIN_RESOURCES
from infra.manifests.observability.values import SIZES
from policies.rules.base import quantity
from tests.builders import gpu_box
from tests.helpers import fixed_replicas, plan_of

SOURCE = "stacks/Pulumi.test.yaml"


def test_node_agents_reserve_covers_the_daemonsets_on_every_gpu_node() -> None:
    agents = [DEVICE_PLUGIN_RESOURCES, SIZES["dcgm-exporter"], SIZES["node-exporter"]]
    cpu = sum(quantity(a["requests"]["cpu"]) or 0 for a in agents)
    memory = sum(quantity(a["requests"]["memory"]) or 0 for a in agents) / GIB
    assert cpu <= NODE_AGENTS.cpu and memory <= NODE_AGENTS.memory_gib


def test_gke_allocatable_follows_the_published_reservation_tiers() -> None:
    node = gke_allocatable(MACHINE_TYPES["g2-standard-8"])
    # CPU: 6% of core 1, 1% of core 2, 0.5% of cores 3-4, 0.25% of cores 5-8.
    assert node.cpu == pytest.approx(8 - (0.06 + 0.01 + 0.01 + 0.01))
    # Memory: 25% of 4, 20% of 4, 10% of 8, 6% of 16, plus the 100 MiB eviction threshold.
    assert node.memory_gib == pytest.approx(32 - (1 + 0.8 + 0.8 + 0.96) - 100 / 1024)


def _sized(cpu: float | None, memory: float | None) -> dict[str, Any]:
    raw = fixed_replicas(gpu_box(), 2)
    pool = raw["nodePools"][0]
    pool.update({k: v for k, v in (("nodeCpu", cpu), ("nodeMemoryGib", memory)) if v})
    return raw


def test_two_tp2_replicas_fit_a_workstation_that_states_its_size() -> None:
    # Each replica: 8 cores (4 per GPU) and 3 processes x 3 GiB + 2 GiB /dev/shm = 14 GiB.
    plan = plan_of(_sized(32, 120))
    assert [p.resources.memory_gib for p in plan.models] == [14]
    assert plan.models[0].resources.cpu == 8


def test_a_node_too_small_for_its_replicas_is_refused_with_the_numbers() -> None:
    with pytest.raises(ConfigError) as caught:
        plan_of(_sized(32, 24), SOURCE)
    [line] = caught.value.lines()
    assert line.startswith(f"{SOURCE}: llm-platform:nodePools[0].nodeMemoryGib: node gpu-box")
    assert "would need 29 GiB memory for qwen2-5-7b/0, qwen2-5-7b/1" in line
    assert "offers 24" in line


def test_cpu_is_checked_too() -> None:
    with pytest.raises(ConfigError) as caught:
        plan_of(_sized(12, None), SOURCE)
    assert "nodePools[0].nodeCpu: node gpu-box would need 16.5 CPU cores" in caught.value.lines()[0]


def test_nodes_without_a_stated_size_are_not_checked() -> None:
    assert plan_of(_sized(None, None)).models


def test_a_gke_pool_takes_its_size_from_the_machine_type() -> None:
    raw = gpu_box(
        cluster={
            "provider": "gke",
            "project": "my-project-1",
            "region": "us-central1",
            "zones": ["us-central1-a", "us-central1-b", "us-central1-c"],
        },
        nodePools=[
            {
                "name": "l4",
                "gpu": "l4",
                "gpusPerNode": 1,
                "machineType": "g2-standard-4",
                "maxNodes": 2,
            }
        ],
        gateway={"tls": {"mode": "none"}},
    )
    raw["models"][0].update(pool="l4", tensorParallel=1, maxModelLen=8192)
    with pytest.raises(ConfigError) as caught:
        plan_of(raw, SOURCE)
    assert any(
        "nodePools[0].machineType: node us-central1-a/0 would need 4.5 CPU cores" in line
        and "machineType g2-standard-4" in line
        for line in caught.value.lines()
    ), caught.value.lines()
    raw["nodePools"][0]["nodeCpu"] = 8
    with pytest.raises(ConfigError) as caught:
        plan_of(raw, SOURCE)
    assert any("nodePools[0].nodeCpu: a GKE pool's node size" in x for x in caught.value.lines())
