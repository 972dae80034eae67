"""A fake sender that replays canned responses, and JSON strategies for the property tests."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from airflow_provider.core.response import ApiResponse

if TYPE_CHECKING:
    from airflow_provider.core.request import ApiRequest


def response(service: str, body: Any = None, *, status: int = 200, raw: bytes | None = None) -> ApiResponse:
    """A response whose body is ``raw`` bytes, JSON text given verbatim, or a value to encode."""
    if raw is not None:
        content = raw
    elif isinstance(body, str):
        content = body.encode("utf-8")
    elif body is None:
        content = b""
    else:
        content = json.dumps(body).encode("utf-8")
    return ApiResponse(service=service, status=status, headers={}, content=content)


class FakeSender:
    """Plays the transport for ``drive_sync``: records requests, returns (or raises) canned items."""

    def __init__(self, *items: ApiResponse | Exception) -> None:
        self.items = list(items)
        self.requests: list[ApiRequest] = []

    def send(self, request: ApiRequest) -> ApiResponse:
        self.requests.append(request)
        if not self.items:
            raise AssertionError(f"unexpected extra request {request.describe()}")
        item = self.items.pop(0)
        if isinstance(item, Exception):
            raise item
        return item


scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**400), max_value=10**400)
    | st.floats()
    | st.text()
    | st.sampled_from(["", "30%", "100", "-1", "1656042837000", "2022-09-01 11:52:24", "null", "0"])
    | st.sampled_from([10**400, -(10**400), 2**63, -(2**63), 1e308, -1e308, 10**15, "9" * 25, "\u00e9\U0001f600"])
)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


def shaped(keys: dict[str, st.SearchStrategy[Any]] | list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """Objects with any subset of the documented keys (values random or given) plus junk keys."""
    if isinstance(keys, list):
        keys = {key: json_values for key in keys}
    return st.builds(
        lambda known, extra: {**extra, **known},
        st.fixed_dictionaries({}, optional=keys),
        st.dictionaries(st.text(max_size=6), json_values, max_size=2),
    )


property_settings = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
