"""A lean keep-alive HTTP/1.1 client on plain asyncio, for direct connections of the async transport.

A triggerer polls the status of thousands of log tasks from one event loop, so the CPU spent per
request bounds how many triggers one process can serve. httpx (with httpcore and anyio under it)
costs about 0.45 ms of CPU per keep-alive GET, and one shared aiohttp session per origin 0.47-0.49
ms per poll at 1,000 deferred waits against 0.26-0.31 ms for this pool (measured side by side, in
turns). This module is an ``asyncio.Protocol`` that writes the request in one call and feeds the
answer to llhttp (``httptools``, the parser uvicorn uses) in ``data_received``, plus a small pool.
Framing belongs to llhttp; this module keeps the pool, the timeouts and what a client must check
on top of the parser (status range, size caps, connection reuse).

Only direct (non-proxied) HTTP/1.1 connections are handled here; proxies, and anything else this
client does not do (HTTP/2, redirects, cookies, streaming), stay on httpx. gzip and deflate bodies
are decoded, as requests and httpx do.

Each request allocates one future. One timer per connection keeps two limits: the
read timeout (no byte for that long) and a total deadline per request, so that a server trickling
a body or sending endless ``100 Continue`` cannot hold a request past it. The timer re-arms itself
while bytes keep arriving, instead of a per-request ``asyncio.wait_for``/``asyncio.timeout`` (each
of those costs a task or a handle per wait).

A caller may have a response read on a grid (``read_grid``): it stays in the socket, with the
socket's reads paused, until the next tick, where every response due is read in one turn of the
loop. The triggers' status polls use it (see ``core.wake_grid``); nothing else does.

Error messages name the origin and what went wrong, never a header value: request headers carry
signatures and tokens.
"""

from __future__ import annotations

import asyncio
import math
import ssl
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import httptools

from airflow_provider.core.retry import Failure

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "DEFAULT_PORTS",
    "ConnectFailed",
    "ConnectTimedOut",
    "ConnectionPool",
    "Disconnected",
    "HttpClientError",
    "ProtocolViolation",
    "RawResponse",
    "ReadTimedOut",
    "TlsFailed",
]


class HttpClientError(Exception):
    """Base. ``failure`` tells the retry policy how the attempt failed (None: do not retry)."""

    failure: Failure | None = None


class ConnectFailed(HttpClientError):
    """Refused, unreachable or unresolvable: the request never reached the server."""

    failure = Failure.CONNECT


class ConnectTimedOut(HttpClientError):
    """TCP connect plus TLS handshake took longer than the connect timeout: nothing was sent."""

    failure = Failure.CONNECT_TIMEOUT


class ReadTimedOut(HttpClientError):
    """No byte arrived for ``read_timeout`` seconds, or the response took longer than ``total_timeout``
    in all: the server may have acted on the request."""

    failure = Failure.TIMEOUT


class Disconnected(HttpClientError):
    """The connection ended before the response was complete: the server may have acted on it."""

    failure = Failure.DISCONNECTED
    #: Not one byte of the response arrived: on a reused connection, the server most likely closed
    #: it as idle just as the request went out.
    before_response = False


class ProtocolViolation(HttpClientError):
    """The response could not be parsed or framed; retried like a dropped connection."""

    failure = Failure.DISCONNECTED


class TlsFailed(HttpClientError):
    """Certificate or TLS error: a configuration problem that a retry will not fix."""

    failure = None


@dataclass(frozen=True, slots=True)
class RawResponse:
    """A complete response as ``ConnectionPool.request`` returns it: status, header fields and body."""

    status: int
    headers: dict[str, str]  # names lower-cased; repeated fields joined with ", " (as httpx does)
    body: bytes  # decoded when the server applied gzip or deflate (as requests and httpx do)


_MAX_HEAD = 64 * 1024  # status line plus header fields (interim responses included), and the trailer section
DEFAULT_PORTS = {"http": 80, "https": 443}
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_COMMON_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
#: Validated request header names and their lower-case forms (bounded; the same few names recur).
_FIELD_NAMES: dict[str, str] = {}
#: Request header names this module looks at (lower-cased) instead of passing through blindly.
_SPECIAL_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "accept-encoding", "connection"})
#: RFC 9110 token characters: bytes.translate(None, _TCHAR) leaves only the invalid ones.
_TCHAR = b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
#: C0 controls except HTAB, and DEL: what a field value must not hold (RFC 9110 section 5.5).
_CONTROLS = frozenset(chr(code) for code in (*range(0x09), *range(0x0A, 0x20), 0x7F))
#: zlib ``wbits`` per content coding: gzip framing, or a zlib stream (raw deflate is tried second).
_DECODERS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}


def _is_token(value: str) -> bool:
    return bool(value) and value.isascii() and not value.encode("ascii").translate(None, _TCHAR)


class _Stop(Exception):
    """Raised from a parser callback to stop parsing: the response is complete (see ``on_message_begin``)."""


class _Connection(asyncio.Protocol):
    """One TCP (or TLS) connection: writes a request, and feeds its response to llhttp as bytes arrive.

    llhttp (``httptools``, the parser behind uvicorn) frames the response and calls back for each
    header field, body part and message end; the response is handed to the waiting request through
    one future, so a request costs no task and no stream-reader round trips. The parser lives as
    long as the connection, which is reused only after a response that ended cleanly.
    """

    __slots__ = (
        "_closed",
        "_done",
        "_error",
        "_extra",
        "_fields",
        "_head_done",
        "_head_request",
        "_headers",
        "_idle_since",
        "_in_idle",
        "_keep",
        "_last",
        "_loop",
        "_lost",
        "_parser",
        "_parts",
        "_paused",
        "_pool",
        "_reader",
        "_received",
        "_reusable",
        "_served",
        "_size",
        "_started",
        "_status",
        "_timer",
        "_transport",
        "_until_close",
        "_waiter",
    )

    def __init__(self, pool: ConnectionPool, loop: asyncio.AbstractEventLoop) -> None:
        self._pool = pool
        self._loop = loop
        self._transport: asyncio.Transport | None = None
        #: The transport on the socket, the one that wakes the loop: ``_transport`` itself, or on TLS
        #: the plain transport under it (pausing the TLS transport would not stop the socket reads).
        self._reader: asyncio.Transport | None = None
        self._paused = False
        self._closed = False
        self._waiter: asyncio.Future[RawResponse] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._last = 0.0
        self._started = 0.0
        self._idle_since = 0.0
        self._in_idle = False
        self._lost: asyncio.Future[None] | None = None
        self._head_request = False
        self._keep = True
        self._parser: httptools.HttpResponseParser | None = None
        self._received = 0  # bytes of the current response so far
        self._head_done = False  # the final response's head was parsed
        self._done = False  # the final response is complete
        self._extra = False  # bytes followed the complete response
        self._until_close = False  # the body ends when the server closes the connection
        self._error: ProtocolViolation | None = None  # raised by a callback, for data_received to report
        self._status = 0
        self._headers: dict[str, str] = {}
        self._parts: list[bytes] = []
        self._size = 0
        self._fields = 0  # bytes of header (then trailer) fields so far
        self._reusable = False
        self._served = 0  # responses completed on this connection

    # -- asyncio.Protocol -------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast("asyncio.Transport", transport)
        if self._reader is None:  # the first (socket) transport; a TLS transport comes second
            self._reader = self._transport

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        self._pool._forget(self)
        if self._waiter is not None:
            if exc is None and self._until_close:
                self._complete(extra=False)
            else:
                self._fail(self._lost_error(exc))
        timer = self._timer
        if timer is not None:
            self._timer = None
            timer.cancel()
        lost = self._lost
        if lost is not None and not lost.done():
            lost.set_result(None)

    def eof_received(self) -> bool | None:
        if self._waiter is None:
            self._close()  # the server ended an idle keep-alive connection
        elif self._until_close:
            self._complete(extra=False)
        else:
            self._fail(self._lost_error(None))
        return None

    def data_received(self, data: bytes) -> None:
        parser = self._parser
        if self._waiter is None or parser is None:
            # Nothing was asked: a server that talks out of turn cannot be trusted with the next request.
            self._close(abort=True)
            return
        self._last = self._loop.time()
        self._received += len(data)
        try:
            parser.feed_data(data)
        except Exception as exc:  # llhttp's errors, and ours raised from its callbacks: none may escape
            if not self._done:
                error = self._error or self._violation(str(exc) or type(exc).__name__)
                self._fail(error)
                return
            self._extra = True  # bytes after the complete response (a second message, or garbage)
        if self._done:
            self._complete(self._extra)
        elif not self._head_done and self._received > _MAX_HEAD:
            self._fail(self._violation("response head larger than 64 KiB"))

    def pause_writing(self) -> None:
        # A large request body still draining counts as progress for the inactivity timeout.
        self._last = self._loop.time()

    def resume_writing(self) -> None:
        self._last = self._loop.time()

    # -- llhttp callbacks (httptools) -------------------------------------------------------------

    def on_message_begin(self) -> None:
        if self._done:
            raise _Stop  # a second message in the same read: the response is taken, the connection is spoilt

    def on_header(self, name: bytes, value: bytes) -> None:
        self._fields += len(name) + len(value) + 4
        if self._fields > _MAX_HEAD:
            section = "trailer section" if self._head_done else "response head"
            raise self._remember(self._violation(f"{section} larger than 64 KiB"))
        if self._head_done:  # a trailer field: not used
            return
        key = name.lower().decode("ascii")  # llhttp admits only token characters in names
        value = value.rstrip(b" \t")  # llhttp drops the leading whitespace, not the trailing
        text = value.decode("latin-1") if value.isascii() else _decode_text(value)
        headers = self._headers
        previous = headers.get(key)
        headers[key] = text if previous is None else f"{previous}, {text}"

    def on_headers_complete(self) -> None:
        parser = self._parser
        assert parser is not None
        status = parser.get_status_code()
        if not 100 <= status <= 599:
            raise self._remember(self._violation(f"status code {status} is outside 100-599"))
        if status < 200:
            if status == 101:
                raise self._remember(self._violation("101 Switching Protocols is not supported"))
            self._headers = {}  # an interim response: the final one follows
            return
        self._status = status
        self._head_done = True
        self._fields = 0  # from here on, the trailer section's
        self._reusable = self._keep and parser.should_keep_alive()
        headers = self._headers
        length = headers.get("content-length")  # llhttp checked it: digits, one value, no overflow
        if length is not None and int(length) > self._pool._max_response_bytes:
            raise self._remember(self._too_large())
        transfer = headers.get("transfer-encoding")
        chunked = transfer is not None and transfer.rpartition(",")[2].strip().lower() == "chunked"
        # RFC 9112 section 6.3: a body that is neither chunked nor of a declared length ends at close.
        self._until_close = not (self._head_request or status in (204, 304) or chunked) and (
            transfer is not None or length is None
        )
        if self._head_request and (length not in (None, "0") or transfer is not None):
            # llhttp cannot be told that this answers a HEAD (httptools does not let the callback skip the
            # body), so the response ends here; where the announced body would have ended is unknown, so
            # the connection is not reused.
            self._done = True
            self._reusable = False
            raise _Stop

    def on_body(self, body: bytes) -> None:
        self._size += len(body)
        if self._size > self._pool._max_response_bytes:
            raise self._remember(self._too_large())
        self._parts.append(body)

    def on_message_complete(self) -> None:
        if self._head_done:  # else an interim response ended
            self._done = True

    def _remember(self, error: ProtocolViolation) -> ProtocolViolation:
        """Remember ``error`` for data_received: httptools replaces a callback's exception with its own."""
        self._error = error
        return error

    # -- request lifecycle ------------------------------------------------------------------------

    def _send(self, data: bytes, head_request: bool, keep: bool) -> asyncio.Future[RawResponse]:
        loop = self._loop
        waiter: asyncio.Future[RawResponse] = loop.create_future()
        self._waiter = waiter
        self._head_request = head_request
        self._keep = keep
        if self._parser is None:
            # One parser per connection: after a complete response llhttp waits for the next message
            # from a clean state, and a connection whose response did not end cleanly is not reused.
            self._parser = httptools.HttpResponseParser(self)
        self._received = 0
        self._head_done = self._done = self._extra = self._until_close = False
        self._error = None
        self._parts = []
        self._headers = {}
        self._size = self._fields = self._status = 0
        now = loop.time()
        self._last = self._started = now
        if self._timer is None:
            # One timer per connection, left armed between requests and re-armed from ``_last`` when it
            # fires: a timer per request would be cancelled on every response, and cancelled handles
            # stay in the loop's heap until their (read-timeout-distant) deadline — thousands of dead
            # objects for the garbage collector to walk in a busy triggerer. The total deadline is never
            # nearer than the read timeout, so a timer armed for an earlier request fires in time.
            self._timer = loop.call_at(now + self._pool._read_timeout, self._on_timer)
        transport = self._transport
        assert transport is not None
        transport.write(data)
        return waiter

    def _defer_read(self) -> None:
        """Leave the response in the socket until the pool's next harvest (see ``ConnectionPool.request``)."""
        reader = self._reader
        if reader is not None and not self._closed and reader.is_reading():
            reader.pause_reading()
            self._paused = True

    def _resume_read(self) -> None:
        if self._paused:
            self._paused = False
            reader = self._reader
            if reader is not None and not self._closed:
                reader.resume_reading()

    def _on_timer(self) -> None:
        self._timer = None
        if self._waiter is None:
            return
        pool = self._pool
        total = self._started + pool._total_timeout
        deadline = min(self._last + pool._read_timeout, total)
        now = self._loop.time()
        if now < deadline:
            self._timer = self._loop.call_at(deadline, self._on_timer)
        elif now >= total:
            self._fail(
                ReadTimedOut(f"the response from {pool.origin} took longer than {pool._total_timeout:g} s in all")
            )
        else:
            self._fail(
                ReadTimedOut(f"no data from {pool.origin} for {pool._read_timeout:g} s while awaiting the response")
            )

    def _abandon(self, waiter: asyncio.Future[RawResponse]) -> None:
        """The awaiting request ended early (cancelled): its connection is in an unknown state."""
        if self._waiter is waiter:
            self._fail(None)
        elif waiter.done() and not waiter.cancelled():
            waiter.exception()  # mark it retrieved: the task was cancelled as the outcome arrived

    def _complete(self, extra: bool) -> None:
        parts = self._parts
        body = parts[0] if len(parts) == 1 else b"".join(parts)
        self._parts = []
        coding = self._headers.get("content-encoding")
        if coding is not None and body:
            try:
                body = _decode_body(coding, body, self._pool._max_response_bytes)
            except ValueError as exc:
                self._fail(self._violation(str(exc)))
                return
        self._served += 1
        response = RawResponse(self._status, self._headers, body)
        waiter = self._waiter
        assert waiter is not None
        self._waiter = None
        if self._reusable and not extra and not waiter.done() and not self._closed:
            self._pool._checkin(self)
        else:
            self._close()
        if not waiter.done():
            waiter.set_result(response)

    def _fail(self, error: HttpClientError | None) -> None:
        waiter = self._waiter
        self._waiter = None
        self._parser = None
        timer = self._timer
        if timer is not None:
            self._timer = None
            timer.cancel()
        self._close(abort=True)
        if error is not None and waiter is not None and not waiter.done():
            waiter.set_exception(error)

    def _close(self, abort: bool = False) -> None:
        if self._closed:
            return
        self._closed = True
        self._pool._forget(self)
        transport = self._transport
        if transport is not None:
            if abort:
                transport.abort()
            else:
                transport.close()

    def _lost_error(self, exc: BaseException | None) -> HttpClientError:
        origin = self._pool.origin
        error: HttpClientError
        if isinstance(exc, ssl.SSLError) and not isinstance(exc, (ssl.SSLEOFError, ssl.SSLZeroReturnError)):
            # E.g. a TLS 1.3 server rejecting the client certificate after the client's side of the handshake.
            error = TlsFailed(f"TLS error on the connection to {origin}: {exc}")
        elif not self._received:
            hint = ""
            if not self._served and self._pool._ssl is not None:
                hint = " (on a new TLS connection: the server may have rejected the client certificate)"
            error = Disconnected(f"connection to {origin} closed before any response arrived{hint}")
            error.before_response = True
        else:
            error = Disconnected(f"connection to {origin} closed before the response was complete")
        if exc is not None:
            error.__cause__ = exc
        return error

    def _violation(self, what: str) -> ProtocolViolation:
        return ProtocolViolation(f"malformed response from {self._pool.origin}: {what}")

    def _too_large(self) -> ProtocolViolation:
        return self._violation(f"body larger than {self._pool._max_response_bytes} bytes")


def _decode_text(value: bytes) -> str:
    """A header value beyond ASCII: UTF-8 when it is valid UTF-8 (what servers mean), else Latin-1."""
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


def _decode_body(coding: str, body: bytes, limit: int) -> bytes:
    """Undo the content codings gzip and deflate, last applied first, up to ``limit`` bytes.

    Other codings (br, zstd) are handed over as they came, as requests does without their packages.
    Raises ValueError for a body that does not decode or would decode past ``limit``.
    """
    codings = [item.strip().lower() for item in coding.split(",")]
    for name in reversed(codings):
        if name in ("", "identity"):
            continue
        wbits = _DECODERS.get(name)
        if wbits is None:
            return body
        try:
            body = _inflate(body, wbits, limit)
        except zlib.error:
            if name != "deflate":
                raise ValueError(f"the {name} body does not decode") from None
            try:  # a raw deflate stream, without the zlib header (RFC 9110 names zlib; servers differ)
                body = _inflate(body, -zlib.MAX_WBITS, limit)
            except zlib.error:
                raise ValueError("the deflate body does not decode") from None
    return body


def _inflate(data: bytes, wbits: int, limit: int) -> bytes:
    """Decompress ``data`` (every gzip member of it, as urllib3 does), refusing more than ``limit`` bytes."""
    parts: list[bytes] = []
    size = 0
    while True:
        decoder = zlib.decompressobj(wbits)
        out = decoder.decompress(data, limit + 1 - size)
        size += len(out)
        if size > limit or decoder.unconsumed_tail:
            raise ValueError(f"body larger than {limit} bytes once decoded")
        if not decoder.eof:
            raise zlib.error("truncated stream")
        parts.append(out)
        data = decoder.unused_data
        if not data or wbits != 16 + zlib.MAX_WBITS:
            return b"".join(parts)


class ConnectionPool:
    """Keep-alive HTTP/1.1 connections to one origin, for one event loop.

    At most ``max_connections`` requests are in flight (the rest wait at a semaphore, in O(1)),
    so there are never more connections than that. Idle connections are reused newest first,
    which lets the older ones expire and keeps the pool as small as the load allows.

    :param scheme: ``http`` or ``https`` (which needs ``ssl_context``).
    :param host: a name, an IPv4 address or an IPv6 address (with or without brackets).
    :param port: the TCP port.
    :param ssl_context: the TLS context for ``https``; None for ``http``.
    :param connect_timeout: seconds for TCP connect plus TLS handshake.
    :param read_timeout: seconds without a byte of the response before it is given up.
    :param total_timeout: seconds from sending a request to the last byte of its response; by
        default twice ``read_timeout``, and never shorter than it.
    :param max_connections: requests in flight at most (and so connections).
    :param keepalive_expiry: seconds an idle connection is kept.
    :param max_response_bytes: the largest body accepted, after decoding gzip or deflate.
    """

    def __init__(
        self,
        scheme: str,
        host: str,
        port: int,
        *,
        ssl_context: ssl.SSLContext | None,
        connect_timeout: float,
        read_timeout: float,
        total_timeout: float | None = None,
        max_connections: int = 64,
        keepalive_expiry: float = 5.0,
        max_response_bytes: int = 64 * 1024 * 1024,
    ) -> None:
        if scheme not in DEFAULT_PORTS:
            raise ValueError(f"unsupported scheme {scheme!r}: expected 'http' or 'https'")
        if (scheme == "https") != (ssl_context is not None):
            raise ValueError("https needs an ssl_context and http must not have one")
        if connect_timeout <= 0 or read_timeout <= 0:
            raise ValueError("connect_timeout and read_timeout must be positive")
        if total_timeout is None:
            total_timeout = 2 * read_timeout
        if total_timeout < read_timeout:
            raise ValueError("total_timeout must not be shorter than read_timeout")
        if max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        self._host = host.strip("[]")
        bracketed = f"[{self._host}]" if ":" in self._host else self._host
        self._port = port
        self.origin = f"{bracketed}:{port}"
        self._host_header = bracketed if DEFAULT_PORTS[scheme] == port else self.origin
        self._ssl = ssl_context
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._total_timeout = total_timeout
        self._keepalive_expiry = keepalive_expiry
        self._max_response_bytes = max_response_bytes
        self._gate = asyncio.Semaphore(max_connections)
        self._idle: list[_Connection] = []  # oldest first; reused from the end
        self._conns: set[_Connection] = set()  # every open connection, idle or busy
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sweeper: asyncio.TimerHandle | None = None
        #: Connections whose response is left in the socket until a tick of the read grid, by tick.
        self._harvests: dict[int, tuple[asyncio.TimerHandle, list[_Connection]]] = {}
        self._closed = False
        self.connections_opened = 0

    async def request(
        self,
        method: str,
        target: str,
        headers: Mapping[str, str],
        body: bytes | None = None,
        *,
        read_grid: float = 0.0,
    ) -> RawResponse:
        """Send one request and return its response.

        ``read_grid`` (seconds, 0: off) leaves the response in the socket until the first multiple
        of ``read_grid`` on the loop clock at least half a grid after the request went out, and
        reads every response due then in one go. A caller that sends its requests on the same grid
        (the trigger's wake-ups) then costs the process one wake-up per tick instead of one per
        response, for a delay of at most 1.5 grids. Ignored where the delay could approach the
        read timeout, and while every connection is busy: a deferred response holds its connection,
        so a request that finds none free has all deferred responses read at once.
        """
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            if self._loop is not None:
                raise RuntimeError(f"the connection pool for {self.origin} belongs to another event loop")
            self._loop = loop
        data, keep = self._encode(method, target, headers, body)
        if self._closed:
            raise HttpClientError(f"the connection pool for {self.origin} is closed")
        if self._harvests and self._gate.locked():
            self._harvest_all()
        async with self._gate:
            if self._closed:
                raise HttpClientError(f"the connection pool for {self.origin} is closed")
            conn = self._checkout() if self._idle else None
            if read_grid and 3 * read_grid >= self._read_timeout:
                read_grid = 0.0
            if conn is not None and method in _SAFE_METHODS:
                try:
                    return await self._exchange(conn, data, method, keep, read_grid)
                except Disconnected as exc:
                    if not exc.before_response:
                        raise
                # A kept-alive connection the server closed as idle while the request was on its way (the
                # race every keep-alive client has): a safe request is sent once more, on a new connection.
                conn = None
            if conn is None:
                conn = await self._connect(loop)
            return await self._exchange(conn, data, method, keep, read_grid)

    async def _exchange(self, conn: _Connection, data: bytes, method: str, keep: bool, read_grid: float) -> RawResponse:
        waiter = conn._send(data, method == "HEAD", keep)
        if read_grid and not self._gate.locked():  # with no connection free, every response is read at once
            self._read_on_grid(conn, read_grid)
        try:
            return await waiter
        except BaseException:
            conn._abandon(waiter)
            raise

    def _read_on_grid(self, conn: _Connection, grid: float) -> None:
        loop = conn._loop
        tick = math.ceil((loop.time() + grid / 2) / grid)
        due = self._harvests.get(tick)
        if due is None:
            # ``tick * grid`` is the very float the trigger's grid-rounded sleeps end on, so both timers
            # fire in the same turn of the loop.
            due = self._harvests[tick] = (loop.call_at(tick * grid, self._harvest, tick), [])
        due[1].append(conn)
        conn._defer_read()

    def _harvest(self, tick: int) -> None:
        _timer, due = self._harvests.pop(tick)
        for conn in due:
            conn._resume_read()

    def _harvest_all(self) -> None:
        harvests = self._harvests
        self._harvests = {}
        for timer, due in harvests.values():
            timer.cancel()
            for conn in due:
                conn._resume_read()

    def close(self) -> list[asyncio.Future[None]]:
        """Close every connection now; requests still waiting for a response fail with HttpClientError.

        Returns futures that complete as each connection is gone (``aclose`` waits for them).
        """
        self._closed = True
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        self._harvest_all()
        pending: list[asyncio.Future[None]] = []
        for conn in list(self._conns):
            if conn._lost is None and self._loop is not None and not self._loop.is_closed():
                conn._lost = self._loop.create_future()
                pending.append(conn._lost)
            if conn._waiter is not None:
                conn._fail(HttpClientError(f"the connection pool for {self.origin} was closed"))
            else:
                conn._close(abort=True)
        self._idle.clear()
        return pending

    async def aclose(self) -> None:
        """Close every connection and wait until they are gone (see ``close``)."""
        pending = self.close()
        if pending:
            # connection_lost follows abort() within a loop iteration or two; wait so that nothing
            # outlives the pool (and the loop may be closed right after).
            await asyncio.wait(pending, timeout=1.0)

    # -- internals --------------------------------------------------------------------------------

    def _encode(self, method: str, target: str, headers: Mapping[str, str], body: bytes | None) -> tuple[bytes, bool]:
        """The request as bytes, and whether the connection may be kept after it."""
        if method not in _COMMON_METHODS and not _is_token(method):
            raise ValueError("invalid HTTP method")
        if not target or not target.isprintable() or " " in target or not target.isascii():
            raise ValueError("the request target must be ASCII without whitespace or control characters")
        lines = [f"{method} {target} HTTP/1.1\r\n"]
        has_host = has_length = has_accept_encoding = False
        keep = True
        for name, value in headers.items():
            lowered = _FIELD_NAMES.get(name)
            if lowered is None:
                lowered = _field_name(name)
            if not value.isprintable():
                _check_value(name, value)
            if lowered in _SPECIAL_HEADERS:
                if lowered == "host":
                    has_host = True
                elif lowered == "accept-encoding":
                    has_accept_encoding = True
                elif lowered == "content-length":
                    if value.strip() != str(len(body or b"")):
                        raise ValueError(f"header {name!r} does not match the length of the body")
                    has_length = True
                elif lowered == "transfer-encoding":
                    raise ValueError(f"header {name!r} is not supported: the body is sent with a Content-Length")
                elif lowered == "connection" and "close" in _options(value):
                    keep = False  # the caller asked to close: this connection takes no further request
            lines.append(f"{name}: {value}\r\n")
        if not has_host:
            lines.append(f"Host: {self._host_header}\r\n")
        if not has_length and (body is not None or method in _BODY_METHODS):
            lines.append(f"Content-Length: {len(body) if body is not None else 0}\r\n")
        if not has_accept_encoding:
            lines.append("Accept-Encoding: identity\r\n")
        lines.append("\r\n")
        try:
            head = "".join(lines).encode("latin-1")
        except UnicodeEncodeError:
            for name, value in headers.items():
                try:
                    value.encode("latin-1")
                except UnicodeEncodeError:
                    raise ValueError(f"header {name!r} has a value that is not Latin-1") from None
            raise  # pragma: no cover - method, target and names are ASCII-checked above
        return (head + body if body else head), keep

    def _checkout(self) -> _Connection | None:
        idle = self._idle
        conn = idle.pop()
        conn._in_idle = False
        loop = conn._loop
        if loop.time() - conn._idle_since <= self._keepalive_expiry:
            return conn
        # The newest idle connection has expired, so all older ones have too.
        stale = [conn, *idle]
        idle.clear()
        for old in stale:
            old._in_idle = False
            old._close()
        return None

    def _checkin(self, conn: _Connection) -> None:
        if self._closed:
            conn._close()
            return
        conn._idle_since = conn._last
        conn._in_idle = True
        self._idle.append(conn)
        if self._sweeper is None:
            self._sweeper = conn._loop.call_at(conn._last + self._keepalive_expiry, self._sweep)

    def _sweep(self) -> None:
        """Close expired idle connections even when no request comes to notice them."""
        self._sweeper = None
        idle = self._idle
        if not idle:
            return
        loop = idle[0]._loop
        cutoff = loop.time() - self._keepalive_expiry + 0.001
        count = 0
        while count < len(idle) and idle[count]._idle_since <= cutoff:
            count += 1
        expired = idle[:count]
        del idle[:count]
        for conn in expired:
            conn._in_idle = False
            conn._close()
        if idle:
            self._sweeper = loop.call_at(idle[0]._idle_since + self._keepalive_expiry, self._sweep)

    def _forget(self, conn: _Connection) -> None:
        self._conns.discard(conn)
        if conn._in_idle:
            conn._in_idle = False
            self._idle.remove(conn)

    async def _connect(self, loop: asyncio.AbstractEventLoop) -> _Connection:
        # The protocol exists before the attempt, so whatever ends the attempt (including a cancellation
        # racing its completion) can close a transport that was already made.
        conn = _Connection(self, loop)
        try:
            await asyncio.wait_for(self._open(loop, conn), self._connect_timeout)
        except BaseException as exc:
            conn._close(abort=True)
            error = self._connect_error(exc)
            if error is None:
                raise  # cancellation, or a bug: passed on as it is
            raise error from exc
        if self._closed:
            conn._close(abort=True)
            raise HttpClientError(f"the connection pool for {self.origin} is closed")
        if conn._closed:
            raise ConnectFailed(f"connection to {self.origin} closed as soon as it was opened")
        self._conns.add(conn)
        self.connections_opened += 1
        return conn

    async def _open(self, loop: asyncio.AbstractEventLoop, conn: _Connection) -> None:
        transport, _ = await loop.create_connection(lambda: conn, self._host, self._port)
        if self._ssl is not None:
            # TLS started over the plain transport, rather than by ``create_connection(ssl=...)``, keeps
            # that transport at hand: its reads are the ones a deferred read pauses.
            tls = await loop.start_tls(
                transport,
                conn,
                self._ssl,
                server_hostname=self._host,
                ssl_handshake_timeout=self._connect_timeout,
            )
            if tls is None:  # pragma: no cover - only when the transport closed during the handshake
                raise ConnectionResetError("the connection closed during the TLS handshake")
            conn._transport = tls

    def _connect_error(self, exc: BaseException) -> HttpClientError | None:
        if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
            return ConnectTimedOut(f"connecting to {self.origin} took longer than {self._connect_timeout:g} s")
        if isinstance(exc, ssl.SSLError):
            return TlsFailed(f"TLS handshake with {self.origin} failed: {exc}")
        if not isinstance(exc, OSError):
            return None
        detail = str(exc) or type(exc).__name__
        if self._ssl is not None and isinstance(exc, ConnectionError) and not isinstance(exc, ConnectionRefusedError):
            # TCP was up and the server hung up during the handshake: what a server that requires a client
            # certificate does when it gets none or one it does not trust (Python's own TLS servers drop
            # the alert). Retrying cannot help, so it is a TLS error, as the sync path reports it.
            return TlsFailed(
                f"TLS handshake with {self.origin} failed: the server closed the connection during the handshake "
                f"({type(exc).__name__}); it most likely requires a client certificate it was not given or does "
                "not trust, or a TLS version the client does not offer"
            )
        return ConnectFailed(f"cannot connect to {self.origin}: {detail}")


def _options(value: str) -> set[str]:
    return {option.strip().lower() for option in value.split(",")}


def _field_name(name: str) -> str:
    """Validates a request header name; remembers it (names repeat, values do not)."""
    if not _is_token(name):
        raise ValueError(f"invalid header name {name!r}")
    lowered = name.lower()
    if len(_FIELD_NAMES) < 1024:
        _FIELD_NAMES[name] = lowered
    return lowered


def _check_value(name: str, value: str) -> None:
    """Names the header with a bad value, never the value: it may hold a token or a signature.

    CR, LF and NUL would split or end the request; the other controls are not field-value characters
    either (RFC 9110 section 5.5) and servers treat them in different ways. HTAB and text beyond ASCII
    (Latin-1, checked when the head is encoded) are allowed.
    """
    if not _CONTROLS.isdisjoint(value):
        raise ValueError(f"header {name!r} has a value with a control character (CR, LF, NUL or another)")
