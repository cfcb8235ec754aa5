"""Probe, drain and shared-memory numbers are derived from each other and the model."""

import math

from infra.planning.budgets import budgets, startup_estimate_seconds
from infra.planning.memory import shm_gib
from tests.builders import gpu_box
from tests.helpers import plan_of


def test_grace_period_covers_prestop_drain_and_exit() -> None:
    raw = gpu_box()
    raw["models"][0]["serving"] = {
        "preStopSeconds": 15,
        "shutdownTimeoutSeconds": 300,
        "terminationMarginSeconds": 20,
    }
    b = budgets(plan_of(raw).models[0])
    assert b.termination_grace_seconds == 15 + 300 + 20
    assert b.termination_grace_seconds >= b.pre_stop_seconds + b.shutdown_timeout_seconds


def test_startup_budget_covers_the_padded_estimate_and_grows_with_model_size() -> None:
    raw = gpu_box()
    small_raw = gpu_box()
    small_raw["models"][0].update(model="Qwen/Qwen2.5-0.5B-Instruct", tensorParallel=1)
    big, small = plan_of(raw).models[0], plan_of(small_raw).models[0]
    b = budgets(big)
    # 15.2 GB at 1 GB/s + 15 s compile + 20 s CUDA graphs = 51 s, × 3 safety -> 16 probes of 10 s.
    assert startup_estimate_seconds(big) == math.ceil(15.23 + 15 + 20)
    assert b.startup.failure_threshold == math.ceil(51 * 3 / 10) == 16
    assert b.startup.budget_seconds >= startup_estimate_seconds(big) * 3
    assert startup_estimate_seconds(small) < startup_estimate_seconds(big)


def test_slower_cache_volume_raises_the_startup_budget() -> None:
    raw = gpu_box()
    fast = budgets(plan_of(raw).models[0]).startup.failure_threshold
    raw["models"][0]["serving"] = {"cacheReadGbps": 0.2}
    assert budgets(plan_of(raw).models[0]).startup.failure_threshold > fast


def test_shm_rule() -> None:
    assert shm_gib(1) is None
    assert shm_gib(2) == 2
    assert shm_gib(4) == 4


def test_shm_is_counted_in_the_pod_memory() -> None:
    plan = plan_of(gpu_box()).models[0]
    # API server + engine core + 2 workers at 3 GiB, plus 2 GiB of /dev/shm.
    assert plan.resources.shm_gib == 2
    assert plan.resources.memory_gib == 3 * 4 + 2
    assert plan.resources.cpu == 2 * 4
