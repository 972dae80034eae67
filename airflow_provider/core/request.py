"""A request is a value: services build it, transports send it (sync or async)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

JSON_CONTENT_TYPE = "application/json"


@dataclass(frozen=True, slots=True)
class ApiRequest:
    """Everything needed to send one API call, minus the endpoint and the credentials.

    ``path`` is already validated and percent-encoded (see ``validation.build_path``).
    ``idempotent`` tells the retry policy whether the call may be repeated after it may have
    reached the server: reads are; start/create calls are not.
    """

    service: str
    method: str
    path: str
    query: tuple[tuple[str, str], ...] = ()
    body: Any = None
    idempotent: bool = True
    stream: bool = False
    expected: tuple[int, ...] = (200,)
    headers: tuple[tuple[str, str], ...] = field(default=())

    def body_bytes(self) -> bytes:
        """Compact, deterministic JSON: the bytes that are signed are the bytes that are sent."""
        if self.body is None:
            return b""
        return json.dumps(self.body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")

    def describe(self) -> str:
        """Method and path for logs and error messages (no query: it may carry ids only)."""
        return f"{self.method} {self.path}"


def query_pairs(**params: object) -> tuple[tuple[str, str], ...]:
    """Drop ``None`` values and stringify the rest the way the services expect (bools lower-case)."""
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, bool):
            pairs.append((key, "true" if value else "false"))
        else:
            pairs.append((key, str(value)))
    return tuple(pairs)
