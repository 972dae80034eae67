"""Compare a JSON body the emulator sent with the official SDK's response model for it.

The SDK drops keys its model does not know (``_extract_kwargs``) and has no required fields, so
a differential test must look at the raw body: every key must be one the model declares (by its
``attribute_map``), and every field the model declares must be sent, unless the test names it
as omitted, with the reason.
"""

from __future__ import annotations

import importlib
import re
from typing import Any

_LIST = re.compile(r"list\[(?P<item>.+)\]")
_DICT = re.compile(r"dict\((?P<key>[^,]+),\s*(?P<value>.+)\)")
_PRIMITIVES = frozenset({"str", "int", "float", "bool", "datetime", "date", "object"})
#: Response-model attributes read from headers (``X-Subject-Token``, ``Content-Disposition``):
#: the SDK fills them from the response headers, not the body.
_HEADER_NAME = re.compile(r"^[A-Z][A-Za-z0-9]*(-[A-Z][A-Za-z0-9]*)+$")


def _model(owner: Any, name: str) -> Any:
    package = importlib.import_module(owner.__module__.rsplit(".", 1)[0])
    found = getattr(package, name, None)
    return found if isinstance(found, type) else None


def header_fields(model: Any) -> dict[str, str]:
    """attribute -> header name, for the attributes the SDK reads from response headers."""
    return {attr: key for attr, key in model.attribute_map.items() if _HEADER_NAME.match(key)}


def compare(model: Any, data: Any, path: str = "") -> tuple[list[str], list[str]]:
    """(keys the model does not know, model fields not sent), as dotted paths (``[]`` for lists)."""
    if not isinstance(data, dict):
        return [], []
    by_key = {key: attr for attr, key in model.attribute_map.items()}
    headers = set(header_fields(model).values())
    unknown = [f"{path}{key}" for key in data if key not in by_key]
    missing = [f"{path}{key}" for key in by_key if key not in data and key not in headers]
    for key, value in data.items():
        attr = by_key.get(key)
        if attr is None or value is None:
            continue
        more_unknown, more_missing = _compare_value(model, model.openapi_types[attr], value, f"{path}{key}")
        unknown += more_unknown
        missing += more_missing
    return unknown, missing


def _compare_value(owner: Any, type_name: str, value: Any, path: str) -> tuple[list[str], list[str]]:
    if type_name in _PRIMITIVES:
        return [], []
    listed = _LIST.fullmatch(type_name)
    if listed is not None:
        unknown: list[str] = []
        missing: list[str] = []
        for item in value if isinstance(value, list) else [value]:
            more_unknown, more_missing = _compare_value(owner, listed["item"], item, f"{path}[]")
            unknown += [u for u in more_unknown if u not in unknown]
            missing += [m for m in more_missing if m not in missing]
        return unknown, missing
    mapped = _DICT.fullmatch(type_name)
    if mapped is not None:
        return [], []
    model = _model(owner, type_name)
    if model is None:
        raise AssertionError(f"{path}: the SDK type {type_name!r} is not a model of {owner.__module__}")
    return compare(model, value, f"{path}.")


def assert_body_matches(
    model: Any, data: Any, *, omitted: dict[str, str] | None = None, extra: dict[str, str] | None = None
) -> None:
    """Fail naming every key the SDK model does not know (unless in ``extra``: key -> the source
    that shows the real service sends it) and every model field not sent (unless in
    ``omitted``: path -> why the emulator leaves it out)."""
    unknown, missing = compare(model, data)
    unknown = [key for key in unknown if key not in (extra or {})]
    missing = [key for key in missing if key not in (omitted or {})]
    assert not unknown, f"{model.__name__}: keys the SDK model does not know: {unknown}"
    assert not missing, f"{model.__name__}: model fields the emulator does not send: {missing}"
