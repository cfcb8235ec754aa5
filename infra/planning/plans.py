"""What the planner decides, per model and per pool: frozen records, no logic beyond
derived properties."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from infra.catalog.gpus import GpuSpec
from infra.catalog.models import ModelGeometry
from infra.catalog.versions import ChartRef
from infra.config import (
    ModelConfig,
    NodePoolConfig,
    Problem,
)
from infra.planning.autoscaling import ScalingPlan
from infra.planning.cache import CacheLayout
from infra.planning.memory import MemoryPlan, Resources

if TYPE_CHECKING:
    from infra.planning.awaits import AwaitPlan


class Problems:
    """Problems collected while planning; raised together as one ConfigError."""

    def __init__(self) -> None:
        self.items: list[Problem] = []

    def add(self, path: str, message: str) -> None:
        self.items.append(Problem(path, message))


@dataclass(frozen=True)
class Rollout:
    max_surge: int
    max_unavailable: int


@dataclass(frozen=True)
class ServingPlan:
    model: ModelConfig
    geometry: ModelGeometry
    gpu: GpuSpec | None  # None: CPU backend
    pool: NodePoolConfig | None
    max_model_len: int
    max_num_seqs: int
    max_num_batched_tokens: int
    memory: MemoryPlan
    resources: Resources
    rollout: Rollout
    weights_on_disk_bytes: int
    cache_size_gib: int
    scaling: ScalingPlan | None = None  # None: a fixed number of replicas
    zones: tuple[str, ...] = ()  # a cloud pool's zones; empty on-prem
    standby_replicas: int | None = None  # DR standby side: the warm minimum it runs
    ttft_buckets: tuple[float, ...] = ()  # TTFT histogram bounds; () = vLLM's defaults
    cache: CacheLayout | None = None  # set by plan_platform (planning/cache.py)
    awaits: AwaitPlan | None = None  # set by plan_platform (planning/awaits.py)

    @property
    def active_replicas(self) -> int:
        """What the model serves with when active: the fixed count or the autoscaling floor."""
        return self.scaling.min_replicas if self.scaling else self.model.replicas

    @property
    def sleeps(self) -> bool:
        """Scales to zero when idle; the gateway wakes it (planning/wake.py)."""
        return self.scaling is not None and self.scaling.sleeps

    @property
    def cache_layout(self) -> CacheLayout:
        assert self.cache is not None, "plan_platform sets the cache layout"
        return self.cache

    @property
    def await_plan(self) -> AwaitPlan:
        assert self.awaits is not None, "plan_platform sets the awaits"
        return self.awaits

    @property
    def cache_per_pod(self) -> bool:
        """Each pod fills its own cache (cloud pools; several nodes without RWX storage)."""
        return self.cache_layout.per_pod

    @property
    def max_replicas(self) -> int:
        """Replicas the pool must have room for: the autoscaling maximum, or the fixed count."""
        return self.scaling.max_replicas if self.scaling else self.model.replicas

    @property
    def gpus_per_replica(self) -> int:
        return self.model.tensor_parallel * self.model.pipeline_parallel if self.gpu else 0

    @property
    def gpu_request(self) -> int:
        """`nvidia.com/gpu` per pod: physical GPUs, or one time-slice when sharing."""
        return 1 if self.model.gpu_share > 1 else self.gpus_per_replica

    @property
    def no_p2p_tp(self) -> bool:
        """Several GPUs talk over NCCL on cards without P2P: NCCL must be told."""
        return self.gpu is not None and not self.gpu.p2p and self.gpus_per_replica > 1

    @property
    def cache_access_mode(self) -> str:
        return self.cache_layout.access_mode

    @property
    def cache_claim(self) -> str:
        """The claim holding the weights: this model's, or the grouped model's it shares."""
        return f"{self.cache_layout.owner}-model-cache"

    @property
    def owns_cache_claim(self) -> bool:
        return not self.cache_per_pod and self.cache_layout.owner == self.model.name

    @property
    def yarn_max_position(self) -> int | None:
        rope = self.model.rope_scaling
        if rope is None:
            return None
        return int(self.geometry.max_position_embeddings * rope.factor)


@dataclass(frozen=True)
class PoolPlan:
    pool: NodePoolConfig
    gpu: GpuSpec
    time_slices: int  # replicas per GPU advertised by the device plugin (1 = exclusive)
    nodes: list[str] = field(default_factory=list)  # existing nodes, or a cloud pool's slots
    placement: dict[str, list[str]] = field(default_factory=dict)  # node -> replica ids
    free_slots: dict[str, int] = field(default_factory=dict)  # node -> unused nvidia.com/gpu

    @property
    def slots(self) -> int:
        return len(self.nodes) * self.pool.gpus_per_node * self.time_slices

    @property
    def used_slots(self) -> int:
        return self.slots - sum(self.free_slots.values())


@dataclass(frozen=True)
class ReleasePlan:
    """How one Helm release is installed (planning/releases.py)."""

    chart: ChartRef
    timeout_seconds: int  # what Helm waits in each phase (planning/awaits.py)
    vendored: bool  # from this repository's charts/, else from the chart's own repository


@dataclass(frozen=True)
class PlatformPlan:
    models: list[ServingPlan]
    pools: dict[str, PoolPlan]
    releases: dict[str, ReleasePlan] = field(default_factory=dict)  # by versions.CHARTS key
