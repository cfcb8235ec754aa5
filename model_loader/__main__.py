"""python -m model_loader: fill the cache (init container), or mirror into a bucket (DR)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from model_loader.loader import LoadError, load, model_dir
from model_loader.sources import SourceError, mirror_for, source_for


def main(argv: list[str] | None = None) -> int:
    env = os.environ
    parser = argparse.ArgumentParser(prog="model-loader", description=__doc__)
    parser.add_argument("--model", default=env.get("MODEL_ID"), help="hub repo id (MODEL_ID)")
    parser.add_argument(
        "--revision", default=env.get("MODEL_REVISION"), help="pinned revision (MODEL_REVISION)"
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path(env.get("MODEL_CACHE", "/models")),
        help="cache volume root (MODEL_CACHE)",
    )
    parser.add_argument(
        "--source",
        default=env.get("MODEL_SOURCE", "hub"),
        help="hub, or gs://BUCKET/PREFIX (MODEL_SOURCE)",
    )
    parser.add_argument(
        "--mirror-to",
        default=env.get("MODEL_MIRROR"),
        help="after loading, copy the files to gs://BUCKET/PREFIX",
    )
    args = parser.parse_args(argv)
    if not args.model or not args.revision:
        print(
            "model-loader: set --model and --revision (or MODEL_ID, MODEL_REVISION)",
            file=sys.stderr,
        )
        return 2
    log: list[str] = []
    try:
        source = source_for(args.source, args.model, args.revision, env.get("HF_TOKEN"))
        target = model_dir(args.cache, args.model, args.revision)
        plan = load(source, target, log)
        if args.mirror_to:
            mirror = mirror_for(args.mirror_to)
            present = {f.path: f.size for f in mirror.list_files()}
            for f in plan.wanted:
                if present.get(f.path) != f.size:
                    mirror.upload_file(f.path, target / f.path)
            log.append(f"mirrored {len(plan.wanted)} files to {args.mirror_to}")
    except (LoadError, SourceError) as exc:
        for line in log:
            print(f"model-loader: {line}")
        print(f"model-loader: {args.model}@{args.revision}: {exc}", file=sys.stderr)
        return 1
    for line in log:
        print(f"model-loader: {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
