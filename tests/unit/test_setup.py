"""The README's two commands work on any fresh machine (Debian, Ubuntu, macOS, GitHub's
runners): nothing the setup installs is pinned to what only one machine or one
distribution release has."""

from __future__ import annotations

import re

from infra.root import PROJECT_ROOT

SETUP_FILES = [
    "Makefile",
    "scripts/tools.sh",
    "pyproject.toml",
    "requirements.txt",
    "tests/engines/vllm-requirements.txt",
    "tests/engines/netpol-requirements.txt",
    ".github/workflows/llm-platform.yml",
]
# A PEP 440 local version (`torch==2.13.0+cpu`): only the index that built it has it.
LOCAL_VERSION = re.compile(r"==\s*[0-9][\w.!]*\+[\w.]+")
# A Debian/Ubuntu package revision (`prometheus=2.42.0+ds-5+deb12u1`, `…-1+b4`, `…ubuntu1`):
# only that distribution release carries it.
DISTRIBUTION_REVISION = re.compile(
    r"\b[a-z0-9][a-z0-9.+-]*=[0-9][\w.+~]*-[\w.+~]+|\+deb\d|\+b\d|ubuntu\d"
)


def _setup_lines() -> list[tuple[str, int, str]]:
    found = []
    for name in SETUP_FILES:
        for number, line in enumerate((PROJECT_ROOT / name).read_text().splitlines(), 1):
            found.append((name, number, line))
    return found


def test_nothing_is_pinned_to_a_local_build() -> None:
    pinned = [
        f"{n}:{i}: {line.strip()}" for n, i, line in _setup_lines() if LOCAL_VERSION.search(line)
    ]
    assert pinned == []


def test_nothing_is_pinned_to_a_distribution_release() -> None:
    pinned = [
        f"{n}:{i}: {line.strip()}"
        for n, i, line in _setup_lines()
        if DISTRIBUTION_REVISION.search(line) and not line.lstrip().startswith("#")
    ]
    assert pinned == []


def test_the_checks_catch_the_pins_this_project_had() -> None:
    assert LOCAL_VERSION.search("pip install torch==2.13.0+cpu")
    assert DISTRIBUTION_REVISION.search("apt-get download prometheus=2.42.0+ds-5+deb12u1")
    assert DISTRIBUTION_REVISION.search("prometheus-alertmanager=0.25.0-1+b4")
    assert not LOCAL_VERSION.search("pip install torch==2.13.0")
    assert not DISTRIBUTION_REVISION.search("apt-get download prometheus prometheus-alertmanager")
