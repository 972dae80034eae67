"""Atomic, hashed copies into object storage: a failed write leaves no object and no open upload."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

import pytest

from airflow_provider import objects

if TYPE_CHECKING:
    from pathlib import Path

    from airflow_provider.testing.emulator_runner import EmulatorHandle

BUCKET = "huaweicloud-log-archive"
BIG = bytes(range(256)) * (48 * 1024)  # 12 MiB: three 5 MiB parts, so the write is a multipart upload


@pytest.fixture
def small_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(objects, "CHUNK", 5 << 20)  # S3's smallest part: a multipart upload with little data


def _uploads(s3: Any) -> list[Any]:
    return list(s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []))


def _exists(s3: Any, key: str) -> bool:
    return bool(s3.list_objects_v2(Bucket=BUCKET, Prefix=key).get("KeyCount"))


def test_s3fs_default_write_commits_what_was_written_when_the_block_fails(emulator: EmulatorHandle, s3: Any) -> None:
    """Why ``atomic_write`` exists: s3fs's own ``open("wb")`` leaves a partial object behind."""
    path = objects.path_of(f"obs://{BUCKET}/plain/partial.bin")
    with pytest.raises(RuntimeError), path.open("wb") as handle:
        handle.write(b"half of it")
        raise RuntimeError("the source broke")
    assert s3.get_object(Bucket=BUCKET, Key="plain/partial.bin")["Body"].read() == b"half of it"


def test_a_failed_multipart_write_leaves_no_object_and_no_upload(
    emulator: EmulatorHandle, s3: Any, small_parts: None
) -> None:
    target = objects.path_of(f"obs://{BUCKET}/atomic/failed.bin")
    with pytest.raises(RuntimeError), objects.atomic_write(target) as handle:
        handle.write(BIG)  # two parts are uploaded before the failure
        raise RuntimeError("the source broke")
    assert not _exists(s3, "atomic/failed.bin")
    assert _uploads(s3) == []


def test_a_copy_whose_checksum_differs_keeps_nothing(emulator: EmulatorHandle, s3: Any, small_parts: None) -> None:
    s3.put_object(Bucket=BUCKET, Key="atomic/source.bin", Body=BIG)
    source = objects.path_of(f"obs://{BUCKET}/atomic/source.bin")
    target = objects.path_of(f"obs://{BUCKET}/atomic/copy.bin")
    with pytest.raises(objects.CopyError, match="sha256"):
        objects.copy_object(source, target, expect_sha256="0" * 64)
    assert not _exists(s3, "atomic/copy.bin")
    assert _uploads(s3) == []
    copied = objects.copy_object(source, target, expect_size=len(BIG), expect_sha256=hashlib.sha256(BIG).hexdigest())
    assert (copied.size, copied.sha256) == (len(BIG), hashlib.sha256(BIG).hexdigest())
    assert s3.get_object(Bucket=BUCKET, Key="atomic/copy.bin")["Body"].read() == BIG


def test_a_failed_local_write_leaves_no_file(tmp_path: Path) -> None:
    target = objects.path_of(f"file://{tmp_path}/archive/failed.bin")
    with pytest.raises(RuntimeError), objects.atomic_write(target) as handle:
        handle.write(b"x" * 1000)
        raise RuntimeError("the source broke")
    assert not (tmp_path / "archive" / "failed.bin").exists()
    with objects.atomic_write(target) as handle:
        handle.write(b"complete")
    assert (tmp_path / "archive" / "failed.bin").read_bytes() == b"complete"
