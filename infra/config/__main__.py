"""`python -m infra.config > stacks/stack.schema.json`: the stack file's JSON Schema."""

import json

from infra.config.schema import json_schema

print(json.dumps(json_schema(), indent=2, sort_keys=True))
