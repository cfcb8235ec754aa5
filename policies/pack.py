"""The CrossGuard policies, built from the rules. Importing this starts nothing: only
`policies/__main__.py` hands them to a PolicyPack (which serves them to the Pulumi CLI)."""

from __future__ import annotations

from typing import Any

from pulumi_policy import (
    Policy,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from policies.rules import RULES, Resource, Rule

PACK_NAME = "llm-platform"
# The offline review sets this stack tag: it passes Pulumi secrets as pulumi_policy.Secret.
REVIEW_TAG = "llm-platform/offline-review"


def _config(args: ResourceValidationArgs | StackValidationArgs) -> dict[str, Any]:
    config = dict(args.get_config())
    config["secretAware"] = args.stack_tags.get(REVIEW_TAG) == "true"
    return config


def _schema(rule: Rule) -> PolicyConfigSchema | None:
    return PolicyConfigSchema(rule.config) if rule.config else None


def _resource_policy(rule: Rule) -> ResourceValidationPolicy:
    check = rule.resource
    assert check is not None

    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        res = Resource(args.resource_type, args.name, args.urn, args.props)
        for message in check(res, _config(args)):
            report(f"{message}. Fix: {rule.fix}", None)

    return ResourceValidationPolicy(
        rule.name, rule.description, validate, config_schema=_schema(rule)
    )


def _stack_policy(rule: Rule) -> StackValidationPolicy:
    check = rule.stack
    assert check is not None

    def validate(args: StackValidationArgs, report: ReportViolation) -> None:
        resources = [Resource(r.resource_type, r.name, r.urn, r.props) for r in args.resources]
        for res, message in check(resources, _config(args)):
            report(f"{message}. Fix: {rule.fix}", res.urn if res else None)

    return StackValidationPolicy(rule.name, rule.description, validate, config_schema=_schema(rule))


POLICIES: list[Policy] = [
    _resource_policy(rule) if rule.resource is not None else _stack_policy(rule) for rule in RULES
]
