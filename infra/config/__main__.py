"""`python -m infra.config [schema|reference]`: the stack file's JSON Schema (the default,
for stacks/stack.schema.json) or its Markdown reference (docs/configuration.md)."""

import json
import sys

from infra.config.reference import markdown
from infra.config.schema import json_schema

if sys.argv[1:] == ["reference"]:
    print(markdown(), end="")
elif sys.argv[1:] in ([], ["schema"]):
    print(json.dumps(json_schema(), indent=2, sort_keys=True))
else:
    sys.exit("usage: python -m infra.config [schema|reference]")
