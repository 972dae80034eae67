"""Sans-IO API calls: a service writes each call once, as a generator, and both transports drive it.

A call that needs several requests (paging, "snapshot, start, find the new record") yields
``ApiRequest``s and receives ``ApiResponse``s; its return value is the result. The sync hook
drives it with ``requests`` and the async trigger with ``AsyncTransport`` — no twin methods.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Protocol, TypeVar

if TYPE_CHECKING:
    from airflow_provider.core.request import ApiRequest
    from airflow_provider.core.response import ApiResponse

T = TypeVar("T")

Exchange = Generator["ApiRequest", "ApiResponse", T]


class SyncSender(Protocol):
    """Anything that sends an ``ApiRequest`` and returns its ``ApiResponse``, blocking (``SyncTransport``)."""

    def send(self, request: ApiRequest) -> ApiResponse:
        """Send ``request`` and return its response."""


class AsyncSender(Protocol):
    """Anything that sends an ``ApiRequest`` and returns its ``ApiResponse`` without blocking (``AsyncTransport``)."""

    async def send(self, request: ApiRequest) -> ApiResponse:
        """Send ``request`` and return its response."""


def single(request: ApiRequest) -> Exchange[ApiResponse]:
    """The trivial exchange: one request, the response is the result."""
    response = yield request
    return response


def drive_sync(exchange: Exchange[T], sender: SyncSender) -> T:
    """Send each yielded request; an error is thrown into the exchange, which may handle it."""
    try:
        request = next(exchange)
        while True:
            try:
                response = sender.send(request)
            except Exception as exc:
                request = exchange.throw(exc)
            else:
                request = exchange.send(response)
    except StopIteration as stop:
        result: T = stop.value
        return result


async def drive_async(exchange: Exchange[T], sender: AsyncSender) -> T:
    """The async twin of ``drive_sync``: the only place where the two paths differ."""
    try:
        request = next(exchange)
        while True:
            try:
                response = await sender.send(request)
            except Exception as exc:
                request = exchange.throw(exc)
            else:
                request = exchange.send(response)
    except StopIteration as stop:
        result: T = stop.value
        return result
