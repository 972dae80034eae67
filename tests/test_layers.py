"""The layers of ``docs/architecture.md``: each imports only the layers below it.

Function-local imports count too: they hid an import cycle between the trigger and the wait.
A module may import a layer above it only to name a type (under ``if TYPE_CHECKING:``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "airflow_provider"
#: Lower ranks are lower layers. Operators and sensors are one layer; sensors may use the links and
#: the base both share.
RANK = {
    "core": 0,
    "services": 1,
    "hooks": 2,
    "triggers": 3,
    "waiting": 4,
    "assets": 4,
    "operators": 5,
    "sensors": 5,
}
ALLOWED_PEERS = {
    ("sensors", "airflow_provider.operators.links"),
    ("sensors", "airflow_provider.operators.outputs"),
    ("sensors", "airflow_provider.operators.common"),
}


def _layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "airflow_provider" and parts[1] in RANK else None


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    """ids of the import nodes inside ``if TYPE_CHECKING:`` blocks."""
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for child in node.body:
                inside.update(id(sub) for sub in ast.walk(child))
    return inside


def _imports(path: Path) -> list[tuple[str, int]]:
    tree = ast.parse(path.read_text())
    typing_only = _type_checking_nodes(tree)
    found: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, node.lineno))
        elif isinstance(node, ast.Import):
            found.extend((alias.name, node.lineno) for alias in node.names)
    return found


def _modules() -> list[tuple[str, Path]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if _layer(module) is not None:
            found.append((module, path))
    return found


@pytest.mark.parametrize(("module", "path"), _modules(), ids=[m for m, _ in _modules()])
def test_a_module_imports_no_layer_above_its_own(module: str, path: Path) -> None:
    own = _layer(module)
    assert own is not None
    wrong = []
    for imported, line in _imports(path):
        other = _layer(imported)
        if other is None or other == own:
            continue
        if RANK[other] > RANK[own] or (RANK[other] == RANK[own] and (own, imported) not in ALLOWED_PEERS):
            wrong.append(f"line {line}: {imported} ({other})")
    assert wrong == [], f"{module} ({own}) imports from above or beside its layer"


def test_the_check_sees_a_function_local_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from airflow_provider.waiting import TaskWait\n"
        "def f():\n    from airflow_provider.waiting import primary_id\n"
    )
    assert _imports(sample) == [("typing", 1), ("airflow_provider.waiting", 5)]
