"""Checks on the ids the generic sensor passes to ``status_exchange``.

The sensor and trigger only know a service name and a dict of ids (they come from templated
DAG fields), so a missing or mistyped key must fail with the key's name before any request.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timezone

from airflow_provider.core.errors import InvalidInputError
from airflow_provider.services._parsing import parse_iso_datetime


def require_id(ids: Mapping[str, str], key: str) -> str:
    """``ids[key]``, a non-empty string.

    :raises InvalidInputError: ``ids`` is not a mapping, or the key is missing, empty or not a string (the message lists
        the keys given).
    """
    if not isinstance(ids, Mapping):
        raise InvalidInputError("ids", ids, "must be a mapping of id names to ids")
    value = ids.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise InvalidInputError(key, value, f"is required (ids given: {', '.join(sorted(ids)) or 'none'})")
    if not isinstance(value, str):
        raise InvalidInputError(key, value, f"must be a string, got {type(value).__name__}")
    return value


def require_project_id(project_id: str | None) -> str:
    """Every cloud service path starts with the project id; only the edge manager has none."""
    if project_id is None or not str(project_id).strip():
        raise InvalidInputError("project_id", project_id, "is required for this service")
    return project_id


def optional_datetime(name: str, value: object) -> datetime | None:
    """A datetime or ISO 8601 string (templated fields arrive as strings); naive means UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = parse_iso_datetime(value)
        except ValueError as exc:
            raise InvalidInputError(name, value, "must be an ISO 8601 date-time") from exc
    else:
        raise InvalidInputError(name, value, "must be a datetime or an ISO 8601 string")
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


_INTEGER = re.compile(r"[+-]?[0-9]+")


def option_int(name: str, value: object, default: int, low: int, high: int) -> int:
    """An integer option; digit strings are accepted because templated fields render as text."""
    if value is None:
        value = default
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):  # ASCII digits only, one sign
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInputError(name, value, "must be an integer")
    if not low <= value <= high:
        raise InvalidInputError(name, value, f"must be in [{low}, {high}]")
    return value
