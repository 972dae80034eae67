"""A download in progress: bytes hashed as they arrive, resumable after a dropped connection.

The body streams to a temporary file next to the destination, and its SHA-256 is computed in
the same pass (never a second read). When the connection drops, the next attempt asks for the
rest (``Range: bytes=<received>-``) with the first answer's validator in ``If-Range`` (a strong
``ETag``, else ``Last-Modified``, RFC 9110 13.1.5): a ``206`` whose ``Content-Range`` starts where
the file ends is appended, and any other answer (``200``: the server ignores ranges, or the
resource changed) starts the file over. Without a validator nothing is resumed: the transfer
restarts cleanly rather than splice two versions of a file.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import queue
import re
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    from collections.abc import Mapping

_CONTENT_RANGE = re.compile(r"^\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Downloaded:
    """A finished download.

    :param path: where the file is.
    :param size: its bytes.
    :param sha256: its SHA-256, hex.
    :param resumed: how many times the transfer continued from a byte offset after a drop.
    :param restarted: how many times it started over after a drop.
    """

    path: Path
    size: int
    sha256: str
    resumed: int = 0
    restarted: int = 0


def content_range_start(value: str | None) -> int | None:
    """The first byte a ``Content-Range: bytes a-b/n`` covers, else None."""
    match = _CONTENT_RANGE.match(value or "")
    return int(match.group(1)) if match else None


def validator(headers: Mapping[str, str]) -> str | None:
    """What ``If-Range`` may carry: a strong ``ETag``, else ``Last-Modified`` (weak tags may not)."""
    etag = headers.get("ETag") or headers.get("etag")
    if etag and not etag.startswith("W/"):
        return etag
    return headers.get("Last-Modified") or headers.get("last-modified")


class RangeMismatchError(OSError):
    """A 206 answer that does not continue the bytes received so far."""


#: Chunks received but not yet written and hashed: bounds the memory a download holds.
QUEUED_CHUNKS = 8


class _DiskWriter:
    """Writes and hashes chunks in a thread of its own, while the caller receives the next ones.

    Both ``write`` and ``sha256.update`` release the GIL on large buffers, so the disk and the hash
    overlap the network instead of following it (``benchmarks/bench_download.py`` measured the
    serial loop at about half of ``curl``'s throughput). At most ``QUEUED_CHUNKS`` wait.
    """

    def __init__(self, handle: BinaryIO) -> None:
        self._handle = handle
        self.digest = hashlib.sha256()
        self._queue: queue.Queue[bytes | None] = queue.Queue(QUEUED_CHUNKS)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="download-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (chunk := self._queue.get()) is not None:
            if self._error is None:
                try:
                    self._handle.write(chunk)
                    self.digest.update(chunk)
                except BaseException as exc:  # reported to the caller by put() or close()
                    self._error = exc

    def put(self, chunk: bytes) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(chunk)

    def close(self) -> str:
        """Wait for every queued chunk; the SHA-256 of all of them."""
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self.digest.hexdigest()


class PartialFile:
    """The bytes received so far, in a temporary file beside ``destination``, and their running hash.

    :param destination: where ``finish`` puts the complete file; the temporary file is made in its folder.
    """

    def __init__(self, destination: Path) -> None:
        self.destination = destination
        fd, name = tempfile.mkstemp(prefix=f".{destination.name}.", suffix=".part", dir=destination.parent)
        self.path = Path(name)
        self._handle = os.fdopen(fd, "wb")
        self._writer = _DiskWriter(self._handle)
        self.size = 0
        #: The most bytes any attempt had: an attempt that gets beyond it made progress.
        self.furthest = 0
        self.validator: str | None = None
        self.resumed = 0
        self.restarted = 0

    def resume_headers(self) -> dict[str, str]:
        """``Range`` and ``If-Range`` for the rest, when there is a rest and a validator to tie it to."""
        if self.size and self.validator:
            return {"Range": f"bytes={self.size}-", "If-Range": self.validator}
        return {}

    def begin(self, status: int, headers: Mapping[str, str]) -> bool:
        """Take a new answer's headers: True to append its body (a 206 for the rest), False when
        it starts the file over (the old bytes are dropped)."""
        start = content_range_start(headers.get("Content-Range") or headers.get("content-range"))
        if status == 206 and self.size and start == self.size:
            self.resumed += 1
            return True
        if status == 206 and start != 0:
            # A part that does not continue the file: ask for all of it next time.
            self._drop()
            self.validator = None
            raise RangeMismatchError(f"the server sent bytes from {start}, the download has {self.size}")
        self._drop()
        self.validator = validator(headers)
        return False

    def _drop(self) -> None:
        if self.size:
            self.restarted += 1
            self._writer.close()
            self._handle.seek(0)
            self._handle.truncate()
            self._writer = _DiskWriter(self._handle)
            self.size = 0

    def write(self, chunk: bytes) -> None:
        """Append a chunk of the body to the temporary file and the running hash."""
        self._writer.put(chunk)
        self.size += len(chunk)
        self.furthest = max(self.furthest, self.size)

    def finish(self) -> Downloaded:
        """Move the complete file to ``destination`` atomically."""
        sha256 = self._writer.close()
        # Renamed complete, never fsynced: the rename is atomic for every reader; after a power
        # loss the task runs again anyway, and fsync cost 0.4 s per GiB (benchmarks/README.md).
        self._handle.close()
        os.replace(self.path, self.destination)
        return Downloaded(self.destination, self.size, sha256, self.resumed, self.restarted)

    def discard(self) -> None:
        """Close and delete the temporary file; ``destination`` is left untouched."""
        with contextlib.suppress(BaseException):
            self._writer.close()
        if not self._handle.closed:
            self._handle.close()
        self.path.unlink(missing_ok=True)
