"""Putting a downloaded archive where the DAG asked: a local path or any ObjectStoragePath URL.

The hook downloads atomically into a local folder; for a remote destination the finished file
is then streamed to the object store, which makes the object visible only once complete. On any
failure nothing is left at the destination.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

CHUNK = 1 << 20


@dataclass(frozen=True)
class DeliveredFile:
    location: str
    size: int
    sha256: str

    def to_json(self) -> dict[str, Any]:
        return {"location": self.location, "bytes": self.size, "sha256": self.sha256}


def _digest(path: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def _is_local(destination: str) -> bool:
    return "://" not in destination or destination.startswith("file://")


def _local_target(destination: str, default_name: str) -> Path:
    path = Path(destination.removeprefix("file://")).expanduser()
    if destination.endswith(("/", os.sep)) or path.is_dir():
        path = path / default_name
    return path


def deliver(download: Callable[[Path], Path], destination: str | os.PathLike[str], default_name: str) -> DeliveredFile:
    """Run ``download(local_path)`` and place the result at ``destination``.

    A destination ending in ``/`` (or an existing folder) receives ``default_name`` inside it.
    """
    target_text = os.fspath(destination)
    if _is_local(target_text):
        local = download(_local_target(target_text, default_name))
        size, sha = _digest(local)
        return DeliveredFile(str(local), size, sha)
    from airflow.sdk import ObjectStoragePath

    target = ObjectStoragePath(target_text)
    if target_text.endswith("/"):
        target = target / default_name
    with tempfile.TemporaryDirectory(prefix="hwc-download-") as folder:
        local = download(Path(folder) / default_name)
        size, sha = _digest(local)
        try:
            with local.open("rb") as source, target.open("wb") as sink:
                shutil.copyfileobj(source, sink, CHUNK)
        except BaseException:
            try:
                if target.exists():
                    target.unlink()
            except Exception:
                pass
            raise
    return DeliveredFile(str(target), size, sha)
