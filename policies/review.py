"""`python -m policies.review --stack NAME [--config-file PATH] | --all`

Reviews stacks offline: plans each (the program under Pulumi's mock engine) and calls the
policy pack's own validators on it, with the policy config of the stack's environment and
every object its Helm releases install. Prints one line per violation and a summary per
stack; exit 1 on any mandatory violation, 2 on a bad stack or policy config.

Unlike `pulumi preview`, which shows the pack a Helm release as one resource (its chart,
version and values), the offline review also renders every release with Helm itself
(policies/helm.py, the vendored charts at the pinned versions, for the stack's Kubernetes
version) and feeds each object the chart installs to the same rules.
"""

from __future__ import annotations

import argparse
import copy
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Secret,
    StackValidationArgs,
    StackValidationPolicy,
)

from infra.config import ConfigError, parse, stack_file
from infra.config.reader import raw_config
from infra.engine import Recorded
from infra.root import PROJECT_ROOT
from infra.stack_file import read_stack_file
from infra.stack_run import plan_stack
from policies import config as policy_config
from policies.exceptions import accepted
from policies.helm import chart_resources
from policies.pack import POLICIES, REVIEW_TAG


def stack_names() -> list[str]:
    files = sorted((PROJECT_ROOT / "stacks").glob("Pulumi.*.yaml"))
    return [f.name[len("Pulumi.") : -len(".yaml")] for f in files]


_OPTS = PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])


@dataclass(frozen=True)
class Violation:
    policy: str
    level: str
    resource: str  # "type name", or "stack"
    message: str

    def line(self, stack: str) -> str:
        return f"{stack}: [{self.level}] {self.policy} {self.resource}: {self.message}"


def _set(target: Any, path: str, wrap: Any) -> None:
    """Wrap the value at an engine secret path (`spec.a[0].b`) in pulumi_policy.Secret."""
    parts = [p for p in path.replace("]", "").replace("[", ".").split(".") if p]
    for part in parts[:-1]:
        target = target[int(part)] if isinstance(target, list) else target[part]
    last: Any = int(parts[-1]) if isinstance(target, list) else parts[-1]
    target[last] = wrap(target[last])


def policy_props(resource: Recorded) -> dict[str, Any]:
    """Inputs as the analyzer sees them, with Pulumi secrets marked as Secret."""
    props: dict[str, Any] = copy.deepcopy(resource.inputs)
    for path in resource.secret_paths:
        _set(props, path, Secret)
    return props


def review(resources: list[Recorded], config: dict[str, Any]) -> list[Violation]:
    """Run every policy of the pack on a planned stack, as `pulumi preview` would."""
    names = {r.urn: f"{r.type} {r.name}" for r in resources}
    props = {r.urn: policy_props(r) for r in resources}
    tags = {REVIEW_TAG: "true"}
    found: list[Violation] = []
    for policy in POLICIES:  # the pack's own policies, as `pulumi preview` runs them
        level = policy_config.level(config, policy.name)
        if level == "disabled":
            continue
        settings = policy_config.settings(config, policy.name)

        def reporter(
            resource: str, policy: str = policy.name, level: str = level
        ) -> Callable[[str, str | None], None]:
            def report(message: str, urn: str | None = None) -> None:
                found.append(Violation(policy, level, names.get(urn or "", resource), message))

            return report

        if isinstance(policy, ResourceValidationPolicy):
            for r in resources:
                args = ResourceValidationArgs(
                    r.type, props[r.urn], r.urn, r.name, _OPTS, None, settings, tags
                )
                policy.validate(args, reporter(names[r.urn]))
        elif isinstance(policy, StackValidationPolicy):
            stack = [
                PolicyResource(r.type, props[r.urn], r.urn, r.name, _OPTS, None, None, [], {})
                for r in resources
            ]
            policy.validate(StackValidationArgs(stack, settings, tags), reporter("stack"))
    return found


def kubernetes_version(stack: str, config_file: Path | None = None) -> str:
    label = str(config_file) if config_file else stack_file(stack)
    path = config_file or PROJECT_ROOT / label
    config, secret_keys = read_stack_file(path, label)
    return str(parse(raw_config(config, secret_keys), label).cluster.kubernetes_version)


def review_with_charts(
    resources: list[Recorded], kube_version: str, environment: str
) -> tuple[list[Violation], list[Violation]]:
    """Violations of what a stack declares and of what its Helm releases install, and apart
    the chart violations accepted as written exceptions (policies/exceptions.py). A chart's
    Secrets are left out: Helm builds them in the cluster (generated certificates, config
    from the release's values), so whether a value is a Pulumi secret is judged on the
    release."""
    charts = [
        r for r in chart_resources(resources, kube_version) if r.type != "kubernetes:core/v1:Secret"
    ]
    names = {f"{r.type} {r.name}" for r in charts}
    found = review(resources + charts, policy_config.load(environment))
    excepted = [
        v
        for v in found
        if v.resource in names and accepted(v.policy, v.resource.split(" ", 1)[1], v.message)
    ]
    return [v for v in found if v not in excepted], excepted


def review_stack(
    stack: str, config_file: Path | None = None
) -> tuple[str, list[Violation], list[Violation]]:
    """The stack's environment, its violations, and the chart violations accepted as
    written exceptions. `config_file`: another stack file than stacks/Pulumi.<stack>.yaml
    (the examples)."""
    result = plan_stack(stack, config_file)
    environment = str(result.outputs["environment"])
    version = kubernetes_version(stack, config_file)
    violations, excepted = review_with_charts(result.resources, version, environment)
    return environment, violations, excepted


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m policies.review",
        description=" ".join((__doc__ or "").split("\n\n")[1].split()),
    )
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--stack", action="append", help="a stack (repeatable)")
    group.add_argument("--all", action="store_true", help="every stack in stacks/")
    parser.add_argument(
        "--config-file",
        type=Path,
        help="review this stack file as the one --stack (e.g. examples/…)",
    )
    args = parser.parse_args(argv)
    stacks = stack_names() if args.all else args.stack
    if args.config_file is not None and len(stacks) != 1:
        parser.error("--config-file names the file of one --stack")
    failed = 0
    for stack in stacks:
        try:
            environment, violations, excepted = review_stack(stack, args.config_file)
        except ConfigError as exc:
            print("\n".join(exc.lines()), file=sys.stderr)
            return 2
        except policy_config.PolicyConfigError as exc:
            print("\n".join(exc.problems), file=sys.stderr)
            return 2
        for v in violations:
            print(v.line(stack))
        mandatory = sum(v.level == "mandatory" for v in violations)
        print(
            f"{stack} ({environment}): {mandatory} mandatory, "
            f"{len(violations) - mandatory} advisory violation(s); "
            f"{len(excepted)} in charts accepted as written exceptions (policies/exceptions.py)"
        )
        failed += mandatory > 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
