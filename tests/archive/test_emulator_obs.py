"""The emulator's OBS: finished CSS backups and DIS dump periods leave their files in the S3-compatible server."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from airflow_provider.emulator.state import DEFAULT_CSS_CLUSTER, DEFAULT_DIS_DESTINATION, DEFAULT_DIS_TASK_ID

if TYPE_CHECKING:
    from airflow_provider.testing.emulator_runner import EmulatorHandle


def _keys(s3: Any, bucket: str, prefix: str = "") -> dict[str, int]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return {item["Key"]: item["Size"] for page in pages for item in page.get("Contents", [])}


def test_a_finished_css_backup_leaves_the_documented_log_files_under_its_log_path(
    emulator: EmulatorHandle, s3: Any
) -> None:
    from airflow_provider.hooks.css import CssHook

    emulator.admin.set_outcome("css", "succeed", duration=1)
    hook = CssHook()
    record = hook.start_log_backup(DEFAULT_CSS_CLUSTER, poll_interval=0.1)
    assert _keys(s3, "css-log-backup", record.log_path or "-") == {}  # still running: nothing yet
    emulator.admin.advance(5)
    done = hook.get_log_backup_record(DEFAULT_CSS_CLUSTER, record_id=record.id)
    assert done.status == "SUCCESS"
    names = {key.rsplit("/", 1)[1] for key in _keys(s3, "css-log-backup", f"{done.log_path}/")}
    cluster = f"css-{DEFAULT_CSS_CLUSTER[:8]}"
    assert names == {
        f"{cluster}_deprecation.log",
        f"{cluster}_index_indexing_slowlog.log",
        f"{cluster}_index_search_slowlog.log",
        f"{cluster}.log",
        f"{cluster}_access.log",
    }
    assert done.log_path is not None and done.log_path.startswith("css-backup-") and done.log_path.endswith("/css/log")


@pytest.mark.parametrize("zone", ["UTC", "+08:00"])
def test_each_dumped_dis_period_is_one_file_named_as_its_log_entry(
    emulator: EmulatorHandle, s3: Any, zone: str
) -> None:
    from datetime import timedelta

    from airflow_provider.hooks.dis import DisHook

    emulator.admin.set_quirks(dis_obs_partition_zone=zone)
    entries = list(DisHook().iter_transfer_task_logs(DEFAULT_DIS_TASK_ID))
    assert entries
    keys = _keys(s3, DEFAULT_DIS_DESTINATION["obs_bucket_path"], DEFAULT_DIS_DESTINATION["file_prefix"] + "/")
    by_name = {key.rsplit("/", 1)[1]: (key, size) for key, size in keys.items()}
    shift = timedelta(hours=8) if zone == "+08:00" else timedelta(0)
    for entry in entries:
        key, size = by_name[str(entry.transfer_file_name)]
        assert size == entry.transfer_bytes
        assert entry.end_time is not None
        day = (entry.end_time + shift).strftime("%Y/%m/%d")
        assert key == f"{DEFAULT_DIS_DESTINATION['file_prefix']}/{day}/{entry.transfer_file_name}"
