"""Deterministic ``tar.gz`` archives for the download endpoints."""

from __future__ import annotations

import gzip
import io
import tarfile


def tar_gz(files: dict[str, bytes], mtime: float) -> bytes:
    """A gzip'd tar with fixed timestamps, so the same inputs give the same bytes."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            info.mtime = int(mtime)
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(content))
    return gzip.compress(raw.getvalue(), mtime=int(mtime))


def fake_log(source: str, lines: int, start: float) -> bytes:
    body = [f"{int(start) + i} INFO [{source}] emulated log line {i + 1} of {lines}" for i in range(lines)]
    return ("\n".join(body) + "\n").encode("utf-8")
