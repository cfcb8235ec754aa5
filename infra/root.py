"""The project root (where Pulumi.yaml is): the one place the program, the plan and the
tests derive it, whatever the working directory."""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
