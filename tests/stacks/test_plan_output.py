"""`--out` never destroys what the plan did not write, and never leaves half an output."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.plan import main
from infra.plan_output import MARKER
from tests.builders import cpu_laptop, gpu_box, write_stack_file


@pytest.fixture
def stack_file(tmp_path: Path) -> Path:
    return write_stack_file(tmp_path, cpu_laptop())


def plan(stack_file: Path, out: Path) -> int:
    return main(["--stack", "test", "--config-file", str(stack_file), "--out", str(out)])


def test_a_folder_the_plan_did_not_write_is_refused_and_untouched(
    stack_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mine = tmp_path / "checkout"
    mine.mkdir()
    (mine / "notes.txt").write_text("precious")
    assert plan(stack_file, mine) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"{mine}: exists and was not written by python -m infra.plan")
    assert (mine / "notes.txt").read_text() == "precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["checkout", stack_file.name])


def test_an_earlier_plan_is_replaced_whole(stack_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert plan(stack_file, out) == 0
    assert (out / MARKER).is_file() and (out / "resources.json").is_file()
    (out / "manifests" / "stale.yaml").write_text("from an older plan")
    assert plan(stack_file, out) == 0
    assert not (out / "manifests" / "stale.yaml").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_an_empty_folder_is_used(stack_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "empty"
    out.mkdir()
    assert plan(stack_file, out) == 0
    assert (out / "capacity.json").is_file()


def test_a_failure_while_writing_leaves_the_previous_output_and_no_debris(
    stack_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    assert plan(stack_file, out) == 0
    before = sorted(str(p.relative_to(out)) for p in out.rglob("*"))
    calls = {"n": 0}
    real = yaml.safe_dump

    def flaky(*args: Any, **kwargs: Any) -> str:
        calls["n"] += 1
        if calls["n"] == 5:
            raise OSError("disk full")
        return str(real(*args, **kwargs))

    monkeypatch.setattr(yaml, "safe_dump", flaky)
    with pytest.raises(OSError):
        plan(stack_file, out)
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*")) == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_stack_the_review_refuses_makes_plan_say_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Written as a newcomer writes it: revision main, no image digests, nobody paged. It
    plans, but `make plan` ends with the review's verdict and exit 1: not deployable."""
    raw = gpu_box()
    raw["models"][0]["revision"] = "main"
    raw["images"] = {"build": False}
    raw["observability"]["alerting"]["page"] = []
    path = write_stack_file(tmp_path, raw)
    assert main(["--stack", "test", "--config-file", str(path), "--out", str(tmp_path / "o")]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == (
        "review (production): 4 mandatory, 0 advisory violations: not deployable until these "
        "are fixed"
    )
    assert {line.split("]")[1].split()[0] for line in out if line.startswith("test: [")} == {
        "model-revision-pinned",
        "images-pinned",
        "alerts-reach-a-person",
    }
    code = main(
        ["--stack", "test", "--config-file", str(path), "--out", str(tmp_path / "o"), "--no-review"]
    )
    assert code == 0
