"""A dropped download: resumed from where it broke when the server serves ranges, else restarted cleanly."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

import pytest

from airflow_provider.core.download import PartialFile, RangeMismatchError
from airflow_provider.emulator.state import DEFAULT_CLOUDDC_SERVER

if TYPE_CHECKING:
    from pathlib import Path

    from airflow_provider.testing.emulator_runner import EmulatorHandle


@pytest.mark.parametrize(("ranges", "resumed", "restarted"), [("bytes", 1, 0), ("none", 0, 1)])
def test_a_download_dropped_mid_body_completes_with_the_right_bytes(
    emulator: EmulatorHandle, tmp_path: Path, ranges: str, resumed: int, restarted: int
) -> None:
    from airflow_provider.hooks.clouddc import CloudDCHook

    emulator.admin.set_quirks(clouddc_download_range=ranges)
    emulator.admin.set_outcome("clouddc", "succeed", duration=0)
    hook = CloudDCHook()
    export = hook.export_server_logs(DEFAULT_CLOUDDC_SERVER)
    assert export.export_id is not None
    whole = hook.fetch_server_logs(DEFAULT_CLOUDDC_SERVER, export.export_id, tmp_path / "whole.tar.gz")
    # The half is sent, then the connection is closed: the client has every byte of it, however
    # busy the machine (a reset could discard bytes not yet read).
    emulator.admin.add_fault("close_mid_body", path_glob="*/content", count=1)

    got = hook.fetch_server_logs(DEFAULT_CLOUDDC_SERVER, export.export_id, tmp_path / "dropped.tar.gz")

    assert (got.size, got.sha256) == (whole.size, whole.sha256)
    assert hashlib.sha256(got.path.read_bytes()).hexdigest() == whole.sha256
    assert (got.resumed, got.restarted) == (resumed, restarted)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dropped.tar.gz", "whole.tar.gz"]  # no .part left


def test_a_part_that_does_not_continue_the_file_starts_it_over(tmp_path: Path) -> None:
    part = PartialFile(tmp_path / "archive.tar.gz")
    part.begin(200, {"ETag": '"v1"'})
    part.write(b"0123456789")
    assert part.resume_headers() == {"Range": "bytes=10-", "If-Range": '"v1"'}
    with pytest.raises(RangeMismatchError):
        part.begin(206, {"Content-Range": "bytes 4-9/10"})
    assert (part.size, part.resume_headers()) == (0, {})  # the next attempt asks for everything
    part.begin(200, {"Last-Modified": "Mon, 07 Dec 2026 04:00:00 GMT", "ETag": 'W/"weak"'})
    part.write(b"new version")
    assert part.resume_headers()["If-Range"] == "Mon, 07 Dec 2026 04:00:00 GMT"  # a weak tag may not be used
    done = part.finish()
    assert done.path.read_bytes() == b"new version" and done.sha256 == hashlib.sha256(b"new version").hexdigest()


def test_a_dropped_mef_download_asks_for_the_rest_with_if_range(emulator: EmulatorHandle, tmp_path: Path) -> None:
    """MEF serves its archive as Go's ServeContent does (ranges, If-Range on Last-Modified), over
    one download connection: a drop costs only the missing part."""
    from airflow_provider.hooks.edge import EdgeManagerHook

    emulator.admin.set_outcome("edge", "succeed", duration=0)
    hook = EdgeManagerHook()
    hook.create_log_dump_task([1, 2])
    whole = hook.fetch_log_dump(tmp_path / "whole.tar.gz")
    emulator.admin.add_fault("close_mid_body", path_glob="*/edgeNodes.tar.gz", count=1)

    got = hook.fetch_log_dump(tmp_path / "dropped.tar.gz")

    assert (got.size, got.sha256, got.resumed, got.restarted) == (whole.size, whole.sha256, 1, 0)
