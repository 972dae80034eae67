"""Input checks that run before any request is sent.

Ids end up inside URL paths; an id such as ``../../other`` or ``x?admin=1`` would silently
address another resource, so every path parameter is checked and percent-encoded here.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import quote

from airflow_provider.core.errors import InvalidInputError

if TYPE_CHECKING:
    from collections.abc import Iterable

MAX_PATH_PARAM_LENGTH = 256
_EDGE_TASK_ID = re.compile(r"dumpMultiNodesLog[-_a-zA-Z0-9.]{1,128}")
_DIS_TASK_ID = re.compile(r"[A-Za-z0-9]{19}")
MAX_EDGE_NODE_ID = 2**32 - 1
MAX_EDGE_NODES = 100


#: Ids made only of unreserved characters need no encoding: the common case, checked in one step
#: (a trigger builds a path on every poll). Anything else goes through every check below.
_PLAIN = re.compile(r"[A-Za-z0-9_~-]+(?:\.[A-Za-z0-9_~-]+)*")


def check_path_param(name: str, value: object, *, max_length: int = MAX_PATH_PARAM_LENGTH) -> str:
    """Validate one path parameter and return it percent-encoded for the URL path."""
    if isinstance(value, str) and len(value) <= max_length and _PLAIN.fullmatch(value):
        return value
    if not isinstance(value, str):
        raise InvalidInputError(name, value, f"must be a string, got {type(value).__name__}")
    if not value:
        raise InvalidInputError(name, value, "must not be empty")
    if len(value) > max_length:
        raise InvalidInputError(name, value, f"is {len(value)} characters long, at most {max_length}")
    if value != value.strip():
        raise InvalidInputError(name, value, "must not start or end with white space")
    for bad in ("/", "\\", "?", "#", "%"):
        if bad in value:
            raise InvalidInputError(name, value, f"must not contain {bad!r}")
    if value in (".", "..") or ".." in value:
        raise InvalidInputError(name, value, "must not contain '..'")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        raise InvalidInputError(name, value, "must not contain control characters")
    return quote(value, safe="-_.~")


def build_path(template: str, **params: object) -> str:
    """Fill ``{name}`` placeholders of a path template with checked, encoded values."""
    encoded = {name: check_path_param(name, value) for name, value in params.items()}
    try:
        return template.format(**encoded)
    except KeyError as exc:  # a programming error, not user input
        raise ValueError(f"path template {template!r} needs parameter {exc.args[0]!r}") from exc


def check_edge_task_id(value: object, name: str = "dump_task_id") -> str:
    """MEF task ids are ``dumpMultiNodesLog`` + 1-128 of ``[-_a-zA-Z0-9.]`` (the query API's taskId rule)."""
    if not isinstance(value, str) or not _EDGE_TASK_ID.fullmatch(value):
        raise InvalidInputError(
            name, value, "must be 'dumpMultiNodesLog' followed by 1-128 of letters, digits, '-', '_', '.'"
        )
    return value


def check_dis_task_id(value: object, name: str = "transfer_task_id") -> str:
    """DIS dump task ids are exactly 19 letters and digits (the Showtransfertasklog task_id)."""
    if not isinstance(value, str) or not _DIS_TASK_ID.fullmatch(value):
        raise InvalidInputError(name, value, "must be exactly 19 letters and digits")
    return value


def check_edge_node_ids(values: Iterable[object], name: str = "node_ids") -> list[int]:
    """MEF accepts 1-100 unique integer node ids in [1, 2^32-1]."""
    if isinstance(values, (str, bytes)):
        raise InvalidInputError(name, values, "must be a list of integers, not a string")
    result: list[int] = []
    for raw in values:
        value = raw
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
                value = int(value.strip())
            else:
                raise InvalidInputError(name, value, "each node id must be an integer")
        if not 1 <= value <= MAX_EDGE_NODE_ID:
            raise InvalidInputError(name, value, f"each node id must be in [1, {MAX_EDGE_NODE_ID}]")
        if value in result:
            raise InvalidInputError(name, value, "node ids must be unique")
        result.append(value)
    if not result:
        raise InvalidInputError(name, result, "must name at least one node")
    if len(result) > MAX_EDGE_NODES:
        raise InvalidInputError(name, f"<{len(result)} ids>", f"at most {MAX_EDGE_NODES} nodes per task")
    return result


def check_choice(name: str, value: object, choices: Iterable[str]) -> str:
    """``value`` as a string if it is one of ``choices``, else ``InvalidInputError`` naming ``name``."""
    options = tuple(choices)
    if value not in options:
        raise InvalidInputError(name, value, f"must be one of {', '.join(options)}")
    return str(value)


def check_int_range(name: str, value: object, low: int, high: int) -> int:
    """``value`` if it is an int (not a bool) in [``low``, ``high``], else ``InvalidInputError`` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInputError(name, value, "must be an integer")
    if not low <= value <= high:
        raise InvalidInputError(name, value, f"must be in [{low}, {high}]")
    return value
