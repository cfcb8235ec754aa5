"""`python -m infra.failover_switch --to secondary|primary`: flip `dr.active` in both DR
stack files (comments and layout kept). `make failover TO=…` runs it, then `pulumi up`."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from infra.config import PROJECT, STACK_CONFIG_DIR
from infra.root import PROJECT_ROOT

# The pairs `make failover PAIR=…` switches: the GKE regions, and the on-prem sites.
PAIRS = {"dr": ("dr-primary", "dr-secondary"), "site": ("site-a", "site-b")}
DR_STACKS = PAIRS["dr"]
_ACTIVE = re.compile(r"(\bactive:\s*)(primary|secondary)\b")


class SwitchError(Exception):
    pass


def set_active(text: str, to: str) -> tuple[str, str]:
    """Return (new text, previous value) with dr.active set to `to`."""
    lines = text.splitlines(keepends=True)
    start = next(
        (i for i, line in enumerate(lines) if line.strip().startswith(f"{PROJECT}:dr:")), None
    )
    if start is None:
        raise SwitchError(f"no {PROJECT}:dr section")
    indent = len(lines[start]) - len(lines[start].lstrip())
    end = next(
        (
            i
            for i in range(start + 1, len(lines))
            if lines[i].strip() and len(lines[i]) - len(lines[i].lstrip()) <= indent
        ),
        len(lines),
    )
    for i in range(start, end):
        match = _ACTIVE.search(lines[i])
        if match:
            lines[i] = _ACTIVE.sub(lambda m: m.group(1) + to, lines[i], count=1)
            return "".join(lines), match.group(2)
    raise SwitchError(f"no active: primary|secondary under {PROJECT}:dr")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m infra.failover_switch", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--to", required=True, choices=["primary", "secondary"])
    parser.add_argument("--pair", default="dr", choices=sorted(PAIRS), help="which DR pair")
    parser.add_argument("--stacks-dir", type=Path, default=PROJECT_ROOT / STACK_CONFIG_DIR)
    args = parser.parse_args(argv)
    changes = []
    for stack in PAIRS[args.pair]:
        path = args.stacks_dir / f"Pulumi.{stack}.yaml"
        try:
            text, before = set_active(path.read_text(), args.to)
        except (OSError, SwitchError) as exc:
            print(f"{path}: {exc}", file=sys.stderr)
            return 2
        changes.append((path, text, before))
    for path, text, before in changes:  # write only when both files can be switched
        path.write_text(text)
        print(f"{path.name}: dr.active {before} -> {args.to}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
