"""Every public name of the provider says what a caller needs.

Walks the module-level classes (and the methods in their bodies) and functions of
``airflow_provider/`` with ``ast``: each public one (no leading underscore) has a docstring, and
each public class that defines ``__init__`` names every parameter of it in a ``:param <name>:``
line of the class or ``__init__`` docstring (Sphinx style, as the Apache Airflow providers write
them). Names nested in functions (the emulator's FastAPI route handlers inside ``build_router``)
are not reached by the walk.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "airflow_provider"

#: Emulator modules that are not its public surface, each with why. Users and tests reach them only
#: over HTTP (the emulated APIs, and the ``/_emulator/`` admin API that ``AdminClient`` wraps, see
#: docs/emulator.md); the public entry points are the CLI, ``EmulatorServer``, ``create_app``,
#: ``EmulatorState``, the config, connection, TLS and OBS helpers.
INTERNAL_MODULES = {
    "emulator/admin.py": "the /_emulator/ admin router; callers use AdminClient over HTTP",
    "emulator/archive.py": "builds the tar.gz bodies of the emulated downloads",
    "emulator/auth.py": "the emulated gateway's signature and token checks, reached over HTTP",
    "emulator/clock.py": "the emulated clock, steered through the config and the admin API",
    "emulator/faults.py": "the fault rules behind the admin API's faults routes",
    "emulator/gateway.py": "the ASGI layer in front of the routers (request log, faults, auth)",
    "emulator/identity.py": "the emulated IAM's users, keys and tokens, reached over HTTP",
    "emulator/requestlog.py": "the request log behind the admin API's requests route",
    "emulator/responses.py": "the error envelopes and JSON responses the routers answer with",
    "emulator/runtime.py": "what the service routers share (clock, seeded RNG, lock, outcome plans)",
    "emulator/servefile.py": "Go's http.ServeContent (ranges, preconditions) for the MEF download route",
    "emulator/timefmt.py": "the time spellings of the emulated responses",
    "emulator/transport.py": "reaches the socket under an ASGI request for wire-level faults",
    "emulator/services/clouddc.py": "the CloudDC router and its task model, reached over HTTP",
    "emulator/services/common.py": "helpers the service routers share",
    "emulator/services/css.py": "the CSS router and its task model, reached over HTTP",
    "emulator/services/dcs.py": "the DCS router and its task model, reached over HTTP",
    "emulator/services/dcs_redislog.py": "the DCS run-log router and its model, reached over HTTP",
    "emulator/services/dis.py": "the DIS router and its task model, reached over HTTP",
    "emulator/services/edge.py": "the MEF Center router and its task model, reached over HTTP",
    "emulator/services/iam.py": "the IAM router, reached over HTTP",
}


def _public_modules() -> list[Path]:
    modules = sorted(PACKAGE.rglob("*.py"))
    return [path for path in modules if path.relative_to(PACKAGE).as_posix() not in INTERNAL_MODULES]


Definition = ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef


def _public_definitions(tree: ast.Module) -> list[tuple[str, Definition]]:
    found: list[tuple[str, Definition]] = []
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            found.append((node.name, node))
            found += [
                (f"{node.name}.{member.name}", member)
                for member in node.body
                if isinstance(member, (ast.FunctionDef, ast.AsyncFunctionDef)) and not member.name.startswith("_")
            ]
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not node.name.startswith("_"):
            found.append((node.name, node))
    return found


def _parameters(init: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    arguments = init.args
    named = arguments.posonlyargs + arguments.args + arguments.kwonlyargs
    return [argument.arg for argument in named if argument.arg not in {"self", "cls"}]


def test_the_internal_modules_listed_exist() -> None:
    missing = [name for name in INTERNAL_MODULES if not (PACKAGE / name).is_file()]
    assert not missing, f"listed as internal but not found: {missing}"


@pytest.mark.parametrize("path", _public_modules(), ids=lambda path: path.relative_to(PACKAGE).as_posix())
def test_every_public_name_has_a_docstring(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    undocumented = [
        f"{name} (line {node.lineno})" for name, node in _public_definitions(tree) if not ast.get_docstring(node)
    ]
    assert not undocumented, f"no docstring: {undocumented}"


@pytest.mark.parametrize("path", _public_modules(), ids=lambda path: path.relative_to(PACKAGE).as_posix())
def test_every_constructor_parameter_is_documented(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    undocumented: list[str] = []
    for node in tree.body:
        if not isinstance(node, ast.ClassDef) or node.name.startswith("_"):
            continue
        for member in node.body:
            if isinstance(member, (ast.FunctionDef, ast.AsyncFunctionDef)) and member.name == "__init__":
                text = (ast.get_docstring(node) or "") + "\n" + (ast.get_docstring(member) or "")
                undocumented += [
                    f"{node.name}({name})" for name in _parameters(member) if f":param {name}:" not in text
                ]
    assert not undocumented, f"no ':param <name>:' line: {undocumented}"
