"""Every await a first `pulumi up` goes through lasts at least as long as what it waits
for: a model's replica its first install (image, weights, start, padded), a DR primary's
snapshot Job its copy, a Helm release the pull of the images Helm renders for it. Over
every shipped stack, example and builder case; and the timeouts follow a slow link."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from infra.catalog.provider import DEFAULT_AWAIT_SECONDS
from infra.config import StackConfig, parse
from infra.engine import RunResult
from tests.assembly import budgets
from tests.assembly.cases import NAMES, assembly, config, result
from tests.assembly.graph import Assembly
from tests.builders import gpu_box, pooled_and_sleeping, rendered
from tests.helpers import by_type, one


@pytest.mark.parametrize("name", NAMES)
def test_workloads_are_awaited_at_least_their_first_install(name: str) -> None:
    assert budgets.workload_problems(assembly(name), result(name)) == []


@pytest.mark.parametrize("name", NAMES)
def test_releases_are_awaited_at_least_their_images_pull(name: str) -> None:
    assert budgets.release_problems(assembly(name), config(name)) == []


def test_a_7b_first_install_is_its_parts_padded() -> None:
    """Qwen2.5-7B on the 4090D box at the default 0.1 GB/s: schedule 5 s, the 12 GB image
    plus the loader's (121 s), 15.2 GB of weights (152 s), then the start (read 15 s,
    compile 15 s, graphs 20 s): 329 s, × startupSafetyFactor 3 = 986 s, past the
    provider's 600 s default; the Deployment gets 17 minutes."""
    model = rendered(gpu_box()).outputs["models"]["qwen2-5-7b"]
    assert model["firstInstallParts"] == {
        "schedule": 5,
        "imagePull": 121.0,
        "download": 152.3,
        "readWeights": 15.2,
        "torchCompile": 15,
        "cudaGraphCapture": 20,
    }
    assert (model["firstInstallEstimateSeconds"], model["firstInstallBudgetSeconds"]) == (329, 986)
    assert model["awaitTimeoutSeconds"] == 1020 > DEFAULT_AWAIT_SECONDS
    deployment = one(rendered(gpu_box()), "apps/v1:Deployment")
    assert deployment.custom_timeouts == {"create": "1020s", "update": "2040s"}


def test_a_slow_link_grows_every_timeout() -> None:
    """At 0.01 GB/s (10 MB/s) the image and the weights take ten times longer: the
    Deployment's and the releases' timeouts grow with them."""
    slow = gpu_box()
    slow["models"][0]["serving"] = {"downloadGbps": 0.01}
    fast, slow_run = rendered(gpu_box()), rendered(slow)
    model = slow_run.outputs["models"]["qwen2-5-7b"]
    assert model["firstInstallParts"]["download"] == 1523.1
    assert model["awaitTimeoutSeconds"] >= model["firstInstallBudgetSeconds"] > 8000
    faster = {
        r.inputs["name"]: r.inputs["timeout"] for r in fast.resources if "timeout" in r.inputs
    }
    slower = {
        r.inputs["name"]: r.inputs["timeout"] for r in slow_run.resources if "timeout" in r.inputs
    }
    assert all(slower[n] >= faster[n] for n in faster)
    assert slower["dcgm-exporter"] > faster["dcgm-exporter"]
    assert budgets.release_problems(Assembly(slow_run.resources, "1.31"), _config(slow)) == []


def test_a_timeout_below_its_budget_is_caught() -> None:
    """The broken fixture: the Deployment awaited at the provider's default 10 minutes, as
    before this check, fails it."""
    run = rendered(gpu_box())
    broken = copy.deepcopy(run.resources)
    [deployment] = [r for r in broken if r.type.endswith("apps/v1:Deployment")]
    deployment.custom_timeouts = {}
    problems = budgets.workload_problems(Assembly(broken, "1.31"), run)
    assert problems == [
        "Deployment llm-serving/qwen2-5-7b: awaited 600 s (create) / 600 s (update), below its "
        "first-install budget 986 s / rollout 2040 s"
    ]


def test_a_release_timeout_below_its_images_pull_is_caught() -> None:
    run = rendered(pooled_and_sleeping())
    broken = copy.deepcopy(run.resources)
    [kps] = [r for r in broken if r.inputs.get("name") == "kube-prometheus-stack"]
    kps.inputs["timeout"] = 60
    problems = budgets.release_problems(Assembly(broken, "1.31"), _config(pooled_and_sleeping()))
    assert problems == [
        "kubernetes:helm.sh/v3:Release monitoring/kube-prometheus-stack: timeout 60 s below its "
        "budget 300 s"
    ]


def _release_timeouts(run: RunResult) -> dict[str, int]:
    return {str(r.inputs["name"]): int(r.inputs["timeout"]) for r in by_type(run, "v3:Release")}


def _config(raw: dict[str, Any]) -> StackConfig:
    return parse(raw, "stacks/Pulumi.test.yaml")
