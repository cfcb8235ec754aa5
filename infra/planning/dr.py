"""What the primary publishes for its secondary, and how the secondary checks it. Pure."""

from __future__ import annotations

from typing import Any

from infra.config import ModelConfig, Problem


def published_models(models: list[ModelConfig]) -> dict[str, dict[str, str]]:
    """The bits each deployment serves: both sides must serve exactly these."""
    return {m.name: {"model": m.model, "revision": m.revision} for m in models}


def compare_with_primary(
    models: list[ModelConfig], images_build: bool, primary: dict[str, Any]
) -> list[Problem]:
    """The secondary's models (in stack-file order) against what the primary published."""
    problems: list[Problem] = []
    theirs: dict[str, dict[str, str]] = primary.get("models", {})
    for i, m in enumerate(models):
        other = theirs.get(m.name)
        if other is None:
            problems.append(
                Problem(
                    f"models[{i}].name",
                    f"the primary serves no model named "
                    f"{m.name!r}; its models: {', '.join(theirs) or 'none'}",
                )
            )
        elif other["model"] != m.model:
            problems.append(
                Problem(
                    f"models[{i}].model",
                    f"{m.model!r} differs from the "
                    f"primary's {other['model']!r}: both sides must serve the "
                    "same bits",
                )
            )
        elif other["revision"] != m.revision:
            problems.append(
                Problem(
                    f"models[{i}].revision",
                    f"{m.revision!r} differs from the "
                    f"primary's {other['revision']!r}: both sides must serve "
                    "the same bits",
                )
            )
    built = primary.get("imagesBuilt")
    if built is not None and built != images_build:
        problems.append(
            Problem(
                "images.build",
                f"{images_build} here but {built} on the "
                "primary: the secondary runs the primary's images, so both "
                "must say the same",
            )
        )
    own = {m.name for m in models}
    for name in theirs:
        if name not in own:
            problems.append(
                Problem(
                    "models",
                    f"the primary also serves {name!r}; after a "
                    "failover its clients would get errors: add it here",
                )
            )
    return problems
