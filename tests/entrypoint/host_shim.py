"""Stand-in for Pulumi's Python language host (pulumi-language-python-exec), with mocks.

Like the real host it is started as a script (so sys.path[0] is this file's folder, not the
project), changes into the program's directory (Pulumi.yaml `main`, as pulumi/pulumi
pkg/engine/project.go `getPwdMain` computes it and the exec's `--pwd` applies it) and runs
`runpy.run_path(".", run_name="__main__")` inside `run_in_stack`. The only difference: the
engine is Pulumi's mock monitor. It prints the resource types it saw and the repository
paths the program handed to providers (vendored charts, Helm post-renderers, Docker build
contexts and Dockerfiles), each resolved from that directory as the providers, started
there, will.
Usage: python tests/entrypoint/host_shim.py ROOT STACK [STACK_FILE]
"""

import asyncio
import json
import os
import runpy
import sys
from pathlib import Path

import pulumi
import yaml
from pulumi.runtime import mocks, settings

# Outputs of other stacks, as a backend would serve them to a StackReference (JSON file).
REFERENCES = (
    json.loads(Path(os.environ["SHIM_STACK_REFERENCES"]).read_text())
    if os.environ.get("SHIM_STACK_REFERENCES")
    else {}
)


class Echo(mocks.Mocks):
    def new_resource(self, args: mocks.MockResourceArgs) -> tuple[str, dict[str, object]]:
        if args.typ == "pulumi:pulumi:StackReference":
            name = args.inputs["name"]
            return name, {"name": name, "outputs": REFERENCES[name], "secretOutputNames": []}
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: mocks.MockCallArgs) -> tuple[dict[str, object], list[tuple[str, str]]]:
        return {}, []


def _paths(inputs: dict[str, object]) -> list[str]:
    """Paths a provider will open: a Release's vendored chart and post-renderer, an
    Image's build files."""
    found = [str(inputs["postrender"])] if inputs.get("postrender") else []
    chart = str(inputs.get("chart") or "")
    if chart and "repositoryOpts" not in inputs and not chart.startswith("oci://"):
        found.append(chart)
    build = inputs.get("build")
    if isinstance(build, dict):
        found += [str(build[k]) for k in ("context", "dockerfile") if build.get(k)]
    return found


def main(root: Path, stack: str, stack_file: Path | None) -> int:
    path = stack_file or root / "stacks" / f"Pulumi.{stack}.yaml"
    document = yaml.safe_load(path.read_text())
    project = yaml.safe_load((root / "Pulumi.yaml").read_text())
    os.chdir(root / project.get("main", "."))
    config = {k: v if isinstance(v, str) else json.dumps(v) for k, v in document["config"].items()}
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    monitor = mocks.MockMonitor(Echo())
    pulumi.runtime.set_mocks(Echo(), project="llm-platform", stack=stack, monitor=monitor)
    settings.set_root_resource(None)  # type: ignore[arg-type]
    pulumi.runtime.set_all_config(config, [])

    def program() -> None:
        runpy.run_path(".", run_name="__main__")

    try:
        loop.run_until_complete(pulumi.runtime.run_in_stack(program))
    except pulumi.RunError as exc:  # the real host prints these without a traceback
        print(f"error: {exc}", file=sys.stderr)
        return 32
    resources = list(monitor.resources.values())
    paths = sorted({p for r in resources for p in _paths(r.state)})
    print(
        json.dumps(
            {
                "types": sorted({r.urn.split("::")[2].split("$")[-1] for r in resources}),
                "paths": {p: os.path.exists(p) and os.access(p, os.R_OK) for p in paths},
                "cwd": os.getcwd(),
            }
        )
    )
    return 0


if __name__ == "__main__":
    given = Path(sys.argv[3]).resolve() if len(sys.argv) > 3 else None
    sys.exit(main(Path(sys.argv[1]).resolve(), sys.argv[2], given))
