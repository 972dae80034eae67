"""``docs/fidelity.md`` stays true: every test it cites exists, every quirk has its row, every row
names a source (or says it has none).

Test ids are resolved by reading the test files' syntax trees, not by collecting them: a citation
goes stale when a test is renamed, and this finds it without importing or running anything.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import pytest

from airflow_provider.emulator.config import QUIRK_FORMS

ROOT = Path(__file__).resolve().parent.parent
DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
FIDELITY = ROOT / "docs" / "fidelity.md"
#: ``tests/x/test_y.py`` or ``tests/x/test_y.py::name`` (``Class::method`` too), as the docs cite them.
CITATION = re.compile(r"(?P<file>tests/[\w/]+\.py)(?:::(?P<node>\w+(?:::\w+)?))?")


@cache
def _definitions(path: Path) -> dict[str, set[str]]:
    """Top-level names of a test file, each with the names defined directly inside it."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: dict[str, set[str]] = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            inner = {
                child.name
                for child in getattr(node, "body", [])
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            }
            found[node.name] = inner
    return found


def missing_citations(text: str) -> list[str]:
    """The cited test files and test ids in ``text`` that do not exist."""
    missing = []
    for match in CITATION.finditer(text):
        path = ROOT / match["file"]
        if not path.is_file():
            missing.append(match[0])
            continue
        if match["node"] is None:
            continue
        outer, _, inner = match["node"].partition("::")
        defined = _definitions(path)
        if outer not in defined or (inner and inner not in defined[outer]):
            missing.append(match[0])
    return missing


@pytest.mark.parametrize("doc", DOCS, ids=lambda path: path.name)
def test_every_cited_test_exists(doc: Path) -> None:
    assert missing_citations(doc.read_text(encoding="utf-8")) == []


def test_a_renamed_test_is_reported() -> None:
    """The check itself: a stale name, a stale method and a missing file are all caught."""
    text = (
        "`tests/test_fidelity_doc.py::test_every_cited_test_exists` "
        "`tests/test_fidelity_doc.py::test_no_such_test` "
        "`tests/test_fidelity_doc.py::test_every_cited_test_exists::inner` "
        "`tests/no_such_file.py`"
    )
    assert missing_citations(text) == [
        "tests/test_fidelity_doc.py::test_no_such_test",
        "tests/test_fidelity_doc.py::test_every_cited_test_exists::inner",
        "tests/no_such_file.py",
    ]


def _rows() -> list[list[str]]:
    """The cells of every table row of fidelity.md, section headers and the header row left out."""
    rows = []
    for line in FIDELITY.read_text(encoding="utf-8").splitlines():
        if not line.startswith("| ") or line.startswith(("| Behaviour", "|---")):
            continue
        # A cell may hold an escaped pipe (``FAIL\\|NOT_FAIL``): split on the others only.
        cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip()[1:-1])]
        if cells[0].startswith("**") and not any(cells[1:]):
            continue  # a section header such as | **CSS** | | | |
        rows.append(cells)
    return rows


def test_every_row_has_six_cells_and_a_source_or_says_it_has_none() -> None:
    rows = _rows()
    assert len(rows) > 50
    for cells in rows:
        assert len(cells) == 6, cells[0]
        behaviour, real, source, emulator = cells[:4]
        unsourced = "no source" in f"{real} {source} {emulator}".lower()
        # The emulator's own devices (its clock, fault injection) are no service behaviour to source.
        own = "(the emulator's own)" in real or "not service behaviour" in real
        assert source or unsourced or own, f"row {behaviour!r} names no source and does not say it has none"


@pytest.mark.parametrize("quirk", sorted(QUIRK_FORMS))
def test_every_quirk_has_a_row_naming_each_form(quirk: str) -> None:
    rows = [cells for cells in _rows() if f"`{quirk}`" in " | ".join(cells)]
    assert rows, f"no row of docs/fidelity.md names the quirk {quirk}"
    text = " | ".join(" | ".join(cells) for cells in rows)
    for form in QUIRK_FORMS[quirk]:
        assert f"`{form}`" in text, f"the {quirk} row does not name its form {form!r}"


@pytest.mark.parametrize("quirk", sorted(QUIRK_FORMS))
def test_every_quirk_is_in_the_emulator_guide_with_its_default_first(quirk: str) -> None:
    """docs/emulator.md's quirk table: each quirk, its default (the first form) and every other form."""
    guide = (ROOT / "docs" / "emulator.md").read_text(encoding="utf-8")
    row = next((line for line in guide.splitlines() if line.startswith(f"| `{quirk}` |")), None)
    assert row is not None, f"docs/emulator.md has no row for the quirk {quirk}"
    cells = [cell.strip() for cell in row.strip("|").split(" | ")]
    default, *others = QUIRK_FORMS[quirk]
    assert cells[1].startswith(f"`{default}`"), row
    for form in others:
        assert f"`{form}`" in cells[2], f"{quirk}: the form {form!r} is missing from {row!r}"
