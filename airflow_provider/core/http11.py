"""A lean keep-alive HTTP/1.1 client on plain asyncio, for direct connections of the async transport.

A triggerer polls the status of thousands of log tasks from one event loop, so the CPU spent per
request bounds how many triggers one process can serve. httpx (with httpcore and anyio under it)
costs about 0.45 ms of CPU per keep-alive GET; an ``asyncio.Protocol`` that writes the request in
one call and parses the answer in ``data_received`` costs about 0.05 ms. This module is that
protocol plus a small pool.

Only direct (non-proxied) HTTP/1.1 connections are handled here; proxies, and anything else this
client does not do (HTTP/2, redirects, cookies, decompression, streaming), stay on httpx.

Each request allocates one future and one timer handle. The read timeout is an inactivity timeout
kept by that one timer, which re-arms itself while bytes keep arriving, instead of a per-request
``asyncio.wait_for``/``asyncio.timeout`` (each of those costs a task or a handle per wait).

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
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

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
    """No byte arrived for ``read_timeout`` seconds: the server may have acted on the request."""

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
    status: int
    headers: dict[str, str]  # names lower-cased; repeated fields joined with ", " (as httpx does)
    body: bytes


_MAX_HEAD = 64 * 1024  # status line plus header fields, and separately the chunked trailer section
_MAX_CHUNK_LINE = 4096  # chunk size plus extensions
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
_HEXDIG = b"0123456789abcdefABCDEF"

# Parser states of a connection while a request is in flight.
_HEAD = 0  # reading a status line and header fields (the final response or an interim 1xx)
_LENGTH = 1  # reading a Content-Length body
_CHUNK_SIZE = 2  # reading a chunk-size line
_CHUNK_DATA = 3  # reading chunk data
_CHUNK_END = 4  # reading the CRLF after chunk data
_TRAILER = 5  # reading trailer fields up to the empty line
_UNTIL_CLOSE = 6  # body ends when the server closes the connection
_DONE = 7  # the head said there is no body


def _is_token(value: str) -> bool:
    return bool(value) and value.isascii() and not value.encode("ascii").translate(None, _TCHAR)


class _Connection(asyncio.Protocol):
    """One TCP (or TLS) connection: writes a request, parses its response as bytes arrive.

    The response is parsed inside ``data_received`` and handed to the waiting request through one
    future, so a request costs no task and no stream-reader round trips.
    """

    __slots__ = (
        "_buf",
        "_closed",
        "_head_request",
        "_headers",
        "_idle_since",
        "_in_idle",
        "_keep",
        "_last",
        "_loop",
        "_lost",
        "_parts",
        "_paused",
        "_pool",
        "_reader",
        "_remaining",
        "_reusable",
        "_scan",
        "_served",
        "_size",
        "_state",
        "_status",
        "_timer",
        "_transport",
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
        self._idle_since = 0.0
        self._in_idle = False
        self._lost: asyncio.Future[None] | None = None
        self._head_request = False
        self._keep = True
        self._state = _HEAD
        self._buf = b""
        self._scan = 0
        self._status = 0
        self._headers: dict[str, str] = {}
        self._parts: list[bytes] = []
        self._size = 0
        self._remaining = 0
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
            if exc is None and self._state == _UNTIL_CLOSE:
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
        elif self._state == _UNTIL_CLOSE:
            self._complete(extra=False)
        else:
            self._fail(self._lost_error(None))
        return None

    def data_received(self, data: bytes) -> None:
        if self._waiter is None:
            # Nothing was asked: a server that talks out of turn cannot be trusted with the next request.
            self._close(abort=True)
            return
        self._last = self._loop.time()
        if self._buf:
            data = self._buf + data
            self._buf = b""
        try:
            self._feed(data)
        except ProtocolViolation as exc:
            self._fail(exc)

    def pause_writing(self) -> None:
        # A large request body still draining counts as progress for the inactivity timeout.
        self._last = self._loop.time()

    def resume_writing(self) -> None:
        self._last = self._loop.time()

    # -- request lifecycle ------------------------------------------------------------------------

    def _send(self, data: bytes, head_request: bool, keep: bool) -> asyncio.Future[RawResponse]:
        loop = self._loop
        waiter: asyncio.Future[RawResponse] = loop.create_future()
        self._waiter = waiter
        self._head_request = head_request
        self._keep = keep
        self._state = _HEAD
        self._buf = b""
        self._scan = 0
        self._parts = []
        self._size = 0
        self._status = 0
        now = loop.time()
        self._last = now
        if self._timer is None:
            # One timer per connection, left armed between requests and re-armed from ``_last`` when it
            # fires: a timer per request would be cancelled on every response, and cancelled handles
            # stay in the loop's heap until their (read-timeout-distant) deadline — thousands of dead
            # objects for the garbage collector to walk in a busy triggerer.
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
        deadline = self._last + self._pool._read_timeout
        if self._loop.time() < deadline:
            self._timer = self._loop.call_at(deadline, self._on_timer)
            return
        pool = self._pool
        self._fail(ReadTimedOut(f"no data from {pool.origin} for {pool._read_timeout:g} s while awaiting the response"))

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
        elif self._state == _HEAD and not self._buf:
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

    # -- response parsing -------------------------------------------------------------------------

    def _feed(self, data: bytes) -> None:
        """Consume ``data``; whatever cannot be parsed yet is kept in ``_buf`` (bounded in size)."""
        pos = 0
        end = len(data)
        while self._state == _HEAD:
            idx = data.find(b"\r\n\r\n", pos + self._scan)
            if idx < 0:
                if end - pos > _MAX_HEAD:
                    raise self._violation("response head larger than 64 KiB")
                self._buf = data[pos:]
                self._scan = max(0, end - pos - 3)
                return
            if idx - pos > _MAX_HEAD:
                raise self._violation("response head larger than 64 KiB")
            self._scan = 0
            self._parse_head(data[pos:idx])
            pos = idx + 4
            if self._state == _DONE:
                self._complete(extra=pos < end)
                return
        if pos >= end:
            return
        state = self._state
        if state == _LENGTH:
            after = self._take(data, pos)
            if after >= 0:
                self._complete(extra=after < end)
        elif state == _UNTIL_CLOSE:
            self._size += end - pos
            if self._size > self._pool._max_response_bytes:
                raise self._too_large()
            self._parts.append(data[pos:])
        else:
            self._feed_chunked(data, pos)

    def _take(self, data: bytes, pos: int) -> int:
        """Keep up to ``_remaining`` body bytes from ``pos``: the position after them, or -1 when
        ``data`` ended first (``_remaining`` then counts what is still to come)."""
        need = self._remaining
        end = len(data)
        if end - pos < need:
            self._parts.append(data[pos:])
            self._remaining = need - (end - pos)
            return -1
        self._parts.append(data[pos : pos + need])
        return pos + need

    def _feed_chunked(self, data: bytes, pos: int) -> None:
        end = len(data)
        while pos < end:
            state = self._state
            if state == _CHUNK_DATA:
                pos = self._take(data, pos)
                if pos < 0:
                    return
                self._state = _CHUNK_END
            elif state == _CHUNK_SIZE:
                idx = data.find(b"\r\n", pos)
                if idx < 0:
                    if end - pos > _MAX_CHUNK_LINE:
                        raise self._violation("chunk size line too long")
                    self._buf = data[pos:]
                    return
                size = self._chunk_size(data[pos:idx])
                pos = idx + 2
                if size:
                    self._size += size
                    if self._size > self._pool._max_response_bytes:
                        raise self._too_large()
                    self._remaining = size
                    self._state = _CHUNK_DATA
                else:
                    self._remaining = 0  # counts trailer bytes from here on
                    self._state = _TRAILER
            elif state == _CHUNK_END:
                if data[pos] != 0x0D or (end - pos > 1 and data[pos + 1] != 0x0A):
                    raise self._violation("chunk data not followed by CRLF")
                if end - pos < 2:
                    self._buf = data[pos:]
                    return
                pos += 2
                self._state = _CHUNK_SIZE
            else:  # _TRAILER: fields are not used, only skipped
                idx = data.find(b"\r\n", pos)
                if idx < 0:
                    if self._remaining + end - pos > _MAX_HEAD:
                        raise self._violation("trailer section larger than 64 KiB")
                    self._buf = data[pos:]
                    return
                if idx == pos:
                    self._complete(extra=pos + 2 < end)
                    return
                self._remaining += idx + 2 - pos
                if self._remaining > _MAX_HEAD:
                    raise self._violation("trailer section larger than 64 KiB")
                pos = idx + 2

    def _too_large(self) -> ProtocolViolation:
        return self._violation(f"body larger than {self._pool._max_response_bytes} bytes")

    def _chunk_size(self, line: bytes) -> int:
        size = line.partition(b";")[0].rstrip(b" \t")  # chunk extensions are ignored
        if not size or len(size) > 16 or size.translate(None, _HEXDIG):
            raise self._violation("invalid chunk size")
        return int(size, 16)

    def _parse_head(self, head: bytes) -> None:
        lines = head.split(b"\r\n")
        fields = len(lines) - 1
        if head.count(b"\r") != fields or head.count(b"\n") != fields or b"\x00" in head:
            raise self._violation("stray CR, LF or NUL in the response head")
        line = lines[0]
        if (
            not line.startswith(b"HTTP/1.")
            or len(line) < 12
            or line[8] != 0x20
            or (len(line) > 12 and line[12] != 0x20)
            or not line[7:8].isdigit()
            or not line[9:12].isdigit()
        ):
            raise self._violation("invalid status line")
        status = int(line[9:12])
        if status < 100:
            raise self._violation("invalid status code")
        encoding = "latin-1"  # exact for ASCII, which is what servers send
        if not head.isascii():
            try:
                head.decode("utf-8")
            except UnicodeDecodeError:
                pass
            else:
                encoding = "utf-8"
        headers: dict[str, str] = {}
        for index in range(1, len(lines)):
            name, colon, value = lines[index].partition(b":")
            if not colon or not name or name.translate(None, _TCHAR):
                raise self._violation("invalid header line")  # includes obs-fold continuation lines
            key = name.lower().decode("ascii")
            text = value.strip(b" \t").decode(encoding)
            previous = headers.get(key)
            headers[key] = text if previous is None else f"{previous}, {text}"
        if status < 200:
            if status == 101:
                raise self._violation("101 Switching Protocols is not supported")
            return  # an interim response: the final one follows (state stays _HEAD)
        self._status = status
        self._headers = headers
        self._frame(status, line[7] != 0x30, headers)  # HTTP/1.0, or 1.1 (a later 1.x counts as 1.1)

    def _frame(self, status: int, http11: bool, headers: dict[str, str]) -> None:
        """How the body ends (RFC 9112 section 6.3), and whether the connection can be reused after it."""
        connection = headers.get("connection")
        if connection is None:
            reusable = http11
        else:
            options = _options(connection)
            reusable = "close" not in options and (http11 or "keep-alive" in options)
        reusable = reusable and self._keep
        if self._head_request or status in {204, 304}:
            self._reusable = reusable
            self._state = _DONE
            return
        transfer = headers.get("transfer-encoding")
        length = headers.get("content-length")
        if transfer is not None:
            if transfer.rpartition(",")[2].strip().lower() == "chunked":
                self._reusable = reusable and length is None  # both framings: possible smuggling
                self._state = _CHUNK_SIZE
            else:
                self._reusable = False
                self._state = _UNTIL_CLOSE
            return
        if length is None:
            self._reusable = False
            self._state = _UNTIL_CLOSE
            return
        size = self._content_length(length)
        if size > self._pool._max_response_bytes:
            raise self._too_large()
        self._reusable = reusable
        if size:
            self._remaining = size
            self._state = _LENGTH
        else:
            self._state = _DONE

    def _content_length(self, value: str) -> int:
        if value.isdigit() and value.isascii():
            return int(value)
        values = {item.strip() for item in value.split(",")}  # "42, 42": the field was repeated
        if len(values) != 1:
            raise self._violation("conflicting Content-Length values")
        (single,) = values
        if not (single.isdigit() and single.isascii()):
            raise self._violation("invalid Content-Length")
        return int(single)


class ConnectionPool:
    """Keep-alive HTTP/1.1 connections to one origin, for one event loop.

    At most ``max_connections`` requests are in flight (the rest wait at a semaphore, in O(1)),
    so there are never more connections than that. Idle connections are reused newest first,
    which lets the older ones expire and keeps the pool as small as the load allows.
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

    async def aclose(self) -> None:
        """Close every connection; requests still waiting for a response fail with HttpClientError."""
        self._closed = True
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        self._harvest_all()
        pending: list[asyncio.Future[None]] = []
        for conn in list(self._conns):
            if conn._lost is None and self._loop is not None:
                conn._lost = self._loop.create_future()
                pending.append(conn._lost)
            if conn._waiter is not None:
                conn._fail(HttpClientError(f"the connection pool for {self.origin} was closed"))
            else:
                conn._close(abort=True)
        self._idle.clear()
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
    """Names the header with a bad value, never the value: it may hold a token or a signature."""
    if "\r" in value or "\n" in value or "\x00" in value:
        raise ValueError(f"header {name!r} has a value with CR, LF or NUL")
