"""Images: build and push our vLLM and model-loader images (pulumi-docker)."""

from __future__ import annotations

from typing import TypedDict

import pulumi
import pulumi_docker as docker

from infra.catalog.versions import IMAGES, PLATFORM_IMAGES_VERSION, VLLM_VERSION
from infra.components.paths import repo_path
from infra.config import ImagesConfig


def _base(key: str, digest: str | None) -> str:
    return IMAGES[key].pinned(digest)


# image key -> (Dockerfile, build argument, base image key, its digest field)
BUILDS = {
    "vllm": ("images/vllm/Dockerfile", "VLLM_IMAGE", "vllm", "vllm_digest"),
    "vllm-cpu": ("images/vllm/Dockerfile", "VLLM_IMAGE", "vllm-cpu", "vllm_cpu_digest"),
    "model-loader": ("images/model-loader/Dockerfile", "PYTHON_IMAGE", "python", "python_digest"),
}


class ImagesArgs(TypedDict):
    config: ImagesConfig
    wanted: list[str]  # keys of BUILDS


class Images(pulumi.ComponentResource):
    """`digests[key]` is the pushed image's `repo@sha256:…`: Deployments pin that, not a tag."""

    def __init__(
        self, name: str, args: ImagesArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("llm-platform:images:Images", name, None, opts)
        cfg = args["config"]
        self.digests: dict[str, pulumi.Output[str]] = {}
        for key in args["wanted"]:
            dockerfile, arg, base, digest_field = BUILDS[key]
            tag = f"v{VLLM_VERSION}-{PLATFORM_IMAGES_VERSION}"
            image = docker.Image(
                key,
                image_name=f"{cfg.registry}/{key}:{tag}",
                build=docker.DockerBuildArgs(
                    context=repo_path("."),
                    dockerfile=repo_path(dockerfile),
                    args={arg: _base(base, getattr(cfg, digest_field))},
                    platform=cfg.platform,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.digests[key] = image.repo_digest
        self.register_outputs({"digests": self.digests})
