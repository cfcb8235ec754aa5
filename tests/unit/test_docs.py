"""The README and docs/ point only at what exists: every relative link and anchor resolves,
every repository path that code, comments or docs name is in the repository, and nothing
refers to a source a reader cannot open."""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from infra.outputs import capacity_summary
from infra.plan import report
from infra.root import PROJECT_ROOT
from tests.builders import gpu_box, rendered
from tests.helpers import plan_of

DOCS = [PROJECT_ROOT / "README.md", *sorted((PROJECT_ROOT / "docs").glob("*.md"))]
# Where the project's own text lives (vendored charts and CRDs are upstream's text).
SOURCE_DIRS = ("infra", "policies", "tests", "model_loader", "loadtest", "scripts", "images")
SKIPPED_DIRS = ("charts", "tests/crds")
TOP_LEVEL = (*SOURCE_DIRS, "docs", "stacks", "examples")
# A path into the repository as text names it: `tests/unit/test_docs.py`, `docs/`.
REPO_PATH = re.compile(rf"(?<![\w./-])((?:{'|'.join(TOP_LEVEL)})/[\w./-]*)")
PLACEHOLDER = re.compile(r"[<>*{}$%]|\.\.\.|…|\b[A-Z]{3,}\b")
# Sources that exist only outside the repository, and internal tracker numbers.
UNREACHABLE = [
    re.compile(r"FACTS\.md"),
    re.compile(r"\bissue \d+\b", re.IGNORECASE),
    re.compile(r"\bseeds?'"),
]


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to '-'."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    found: set[str] = set()
    seen: dict[str, int] = {}
    tokens = MarkdownIt("commonmark").parse(path.read_text())
    for i, token in enumerate(tokens):
        if token.type != "heading_open":
            continue
        inline = tokens[i + 1]
        text = "".join(
            c.content for c in inline.children or [] if c.type in ("text", "code_inline")
        )
        slug = _slug(text)
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return found


def links(path: Path) -> list[str]:
    found = []
    for token in MarkdownIt("commonmark").parse(path.read_text()):
        for child in token.children or []:
            if child.type == "link_open":
                found.append(str(child.attrs.get("href", "")))
    return found


def broken_links(path: Path) -> list[str]:
    broken = []
    for href in links(path):
        if re.match(r"^[a-z]+:", href):
            continue  # https:, mailto:: not ours to check offline
        target, _, anchor = href.partition("#")
        file = (path.parent / target).resolve() if target else path
        if not file.exists():
            broken.append(f"{href}: no such file")
        elif anchor and file.suffix == ".md" and anchor not in anchors(file):
            broken.append(f"{href}: no heading #{anchor} in {file.name}")
    return broken


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.relative_to(PROJECT_ROOT).as_posix())
def test_every_relative_link_and_anchor_resolves(doc: Path) -> None:
    assert broken_links(doc) == []


def test_a_broken_link_and_a_missing_anchor_are_caught(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text("# The `first` pulumi up\n\n## Twice\n\n## Twice\n")
    doc = tmp_path / "doc.md"
    doc.write_text(
        "[a](other.md#the-first-pulumi-up) [b](other.md#twice-1) [c](missing.md) "
        "[d](other.md#nowhere) [e](https://example.com/x)\n"
    )
    assert broken_links(doc) == [
        "missing.md: no such file",
        "other.md#nowhere: no heading #nowhere in other.md",
    ]


def _texts() -> list[Path]:
    files = [*DOCS, PROJECT_ROOT / "Makefile", PROJECT_ROOT / "pyproject.toml"]
    for folder in SOURCE_DIRS:
        for path in sorted((PROJECT_ROOT / folder).rglob("*")):
            relative = path.relative_to(PROJECT_ROOT).as_posix()
            wanted = path.suffix in (".py", ".md", ".sh", ".txt", "") or path.name == "Dockerfile"
            if wanted and path.is_file() and not relative.startswith(SKIPPED_DIRS):
                files.append(path)
    return files


def cited_paths(text: str) -> set[str]:
    found = set()
    for match in REPO_PATH.finditer(text):
        path = match.group(1).rstrip(".")
        if not PLACEHOLDER.search(text[match.start() : match.end() + 1]):
            found.add(path)
    return found


def _python_prose(text: str) -> str:
    """A Python file's comments and docstrings: what it says to a reader."""
    parts = [
        tok.string
        for tok in tokenize.generate_tokens(io.StringIO(text).readline)
        if tok.type == tokenize.COMMENT
    ]
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            parts.append(ast.get_docstring(node) or "")
    return "\n".join(parts)


def prose(file: Path) -> str:
    """What a file says in words: all of a Markdown file, the comments of the others."""
    text = file.read_text()
    if file.suffix in {".md", ".txt"}:
        return text
    if file.suffix == ".py":
        return _python_prose(text)
    return "\n".join(line.split("#", 1)[1] for line in text.splitlines() if "#" in line)


def test_every_repository_path_named_in_comments_or_docs_exists() -> None:
    missing = []
    for file in _texts():
        for path in sorted(cited_paths(prose(file))):
            if not (PROJECT_ROOT / path).exists():
                missing.append(f"{file.relative_to(PROJECT_ROOT)}: {path}")
    assert missing == []


def test_cited_paths_are_read_as_a_reader_would() -> None:
    text = "see tests/unit/test_docs.py, docs/ and out/<stack>/; upstream provider/pkg/await.go"
    assert cited_paths(text) == {"tests/unit/test_docs.py", "docs/"}
    assert cited_paths("`tests/<folder>`, stacks/Pulumi.NAME.yaml") == set()
    code = '"""See docs/gateway.md."""\nPATH = "stacks/Pulumi.test.yaml"  # and tests/x.py\n'
    assert cited_paths(_python_prose(code)) == {"docs/gateway.md", "tests/x.py"}


def test_nothing_refers_to_what_a_reader_cannot_open() -> None:
    found = []
    for file in _texts():
        if file == Path(__file__):
            continue
        lines = file.read_text().splitlines()
        for number, line in enumerate(lines, 1):
            if any(p.search(line) for p in UNREACHABLE):
                found.append(f"{file.relative_to(PROJECT_ROOT)}:{number}: {line.strip()}")
    assert found == []


def _words(path: Path) -> str:
    return " ".join(path.read_text().split())


def test_the_worked_first_install_is_what_the_planner_says() -> None:
    """The README's Qwen2.5-7B example is gpu_box()'s model at the default download rate."""
    summary = capacity_summary(plan_of(gpu_box()).models[0])
    parts = summary["firstInstallParts"]
    start = parts["readWeights"] + parts["torchCompile"] + parts["cudaGraphCapture"]
    said = (
        f"{round(parts['schedule'])} + {round(parts['imagePull'])} + {round(parts['download'])} + "
        f"{round(start)} = {summary['firstInstallEstimateSeconds']} s, padded to a "
        f"{summary['firstInstallBudgetSeconds']} s budget and a "
        f"{summary['awaitTimeoutSeconds'] // 60}-minute await"
    )
    assert said in _words(PROJECT_ROOT / "README.md")


def test_the_documented_plan_table_is_what_make_plan_prints() -> None:
    printed = report(rendered(gpu_box())).splitlines()
    documented = (PROJECT_ROOT / "docs/capacity.md").read_text()
    for line in printed[1:4]:  # headers, rule, the model's row
        assert line in documented, line
