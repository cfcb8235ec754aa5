"""Every rule of the pack, in one list (the pack and the review both take it from here)."""

from policies.rules.base import Resource, Rule
from policies.rules.platform import RULES as PLATFORM_RULES
from policies.rules.workloads import RULES as WORKLOAD_RULES

RULES: list[Rule] = [*WORKLOAD_RULES, *PLATFORM_RULES]
BY_NAME: dict[str, Rule] = {rule.name: rule for rule in RULES}
assert len(BY_NAME) == len(RULES), "rule names must be unique"

__all__ = ["BY_NAME", "RULES", "Resource", "Rule"]
