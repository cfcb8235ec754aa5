"""`python -m infra.plan --stack NAME [--config-file PATH] [--out DIR] [--wide] [--no-review]`

Plans a stack offline: runs the real program under Pulumi's mock engine with the stack's
config, writes DIR/resources.json and DIR/manifests/ (one YAML per Kubernetes object or
Helm release), prints the capacity plan, then the policy review's verdict for the stack's
environment (the same pack as `python -m policies.review`, chart objects included). Exit 0:
the stack is deployable; 1: it plans, but the review refuses it (one line per violation);
2: a bad config (one line per problem, nothing written).
"""

from __future__ import annotations

import signal
import sys
import textwrap
from pathlib import Path
from typing import Any

from infra.config import ConfigError
from infra.engine import RunResult
from infra.manifests.topology import Outputs
from infra.outputs import TABLE_COLUMNS, replicas_text
from infra.plan_output import OutputError, canonical, manifest_of, manifest_path, write
from infra.root import PROJECT_ROOT
from infra.stack_run import plan_stack, stack_parser
from policies.review import kubernetes_version, review_with_charts

__all__ = [
    "OutputError",
    "canonical",
    "main",
    "manifest_of",
    "manifest_path",
    "plan_stack",
    "report",
    "write",
]


WIDTH = 120  # what `make plan` prints fits a terminal this wide (`--wide`: the capacity table)


def table(headers: list[str], rows: list[list[str]]) -> str:
    """Columns two spaces apart, a rule under the headers: as narrow as the figures."""
    widths = [max(len(str(c)) for c in column) for column in zip(headers, *rows, strict=True)]

    def line(cells: list[str]) -> str:
        return "  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *map(line, rows)])


def _wrapped(line: str, indent: str = "    ") -> str:
    return textwrap.fill(line, WIDTH, subsequent_indent=indent, break_on_hyphens=False)


def _cell(model: dict[str, Any], key: str) -> str:
    value = model.get(key)
    if key == "replicas" and isinstance(value, dict):
        return replicas_text(value)
    return "-" if value is None else str(value)


def report(result: RunResult, wide: bool = False) -> str:
    """The capacity plan as `make plan` prints it: the default table fits 120 columns,
    `wide` adds every figure (capacity.json has them all)."""
    models = result.outputs.get("models", {})
    columns = [(h, k) for h, k, default in TABLE_COLUMNS if wide or default]
    rows = [[name, *(_cell(m, k) for _, k in columns[1:])] for name, m in models.items()]
    text = "Capacity plan (per replica; GiB per GPU, or per pod on CPU):\n"
    text += table([h for h, _ in columns], rows)
    pools = result.outputs.get(Outputs.GPU_POOLS, {})
    if pools:
        text += "\n\nGPU pools:"
        for name, p in pools.items():
            text += "\n" + _wrapped(
                f"  {name}: {p['gpu']}, {p['shape']} GPUs, {p['timeSlices']} slice(s)/GPU, "
                f"{p['used']} used"
            )
            text += "\n" + _wrapped(f"    placement: {p['placement']}", "      ")
            text += "\n" + _wrapped(f"    failure domains: {p['failureDomains']}", "      ")
    caches = {n: m["modelCache"] for n, m in models.items() if "modelCache" in m}
    if caches:
        text += "\n\nModel cache:"
        for name, c in caches.items():
            claim = f" ({c['accessMode']}, {c['claim']})" if c["claim"] else ""
            text += "\n" + _wrapped(f"  {name}: {c['layout']}{claim} — {c['reason']}", "    ")
    alerting = result.outputs.get(Outputs.ALERTING)
    if alerting is not None and not alerting["page"]:
        text += (
            "\n\nAlerting: no receiver pages on critical alerts; they are only visible in "
            "Alertmanager and Grafana. Set observability.alerting (receivers, page, ticket)."
        )
    return text


def _verdict(result: RunResult, stack: str, config_file: Path | None) -> int:
    """The policy review of the planned stack: 0 when nothing mandatory is violated."""
    environment = str(result.outputs["environment"])
    version = kubernetes_version(stack, config_file)
    violations, _ = review_with_charts(result.resources, version, environment)
    for v in violations:
        print(v.line(stack))
    mandatory = sum(v.level == "mandatory" for v in violations)
    advisory = len(violations) - mandatory
    verdict = "deployable" if not mandatory else "not deployable until these are fixed"
    print(
        f"review ({environment}): {mandatory} mandatory, {advisory} advisory violations: {verdict}"
    )
    return 1 if mandatory else 0


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `make plan | head` ends quietly
    parser = stack_parser("python -m infra.plan", __doc__, "plan")
    parser.add_argument("--out", type=Path, help="output directory (default out/NAME)")
    parser.add_argument("--wide", action="store_true", help="every column of the capacity plan")
    parser.add_argument(
        "--no-review", action="store_true", help="skip the policy review (exit 0 once planned)"
    )
    args = parser.parse_args(argv)
    try:
        result = plan_stack(args.stack, args.config_file)
    except ConfigError as exc:
        for line in exc.lines():
            print(line, file=sys.stderr)
        return 2
    out = args.out or PROJECT_ROOT / "out" / args.stack
    try:
        count = write(result, out)
    except OutputError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    print(report(result, wide=args.wide))
    print(f"\n{len(result.resources)} resources, {count} manifests written to {out}")
    if args.no_review:
        return 0
    print()
    return _verdict(result, args.stack, args.config_file)


if __name__ == "__main__":
    sys.exit(main())
