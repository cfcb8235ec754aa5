"""What the primary publishes for its secondary, and how the secondary checks it. Pure."""

from __future__ import annotations

from typing import Any

from infra.config import Problem, StackConfig


def published_models(cfg: StackConfig) -> dict[str, dict[str, str]]:
    """The bits each deployment serves: both sides must serve exactly these."""
    return {m.name: {"model": m.model, "revision": m.revision} for m in cfg.models}


def compare_with_primary(cfg: StackConfig, primary: dict[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    theirs: dict[str, dict[str, str]] = primary.get("models", {})
    for i, m in enumerate(cfg.models):
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
    if built is not None and built != cfg.images.build:
        problems.append(
            Problem(
                "images.build",
                f"{cfg.images.build} here but {built} on the "
                "primary: the secondary runs the primary's images, so both "
                "must say the same",
            )
        )
    own = {m.name for m in cfg.models}
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
