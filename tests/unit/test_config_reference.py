"""The configuration reference (docs/configuration.md) is generated from the config model:
every key is described, the checked-in copy is current, and examples come from stack files."""

from pathlib import Path

from infra.config.reference import example, markdown, shipped_configs, undescribed
from infra.config.schema import WithFactoryDefaults, json_schema
from infra.root import PROJECT_ROOT
from tests.builders import gpu_box, stack_file_text


def test_checked_in_reference_is_current() -> None:
    checked_in = (PROJECT_ROOT / "docs/configuration.md").read_text()
    assert checked_in == markdown(), "run `make docs` and commit docs/configuration.md"


def test_every_key_has_a_description() -> None:
    assert undescribed() == []


def test_every_top_level_key_is_in_the_reference() -> None:
    text = markdown()
    schema = json_schema(WithFactoryDefaults)
    for key in schema["properties"]["config"]["properties"]:
        name = key.split(":", 1)[1]
        assert f"`{name}`" in text, name


def _root_with(tmp: Path, raw: dict[str, object]) -> Path:
    (tmp / "stacks").mkdir()
    (tmp / "stacks/Pulumi.box.yaml").write_text(stack_file_text(raw))
    return tmp


def test_examples_come_from_the_stack_files(tmp_path: Path) -> None:
    raw = gpu_box()
    raw["models"][0]["tensorParallel"] = 2
    configs = shipped_configs(_root_with(tmp_path, raw))
    assert example("models[].tensorParallel", configs) == "`2` (Pulumi.box.yaml)"
    assert example("cluster.provider", configs) == '`"existing"` (Pulumi.box.yaml)'
    assert example("cluster.noSuchKey", configs) == ""


def test_secret_values_are_never_examples(tmp_path: Path) -> None:
    raw = {**gpu_box(), "hfToken": {"secure": "v1:cipher"}}
    configs = shipped_configs(_root_with(tmp_path, raw))
    assert example("hfToken", configs) == ""


def test_defaults_are_the_models_defaults() -> None:
    text = markdown()
    row = next(line for line in text.splitlines() if line.startswith("| `environment` "))
    assert '`"production"`' in row
