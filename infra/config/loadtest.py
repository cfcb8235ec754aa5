"""The `loadTest` section: vLLM's own benchmark client against the gateway's endpoint."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from infra.config.base import INT32_MAX, Problem, Section, problems_if

if TYPE_CHECKING:
    from infra.config.stack import StackConfig


class LoadTestConfig(Section):
    """vLLM's benchmark against the gateway, started on demand by `make loadtest`."""

    enabled: bool = Field(
        default=False,
        description="declare the load test (a suspended CronJob `make loadtest` starts)",
    )
    model: str | None = Field(
        default=None, description="the public model name to load; None = the first one"
    )
    input_len: int = Field(default=1024, ge=1, le=1_000_000, description="prompt tokens")
    output_len: int = Field(default=256, ge=1, le=1_000_000, description="output tokens")
    num_prompts: int = Field(default=200, ge=1, le=INT32_MAX, description="requests in one run")
    request_rate: float | None = Field(
        default=None, gt=0, description="requests per second (Poisson); None = all at once"
    )
    max_concurrency: int | None = Field(
        default=None, ge=1, le=INT32_MAX, description="requests in flight at most"
    )
    timeout_minutes: int = Field(
        default=30, ge=1, le=24 * 60, description="how long the Job may run"
    )


def check_load_test(cfg: StackConfig) -> list[Problem]:
    lt = cfg.load_test
    if not lt.enabled:
        return []
    served = [r.model for r in cfg.gateway.routes] + [m.served_name for m in cfg.models]
    limits = [m.max_model_len for m in cfg.models if m.max_model_len]
    longest = min(limits) if limits else 0
    return (
        problems_if(
            not cfg.gateway.enabled,
            "loadTest.enabled",
            "the load test goes through the gateway's endpoint: enable gateway",
        )
        + problems_if(
            lt.model is not None and lt.model not in served,
            "loadTest.model",
            f"{lt.model!r} is not a public model name; served: {', '.join(dict.fromkeys(served))}",
        )
        + problems_if(
            bool(longest) and lt.input_len + lt.output_len > longest,
            "loadTest.inputLen",
            f"inputLen + outputLen = {lt.input_len + lt.output_len} exceeds the shortest "
            f"maxModelLen ({longest}): vLLM would refuse every request",
        )
    )
