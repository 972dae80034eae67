"""Small helpers the service routers share."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from starlette.requests import Request


async def json_body(request: Request) -> Any:
    """The parsed body, or ``None`` when it is empty or not JSON (callers answer 400)."""
    raw = await request.body()
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def int_param(value: str | None, default: int, low: int, high: int) -> int | None:
    """An integer query parameter within bounds, or ``None`` if it is out of range or not a number."""
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        return None
    return number if low <= number <= high else None
