"""A bounded log of the requests the emulator served, with credentials redacted.

Redaction happens when recording, so no secret ever sits in the log, even in memory.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any

REDACTED = "***"
_SECRET_HEADERS = frozenset({"authorization", "x-auth-token", "x-security-token", "x-subject-token"})


class RequestLog:
    def __init__(self, size: int) -> None:
        self._lock = threading.Lock()
        self._entries: deque[dict[str, Any]] = deque(maxlen=size)

    def record(
        self,
        *,
        method: str,
        path: str,
        query: str,
        status: int,
        service: str,
        headers: list[tuple[bytes, bytes]],
        fault: str | None,
    ) -> None:
        safe = {}
        for raw_name, raw_value in headers:
            name = raw_name.decode("latin-1")
            safe[name] = REDACTED if name in _SECRET_HEADERS else raw_value.decode("latin-1")
        entry = {
            "time": time.time(),
            "method": method,
            "path": path,
            "query": query,
            "status": status,
            "service": service,
            "headers": safe,
            "fault": fault,
        }
        with self._lock:
            self._entries.append(entry)

    def entries(self, service: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        from airflow_provider.emulator.config import service_name

        wanted = None if service is None else service_name(service)
        with self._lock:
            items = [e for e in self._entries if wanted is None or e["service"] == wanted]
        return items[-limit:] if limit else items

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
