"""Putting a downloaded archive where the DAG asked: a local path or any ObjectStoragePath URL.

The download streams to a local file with its SHA-256 computed in the same pass. For a remote
destination (``obs://bucket/staging/...``: storage every worker of the deployment reaches) that
file is then uploaded atomically (``airflow_provider.objects``), checked against the size and hash
the download measured, and removed: what the task returns names the remote object, never a local
path, so the next task may run on another machine. On any failure nothing is left at the
destination.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    from airflow_provider.core.download import Downloaded


@dataclass(frozen=True)
class DeliveredFile:
    """A downloaded archive where ``deliver`` placed it.

    :param location: a local path or the ObjectStoragePath URL of the remote object.
    :param size: its size in bytes.
    :param sha256: its SHA-256, hex.
    :param name: its file name.
    """

    location: str
    size: int
    sha256: str
    name: str = ""

    def to_json(self) -> dict[str, Any]:
        """The operators' XCom ``download`` entry: ``location``, ``bytes`` and ``sha256``."""
        return {"location": self.location, "bytes": self.size, "sha256": self.sha256}

    def artifact(self) -> dict[str, Any]:
        """What the archive step copies (``operators.archive``): a remote object, its size and hash."""
        return {"url": self.location, "name": self.name, "bytes": self.size, "sha256": self.sha256}


def _is_local(destination: str) -> bool:
    return "://" not in destination or destination.startswith("file://")


def _local_target(destination: str, default_name: str) -> Path:
    path = Path(destination.removeprefix("file://")).expanduser()
    if destination.endswith(("/", os.sep)) or path.is_dir():
        path = path / default_name
    return path


def deliver(
    download: Callable[[Path], Downloaded], destination: str | os.PathLike[str], default_name: str
) -> DeliveredFile:
    """Run ``download(local_path)`` and place the result at ``destination``.

    A destination ending in ``/`` (or an existing folder) receives ``default_name`` inside it.
    """
    from airflow_provider.objects import path_of, put_file

    target_text = os.fspath(destination)
    if _is_local(target_text):
        got = download(_local_target(target_text, default_name))
        return DeliveredFile(str(got.path), got.size, got.sha256, got.path.name)
    target = path_of(target_text)
    if target_text.endswith("/"):
        target = target / default_name
    with tempfile.TemporaryDirectory(prefix="hwc-download-") as folder:
        got = download(Path(folder) / default_name)
        put_file(got.path, target, expect_size=got.size, expect_sha256=got.sha256)
    return DeliveredFile(str(target), got.size, got.sha256, target.name)
