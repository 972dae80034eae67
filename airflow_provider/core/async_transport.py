"""The async transport: same requests, retries and errors as ``SyncTransport``, over httpx.

Clients are shared per event loop and endpoint so thousands of triggers in one triggerer
reuse a small pool of connections instead of opening one each.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
import weakref
from typing import TYPE_CHECKING

import httpx

from airflow_provider.core.errors import TransportError
from airflow_provider.core.response import ApiResponse
from airflow_provider.core.retry import Failure
from airflow_provider.core.transport import (
    Attempts,
    TlsSettings,
    TransportSettings,
    check_response,
    outgoing,
    resolve_target,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable

    from airflow_provider.core.request import ApiRequest


POOL_SIZE = 64

_ClientKey = tuple[str, TlsSettings, tuple[float, float], tuple[tuple[str, str], ...] | None]
_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[_ClientKey, httpx.AsyncClient]] = (
    weakref.WeakKeyDictionary()
)
#: One gate per client admits at most ``POOL_SIZE`` requests into httpx at a time. httpcore's
#: pool scans every queued request on each connection hand-over, so 10,000 triggers queued
#: inside it cost O(N) per response; waiting here instead is O(1) and keeps the pool small.
_gates: weakref.WeakKeyDictionary[httpx.AsyncClient, asyncio.Semaphore] = weakref.WeakKeyDictionary()


def ssl_context(tls: TlsSettings) -> ssl.SSLContext | bool:
    if tls.verify is False and not tls.client_cert:
        return False
    if isinstance(tls.verify, str):
        context = ssl.create_default_context(cafile=tls.verify)
    else:
        context = ssl.create_default_context()
        if tls.verify is False:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
    if tls.client_cert:
        context.load_cert_chain(tls.client_cert, tls.client_key)
    if tls.tls12_only:
        context.maximum_version = ssl.TLSVersion.TLSv1_2
    return context


def shared_client(origin: str, settings: TransportSettings) -> httpx.AsyncClient:
    """The client of the running loop for this origin and TLS/proxy/timeout settings."""
    loop = asyncio.get_running_loop()
    proxies = tuple(sorted(settings.proxies.items())) if settings.proxies else None
    key: _ClientKey = (origin, settings.tls, settings.timeout, proxies)
    per_loop = _clients.setdefault(loop, {})
    client = per_loop.get(key)
    if client is None or client.is_closed:
        connect, read = settings.timeout
        proxy = None
        if settings.proxies:
            proxy = settings.proxies.get(origin.split(":", 1)[0]) or settings.proxies.get("all")
        client = httpx.AsyncClient(
            verify=ssl_context(settings.tls),
            timeout=httpx.Timeout(read, connect=connect),
            limits=httpx.Limits(max_connections=POOL_SIZE, max_keepalive_connections=POOL_SIZE),
            proxy=proxy,
            trust_env=settings.proxies is None,
            follow_redirects=False,
        )
        per_loop[key] = client
    return client


def client_gate(client: httpx.AsyncClient) -> asyncio.Semaphore:
    gate = _gates.get(client)
    if gate is None:
        gate = _gates[client] = asyncio.Semaphore(POOL_SIZE)
    return gate


async def close_shared_clients() -> None:
    """Close the running loop's clients (tests, and a clean triggerer shutdown)."""
    loop = asyncio.get_running_loop()
    for client in _clients.pop(loop, {}).values():
        await client.aclose()


def classify_httpx_error(exc: BaseException) -> Failure | None:
    if isinstance(exc, (httpx.ConnectTimeout, httpx.PoolTimeout)):
        return Failure.CONNECT_TIMEOUT
    if isinstance(exc, httpx.ConnectError):
        return None if tls_cause(exc) is not None else Failure.CONNECT
    if isinstance(exc, httpx.TimeoutException):
        return Failure.TIMEOUT
    if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError, httpx.CloseError)):
        return Failure.DISCONNECTED
    return None


def tls_cause(exc: BaseException) -> BaseException | None:
    """The TLS error behind ``exc``: a failed handshake can surface as a bare ConnectError with
    the SSLError only in its chain."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLError) or "SSL" in str(current) or "CERTIFICATE" in str(current).upper():
            return current
        current = current.__cause__ or current.__context__
    return None


class AsyncTransport:
    def __init__(
        self,
        settings: TransportSettings,
        *,
        client: httpx.AsyncClient | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self._client = client
        self._sleep = sleep
        self._clock = clock

    def _client_for(self, url: str) -> httpx.AsyncClient:
        if self._client is not None:
            return self._client
        origin = url.split("/", 3)
        return shared_client("/".join(origin[:3]), self.settings)

    async def send(self, request: ApiRequest) -> ApiResponse:
        base = self.settings.base_url_for(request.service)
        target = resolve_target(base, request)
        attempts = Attempts(request, self.settings.retry, self._clock)
        client = self._client_for(target.url)
        while True:
            attempts.next()
            prepared = outgoing(request, target)
            try:
                async with self._throttled(target.host):
                    headers = await self.settings.auth.aapply(prepared)
                    async with client_gate(client):
                        raw = await client.request(
                            prepared.method, target.url, headers=headers, content=prepared.body or None
                        )
            except httpx.HTTPError as exc:
                failure = classify_httpx_error(exc)
                if failure is None:
                    cause = tls_cause(exc)
                    detail = f"TLS error: {cause!s}" if cause is not None else f"{type(exc).__name__}: {exc!s}"
                    raise TransportError(request.service, f"{request.describe()}: {detail}") from exc
                delay = attempts.after_failure(failure, exc)
                if delay is None:
                    raise attempts.give_up(failure, exc) from exc
                await self._sleep(delay)
                continue
            response = ApiResponse(request.service, raw.status_code, dict(raw.headers), raw.content)
            delay = attempts.after_response(response, self.settings.auth, headers)
            if delay is None:
                return check_response(request, response)
            if delay:
                await self._sleep(delay)

    @contextlib.asynccontextmanager
    async def _throttled(self, host: str) -> AsyncIterator[None]:
        if self.settings.throttle is None:
            yield
        else:
            async with self.settings.throttle.ahold(host):
                yield
