"""The lean HTTP/1.1 client against scripted servers on 127.0.0.1.

Each server answers the n-th request it reads with the n-th script (the last one repeats): bytes
to write, pauses, and how the connection ends. Parsing over arbitrary split points is checked
without sockets, by feeding the protocol directly.
"""

from __future__ import annotations

import asyncio
import gc
import gzip
import re
import socket
import ssl
import struct
import time
import zlib
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider.core import http11
from airflow_provider.core.http11 import (
    ConnectFailed,
    ConnectionPool,
    ConnectTimedOut,
    Disconnected,
    HttpClientError,
    ProtocolViolation,
    RawResponse,
    ReadTimedOut,
    TlsFailed,
)
from airflow_provider.core.retry import Failure
from airflow_provider.emulator import tls as emulator_tls

CLOSE = "close"  # the server closes the connection (FIN)
RESET = "reset"  # the server resets the connection (RST)
HANG = "hang"  # the server says nothing more and waits for the client to close
Step = bytes | float | str
Script = Sequence[Step]


def ok(body: bytes = b'{"ok":true}', *fields: str) -> bytes:
    head = "HTTP/1.1 200 OK\r\n" + "".join(f"{field}\r\n" for field in fields) + f"Content-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


def trickle(data: bytes, pause: float = 0.001) -> list[Step]:
    """``data`` one byte per write, with a pause between writes so that each arrives on its own."""
    steps: list[Step] = []
    for index in range(len(data)):
        steps += [data[index : index + 1], pause]
    return steps


CHUNKED = (
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"4;name=value\r\nWiki\r\n5;ext\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n"
    b"0\r\nExpires: never\r\nX-Trailer: 1\r\n\r\n"
)
CHUNKED_BODY = b"Wikipedia in\r\n\r\nchunks."


@dataclass
class Seen:
    connection: int
    method: str
    target: str
    headers: dict[str, str]  # lower-cased names
    head: bytes
    body: bytes


class ScriptedServer:
    def __init__(
        self,
        replies: Sequence[Script] | Callable[[Seen], Script],
        context: ssl.SSLContext | None,
        host: str = "127.0.0.1",
    ) -> None:
        self.replies = replies
        self.context = context
        self.host = host
        self.requests: list[Seen] = []
        self.accepted = 0
        self.open = 0
        self.max_open = 0
        self.closed_by_client = 0
        self.port = 0
        self._tasks: set[asyncio.Task[Any]] = set()
        self._server: asyncio.Server | None = None

    async def start(self) -> ScriptedServer:
        self._server = await asyncio.start_server(self._handle, self.host, 0, ssl=self.context)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    def script_for(self, seen: Seen) -> Script:
        if callable(self.replies):
            return self.replies(seen)
        return self.replies[min(len(self.requests) - 1, len(self.replies) - 1)]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        number = self.accepted
        self.accepted += 1
        self.open += 1
        self.max_open = max(self.max_open, self.open)
        try:
            while await self._serve_one(number, reader, writer):
                pass
        except ConnectionError:  # the client dropped the connection while a reply was being written
            self.closed_by_client += 1
        except asyncio.CancelledError:
            pass  # stop(): end normally, since asyncio.streams (3.11) logs an error for a cancelled handler
        finally:
            self.open -= 1
            writer.close()
            self._tasks.discard(task)

    async def _serve_one(self, number: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            self.closed_by_client += 1
            return False
        request_line, *lines = head[:-4].decode("latin-1").split("\r\n")
        method, target, _ = request_line.split(" ")
        headers = {}
        for line in lines:
            name, _, value = line.partition(":")
            headers[name.lower()] = value.strip()
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        seen = Seen(number, method, target, headers, head, body)
        self.requests.append(seen)
        for step in self.script_for(seen):
            if isinstance(step, bytes):
                writer.write(step)
                await writer.drain()
            elif isinstance(step, float):
                await asyncio.sleep(step)
            elif step == CLOSE:
                return False
            elif step == RESET:
                sock = writer.get_extra_info("socket")
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                writer.transport.abort()
                return False
            elif step == HANG:
                while await reader.read(1024):
                    pass
                self.closed_by_client += 1
                return False
        return True


async def until(condition: Callable[[], bool], timeout: float = 2.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.005)


@pytest.fixture
async def loop_errors() -> AsyncIterator[list[dict[str, Any]]]:
    """What the loop would have logged: unretrieved future exceptions, destroyed tasks, protocol errors."""
    loop = asyncio.get_running_loop()
    errors: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: errors.append(context))
    yield errors
    await asyncio.sleep(0)
    gc.collect()
    loop.set_exception_handler(None)
    assert [context.get("message") for context in errors] == []


@pytest.fixture
async def serve(loop_errors: list[dict[str, Any]]) -> AsyncIterator[Callable[..., Any]]:
    servers: list[ScriptedServer] = []

    async def start(
        *replies: Script,
        script: Callable[[Seen], Script] | None = None,
        context: ssl.SSLContext | None = None,
        host: str = "127.0.0.1",
    ) -> ScriptedServer:
        server = await ScriptedServer(script or replies, context, host).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.stop()


@pytest.fixture
async def pool_for(loop_errors: list[dict[str, Any]]) -> AsyncIterator[Callable[..., ConnectionPool]]:
    pools: list[ConnectionPool] = []

    def make(port: int, **options: Any) -> ConnectionPool:
        options.setdefault("connect_timeout", 2.0)
        options.setdefault("read_timeout", 2.0)
        context = options.pop("ssl_context", None)
        host = options.pop("host", "127.0.0.1")
        pool = ConnectionPool("https" if context else "http", host, port, ssl_context=context, **options)
        pools.append(pool)
        return pool

    yield make
    for pool in pools:
        await pool.aclose()


# -- framing ---------------------------------------------------------------------------------------


async def test_content_length_body_and_the_request_as_written(serve, pool_for) -> None:
    server = await serve([ok(b'{"id": 7}', "Content-Type: application/json", "X-Request-Id: r1")])
    pool = pool_for(server.port)

    got = await pool.request("GET", "/v1/tasks/7?detail=true", {"X-Auth-Token": "secret", "User-Agent": "t"})
    posted = await pool.request("POST", "/v1/tasks", {"Content-Type": "application/json"}, b'{"a": 1}')
    empty_post = await pool.request("POST", "/v1/tasks", {})
    chosen = await pool.request("GET", "/", {"accept-encoding": "gzip"})

    assert got == RawResponse(
        200, {"content-type": "application/json", "x-request-id": "r1", "content-length": "9"}, b'{"id": 7}'
    )
    assert posted.body == empty_post.body == chosen.body == b'{"id": 7}'
    get, post, bare_post, gzip = server.requests
    assert get.head.startswith(b"GET /v1/tasks/7?detail=true HTTP/1.1\r\n")
    assert get.headers == {
        "x-auth-token": "secret",
        "user-agent": "t",
        "host": f"127.0.0.1:{server.port}",
        "accept-encoding": "identity",
    }
    assert (post.method, post.headers["content-length"], post.body) == ("POST", "8", b'{"a": 1}')
    assert bare_post.headers["content-length"] == "0"
    assert gzip.head.lower().count(b"accept-encoding") == 1
    assert gzip.headers["accept-encoding"] == "gzip"


async def test_chunked_body_with_extensions_and_trailers(serve, pool_for) -> None:
    server = await serve([CHUNKED])
    pool = pool_for(server.port)

    first = await pool.request("GET", "/", {})
    second = await pool.request("GET", "/", {})

    assert first.body == second.body == CHUNKED_BODY
    assert "expires" not in first.headers and "x-trailer" not in first.headers
    assert pool.connections_opened == 1  # trailers consumed: the connection was clean for reuse


async def test_body_read_until_close(serve, pool_for) -> None:
    server = await serve([b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nhello ", 0.02, b"world", CLOSE])
    pool = pool_for(server.port)

    assert (await pool.request("GET", "/", {})).body == b"hello world"
    assert (await pool.request("GET", "/", {})).body == b"hello world"
    assert pool.connections_opened == 2


async def test_other_transfer_coding_is_read_until_close(serve, pool_for) -> None:
    server = await serve([b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nraw", CLOSE])
    pool = pool_for(server.port)

    assert (await pool.request("GET", "/", {})).body == b"raw"


async def test_interim_responses_are_skipped(serve, pool_for) -> None:
    interim = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </style.css>\r\n\r\n"
    server = await serve([interim, 0.01, ok(b"final")])
    pool = pool_for(server.port)

    response = await pool.request("GET", "/", {})

    assert (response.status, response.body) == (200, b"final")
    assert "link" not in response.headers


async def test_switching_protocols_is_rejected(serve, pool_for) -> None:
    server = await serve([b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n", HANG])
    pool = pool_for(server.port)

    with pytest.raises(ProtocolViolation, match="101") as caught:
        await pool.request("GET", "/", {})
    assert caught.value.failure is Failure.DISCONNECTED


@pytest.mark.parametrize(
    ("method", "response", "connections"),
    [
        # llhttp cannot be told that a response answers a HEAD, so one that announces a body ends at its
        # head and its connection is not reused: where the announced body would end is unknown.
        ("HEAD", b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", 2),
        ("HEAD", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 2),
        ("HEAD", b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 1),
        ("GET", b"HTTP/1.1 204 No Content\r\n\r\n", 1),
        ("GET", b"HTTP/1.1 304 Not Modified\r\nContent-Length: 1000\r\n\r\n", 1),
    ],
)
async def test_responses_without_a_body(serve, pool_for, method: str, response: bytes, connections: int) -> None:
    server = await serve([response])
    pool = pool_for(server.port)

    first = await pool.request(method, "/", {})
    second = await pool.request(method, "/", {})

    assert first.body == second.body == b""
    assert first.status == second.status
    assert pool.connections_opened == connections


async def test_repeated_header_fields_are_joined_under_lower_case_names(serve, pool_for) -> None:
    response = b"HTTP/1.1 200 OK\r\nX-Multi: a\r\nContent-Length: 2\r\nx-MULTI:   b  \r\nSet-Cookie: c=1\r\n\r\nok"
    server = await serve([response])
    pool = pool_for(server.port)

    response_headers = (await pool.request("GET", "/", {})).headers

    assert response_headers == {"x-multi": "a, b", "content-length": "2", "set-cookie": "c=1"}


@pytest.mark.parametrize("response", [ok(b'{"status": "RUNNING"}', "X-Request-Id: abc"), CHUNKED])
async def test_a_response_arriving_one_byte_at_a_time(serve, pool_for, response: bytes) -> None:
    server = await serve([response], trickle(response))
    pool = pool_for(server.port)

    whole = await pool.request("GET", "/", {})
    piecemeal = await pool.request("GET", "/", {})

    assert piecemeal == whole
    assert pool.connections_opened == 1


@pytest.mark.parametrize(
    "response",
    [
        b"HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/2 200 OK\r\nContent-Length: 0\r\n\r\n",
        b"ICY 200 OK\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 099 Low\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 12a\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2, 3\r\n\r\nok",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\nabc\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX-A: 1\r\n  folded\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nGarbage\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX-A : 1\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX-A: 1\nX-B: 2\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX-A: 1\x00\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 70_000 + b"\r\nContent-Length: 0\r\n\r\n",
        # Framings llhttp refuses where RFC 9112 allows refusing (a recipient MAY reject them), since each
        # may be an attempt at response splitting:
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nok",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5 ; ext\r\npedia\r\n0\r\n\r\n",
    ],
)
async def test_malformed_responses(serve, pool_for, response: bytes) -> None:
    server = await serve([response, HANG])
    pool = pool_for(server.port)

    with pytest.raises(ProtocolViolation, match=f"from 127.0.0.1:{server.port}"):
        await pool.request("GET", "/", {})
    await until(lambda: server.closed_by_client == 1)  # never kept for reuse


@pytest.mark.parametrize(
    "response",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n6\r\nabcdef\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\n\r\n" + b"x" * 11,
    ],
)
async def test_bodies_over_the_cap(serve, pool_for, response: bytes) -> None:
    server = await serve([response, HANG])
    pool = pool_for(server.port, max_response_bytes=10)

    with pytest.raises(ProtocolViolation, match="larger than 10 bytes"):
        await pool.request("GET", "/", {})


async def test_a_body_at_the_cap_is_accepted(serve, pool_for) -> None:
    server = await serve([ok(b"x" * 10)])
    pool = pool_for(server.port, max_response_bytes=10)

    assert (await pool.request("GET", "/", {})).body == b"x" * 10


# -- keep-alive ------------------------------------------------------------------------------------


async def test_sequential_requests_share_one_connection(serve, pool_for) -> None:
    server = await serve([ok()])
    pool = pool_for(server.port)

    for number in range(10):
        assert (await pool.request("GET", f"/{number}", {})).status == 200

    assert pool.connections_opened == 1
    assert [(seen.connection, seen.target) for seen in server.requests] == [(0, f"/{n}") for n in range(10)]


async def test_a_connection_keeps_one_read_timer_across_requests(serve, pool_for, monkeypatch) -> None:
    """A timer per request would leave a cancelled handle in the loop's heap per response, alive
    until its read-timeout deadline: thousands of dead objects in a busy triggerer."""
    server = await serve([ok()])
    pool = pool_for(server.port, read_timeout=60.0)
    loop = asyncio.get_running_loop()
    scheduled: list[str] = []
    call_at = loop.call_at

    def counting_call_at(when: float, callback: Any, *args: Any, **kwargs: Any) -> asyncio.TimerHandle:
        scheduled.append(getattr(callback, "__name__", repr(callback)))
        return call_at(when, callback, *args, **kwargs)

    monkeypatch.setattr(loop, "call_at", counting_call_at)
    for number in range(20):
        assert (await pool.request("GET", f"/{number}", {})).status == 200

    assert pool.connections_opened == 1
    assert scheduled.count("_on_timer") == 1  # armed once, for 20 requests
    assert scheduled.count("_sweep") == 1


@pytest.mark.parametrize(
    ("response", "connections"),
    [
        (b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", 2),
        (b"HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\nContent-Length: 2\r\n\r\nok", 2),
        (b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", 2),
        (b"HTTP/1.0 200 OK\r\nConnection: X-Custom\r\nContent-Length: 2\r\n\r\nok", 2),
        (b"HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\nok", 1),
        (b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok", 1),
    ],
)
async def test_when_the_server_lets_a_connection_be_reused(serve, pool_for, response: bytes, connections: int) -> None:
    server = await serve([response])  # the server itself never closes: the client decides
    pool = pool_for(server.port)

    await pool.request("GET", "/", {})
    await pool.request("GET", "/", {})

    assert pool.connections_opened == connections


async def test_a_request_asking_to_close_is_not_followed_on_its_connection(serve, pool_for) -> None:
    server = await serve([ok()])
    pool = pool_for(server.port)

    await pool.request("GET", "/", {"Connection": "close"})
    await pool.request("GET", "/", {})

    assert pool.connections_opened == 2


async def test_an_idle_connection_closed_by_the_server_is_replaced(serve, pool_for) -> None:
    server = await serve([ok(b"first"), CLOSE], [ok(b"second")])
    pool = pool_for(server.port)

    await pool.request("GET", "/", {})
    await until(lambda: not pool._idle)  # the client saw the close while the connection was idle
    response = await pool.request("GET", "/", {})

    assert response.body == b"second"
    assert pool.connections_opened == 2


async def test_a_safe_request_meeting_a_just_closed_keep_alive_connection_is_sent_again(serve, pool_for) -> None:
    """The server drops the kept-alive connection as the request arrives (its idle timeout racing
    the request): a GET goes out once more on a new connection, and succeeds."""
    server = await serve([ok(b"first")], [CLOSE], [ok(b"second")])
    pool = pool_for(server.port)

    assert (await pool.request("GET", "/a", {})).body == b"first"
    assert (await pool.request("GET", "/b", {})).body == b"second"

    assert [(seen.connection, seen.target) for seen in server.requests] == [(0, "/a"), (0, "/b"), (1, "/b")]
    assert pool.connections_opened == 2


async def test_an_unsafe_request_is_not_sent_again(serve, pool_for) -> None:
    server = await serve([ok(b"first")], [CLOSE], [ok(b"second")])
    pool = pool_for(server.port)
    await pool.request("GET", "/a", {})

    with pytest.raises(Disconnected) as caught:
        await pool.request("POST", "/start", {}, b"{}")

    assert caught.value.before_response
    assert [seen.target for seen in server.requests] == ["/a", "/start"]  # it may have been acted on


async def test_a_safe_request_is_sent_again_only_once(serve, pool_for) -> None:
    server = await serve([ok(b"first")], [CLOSE])
    pool = pool_for(server.port)
    await pool.request("GET", "/a", {})

    with pytest.raises(Disconnected):
        await pool.request("GET", "/b", {})

    assert [(seen.connection, seen.target) for seen in server.requests] == [(0, "/a"), (0, "/b"), (1, "/b")]


async def test_a_response_cut_short_is_not_sent_again(serve, pool_for) -> None:
    server = await serve([ok(b"first")], [b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\npart", CLOSE])
    pool = pool_for(server.port)
    await pool.request("GET", "/a", {})

    with pytest.raises(Disconnected) as caught:
        await pool.request("GET", "/b", {})

    assert not caught.value.before_response
    assert len(server.requests) == 2


async def test_idle_connections_are_closed_after_the_keepalive_expiry(serve, pool_for) -> None:
    server = await serve([ok()])
    pool = pool_for(server.port, keepalive_expiry=0.1)

    await pool.request("GET", "/", {})
    await until(lambda: server.closed_by_client == 1)  # closed while idle, with no request to notice
    await pool.request("GET", "/", {})

    assert pool.connections_opened == 2


async def test_an_expired_connection_is_not_handed_out(serve, pool_for) -> None:
    server = await serve([ok()])
    pool = pool_for(server.port, keepalive_expiry=0.05)

    await pool.request("GET", "/", {})
    time.sleep(0.1)  # blocks the loop: only the check on checkout can notice the expiry
    await pool.request("GET", "/", {})

    assert pool.connections_opened == 2
    assert [seen.connection for seen in server.requests] == [0, 1]


async def test_bytes_after_the_response_spoil_the_connection(serve, pool_for) -> None:
    server = await serve([ok(b"one") + b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"], [ok(b"two")])
    pool = pool_for(server.port)

    assert (await pool.request("GET", "/", {})).body == b"one"
    assert (await pool.request("GET", "/", {})).body == b"two"
    assert pool.connections_opened == 2


async def test_bytes_on_an_idle_connection_close_it(serve, pool_for) -> None:
    server = await serve([ok(b"one"), 0.02, b"surprise"], [ok(b"two")])
    pool = pool_for(server.port)

    await pool.request("GET", "/", {})
    await until(lambda: server.closed_by_client == 1)
    assert (await pool.request("GET", "/", {})).body == b"two"
    assert pool.connections_opened == 2


# -- failures --------------------------------------------------------------------------------------


async def test_disconnect_in_the_middle_of_the_body(serve, pool_for) -> None:
    server = await serve([b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", CLOSE])
    pool = pool_for(server.port)

    with pytest.raises(Disconnected) as caught:
        await pool.request("GET", "/", {})
    assert str(caught.value) == f"connection to 127.0.0.1:{server.port} closed before the response was complete"
    assert caught.value.failure is Failure.DISCONNECTED


async def test_disconnect_in_the_middle_of_a_chunked_body(serve, pool_for) -> None:
    server = await serve([b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", CLOSE])
    pool = pool_for(server.port)

    with pytest.raises(Disconnected, match="before the response was complete"):
        await pool.request("GET", "/", {})


async def test_close_without_any_response(serve, pool_for) -> None:
    server = await serve([CLOSE])
    pool = pool_for(server.port)

    with pytest.raises(Disconnected, match=f"connection to 127.0.0.1:{server.port} closed before any response"):
        await pool.request("GET", "/", {})


async def test_reset_in_the_middle_of_the_body(serve, pool_for) -> None:
    server = await serve([b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab", 0.02, RESET])
    pool = pool_for(server.port)

    with pytest.raises(Disconnected) as caught:
        await pool.request("GET", "/", {})
    assert isinstance(caught.value.__cause__, ConnectionResetError)


async def test_a_stalled_server_times_out_and_its_connection_is_dropped(serve, pool_for) -> None:
    server = await serve([HANG], [ok()])
    pool = pool_for(server.port, read_timeout=0.2)

    started = time.monotonic()
    with pytest.raises(ReadTimedOut, match=f"no data from 127.0.0.1:{server.port} for 0.2 s") as caught:
        await pool.request("GET", "/", {})
    elapsed = time.monotonic() - started

    assert 0.19 <= elapsed < 1.0
    assert caught.value.failure is Failure.TIMEOUT
    await until(lambda: server.closed_by_client == 1)
    assert (await pool.request("GET", "/", {})).status == 200
    assert pool.connections_opened == 2


async def test_a_slow_but_steady_response_does_not_time_out(serve, pool_for) -> None:
    steps: list[Step] = [b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\n"]
    for _ in range(8):
        steps += [0.07, b"x"]
    server = await serve(steps)
    pool = pool_for(server.port, read_timeout=0.2, total_timeout=5.0)

    started = time.monotonic()
    response = await pool.request("GET", "/", {})

    assert response.body == b"x" * 8
    assert time.monotonic() - started > 0.5  # far longer than read_timeout in all


async def test_a_refused_connection(pool_for) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens here once the probe is closed
    pool = pool_for(port)

    with pytest.raises(ConnectFailed, match=f"cannot connect to 127.0.0.1:{port}") as caught:
        await pool.request("GET", "/", {})
    assert caught.value.failure is Failure.CONNECT
    assert isinstance(caught.value.__cause__, ConnectionRefusedError)


async def test_a_connect_that_never_completes_times_out(pool_for, monkeypatch: pytest.MonkeyPatch) -> None:
    async def never(*args: Any, **kwargs: Any) -> Any:
        await asyncio.sleep(3600)

    monkeypatch.setattr(asyncio.get_running_loop(), "create_connection", never)
    pool = pool_for(9, connect_timeout=0.1)

    with pytest.raises(ConnectTimedOut, match=re.escape("connecting to 127.0.0.1:9 took longer than 0.1 s")) as caught:
        await pool.request("GET", "/", {})
    assert caught.value.failure is Failure.CONNECT_TIMEOUT
    assert pool.connections_opened == 0


@pytest.mark.parametrize(
    ("headers", "target", "named"),
    [
        ({"X-Sig": "abc\r\nX-Evil: 1"}, "/", "'X-Sig'"),
        ({"X-Sig": "abc\ndef"}, "/", "'X-Sig'"),
        ({"X-Sig": "abc\x00def"}, "/", "'X-Sig'"),
        ({"X-Bad\r\nName": "s3cr3t"}, "/", "'X-Bad\\r\\nName'"),
        ({"X Bad": "s3cr3t"}, "/", "'X Bad'"),
        ({"X-Sig": "Signature=\u4e2d"}, "/", "'X-Sig'"),
        ({}, "/a b", "target"),
        ({}, "/a\r\nX-Evil: 1", "target"),
        ({}, "/a\tb", "target"),
    ],
)
async def test_unsafe_requests_are_refused_before_sending(serve, pool_for, headers, target, named) -> None:
    server = await serve([ok()])
    pool = pool_for(server.port)

    with pytest.raises(ValueError) as caught:
        await pool.request("GET", target, headers)

    assert named in str(caught.value)
    for value in headers.values():
        assert value not in str(caught.value)  # header values may be credentials
    assert server.accepted == 0


async def test_a_content_length_that_does_not_match_the_body_is_refused(serve, pool_for) -> None:
    server = await serve([ok()])
    pool = pool_for(server.port)

    with pytest.raises(ValueError, match="'Content-Length' does not match"):
        await pool.request("POST", "/", {"Content-Length": "5"}, b"abc")
    await pool.request("POST", "/", {"Content-Length": "3"}, b"abc")
    assert server.requests[0].head.lower().count(b"content-length") == 1


# -- hostile servers -------------------------------------------------------------------------------


async def test_a_content_length_of_thousands_of_digits_is_a_protocol_violation(serve, pool_for) -> None:
    """Python's int() refuses more than 4,300 digits; the error must not escape data_received (asyncio
    would log a fatal protocol error and the request would be reported as closed before any response)."""
    server = await serve([b"HTTP/1.1 200 OK\r\nContent-Length: " + b"9" * 5000 + b"\r\n\r\n", HANG])
    pool = pool_for(server.port)

    with pytest.raises(ProtocolViolation, match="Content-Length") as caught:
        await pool.request("GET", "/", {})
    assert not isinstance(caught.value, Disconnected)
    await until(lambda: server.closed_by_client == 1)


async def test_endless_interim_responses_end_at_the_total_deadline(serve, pool_for) -> None:
    """Each 100 Continue is activity, so only a deadline for the whole request ends the wait."""
    server = await serve([*([b"HTTP/1.1 100 Continue\r\n\r\n", 0.05] * 400), HANG])
    pool = pool_for(server.port, read_timeout=0.3, total_timeout=0.6)

    started = time.monotonic()
    expected = re.escape(f"response from 127.0.0.1:{server.port} took longer than 0.6 s")
    with pytest.raises(ReadTimedOut, match=expected) as caught:
        await pool.request("GET", "/", {})

    assert 0.55 <= time.monotonic() - started < 1.2
    assert caught.value.failure is Failure.TIMEOUT
    await until(lambda: server.closed_by_client == 1)


async def test_a_trickled_body_ends_at_the_total_deadline(serve, pool_for) -> None:
    server = await serve([b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", *([b"x", 0.05] * 1000)])
    pool = pool_for(server.port, read_timeout=0.3, total_timeout=0.6)

    started = time.monotonic()
    with pytest.raises(ReadTimedOut, match=re.escape("took longer than 0.6 s")):
        await pool.request("GET", "/", {})
    assert time.monotonic() - started < 1.2


async def test_the_total_deadline_defaults_to_twice_the_read_timeout(serve, pool_for) -> None:
    server = await serve([*([b"HTTP/1.1 100 Continue\r\n\r\n", 0.05] * 400), HANG])
    pool = pool_for(server.port, read_timeout=0.25)

    with pytest.raises(ReadTimedOut, match=re.escape("took longer than 0.5 s")):
        await pool.request("GET", "/", {})


def test_a_total_deadline_shorter_than_the_read_timeout_is_refused() -> None:
    with pytest.raises(ValueError, match="total_timeout"):
        ConnectionPool("http", "127.0.0.1", 80, ssl_context=None, connect_timeout=1, read_timeout=2, total_timeout=1)


@pytest.mark.parametrize("control", ["\x01", "\x08", "\x0b", "\x0c", "\x1b", "\x1f", "\x7f"])
async def test_control_characters_in_header_values_are_refused(serve, pool_for, control: str) -> None:
    server = await serve([ok()])
    pool = pool_for(server.port)

    with pytest.raises(ValueError, match="'X-Auth-Token' has a value with a control character") as caught:
        await pool.request("GET", "/", {"X-Auth-Token": f"tok{control}en"})

    assert "tok" not in str(caught.value)
    assert server.accepted == 0


async def test_a_tab_and_latin_1_text_in_header_values_are_sent(serve, pool_for) -> None:
    server = await serve([ok()])
    pool = pool_for(server.port)

    await pool.request("GET", "/", {"X-Note": "a\tb", "X-Name": "caf\u00e9"})

    assert b"X-Note: a\tb\r\n" in server.requests[0].head
    assert b"X-Name: caf\xe9\r\n" in server.requests[0].head


@pytest.mark.parametrize(
    ("coding", "encode"),
    [
        ("gzip", gzip.compress),
        ("x-gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda data: zlib.compress(data)[2:-4]),  # raw deflate, as some servers send it
        ("GZIP", gzip.compress),
        ("identity", lambda data: data),
        ("gzip, gzip", lambda data: gzip.compress(gzip.compress(data))),
    ],
)
async def test_a_compressed_body_is_decoded(serve, pool_for, coding: str, encode: Callable[[bytes], bytes]) -> None:
    """requests (the sync path) decodes gzip and deflate; the async path must hand over the same body."""
    body = b'{"status": "RUNNING", "progress": 42}' * 20
    encoded = encode(body)
    server = await serve([ok(encoded, f"Content-Encoding: {coding}")])
    pool = pool_for(server.port)

    response = await pool.request("GET", "/", {})

    assert response.body == body
    assert response.headers["content-encoding"] == coding
    assert (await pool.request("GET", "/", {})).body == body
    assert pool.connections_opened == 1


async def test_a_chunked_gzip_body_is_decoded(serve, pool_for) -> None:
    encoded = gzip.compress(b"hello, chunked world")
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (encoded[:7], encoded[7:]))
    head = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"
    server = await serve([head + chunks + b"0\r\n\r\n"])
    pool = pool_for(server.port)

    assert (await pool.request("GET", "/", {})).body == b"hello, chunked world"


async def test_an_unknown_content_coding_is_handed_over_as_it_came(serve, pool_for) -> None:
    """As requests does without the brotli package: the caller's JSON parsing then names the problem."""
    server = await serve([ok(b"\x1b\x00raw", "Content-Encoding: br")])
    pool = pool_for(server.port)

    assert (await pool.request("GET", "/", {})).body == b"\x1b\x00raw"


async def test_a_corrupt_gzip_body_is_a_protocol_violation(serve, pool_for) -> None:
    server = await serve([ok(b"\x1f\x8b\x08\x00not really gzip", "Content-Encoding: gzip"), HANG])
    pool = pool_for(server.port)

    with pytest.raises(ProtocolViolation, match="gzip"):
        await pool.request("GET", "/", {})


async def test_a_gzip_bomb_is_stopped_at_the_body_cap(serve, pool_for) -> None:
    server = await serve([ok(gzip.compress(b"\x00" * 5_000_000), "Content-Encoding: gzip"), HANG])
    pool = pool_for(server.port, max_response_bytes=100_000)

    with pytest.raises(ProtocolViolation, match="larger than 100000 bytes"):
        await pool.request("GET", "/", {})


@pytest.mark.parametrize(
    "response",
    [
        b"HTTP/1.1 200 OK\nContent-Length: 2\n\nok",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\n\r\nok",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\nok",
    ],
)
async def test_a_bare_lf_response_fails_at_once(serve, pool_for, response: bytes) -> None:
    server = await serve([response, HANG])
    pool = pool_for(server.port, read_timeout=3.0)

    started = time.monotonic()
    with pytest.raises(ProtocolViolation, match=f"malformed response from 127.0.0.1:{server.port}"):
        await pool.request("GET", "/", {})
    assert time.monotonic() - started < 1.0  # not the read timeout


@pytest.mark.parametrize("status", [b"600", b"999", b"000", b"099"])
async def test_status_codes_outside_100_to_599_are_refused(serve, pool_for, status: bytes) -> None:
    server = await serve([b"HTTP/1.1 " + status + b" Odd\r\nContent-Length: 2\r\n\r\nok", HANG])
    pool = pool_for(server.port)

    with pytest.raises(ProtocolViolation, match=f"status code {int(status)} is outside 100-599"):
        await pool.request("GET", "/", {})


@pytest.mark.parametrize("status", [b"100", b"599"])
async def test_the_edges_of_the_status_range_are_accepted(serve, pool_for, status: bytes) -> None:
    final = b"HTTP/1.1 599 Edge\r\nContent-Length: 2\r\n\r\nok"
    server = await serve([(b"HTTP/1.1 100 Continue\r\n\r\n" + final) if status == b"100" else final])
    pool = pool_for(server.port)

    assert (await pool.request("GET", "/", {})).status == 599


def ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not ipv6_loopback(), reason="no IPv6 loopback on this machine")
@pytest.mark.parametrize("host", ["::1", "[::1]"])
async def test_an_ipv6_server(serve, pool_for, host: str) -> None:
    server = await serve([ok(b"v6")], host="::1")
    pool = pool_for(server.port, host=host)

    assert (await pool.request("GET", "/", {})).body == b"v6"
    assert pool.origin == f"[::1]:{server.port}"
    assert server.requests[0].headers["host"] == f"[::1]:{server.port}"


# -- TLS -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> emulator_tls.TlsFiles:
    return emulator_tls.generate(Path(tmp_path_factory.mktemp("tls")))


async def test_mutual_tls(serve, pool_for, tls_files: emulator_tls.TlsFiles) -> None:
    server = await serve([ok(b"secure")], context=emulator_tls.server_context(tls_files))
    context = ssl.create_default_context(cafile=str(tls_files.ca_cert))
    context.load_cert_chain(str(tls_files.client_cert), str(tls_files.client_key))
    pool = pool_for(server.port, ssl_context=context)

    assert (await pool.request("GET", "/", {})).body == b"secure"
    assert (await pool.request("GET", "/", {})).body == b"secure"
    assert pool.connections_opened == 1
    assert server.requests[0].headers["host"] == f"127.0.0.1:{server.port}"


async def test_an_untrusted_server_certificate(serve, pool_for, tls_files: emulator_tls.TlsFiles) -> None:
    server = await serve([ok()], context=emulator_tls.server_context(tls_files))
    context = ssl.create_default_context()  # the system CAs, not the emulator's
    context.load_cert_chain(str(tls_files.client_cert), str(tls_files.client_key))
    pool = pool_for(server.port, ssl_context=context)

    with pytest.raises(TlsFailed, match="certificate verify failed") as caught:
        await pool.request("GET", "/", {})
    assert caught.value.failure is None
    assert isinstance(caught.value.__cause__, ssl.SSLCertVerificationError)
    assert server.requests == []


@pytest.mark.parametrize("tls12", [True, False])
async def test_a_server_that_wants_a_client_certificate_and_gets_none(
    serve, pool_for, tls_files: emulator_tls.TlsFiles, tls12: bool
) -> None:
    """The server hangs up in the handshake (TLS 1.2) or right after it (TLS 1.3): a TLS error
    that is not retried, or a dropped connection whose message points at the certificate."""
    server = await serve([ok()], context=emulator_tls.server_context(tls_files))
    context = ssl.create_default_context(cafile=str(tls_files.ca_cert))  # trusts the server, has no client cert
    if tls12:
        context.maximum_version = ssl.TLSVersion.TLSv1_2
    pool = pool_for(server.port, ssl_context=context)

    with pytest.raises(HttpClientError) as caught:
        await pool.request("GET", "/", {})
    if tls12:
        assert isinstance(caught.value, TlsFailed)
        assert caught.value.failure is None
        assert "client certificate" in str(caught.value)
    else:
        assert isinstance(caught.value, (TlsFailed, Disconnected))
        assert "client certificate" in str(caught.value) or "TLS" in str(caught.value)
    assert server.requests == []


# -- limits, cancellation, shutdown ----------------------------------------------------------------


async def test_concurrency_is_capped_by_max_connections(serve, pool_for) -> None:
    server = await serve([0.005, ok()])
    pool = pool_for(server.port, max_connections=8)

    responses = await asyncio.gather(*(pool.request("GET", f"/{n}", {}) for n in range(200)))

    assert [response.status for response in responses] == [200] * 200
    assert sorted(seen.target for seen in server.requests) == sorted(f"/{n}" for n in range(200))
    assert pool.connections_opened == 8
    assert server.max_open == 8


async def test_cancelling_a_request_drops_its_connection_and_frees_its_slot(serve, pool_for) -> None:
    server = await serve([HANG], [ok(b"after")])
    pool = pool_for(server.port, max_connections=1, read_timeout=30.0)  # only the cancellation can close it

    task = asyncio.create_task(pool.request("GET", "/slow", {}))
    await until(lambda: len(server.requests) == 1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    await until(lambda: server.closed_by_client == 1, timeout=1.0)  # closed at once, not put back for reuse
    response = await asyncio.wait_for(pool.request("GET", "/next", {}), 2.0)  # the only slot is free again
    assert response.body == b"after"
    assert pool.connections_opened == 2
    assert [seen.connection for seen in server.requests] == [0, 1]


async def test_aclose_closes_idle_and_busy_connections(serve, pool_for) -> None:
    server = await serve(script=lambda seen: [HANG] if seen.target == "/hang" else [0.02, ok()])
    pool = pool_for(server.port)
    await asyncio.gather(pool.request("GET", "/a", {}), pool.request("GET", "/b", {}))
    busy = asyncio.create_task(pool.request("GET", "/hang", {}))
    await until(lambda: len(server.requests) == 3)

    await pool.aclose()

    with pytest.raises(HttpClientError, match="was closed") as caught:
        await busy
    assert type(caught.value) is HttpClientError
    await until(lambda: server.closed_by_client == 2)
    assert server.open == 0
    with pytest.raises(HttpClientError, match="is closed"):
        await pool.request("GET", "/", {})
    assert pool.connections_opened == 2


# -- responses read on a grid ----------------------------------------------------------------------


async def timed(pool: ConnectionPool, target: str, **options: Any) -> tuple[float, float, RawResponse]:
    """(sent, answered) on the loop clock, and the response."""
    loop = asyncio.get_running_loop()
    sent = loop.time()
    response = await pool.request("GET", target, {}, **options)
    return sent, loop.time(), response


async def test_responses_wait_in_the_socket_for_the_next_tick_and_are_read_together(serve, pool_for) -> None:
    """Answered at once, but handed over together on the first tick of the grid at least half a
    grid after they went out: the process wakes once for all of them."""
    server = await serve([ok(b"polled")])
    pool = pool_for(server.port, read_timeout=5.0)
    grid = 0.4
    await pool.request("GET", "/warm-up", {})  # the connection count below is then about reuse

    polls = [asyncio.create_task(timed(pool, f"/{n}", read_grid=grid)) for n in range(5)]
    await until(lambda: len(server.requests) == 6)
    assert not any(poll.done() for poll in polls)  # every answer is in; none was read
    results = await asyncio.gather(*polls)

    answered = [at for _sent, at, _response in results]
    assert max(answered) - min(answered) < 0.02
    for sent, at, response in results:
        assert response.body == b"polled"
        assert at - sent >= grid / 2 - 0.005
        tick = round(at / grid) * grid
        assert abs(at - tick) < 0.05  # on the grid, not merely late
        assert at - sent <= 1.5 * grid + 0.05
    assert pool.connections_opened == 5


async def test_a_deferred_read_over_tls_pauses_the_socket_itself(serve, pool_for, tls_files) -> None:
    """Pausing only the TLS layer would still wake the loop for each record that arrives."""
    server = await serve([ok(b"secure")], context=emulator_tls.server_context(tls_files))
    context = ssl.create_default_context(cafile=str(tls_files.ca_cert))
    context.load_cert_chain(str(tls_files.client_cert), str(tls_files.client_key))
    pool = pool_for(server.port, ssl_context=context, read_timeout=5.0)
    assert (await pool.request("GET", "/", {})).body == b"secure"
    (conn,) = pool._conns

    poll = asyncio.create_task(pool.request("GET", "/deferred", {}, read_grid=0.4))
    await until(lambda: len(server.requests) == 2)
    assert conn._reader is not conn._transport
    assert conn._reader is not None
    assert not conn._reader.is_reading()
    assert (await poll).body == b"secure"
    assert conn._reader.is_reading()  # an idle connection listens for the server closing it


async def test_no_deferral_when_the_grid_could_approach_the_read_timeout(serve, pool_for) -> None:
    server = await serve([ok()])
    pool = pool_for(server.port, read_timeout=1.0)

    sent, answered, _response = await timed(pool, "/", read_grid=0.4)

    assert answered - sent < 0.15


async def test_a_request_finding_every_connection_busy_has_the_deferred_responses_read_at_once(serve, pool_for) -> None:
    """A deferred response holds its connection: with none free, waiting for the tick would cap
    the pool at max_connections requests per tick. Nor is a response deferred on the last free one."""
    server = await serve(script=lambda seen: [0.3, ok()] if seen.target == "/slow" else [ok()])
    pool = pool_for(server.port, max_connections=2, read_timeout=10.0)
    started = asyncio.get_running_loop().time()

    deferred = asyncio.create_task(timed(pool, "/deferred", read_grid=2.0))
    await until(lambda: len(server.requests) == 1)
    slow = asyncio.create_task(timed(pool, "/slow", read_grid=2.0))  # takes the last free connection
    await until(lambda: len(server.requests) == 2)
    assert not deferred.done()
    queued = asyncio.create_task(timed(pool, "/queued", read_grid=2.0))  # finds none free

    results = await asyncio.gather(deferred, slow, queued)
    assert all(response.status == 200 for _sent, _at, response in results)
    assert max(at for _sent, at, _response in results) - started < 0.8  # not the 1-3 s of the grid


async def test_a_server_closing_the_connection_during_a_deferred_read(serve, pool_for) -> None:
    """The close is only seen at the tick; a GET then goes out again on a new connection."""
    server = await serve([ok(b"first")], [CLOSE], [ok(b"second")])
    pool = pool_for(server.port, read_timeout=5.0)
    assert (await pool.request("GET", "/a", {})).body == b"first"

    _sent, _at, response = await timed(pool, "/b", read_grid=0.2)

    assert response.body == b"second"
    assert [(seen.connection, seen.target) for seen in server.requests] == [(0, "/a"), (0, "/b"), (1, "/b")]


async def test_cancelling_a_deferred_request_and_closing_the_pool_before_the_tick(serve, pool_for) -> None:
    server = await serve([ok()])
    pool = pool_for(server.port, read_timeout=30.0)

    cancelled = asyncio.create_task(pool.request("GET", "/cancelled", {}, read_grid=5.0))
    pending = asyncio.create_task(pool.request("GET", "/pending", {}, read_grid=5.0))
    await until(lambda: len(server.requests) == 2)
    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    await until(lambda: server.closed_by_client == 1)  # its connection is dropped, not reused

    await pool.aclose()  # the pending tick goes with the pool; the loop reports nothing

    with pytest.raises(HttpClientError, match="was closed"):
        await pending
    assert pool._harvests == {}


# -- parsing without sockets -----------------------------------------------------------------------


class FakeTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: Any) -> None:
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed


def parse_in_pieces(response: bytes, cuts: Sequence[int]) -> tuple[RawResponse, FakeTransport, ConnectionPool]:
    """Feeds ``response`` to a connection split at ``cuts``; ends with EOF if it is still incomplete."""
    loop = asyncio.new_event_loop()
    try:
        pool = ConnectionPool("http", "127.0.0.1", 8080, ssl_context=None, connect_timeout=1, read_timeout=1)
        conn = http11._Connection(pool, loop)
        transport = FakeTransport()
        conn.connection_made(transport)
        waiter = conn._send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", False, True)
        bounds = sorted({cut for cut in cuts if 0 < cut < len(response)})
        for start, end in zip([0, *bounds], [*bounds, len(response)], strict=True):
            conn.data_received(response[start:end])
        if not waiter.done():
            conn.eof_received()
        return waiter.result(), transport, pool
    finally:
        loop.close()


SAMPLES = [  # (response, body, whether the connection may be reused)
    (
        ok(b'{"status": "RUNNING", "progress": 42}', "X-Request-Id: abc", "X-Multi: 1", "X-Multi: 2"),
        b'{"status": "RUNNING", "progress": 42}',
        True,
    ),
    (CHUNKED, CHUNKED_BODY, True),
    (b"HTTP/1.1 100 Continue\r\n\r\n" + ok(b"after interim"), b"after interim", True),
    (b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end", b"until the end", False),
    (b"HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n", b"", True),
]


@settings(max_examples=300, deadline=None)
@given(
    sample=st.sampled_from(SAMPLES),
    cuts=st.lists(st.integers(min_value=1, max_value=200), max_size=30),
)
def test_any_split_of_a_response_parses_the_same(sample: tuple[bytes, bytes, bool], cuts: list[int]) -> None:
    response, body, reusable = sample
    whole, _, _ = parse_in_pieces(response, [])

    pieces, transport, pool = parse_in_pieces(response, cuts)

    assert pieces == whole
    assert pieces.body == body
    assert transport.closed is not reusable
    assert len(pool._idle) == int(reusable)


@pytest.mark.parametrize(("response", "body", "reusable"), SAMPLES)
def test_every_byte_on_its_own_parses_the_same(response: bytes, body: bytes, reusable: bool) -> None:
    whole, _, _ = parse_in_pieces(response, [])

    pieces, transport, _ = parse_in_pieces(response, range(1, len(response)))

    assert pieces == whole
    assert pieces.body == body
    assert transport.closed is not reusable


def test_extra_bytes_in_the_same_segment_spoil_the_connection() -> None:
    response, transport, pool = parse_in_pieces(ok(b"one") + b"HTTP/1.1 200 OK\r\n", [])

    assert response.body == b"one"
    assert transport.closed
    assert pool._idle == []


def test_the_request_head_and_body_are_one_write_with_host_defaults() -> None:
    for scheme, port, context, host in [
        ("http", 80, None, "example.com"),
        ("https", 443, ssl.create_default_context(), "example.com"),
        ("http", 8080, None, "example.com:8080"),
    ]:
        pool = ConnectionPool(scheme, "example.com", port, ssl_context=context, connect_timeout=1, read_timeout=1)
        data, keep = pool._encode("GET", "/x", {"A": "1"}, None)
        assert data == f"GET /x HTTP/1.1\r\nA: 1\r\nHost: {host}\r\nAccept-Encoding: identity\r\n\r\n".encode()
        assert keep
    ipv6 = ConnectionPool("http", "::1", 8080, ssl_context=None, connect_timeout=1, read_timeout=1)
    assert b"\r\nHost: [::1]:8080\r\n" in ipv6._encode("GET", "/", {}, None)[0]

    posted, keep = ipv6._encode("POST", "/t", {"Connection": "close"}, b'{"a": 1}')
    assert posted.endswith(b'\r\nContent-Length: 8\r\nAccept-Encoding: identity\r\n\r\n{"a": 1}')
    assert not keep

    _, transport, _ = parse_in_pieces(ok(), [])
    assert transport.writes == [b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"]


def test_one_connection_parses_responses_of_every_framing_one_after_another() -> None:
    """The parser lives as long as the connection: each response starts from a clean state."""
    loop = asyncio.new_event_loop()
    try:
        pool = ConnectionPool("http", "127.0.0.1", 8080, ssl_context=None, connect_timeout=1, read_timeout=1)
        conn = http11._Connection(pool, loop)
        conn.connection_made(FakeTransport())
        reusable = [(response, body) for response, body, keep in SAMPLES if keep] * 3
        for response, body in reusable:
            waiter = conn._send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", False, True)
            conn.data_received(response)
            assert waiter.result().body == body
            assert pool._idle == [conn]
            pool._idle.clear()
            conn._in_idle = False
    finally:
        loop.close()
