"""The `images` section: the catalog's public images, or images this stack builds."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field, StringConstraints

from infra.config.base import Problem, Section, problems_if

if TYPE_CHECKING:
    from infra.config.stack import StackConfig

Digest = Annotated[str, StringConstraints(pattern=r"^sha256:[0-9a-f]{64}$")]


class ImagesConfig(Section):
    build: bool = Field(
        default=False,
        description="build images/ with Docker and push them; off: the catalog's public images",
    )
    registry: (
        Annotated[str, StringConstraints(pattern=r"^[a-z0-9.-]+(:[0-9]+)?(/[a-z0-9._-]+)*$")] | None
    ) = Field(
        default=None, description="where built images go, e.g. registry.example.com/llm (build)"
    )
    platform: Literal["linux/amd64", "linux/arm64"] = "linux/amd64"
    vllm_digest: Digest | None = Field(
        default=None, description="pin the vLLM GPU base image by digest"
    )
    vllm_cpu_digest: Digest | None = Field(
        default=None, description="pin the vLLM CPU base image by digest"
    )
    python_digest: Digest | None = Field(
        default=None, description="pin the model loader's Python base image by digest"
    )


def check_images(cfg: StackConfig) -> list[Problem]:
    """A build pushes somewhere."""
    return problems_if(
        cfg.images.build and cfg.images.registry is None,
        "images.registry",
        "images.build pushes to a registry: set one, e.g. registry.example.com/llm-platform",
    )
