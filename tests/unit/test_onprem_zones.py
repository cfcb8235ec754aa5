"""Failure domains on-prem: nodes carry their rack or room as the zone label, and a pool
over several gets the zone spread and zone-loss check GKE pools get."""

from __future__ import annotations

from typing import Any

import pytest

from infra.config import ConfigError
from infra.plan import manifest_of
from tests.builders import gpu_box, rendered
from tests.helpers import by_type, fixed_replicas, one, plan_of, pod_spec

RACKS = {"gpu-a": "rack-a", "gpu-b": "rack-b", "gpu-c": "rack-c"}


def racks(replicas: int, zones: dict[str, str] = RACKS) -> dict[str, Any]:
    raw = fixed_replicas(gpu_box(), replicas)
    raw["nodePools"][0].update(nodes=list(zones), nodeZones=zones)
    raw["models"][0]["cache"] = {"storageClass": "nfs-client"}
    raw["cluster"]["readWriteManyStorageClasses"] = ["nfs-client"]
    return raw


def test_nodes_are_labelled_with_their_zone_and_replicas_spread_over_them() -> None:
    result = rendered(racks(3))
    patches = {
        r.inputs["metadata"]["name"]: r.inputs["metadata"]["labels"]
        for r in by_type(result, "core/v1:NodePatch")
    }
    assert {n: labels["topology.kubernetes.io/zone"] for n, labels in patches.items()} == RACKS
    spread = pod_spec(one(result, "apps/v1:Deployment"))["topologySpreadConstraints"]
    zone = next(s for s in spread if s["topologyKey"] == "topology.kubernetes.io/zone")
    assert zone["whenUnsatisfiable"] == "DoNotSchedule"
    pools = result.outputs["gpuPools"]
    assert pools["rtx4090d"]["failureDomains"].startswith("3 zones (rack-a, rack-b, rack-c)")


def test_losing_a_rack_must_leave_two_thirds_of_the_replicas() -> None:
    two_racks = {"gpu-a": "rack-a", "gpu-b": "rack-b"}
    with pytest.raises(ConfigError) as caught:
        plan_of(racks(2, two_racks))
    [line] = [x for x in caught.value.lines() if "losing one zone" in x]
    assert "rack-a, rack-b" in line and "models[0].replicas" in line
    assert plan_of(racks(3)).models[0].zones == ("rack-a", "rack-b", "rack-c")


@pytest.mark.parametrize(
    ("zones", "words"),
    [
        ({"gpu-a": "rack-a", "gpu-b": "rack-b"}, "missing: gpu-c"),
        ({**RACKS, "gpu-z": "rack-z"}, "gpu-z not in this pool's nodes"),
    ],
    ids=["a node without a zone", "a zone for a node not in the pool"],
)
def test_node_zones_must_match_the_pools_nodes(zones: dict[str, str], words: str) -> None:
    raw = racks(3)
    raw["nodePools"][0]["nodeZones"] = zones
    with pytest.raises(ConfigError) as caught:
        plan_of(raw)
    [line] = [x for x in caught.value.lines() if "nodeZones" in x]
    assert words in line


def test_a_single_node_site_says_it_has_no_zone_redundancy() -> None:
    result = rendered(gpu_box())
    text = result.outputs["gpuPools"]["rtx4090d"]["failureDomains"]
    assert text.startswith("one node: no zone redundancy")
    spread = pod_spec(one(result, "apps/v1:Deployment")).get("topologySpreadConstraints", [])
    assert not [s for s in spread if s["topologyKey"] == "topology.kubernetes.io/zone"]
    assert manifest_of(one(result, "apps/v1:Deployment")) is not None
