"""Go's ``http.ServeContent``, which MEF's download serves its archive with (gin's ``Context.File``
is ``http.ServeFile``): conditional requests, byte ranges and the headers that go with them.

Follows ``src/net/http/fs.go`` (``serveContent``, ``checkPreconditions``, ``parseRange``,
``writeNotModified``) step by step; the file has no ETag, so the ETag branches see none. Go's
``http.Error`` answers refusals as ``text/plain; charset=utf-8`` with the message and a newline.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from email.utils import formatdate, parsedate_to_datetime
from typing import TYPE_CHECKING

from starlette.responses import Response

if TYPE_CHECKING:
    from collections.abc import Mapping


@dataclass(frozen=True)
class ByteRange:
    start: int
    length: int

    def content_range(self, size: int) -> str:
        return f"bytes {self.start}-{self.start + self.length - 1}/{size}"


class InvalidRange(ValueError):
    """``parseRange``'s "invalid range", or ``errNoOverlap`` when ``no_overlap``."""

    def __init__(self, message: str = "invalid range", *, no_overlap: bool = False) -> None:
        super().__init__(message)
        self.no_overlap = no_overlap


def parse_range(header: str, size: int) -> list[ByteRange]:
    """``parseRange``: RFC 7233 byte ranges, clipped to the content; none overlapping is an error."""
    if header == "":
        return []
    prefix = "bytes="
    if not header.startswith(prefix):
        raise InvalidRange
    ranges: list[ByteRange] = []
    no_overlap = False
    for raw in header[len(prefix) :].split(","):
        part = raw.strip(" \t")
        if part == "":
            continue
        start_text, dash, end_text = part.partition("-")
        if not dash:
            raise InvalidRange
        start_text, end_text = start_text.strip(" \t"), end_text.strip(" \t")
        if start_text == "":
            # A suffix: the last N bytes (a non-negative integer, RFC 7233 2.1).
            if end_text == "" or end_text.startswith("-") or not end_text.lstrip("+").isdigit():
                raise InvalidRange
            suffix = min(int(end_text), size)
            ranges.append(ByteRange(size - suffix, suffix))
            continue
        if not start_text.lstrip("+").isdigit():
            raise InvalidRange
        start = int(start_text)
        if start >= size:
            no_overlap = True  # begins after the content: does not overlap
            continue
        if end_text == "":
            ranges.append(ByteRange(start, size - start))
            continue
        if not end_text.lstrip("+").isdigit() or start > int(end_text):
            raise InvalidRange
        end = min(int(end_text), size - 1)
        ranges.append(ByteRange(start, end - start + 1))
    if no_overlap and not ranges:
        raise InvalidRange("invalid range: failed to overlap", no_overlap=True)
    return ranges


def _http_date(value: str | None) -> float | None:
    """``http.ParseTime``: an HTTP date, or None when absent or unparsable."""
    if not value:
        return None
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None


def _go_error(message: str, status: int, headers: dict[str, str] | None = None) -> Response:
    """Go's ``http.Error``."""
    return Response(
        content=f"{message}\n".encode(),
        status_code=status,
        media_type="text/plain; charset=utf-8",
        headers={"X-Content-Type-Options": "nosniff", **(headers or {})},
    )


def _precondition(headers: Mapping[str, str], method: str, modtime: int) -> Response | None:
    """``checkPreconditions`` without an ETag: 412, 304, or None to go on."""
    last_modified = {"Last-Modified": formatdate(modtime, usegmt=True)}
    if_match = headers.get("if-match", "")
    if if_match:
        # Without an ETag only "*" matches.
        if not any(item.strip() == "*" for item in if_match.split(",")):
            return Response(status_code=412, headers=last_modified)
    else:
        since = _http_date(headers.get("if-unmodified-since"))
        if since is not None and modtime > since:
            return Response(status_code=412, headers=last_modified)
    if_none_match = headers.get("if-none-match", "")
    if if_none_match:
        if any(item.strip() == "*" for item in if_none_match.split(",")):
            if method in ("GET", "HEAD"):
                return Response(status_code=304, headers=last_modified)
            return Response(status_code=412, headers=last_modified)
        return None
    if method in ("GET", "HEAD"):
        since = _http_date(headers.get("if-modified-since"))
        if since is not None and modtime <= since:
            # writeNotModified: no Content-Type or Content-Length; Last-Modified kept (no ETag).
            return Response(status_code=304, headers=last_modified)
    return None


def _range_header(headers: Mapping[str, str], method: str, modtime: int) -> str:
    """The Range header, or "" when an If-Range does not match (``checkIfRange``)."""
    wanted = headers.get("range", "")
    if_range = headers.get("if-range", "")
    if not wanted or not if_range or method not in ("GET", "HEAD"):
        return wanted
    if if_range.lstrip().startswith(('"', 'W/"')):
        return ""  # an ETag, and the file has none
    when = _http_date(if_range)
    return wanted if when is not None and int(when) == modtime else ""


def serve_content(
    headers: Mapping[str, str], method: str, content: bytes, modtime: float, content_type: str
) -> Response:
    """The response ``http.ServeContent`` gives ``content`` written at ``modtime`` (epoch seconds).

    :param headers: the request headers, lower-case names.
    """
    seconds = int(modtime)  # Last-Modified has whole seconds; Go compares the truncated time
    refused = _precondition(headers, method, seconds)
    if refused is not None:
        return refused
    size = len(content)
    last_modified = formatdate(seconds, usegmt=True)
    try:
        ranges = parse_range(_range_header(headers, method, seconds), size)
    except InvalidRange as exc:
        if exc.no_overlap and size == 0:
            ranges = []  # an empty file ignores the range and answers 200
        else:
            extra = {"Content-Range": f"bytes */{size}"} if exc.no_overlap else {}
            return _go_error(str(exc), 416, {"Last-Modified": last_modified, **extra})
    if sum(r.length for r in ranges) > size:
        ranges = []  # more bytes asked for than the file has: the range is ignored
    out_headers = {"Last-Modified": last_modified, "Accept-Ranges": "bytes"}
    if len(ranges) == 1:
        (only,) = ranges
        out_headers["Content-Range"] = only.content_range(size)
        body = content[only.start : only.start + only.length]
        return Response(content=body, status_code=206, media_type=content_type, headers=out_headers)
    if len(ranges) > 1:
        boundary = secrets.token_hex(30)
        parts = [
            (f"--{boundary}\r\nContent-Range: {r.content_range(size)}\r\nContent-Type: {content_type}\r\n\r\n").encode()
            + content[r.start : r.start + r.length]
            + b"\r\n"
            for r in ranges
        ]
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        return Response(
            content=body,
            status_code=206,
            media_type=f"multipart/byteranges; boundary={boundary}",
            headers=out_headers,
        )
    return Response(content=content, status_code=200, media_type=content_type, headers=out_headers)
