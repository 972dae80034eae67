"""Reach the socket under the current ASGI request, for faults that must misbehave on the wire.

ASGI offers no way to close a connection without a response, but uvicorn runs each request
as a task whose coroutine is ``RequestResponseCycle.run_asgi``; that object holds the
transport. If that ever changes, callers fall back to raising, which uvicorn turns into a
closed connection (after the response started) or a 500.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from typing import Any


def current_transport() -> asyncio.Transport | None:
    task = asyncio.current_task()
    if task is None:
        return None
    frame = getattr(task.get_coro(), "cr_frame", None)
    owner: Any = frame.f_locals.get("self") if frame is not None else None
    transport = getattr(owner, "transport", None)
    # uvloop's transports do not subclass asyncio's, so check behaviour rather than type.
    return transport if hasattr(transport, "abort") and hasattr(transport, "get_extra_info") else None


def reset(transport: asyncio.Transport) -> None:
    """Close with RST rather than FIN, as a crashed peer or middlebox would."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
