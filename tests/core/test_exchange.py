"""Driving sans-IO exchanges with a sync and an async sender."""

from __future__ import annotations

import pytest

from airflow_provider.core.errors import NotFoundError, RateLimitedError
from airflow_provider.core.exchange import Exchange, drive_async, drive_sync, single
from airflow_provider.core.request import ApiRequest
from airflow_provider.core.response import ApiResponse


class ScriptedSender:
    """Answers each path from a script; an exception in the script is raised instead."""

    def __init__(self, script: dict[str, ApiResponse | Exception]) -> None:
        self.script = script
        self.sent: list[str] = []

    def _answer(self, request: ApiRequest) -> ApiResponse:
        self.sent.append(request.path)
        answer = self.script[request.path]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def send(self, request: ApiRequest) -> ApiResponse:
        return self._answer(request)


class AsyncScriptedSender(ScriptedSender):
    async def send(self, request: ApiRequest) -> ApiResponse:  # type: ignore[override]
        return self._answer(request)


def _req(path: str) -> ApiRequest:
    return ApiRequest(service="svc", method="GET", path=path)


def _ok(body: bytes) -> ApiResponse:
    return ApiResponse(service="svc", status=200, content=body)


def paging() -> Exchange[list[int]]:
    """Three pages, each response feeding the next request."""
    items: list[int] = []
    path = "/page/1"
    while path:
        response = yield _req(path)
        data = response.json_object()
        items.extend(data["items"])
        path = data.get("next") or ""
    return items


PAGES = {
    "/page/1": _ok(b'{"items": [1, 2], "next": "/page/2"}'),
    "/page/2": _ok(b'{"items": [3], "next": "/page/3"}'),
    "/page/3": _ok(b'{"items": [4, 5]}'),
}


def recovering() -> Exchange[str]:
    """Handles a 404 on the first call by falling back to a second request."""
    try:
        response = yield _req("/primary")
    except NotFoundError:
        response = yield _req("/fallback")
    return response.content.decode()


def recovering_to_result() -> Exchange[str]:
    try:
        yield _req("/primary")
    except NotFoundError as exc:
        return f"missing: {exc.status}"
    return "found"


def not_handling() -> Exchange[str]:
    try:
        yield _req("/primary")
    except NotFoundError:
        return "handled"
    return "ok"


def _not_found() -> NotFoundError:
    return NotFoundError(service="svc", status=404, error_msg="gone")


def test_single():
    sender = ScriptedSender({"/x": _ok(b"1")})
    assert drive_sync(single(_req("/x")), sender).content == b"1"


def test_drive_sync_multi_request():
    sender = ScriptedSender(dict(PAGES))
    assert drive_sync(paging(), sender) == [1, 2, 3, 4, 5]
    assert sender.sent == ["/page/1", "/page/2", "/page/3"]


async def test_drive_async_multi_request():
    sender = AsyncScriptedSender(dict(PAGES))
    assert await drive_async(paging(), sender) == [1, 2, 3, 4, 5]
    assert sender.sent == ["/page/1", "/page/2", "/page/3"]


def test_drive_sync_error_handled_by_next_request():
    sender = ScriptedSender({"/primary": _not_found(), "/fallback": _ok(b"from fallback")})
    assert drive_sync(recovering(), sender) == "from fallback"
    assert sender.sent == ["/primary", "/fallback"]


async def test_drive_async_error_handled_by_next_request():
    sender = AsyncScriptedSender({"/primary": _not_found(), "/fallback": _ok(b"from fallback")})
    assert await drive_async(recovering(), sender) == "from fallback"
    assert sender.sent == ["/primary", "/fallback"]


def test_drive_sync_error_handled_by_returning():
    assert drive_sync(recovering_to_result(), ScriptedSender({"/primary": _not_found()})) == "missing: 404"


async def test_drive_async_error_handled_by_returning():
    sender = AsyncScriptedSender({"/primary": _not_found()})
    assert await drive_async(recovering_to_result(), sender) == "missing: 404"


def test_drive_sync_unhandled_error_propagates():
    error = RateLimitedError(service="svc", status=429)
    with pytest.raises(RateLimitedError) as info:
        drive_sync(not_handling(), ScriptedSender({"/primary": error}))
    assert info.value is error


async def test_drive_async_unhandled_error_propagates():
    error = RateLimitedError(service="svc", status=429)
    with pytest.raises(RateLimitedError) as info:
        await drive_async(not_handling(), AsyncScriptedSender({"/primary": error}))
    assert info.value is error


def test_error_inside_exchange_propagates():
    sender = ScriptedSender({"/page/1": _ok(b"not json")})
    with pytest.raises(Exception, match="not JSON"):
        drive_sync(paging(), sender)
