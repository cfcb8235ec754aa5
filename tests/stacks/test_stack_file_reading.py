"""Whatever is in the stack file, `plan` answers with one line naming the file (and the line
where there is one) and exit 2: no traceback, nothing written."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from infra.plan import main
from tests.builders import cpu_laptop, stack_file_text

GOOD = stack_file_text(cpu_laptop())


def _write(text: str | bytes) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        path = folder / "Pulumi.test.yaml"
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text)
        return path

    return make


def _directory(folder: Path) -> Path:
    path = folder / "Pulumi.test.yaml"
    path.mkdir()
    return path


ALIAS_BOMB = (
    "a: &a [x, x, x, x, x, x, x, x, x]\n"
    + "".join(
        f"{n}: &{n} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
        for p, n in zip("abcdefgh", "bcdefghi", strict=True)
    )
    + "config: {}\n"
)

CASES: list[tuple[str, Callable[[Path], Path], str]] = [
    (
        "Latin-1 accent",
        _write(("# café\n" + GOOD).encode("latin-1")),
        "line 1: not UTF-8 (byte 0xe9)",
    ),
    ("UTF-16 from Notepad", _write(GOOD.encode("utf-16")), "line 1: not UTF-8 (byte 0xff)"),
    ("a directory", _directory, "is a directory, not a stack file"),
    (
        "duplicate key",
        _write(
            "config:\n  llm-platform:environment: dev\n  llm-platform:environment: production\n"
        ),
        "line 3: key 'llm-platform:environment' appears twice (lines 2 and 3)",
    ),
    ("YAML reads `on:` as true", _write("config: {}\non: 1\n"), "line 2: key True is not a string"),
    ("a null key", _write("config: {}\n~: 1\n"), "line 2: key None is not a string"),
    ("an integer key", _write("config:\n  2024: x\n"), "line 2: key 2024 is not a string"),
    ("alias bomb", _write(ALIAS_BOMB), "expands to more than 100000 values"),
    (
        "deep nesting",
        _write("config:\n  x: " + "[" * 5000 + "]" * 5000 + "\n"),
        "nested too deeply",
    ),
    ("broken YAML", _write("config:\n  llm-platform:models: [unclosed\n"), "not valid YAML"),
    (
        "namespace typo",
        _write("config:\n  llm-platfrom:models: []\n"),
        "config key 'llm-platfrom:models': did you mean 'llm-platform:models'?",
    ),
]


@pytest.mark.parametrize(("make", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_bad_stack_file_is_one_line_exit_2_nothing_written(
    make: Callable[[Path], Path], words: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = make(tmp_path)
    out = tmp_path / "out"
    assert main(["--stack", "test", "--config-file", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"{path}: "), err
    assert words in err[0]
    assert not out.exists()


def test_other_providers_namespaces_stay_allowed(tmp_path: Path) -> None:
    text = GOOD + "  kubernetes:context: kind-llm\n  gcp:project: my-project-1\n"
    path = _write(text)(tmp_path)
    assert main(["--stack", "test", "--config-file", str(path), "--out", str(tmp_path / "o")]) == 0


def test_an_unreadable_file_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # chmod 0 cannot stop root (CI runs as root): the read itself is made to fail.
    path = _write(GOOD)(tmp_path)
    real = Path.read_bytes

    def denied(self: Path) -> bytes:
        if self == path:
            raise PermissionError(13, "Permission denied")
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", denied)
    code = main(["--stack", "test", "--config-file", str(path), "--out", str(tmp_path / "o")])
    assert code == 2
    assert capsys.readouterr().err.strip() == f"{path}: cannot be read (permission denied)"
