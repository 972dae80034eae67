"""A real HTTP server on 127.0.0.1 that answers with scripted ``httpx.Response`` objects.

Requests the async transport sends through its own connection pool (the IAM token request of
the password flow) cannot be routed to an injected httpx mock client, and the pool does not go
through httpx at all. This server lets those tests script replies as before and check what
really went over the wire, parsed back into ``httpx.Request`` objects.
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

Reply = httpx.Response | Callable[[httpx.Request], httpx.Response]


class Route:
    """Replies in order (the last one repeats); records every request it answered."""

    def __init__(self, replies: list[Reply]) -> None:
        if not replies:
            raise ValueError("a route needs at least one reply")
        self.replies = replies
        self.requests: list[httpx.Request] = []
        self._lock = threading.Lock()

    @property
    def call_count(self) -> int:
        return len(self.requests)

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]

    def answer(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.requests.append(request)
            reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        return reply(request) if callable(reply) else reply


class LocalHttpServer:
    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Route] = {}
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = httpx.Request(
                    self.command, server.url + self.path, headers=list(self.headers.items()), content=body
                )
                route = server.routes.get((self.command, self.path.split("?", 1)[0]))
                response = route.answer(request) if route is not None else httpx.Response(404, text="no route")
                content = response.read()
                self.send_response(response.status_code)
                for name, value in response.headers.multi_items():
                    if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            do_GET = do_POST = do_PUT = do_DELETE = _serve

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def route(self, method: str, path: str, *replies: Reply) -> Route:
        route = self.routes[(method, path)] = Route(list(replies))
        return route

    def start(self) -> LocalHttpServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


def serving() -> Iterator[LocalHttpServer]:
    """For a fixture: ``yield from serving()``."""
    server = LocalHttpServer().start()
    try:
        yield server
    finally:
        server.stop()


class RawHttpServer:
    """A threaded server on 127.0.0.1 (or ``host``) that answers every request with ``reply`` as raw bytes
    (an empty ``reply``: it closes the connection after reading the request).

    For what ``LocalHttpServer`` cannot send: a body exactly as encoded on the wire (gzip), a TLS
    listener with a certificate of the test's choosing.
    """

    def __init__(self, reply: bytes, *, context: ssl.SSLContext | None = None, host: str = "127.0.0.1") -> None:
        self.reply = reply
        self.requests: list[bytes] = []
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._listener = socket.socket(family, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind((host, 0))
        self._listener.listen(16)
        self._context = context
        self.port = self._listener.getsockname()[1]
        bracketed = f"[{host}]" if ":" in host else host
        self.url = f"{'https' if context else 'http'}://{bracketed}:{self.port}"
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def start(self) -> RawHttpServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        self._listener.close()
        self._thread.join(timeout=5)

    def _accept(self) -> None:
        self._listener.settimeout(0.05)
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except (TimeoutError, OSError):
                continue
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            client.settimeout(5)
            if self._context is not None:
                client = self._context.wrap_socket(client, server_side=True)
            data = b""
            while True:
                while b"\r\n\r\n" not in data:
                    chunk = client.recv(65536)
                    if not chunk:
                        return
                    data += chunk
                head, _, data = data.partition(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                while len(data) < length:
                    data += client.recv(65536)
                data = data[length:]
                self.requests.append(head)
                if not self.reply:
                    return  # hang up without a word
                client.sendall(self.reply)
        except (OSError, ssl.SSLError):
            return  # a client that refused the certificate, or went away
        finally:
            client.close()
