"""The API-gateway layer in front of every service: request log, fault injection, auth.

It is plain ASGI rather than Starlette middleware because it sits on the hot path: one
dict lookup and one HMAC per signed request, nothing else.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from airflow_provider.emulator.auth import check_request
from airflow_provider.emulator.responses import gateway_error, json_bytes
from airflow_provider.emulator.services.iam import AUTH_PROJECTS_PATH, PROJECTS_PATH, SECURITY_TOKENS_PATH
from airflow_provider.emulator.transport import current_transport, reset

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, MutableMapping

    from airflow_provider.emulator.faults import FaultRule
    from airflow_provider.emulator.state import EmulatorState

    Scope = MutableMapping[str, Any]
    Message = MutableMapping[str, Any]
    Receive = Callable[[], Awaitable[Message]]
    Send = Callable[[Message], Awaitable[None]]
    ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SIGNED_SERVICES = frozenset({"css", "dcs", "dis", "clouddc"})
#: The methods MEF's nginx lets through to the edge manager (``limit_except GET POST PATCH``; GET
#: allows HEAD too), from ``nginx-manager/build/nginx_default.conf``.
MEF_METHODS = frozenset({"GET", "HEAD", "POST", "PATCH"})
MEF_DENIED = b"<html><head><title>403 Forbidden</title></head><body><h1>403 Forbidden</h1></body></html>"
_request_ids = itertools.count(1)


def classify(path: str) -> str:
    """Which service a path belongs to; the services' paths do not overlap."""
    if path.startswith("/_emulator/"):
        return "admin"
    if path.startswith("/edgemanager/"):
        return "edge"
    if path.startswith(("/v3/", "/v3.0/")):
        return "iam"
    if path.startswith("/v1.0/"):
        return "css"
    if path.startswith("/v1/transfertasklog/") or "/streams/" in path:
        return "dis"
    if "/physicalservers/" in path:
        return "clouddc"
    if "/instances/" in path:
        return "dcs"
    return "unknown"


def new_request_id() -> str:
    return f"{next(_request_ids):032x}"


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _send_simple(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _default_fault_body(status: int, request_id: str) -> bytes:
    if status == 429:
        return json_bytes(
            {
                "error_code": "APIGW.0308",
                "error_msg": (
                    "The throttling threshold has been reached: policy user over ratelimit,limit:200,time:1 second"
                ),
                "request_id": request_id,
            }
        )
    return json_bytes(
        {"error_code": f"APIGW.{status:04d}", "error_msg": f"emulated fault: HTTP {status}", "request_id": request_id}
    )


class Gateway:
    def __init__(self, app: ASGIApp, state: EmulatorState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        service = classify(path)
        if service == "admin":
            await self.app(scope, receive, send)
            return
        state = self.state
        method: str = scope["method"]
        body = await _read_body(receive)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        status = 0

        async def tracked(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        fault = state.faults.take(method, path)
        try:
            if fault is not None and fault.kind == "latency":
                await asyncio.sleep(fault.latency)
            elif fault is not None:
                await self._fault(fault, scope, replay, tracked)
                return
            if service == "edge" and method not in MEF_METHODS:
                # MEF's nginx: location /edgemanager { limit_except GET POST PATCH { deny all; } },
                # answered with its 4xx.html error page (not reproduced here).
                await _send_simple(tracked, 403, MEF_DENIED, [(b"content-type", b"text/html")])
                return
            if service in SIGNED_SERVICES or path in (SECURITY_TOKENS_PATH, AUTH_PROJECTS_PATH, PROJECTS_PATH):
                failure = check_request(
                    state.identity,
                    method=method,
                    raw_path=scope.get("raw_path", path.encode()).decode("latin-1"),
                    query=parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True),
                    headers={k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]},
                    body=body,
                    max_skew=state.config.max_clock_skew,
                )
                if failure is not None:
                    response = gateway_error(failure.status, failure.code, failure.message, new_request_id())
                    await response(scope, replay, tracked)
                    return
            await self.app(scope, replay, tracked)
        finally:
            state.log.record(
                method=method,
                path=path,
                query=scope["query_string"].decode("latin-1"),
                status=status,
                service=service,
                headers=scope["headers"],
                fault=None if fault is None else fault.kind,
            )

    async def _fault(self, fault: FaultRule, scope: Scope, receive: Receive, send: Send) -> None:
        request_id = new_request_id()
        json_type = (b"content-type", b"application/json")
        if fault.kind == "status":
            headers = [json_type, (b"x-request-id", request_id.encode())]
            if fault.retry_after is not None:
                headers.append((b"retry-after", fault.retry_after.encode()))
            body = json_bytes(fault.body) if fault.body is not None else _default_fault_body(fault.status, request_id)
            await _send_simple(send, fault.status, body, headers)
        elif fault.kind == "malformed_json":
            await _send_simple(send, 200, b'{"status": "RUNNING", "progress": [1, 2', [json_type])
        elif fault.kind == "html_200":
            page = b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"
            await _send_simple(send, 200, page, [(b"content-type", b"text/html; charset=utf-8")])
        elif fault.kind == "empty_body":
            await _send_simple(send, 200, b"", [json_type])
        elif fault.kind == "drop":
            transport = current_transport()
            if transport is None:
                raise RuntimeError("emulated fault: connection dropped")
            reset(transport)
            await asyncio.sleep(0.01)
        else:
            await self._reset_mid_body(scope, receive, send, graceful=fault.kind == "close_mid_body")

    async def _reset_mid_body(self, scope: Scope, receive: Receive, send: Send, *, graceful: bool = False) -> None:
        """Half the body, then the connection ends: a reset (RST; bytes the client has not read yet
        are lost with it), or ``graceful``, a plain close (FIN) after the half has been sent."""
        start: Message = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, capture)
        body = b"".join(chunks)
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": start.get("status", 200), "headers": headers})
        await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})
        transport = current_transport()
        if transport is None:
            raise RuntimeError("emulated fault: connection reset mid-body")
        await asyncio.sleep(0.02)
        if graceful:
            transport.close()
        else:
            reset(transport)
        await asyncio.sleep(0.01)
