"""The one response type both transports return."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airflow_provider.core.errors import BadResponseError


@dataclass(frozen=True, slots=True)
class ApiResponse:
    """One HTTP response: the service it came from, status, headers and body.

    A streamed download has an empty ``content`` and the finished local file in ``file``.
    """

    service: str
    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    content: bytes = b""
    file: Path | None = None  # set for streamed downloads: the finished local file

    @property
    def request_id(self) -> str | None:
        """The ``X-Request-Id`` header, if the service sent one."""
        for name in ("X-Request-Id", "x-request-id"):
            if name in self.headers:
                return self.headers[name]
        return None

    def json(self) -> Any:
        """Decode the body, or raise BadResponseError naming the service (never ValueError)."""
        if not self.content.strip():
            raise BadResponseError(self.service, "<body>", f"empty body with HTTP {self.status}")
        try:
            return json.loads(self.content)
        except (ValueError, RecursionError) as exc:
            snippet = self.content[:80].decode("utf-8", errors="replace")
            raise BadResponseError(self.service, "<body>", f"not JSON (HTTP {self.status}): {snippet!r}") from exc

    def json_object(self) -> dict[str, Any]:
        """Decode the body as a JSON object; ``BadResponseError`` if it is not JSON or not an object."""
        data = self.json()
        if not isinstance(data, dict):
            raise BadResponseError(self.service, "<body>", f"expected a JSON object, got {type(data).__name__}")
        return data
