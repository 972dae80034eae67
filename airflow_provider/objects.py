"""Copying into object storage (any ``ObjectStoragePath``): streamed, hashed in the same pass, atomic.

An object appears only complete. A write opens the target with ``autocommit=False`` and commits
it only after the last byte: on S3-compatible stores (OBS through s3fs) that completes the
multipart upload, on a local filesystem it moves a temp file into place. On any error the write is
discarded (the multipart upload is aborted, the temp file removed): no partial object is left.
s3fs's default, ``autocommit=True``, would instead commit whatever was written when a ``with``
block ends in an exception (fsspec's ``__exit__`` closes the file, and closing commits).
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO

from airflow_provider.core.errors import HuaweiCloudError

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from airflow.sdk import ObjectStoragePath

#: Bytes per read and per uploaded part: S3's minimum part is 5 MiB; larger parts cost memory.
CHUNK = 16 << 20
LOCAL_PROTOCOLS = ("", "file", "local")


class CopyError(HuaweiCloudError):
    """A copy did not produce the object it should have (size or checksum differ); nothing was kept."""


@dataclass(frozen=True)
class Copied:
    """An object written by ``copy_object`` or ``put_file``.

    :param location: the target's URL.
    :param size: bytes written.
    :param sha256: SHA-256 of those bytes, hex.
    :param seconds: how long the copy took.
    """

    location: str
    size: int
    sha256: str
    seconds: float


def path_of(url: str | ObjectStoragePath, conn_id: str | None = None) -> ObjectStoragePath:
    """An ``ObjectStoragePath`` for ``url`` (``obs://`` included), through connection ``conn_id`` if given."""
    from airflow.sdk import ObjectStoragePath

    import airflow_provider.fs  # noqa: F401  (obs:// is known before the path is built)

    if isinstance(url, ObjectStoragePath):
        return url
    return ObjectStoragePath(url, conn_id=conn_id) if conn_id else ObjectStoragePath(url)


def list_files(folder: ObjectStoragePath) -> list[dict[str, Any]]:
    """Every object under ``folder``, recursively: ``url``, ``name`` (relative to it) and ``bytes``.

    One listing call per page (sizes come with it), no request per object.
    """
    root = folder.path.rstrip("/")
    protocol = folder.protocol or "file"
    items = []
    for path, info in sorted(folder.fs.find(root, detail=True).items()):
        if info.get("type") != "file":
            continue
        url = f"file://{path}" if protocol in LOCAL_PROTOCOLS else f"{protocol}://{path}"
        items.append({"url": url, "name": path[len(root) :].lstrip("/"), "bytes": int(info.get("size") or 0)})
    return items


def is_local(path: ObjectStoragePath) -> bool:
    """Whether ``path`` is on this machine's file system (protocol ``file``, ``local`` or none)."""
    return (path.protocol or "") in LOCAL_PROTOCOLS


@contextlib.contextmanager
def atomic_write(target: ObjectStoragePath) -> Iterator[BinaryIO]:
    """A handle whose bytes become ``target`` only when the block ends without an exception."""
    fs = target.fs
    if is_local(target):
        fs.makedirs(str(target.parent.path), exist_ok=True)
    handle: Any = fs.open(target.path, "wb", autocommit=False, block_size=CHUNK)
    try:
        yield handle
    except BaseException:
        _discard(handle)
        raise
    handle.close()
    handle.commit()


def _discard(handle: Any) -> None:
    """Throw a write away without committing any of it."""
    from fsspec.spec import AbstractBufferedFile

    with contextlib.suppress(Exception):
        if isinstance(handle, AbstractBufferedFile):
            handle.discard()  # aborts the multipart upload
            handle.closed = True  # so that no close() (here or in __del__) flushes the rest
        else:
            handle.close()
            handle.discard()  # removes the temp file


def _check(what: str, size: int, sha256: str, expect_size: int | None, expect_sha256: str | None) -> None:
    if expect_size is not None and size != expect_size:
        raise CopyError(f"{what}: copied {size} bytes, expected {expect_size}: nothing was kept")
    if expect_sha256 is not None and sha256 != expect_sha256:
        raise CopyError(f"{what}: sha256 {sha256} differs from the expected {expect_sha256}: nothing was kept")


def _pump(reader: BinaryIO, writer: BinaryIO) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    while chunk := reader.read(CHUNK):
        digest.update(chunk)
        writer.write(chunk)
        size += len(chunk)
    return size, digest.hexdigest()


def copy_object(
    source: ObjectStoragePath,
    target: ObjectStoragePath,
    *,
    expect_size: int | None = None,
    expect_sha256: str | None = None,
) -> Copied:
    """Stream ``source`` into ``target`` atomically, hashing the bytes as they pass.

    :param expect_size: fail (keeping nothing) unless this many bytes were copied.
    :param expect_sha256: fail (keeping nothing) unless the bytes have this SHA-256.
    :raises CopyError: the bytes differ from what was expected.
    """
    started = time.monotonic()
    # One ranged read per chunk, no read-ahead cache: memory stays at one chunk.
    with (
        source.fs.open(source.path, "rb", block_size=CHUNK, cache_type="none") as reader,
        atomic_write(target) as writer,
    ):
        size, sha256 = _pump(reader, writer)
        _check(f"copy of {source} to {target}", size, sha256, expect_size, expect_sha256)
    return Copied(str(target), size, sha256, time.monotonic() - started)


def put_file(
    local: Path, target: ObjectStoragePath, *, expect_size: int | None = None, expect_sha256: str | None = None
) -> Copied:
    """Upload the local file ``local`` to ``target`` atomically (see ``copy_object``)."""
    started = time.monotonic()
    with local.open("rb") as reader, atomic_write(target) as writer:
        size, sha256 = _pump(reader, writer)
        _check(f"upload of {local.name} to {target}", size, sha256, expect_size, expect_sha256)
    return Copied(str(target), size, sha256, time.monotonic() - started)
