"""Stand-in for Pulumi's Python language host (pulumi-language-python-exec), with mocks.

Like the real host it is started as a script (so sys.path[0] is this file's folder, not the
project), from the project root, and runs `runpy.run_path("infra", run_name="__main__")`
inside `run_in_stack`. The only difference: the engine is Pulumi's mock monitor.
Usage: python tests/entrypoint/host_shim.py STACK
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


def main(stack: str) -> int:
    document = yaml.safe_load(Path(f"stacks/Pulumi.{stack}.yaml").read_text())
    config = {k: v if isinstance(v, str) else json.dumps(v) for k, v in document["config"].items()}
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    monitor = mocks.MockMonitor(Echo())
    pulumi.runtime.set_mocks(Echo(), project="llm-platform", stack=stack, monitor=monitor)
    settings.set_root_resource(None)  # type: ignore[arg-type]
    pulumi.runtime.set_all_config(config, [])

    def program() -> None:
        runpy.run_path("infra", run_name="__main__")

    try:
        loop.run_until_complete(pulumi.runtime.run_in_stack(program))
    except pulumi.RunError as exc:  # the real host prints these without a traceback
        print(f"error: {exc}", file=sys.stderr)
        return 32
    print(
        json.dumps(
            sorted({r.urn.split("::")[2].split("$")[-1] for r in monitor.resources.values()})
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
