"""The async transport: same requests, retries and errors as ``SyncTransport``, without blocking.

Connections are shared per event loop and endpoint, so thousands of triggers in one triggerer
reuse a small pool instead of opening one each. Direct connections use the lean HTTP/1.1 pool
of ``core.http11``: a status poll through httpx cost ~0.45 ms of CPU here, about eight times
the lean client's, and a triggerer makes thousands of polls a minute. Connections through a
proxy (configured, or from ``HTTPS_PROXY``/``ALL_PROXY``/``NO_PROXY``) and injected clients go
through httpx, which implements proxy tunnelling.
"""

from __future__ import annotations

import asyncio
import os
import ssl
import time
import urllib.request
import weakref
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx

from airflow_provider.core.errors import TransportError
from airflow_provider.core.http11 import DEFAULT_PORTS, ConnectionPool, HttpClientError, TlsFailed
from airflow_provider.core.response import ApiResponse
from airflow_provider.core.retry import Failure
from airflow_provider.core.transport import (
    Attempts,
    Target,
    TlsSettings,
    TransportSettings,
    ca_bundle,
    check_response,
    outgoing,
    resolve_target,
)

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping

    from airflow_provider.core.auth import OutgoingRequest
    from airflow_provider.core.request import ApiRequest


POOL_SIZE = 64
#: Idle connections are closed after this long. Long enough to carry a poll interval's worth of
#: quiet (a pool that closes connections between bursts of polls reopens them at every burst), and
#: below the idle timeouts at which NAT gateways and firewalls drop flows without a word. A server
#: that closes sooner says so (FIN), which removes the connection; the race of a request with that
#: close is covered by the pool, which sends a GET once more on a new connection.
KEEPALIVE_EXPIRY = 20.0

#: (origin, TLS, timeouts, keyed digest of the proxies): a proxy URL may carry a password, and a
#: cache key outlives the connection version it came from, so only a digest of it is kept.
_ClientKey = tuple[str, TlsSettings, tuple[float, float], str | None]
_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[_ClientKey, httpx.AsyncClient]] = (
    weakref.WeakKeyDictionary()
)
#: Per loop and (origin, TLS, timeouts): the lean pool, or None where a proxy applies (httpx then).
_pools: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[tuple[str, TlsSettings, tuple[float, float]], ConnectionPool | None]
] = weakref.WeakKeyDictionary()
#: One gate per client admits at most ``POOL_SIZE`` requests into httpx at a time. httpcore's
#: pool scans every queued request on each connection hand-over, so 10,000 triggers queued
#: inside it cost O(N) per response; waiting here instead is O(1) and keeps the pool small.
_gates: weakref.WeakKeyDictionary[httpx.AsyncClient, asyncio.Semaphore] = weakref.WeakKeyDictionary()
_closing: set[asyncio.Task[None]] = set()


def ssl_context(tls: TlsSettings) -> ssl.SSLContext | bool:
    """httpx's ``verify``: False (no TLS checks at all) when nothing is verified or presented."""
    if tls.verify is False and not tls.client_cert:
        return False
    return tls_context(tls)


def tls_context(tls: TlsSettings) -> ssl.SSLContext:
    """The context for an https origin: always a context, verifying or not (the lean pool needs one).

    It trusts the CA store the sync transport trusts (``ca_bundle``), not Python's default store.
    """
    bundle = ca_bundle(tls.verify)
    if bundle is None:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif os.path.isdir(bundle):
        context = ssl.create_default_context(capath=bundle)
    else:
        context = ssl.create_default_context(cafile=bundle)
    if tls.client_cert:
        context.load_cert_chain(tls.client_cert, tls.client_key)
    if tls.tls12_only:
        context.maximum_version = ssl.TLSVersion.TLSv1_2
    return context


def proxy_for(origin: str, settings: TransportSettings) -> str | None:
    """The proxy URL requests to ``origin`` go through, as httpx would pick it, or None."""
    parts = urlsplit(origin)
    scheme = parts.scheme
    if settings.proxies is not None:
        return settings.proxies.get(scheme) or settings.proxies.get("all")
    environment = urllib.request.getproxies_environment()
    proxy = environment.get(scheme) or environment.get("all")
    bypass: Callable[[str, dict[str, str]], bool] = getattr(urllib.request, "proxy_bypass_environment")  # noqa: B009 - not in typeshed
    if proxy and bypass(parts.hostname or "", environment):
        return None
    return proxy or None


def shared_pool(origin: str, settings: TransportSettings) -> ConnectionPool | None:
    """The running loop's lean pool for this origin and TLS/timeout settings; None if a proxy applies.

    Whether a proxy applies is decided once per pool, from the settings or the environment.
    """
    loop = asyncio.get_running_loop()
    key = (origin, settings.tls, settings.timeout)
    per_loop = _pools.setdefault(loop, {})
    try:
        pool = per_loop[key]
    except KeyError:
        pool = None
        if proxy_for(origin, settings) is None:
            parts = urlsplit(origin)
            scheme = parts.scheme
            connect, read = settings.timeout
            pool = ConnectionPool(
                scheme,
                parts.hostname or "",
                parts.port or DEFAULT_PORTS.get(scheme, 80),
                ssl_context=tls_context(settings.tls) if scheme == "https" else None,
                connect_timeout=connect,
                read_timeout=read,
                max_connections=POOL_SIZE,
                keepalive_expiry=KEEPALIVE_EXPIRY,
            )
        per_loop[key] = pool
    return pool


def shared_client(origin: str, settings: TransportSettings) -> httpx.AsyncClient:
    """The client of the running loop for this origin and TLS/proxy/timeout settings."""
    loop = asyncio.get_running_loop()
    key: _ClientKey = (origin, settings.tls, settings.timeout, proxies_fingerprint(settings.proxies))
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
    """The semaphore that admits at most ``POOL_SIZE`` requests at a time into ``client`` (made on first use)."""
    gate = _gates.get(client)
    if gate is None:
        gate = _gates[client] = asyncio.Semaphore(POOL_SIZE)
    return gate


def discard_shared(tls: TlsSettings) -> int:
    """Close and forget the running loop's pools and clients built on ``tls``; how many there were.

    For settings that no wait uses any more (the edge manager's certificate files once their last
    wait ended): each pool holds an SSL context with the private key loaded.
    """
    loop = asyncio.get_running_loop()
    found = 0
    pools = _pools.get(loop, {})
    for key in [key for key in pools if key[1] == tls]:
        pool = pools.pop(key)
        found += 1
        if pool is not None:
            pool.close()
    clients = _clients.get(loop, {})
    for client_key in [key for key in clients if key[1] == tls]:
        _close_later(loop, clients.pop(client_key))
        found += 1
    return found


def proxies_fingerprint(proxies: Mapping[str, str] | None) -> str | None:
    """A keyed digest of proxy settings (``core.secrets.fingerprint``); None without proxies."""
    if not proxies:
        return None
    from airflow_provider.core.secrets import fingerprint

    return fingerprint(*(part for item in sorted(proxies.items()) for part in item))


def discard_proxied(proxies: Mapping[str, str] | None) -> int:
    """Close and forget the running loop's httpx clients built for ``proxies``; how many there were.

    For proxy settings a changed connection no longer uses: the client holds the proxy URL, which
    may carry a password. A wait of another connection with the same proxies gets a new client.
    """
    digest = proxies_fingerprint(proxies)
    if digest is None:
        return 0
    loop = asyncio.get_running_loop()
    clients = _clients.get(loop, {})
    stale = [key for key in clients if key[3] == digest]
    for client_key in stale:
        _close_later(loop, clients.pop(client_key))
    return len(stale)


def _close_later(loop: asyncio.AbstractEventLoop, client: httpx.AsyncClient) -> None:
    closing = loop.create_task(client.aclose())
    _closing.add(closing)  # a reference until it is done: the loop keeps only a weak one
    closing.add_done_callback(_closing.discard)


async def close_shared_clients() -> None:
    """Close the running loop's pools and clients (tests, and a clean triggerer shutdown)."""
    loop = asyncio.get_running_loop()
    for pool in _pools.pop(loop, {}).values():
        if pool is not None:
            await pool.aclose()
    for client in _clients.pop(loop, {}).values():
        await client.aclose()


def classify_error(exc: BaseException) -> Failure | None:
    """How an attempt failed, for the retry policy; None: not worth retrying (TLS, misuse)."""
    if isinstance(exc, HttpClientError):
        return exc.failure
    return classify_httpx_error(exc)


def classify_httpx_error(exc: BaseException) -> Failure | None:
    """How an httpx exception failed, for the retry policy; None for a TLS error or anything not worth retrying."""
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
    """Sends requests without blocking: the async twin of ``SyncTransport`` (same retries and errors).

    Direct connections go through the running loop's shared lean pool (``shared_pool``); proxied
    ones, and an injected ``client``, through httpx.

    :param settings: endpoints, auth, TLS, timeouts, proxies, retry policy and throttle.
    :param client: an httpx client to send every request through instead of the shared pools (tests).
    :param sleep: awaited between attempts.
    :param clock: monotonic seconds, for the retry policy's total time.
    :param read_grid: read responses on that grid (``ConnectionPool.request``), for callers whose
        requests go out on it: the triggers' status polls. Requests through httpx ignore it.
    """

    def __init__(
        self,
        settings: TransportSettings,
        *,
        client: httpx.AsyncClient | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        read_grid: float = 0.0,
    ) -> None:
        self.settings = settings
        self._client = client
        self._sleep = sleep
        self._clock = clock
        self._read_grid = read_grid

    async def _roundtrip(
        self, method: str, target: Target, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, Mapping[str, str], bytes]:
        if self._client is not None:
            return await self._via_httpx(self._client, method, target.url, headers, body)
        pool = shared_pool(target.origin, self.settings)
        if pool is None:
            client = shared_client(target.origin, self.settings)
            return await self._via_httpx(client, method, target.url, headers, body)
        raw = await pool.request(method, target.request_target, headers, body or None, read_grid=self._read_grid)
        return raw.status, raw.headers, raw.body

    @staticmethod
    async def _via_httpx(
        client: httpx.AsyncClient, method: str, url: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, Mapping[str, str], bytes]:
        async with client_gate(client):
            raw = await client.request(method, url, headers=headers, content=body or None)
        return raw.status_code, dict(raw.headers), raw.content

    async def send(self, request: ApiRequest) -> ApiResponse:
        """Send ``request`` (signed anew on each attempt) and return its response.

        Retries and the one token refresh on a 401 follow the same ``Attempts`` rules as ``SyncTransport.send``; a
        configured ``Throttle`` holds the host for each attempt.

        :param request: the call to send.
        :return: the response, its status one of ``request.expected``.
        :raises TransportError: no HTTP response after the retries, a TLS error, or a header value the lean client
            refuses to send.
        :raises ApiError: the service answered with an unexpected status (the most specific subclass,
            ``error_for_status``).
        """
        base = self.settings.base_url_for(request.service)
        target = resolve_target(base, request)
        attempts = Attempts(request, self.settings.retry, self._clock)
        while True:
            attempts.next()
            prepared = outgoing(request, target)
            try:
                throttle = self.settings.throttle
                if throttle is None:
                    headers, status, received, content = await self._attempt(prepared, target)
                else:
                    async with throttle.ahold(target.host):
                        headers, status, received, content = await self._attempt(prepared, target)
            except (HttpClientError, httpx.HTTPError) as exc:
                failure = classify_error(exc)
                if failure is None:
                    cause = exc if isinstance(exc, TlsFailed) else tls_cause(exc)
                    detail = f"TLS error: {cause!s}" if cause is not None else f"{type(exc).__name__}: {exc!s}"
                    raise TransportError(request.service, f"{request.describe()}: {detail}") from exc
                delay = attempts.after_failure(failure, exc)
                if delay is None:
                    raise attempts.give_up(failure, exc) from exc
                await self._sleep(delay)
                continue
            except ValueError as exc:  # a header the lean client refuses to send (CR/LF/NUL in a value)
                raise TransportError(request.service, f"{request.describe()}: {exc}") from exc
            response = ApiResponse(request.service, status, received, content)
            delay = attempts.after_response(response, self.settings.auth, headers)
            if delay is None:
                return check_response(request, response)
            if delay:
                await self._sleep(delay)

    async def _attempt(
        self, prepared: OutgoingRequest, target: Target
    ) -> tuple[dict[str, str], int, Mapping[str, str], bytes]:
        """Sign (the token or signature is per attempt) and send once."""
        headers = await self.settings.auth.aapply(prepared)
        status, received, content = await self._roundtrip(prepared.method, target, headers, prepared.body)
        return headers, status, received, content
