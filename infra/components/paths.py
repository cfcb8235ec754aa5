"""Repository files as Pulumi's processes find them.

`pulumi up` starts the language host and every provider plugin in the program's directory,
Pulumi.yaml's `main` (infra/), not in the project root: pulumi/pulumi pkg/engine/project.go
`getPwdMain` makes that directory the plugin context's pwd, and sdk/go/common/resource/
plugin/plugin.go starts each plugin with `cmd.Dir = pwd`; pulumi-language-python-exec
`chdir`s there before it runs the program. pulumi-kubernetes hands a Release's `postrender`
to Helm, whose `postrender.NewExec` resolves it with Go's `exec.LookPath` (a name without a
slash is looked up on PATH), and pulumi-docker reads a build context from the same place.
So every path the program passes on is relative to the working directory it runs in, with
a slash: a checkout anywhere plans the same inputs, and `make plan` (run from the root) and
`pulumi up` (run in infra/) each name a file that exists."""

from __future__ import annotations

import os

from infra.root import PROJECT_ROOT


def repo_path(relative: str) -> str:
    """`relative` (from the project root) as seen from the current working directory."""
    path = os.path.relpath(PROJECT_ROOT / relative)
    return path if os.sep in path or path in (".", "..") else f".{os.sep}{path}"
