"""The `images` section: the catalog's public images, or images this stack builds."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field, StringConstraints

from infra.config.base import Problem, Section, problems_if

if TYPE_CHECKING:
    from infra.config.stack import StackConfig

Digest = Annotated[str, StringConstraints(pattern=r"^sha256:[0-9a-f]{64}$")]


class ImagesConfig(Section):
    """Which images pods run: the catalog's public ones by digest, or ones this stack builds."""

    build: bool = Field(
        default=False,
        description="build images/ with Docker and push them; off: the catalog's public images",
    )
    registry: (
        Annotated[str, StringConstraints(pattern=r"^[a-z0-9.-]+(:[0-9]+)?(/[a-z0-9._-]+)*$")] | None
    ) = Field(
        default=None, description="where built images go, e.g. registry.example.com/llm (build)"
    )
    platform: Literal["linux/amd64", "linux/arm64"] = Field(
        default="linux/amd64", description="the nodes' architecture (build)"
    )
    vllm_digest: Digest | None = Field(
        default=None,
        description="the public vLLM GPU image's digest: what pods run without a build, "
        "the base of the built image with one",
    )
    vllm_cpu_digest: Digest | None = Field(
        default=None,
        description="the public vLLM CPU image's digest: what pods run without a build, "
        "the base of the built image with one",
    )
    redis_digest: Digest | None = Field(
        default=None,
        description="the Redis image's digest (gateway.limits: global; production needs it)",
    )
    python_digest: Digest | None = Field(
        default=None,
        description="the base of the built model-loader image (build only: without a "
        "build the loader runs on the vLLM image)",
    )


def check_images(cfg: StackConfig) -> list[Problem]:
    """A build pushes somewhere; no digest is set where nothing would use it."""
    images = cfg.images
    devices = {m.device for m in cfg.models}
    unused = [
        ("pythonDigest", images.python_digest is not None and not images.build,
         "pins the base of the model-loader image a build makes; without images.build the "
         "loader runs on the vLLM image: pin that with vllmDigest/vllmCpuDigest"),
        ("vllmDigest", images.vllm_digest is not None and "gpu" not in devices,
         "no model runs on a GPU in this stack: remove it (vllmCpuDigest pins the CPU image)"),
        ("vllmCpuDigest", images.vllm_cpu_digest is not None and "cpu" not in devices,
         "no model runs on CPU in this stack: remove it (vllmDigest pins the GPU image)"),
        ("redisDigest", images.redis_digest is not None
         and (cfg.gateway.limits != "global" or cfg.gateway.redis.url is not None),
         "the stack runs no Redis (gateway.limits: global without gateway.redis.url does)"),
    ]  # fmt: skip
    problems = problems_if(
        images.build and images.registry is None,
        "images.registry",
        "images.build pushes to a registry: set one, e.g. registry.example.com/llm-platform",
    )
    for key, wrong, why in unused:
        problems += problems_if(wrong, f"images.{key}", why)
    return problems
