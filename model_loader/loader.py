"""Download plan, verification and idempotence for one model revision."""

from __future__ import annotations

import contextlib
import fcntl
import fnmatch
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from model_loader.sources import RemoteFile, Source, SourceError

# What vLLM loads: weights as safetensors, configs, tokenizer files. Skipped: duplicate
# weight formats (.bin, .pth, .gguf) and Llama's `original/` (consolidated .pth, as large
# as the model itself).
IGNORE = ("original/*", "*.pth", "*.bin", "*.gguf", "*.pt", ".gitattributes")
MARKER = ".complete.json"
LOCK = ".loader.lock"


class LoadError(Exception):
    """Why the cache could not be filled; printed as one line, exit status 1."""


@dataclass(frozen=True)
class Plan:
    target: Path
    wanted: list[RemoteFile]
    fetch: list[RemoteFile]  # missing or wrong in the cache

    @property
    def complete(self) -> bool:
        return not self.fetch


def model_dir(cache: Path, repo: str, revision: str) -> Path:
    """/models/<org>/<name>/<revision>: the path vLLM is started with."""
    return cache / repo / revision


def _wanted(files: list[RemoteFile]) -> list[RemoteFile]:
    return sorted(
        (f for f in files if not any(fnmatch.fnmatch(f.path, p) for p in IGNORE)),
        key=lambda f: f.path,
    )


def _safe(target: Path, relative: str) -> Path:
    path = (target / relative).resolve()
    if not path.is_relative_to(target.resolve()):
        raise LoadError(f"refusing a path outside the model directory: {relative!r}")
    return path


def make_plan(source: Source, target: Path) -> Plan:
    try:
        wanted = _wanted(source.list_files())
    except SourceError as exc:
        raise LoadError(f"cannot list {source.description}: {exc}") from None
    if not any(f.path.endswith(".safetensors") for f in wanted):
        raise LoadError(f"{source.description} has no .safetensors weights")
    marker = _read_marker(target)
    fetch = [f for f in wanted if not _present(target, f, marker)]
    return Plan(target, wanted, fetch)


def _write_marker(target: Path, source: Source, files: dict[str, int]) -> None:
    partial = target / (MARKER + ".partial")
    partial.write_text(
        json.dumps({"source": source.description, "files": files}, indent=1, sort_keys=True)
    )
    os.replace(partial, target / MARKER)


def _read_marker(target: Path) -> dict[str, int]:
    try:
        return dict(json.loads((target / MARKER).read_text())["files"])
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def _present(target: Path, f: RemoteFile, marker: dict[str, int]) -> bool:
    """Verified earlier (marker) and unchanged in size: no need to hash gigabytes again."""
    path = _safe(target, f.path)
    return path.is_file() and path.stat().st_size == f.size and marker.get(f.path) == f.size


def _verify(f: RemoteFile, size: int, sha256: str, md5: str) -> None:
    if size != f.size:
        raise LoadError(f"{f.path}: got {size} bytes, the source lists {f.size}")
    if f.sha256 and sha256 != f.sha256:
        raise LoadError(f"{f.path}: sha256 {sha256} does not match the source's {f.sha256}")
    if f.md5 and md5 != f.md5:
        raise LoadError(f"{f.path}: md5 {md5} does not match the source's {f.md5}")


def fetch_file(source: Source, target: Path, f: RemoteFile) -> None:
    """Download to a temporary name, verify, then rename: never a half file in place."""
    path = _safe(target, f.path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    sha256, md5, size = hashlib.sha256(), hashlib.md5(usedforsecurity=False), 0
    try:
        with partial.open("wb") as out:
            for chunk in source.open(f.path):
                out.write(chunk)
                sha256.update(chunk)
                md5.update(chunk)
                size += len(chunk)
        _verify(f, size, sha256.hexdigest(), md5.hexdigest())
    except SourceError as exc:
        partial.unlink(missing_ok=True)
        raise LoadError(f"cannot fetch {f.path} from {source.description}: {exc}") from None
    except LoadError:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, path)


@contextlib.contextmanager
def exclusive(target: Path, out: list[str]) -> Iterator[None]:
    """One loader at a time per model directory: replicas (and deployments of the same
    model) sharing a cache volume wait for the first, then find the cache complete. An
    advisory lock (flock; POSIX locks on NFS), released if the holder dies."""
    target.mkdir(parents=True, exist_ok=True)
    with (target / LOCK).open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            out.append(f"waiting for another loader filling {target}")
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def load(source: Source, target: Path, log: list[str] | None = None) -> Plan:
    """Make `target` hold exactly what `source` lists (filtered). Idempotent; one loader
    at a time per target."""
    out = log if log is not None else []
    with exclusive(target, out):
        return _load(source, target, out)


def _load(source: Source, target: Path, out: list[str]) -> Plan:
    plan = make_plan(source, target)
    if plan.complete:
        out.append(f"cache complete: {len(plan.wanted)} files in {target}")
        return plan
    total = sum(f.size for f in plan.fetch)
    out.append(
        f"fetching {len(plan.fetch)} of {len(plan.wanted)} files ({total} bytes) "
        f"from {source.description}"
    )
    verified = {f.path: f.size for f in plan.wanted if f not in plan.fetch}
    for f in plan.fetch:
        fetch_file(source, target, f)
        # Record each verified file as it lands: a restart resumes instead of starting over.
        verified[f.path] = f.size
        _write_marker(target, source, verified)
    out.append(f"cache complete: {len(plan.wanted)} files in {target}")
    return plan
