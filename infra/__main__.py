"""Pulumi entry point (`main: infra/`): read config once, plan, declare, export."""

import pulumi

from infra.composition import Platform
from infra.config import load, stack_file
from infra.outputs import export_outputs
from infra.planning.checked import checked

config, plan = checked(load, stack_file(pulumi.get_stack()))
platform = Platform("llm-platform", {"config": config, "plan": plan})
export_outputs(config, plan, platform)
