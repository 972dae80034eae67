"""CssLogBackupOperator against the emulator's CSS log backup API (the start call returns no id)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
from airflow.sdk.exceptions import AirflowException, TaskDeferred

from airflow_provider.core.errors import ApiError, HuaweiCloudError, TaskFailedError
from airflow_provider.operators.css import CssLogBackupOperator
from airflow_provider.operators.links import CONSOLE_URL_KEY
from airflow_provider.triggers.task import HuaweiCloudTaskTrigger
from tests.operators._support import FAST_POLL, FOREVER, finish_now

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider.testing.emulator_runner import EmulatorHandle
    from tests.operators._support import XComRecorder

CLUSTER = "4213d908-f5dc-4633-8401-cfd7175fca0c"
FAILED_MSG = "Failed to back up logs: the OBS bucket is not accessible with the agency"


def backup_op(**kwargs: Any) -> CssLogBackupOperator:
    options: dict[str, Any] = {"task_id": "backup", "cluster_id": CLUSTER, "deferrable": False, **FAST_POLL}
    options.update(kwargs)
    return CssLogBackupOperator(**options)


def seeded_record_ids(emulator: EmulatorHandle) -> set[str]:
    """Ids of the records present before the operator ran (the seed has one Auto backup)."""
    from airflow_provider.hooks.css import CssHook

    hook = CssHook()
    try:
        return {record.id for record in hook.iter_log_backup_records(CLUSTER)}
    finally:
        hook.close()


def test_success_finds_the_new_record_and_pushes_record_and_job_ids(
    emulator: EmulatorHandle, context: Context, ti: XComRecorder
) -> None:
    before = seeded_record_ids(emulator)
    assert len(before) == 1
    emulator.admin.set_outcome("css", "succeed", duration=2)
    result = backup_op().execute(context)

    assert ti.keys == ["cluster_id", "record_id", CONSOLE_URL_KEY, "job_id"]
    record_id, job_id = ti.value("record_id"), ti.value("job_id")
    assert record_id not in before
    assert ti.value("cluster_id") == CLUSTER
    assert ti.value(CONSOLE_URL_KEY) == (
        f"https://console.huaweicloud.com/css/?region=cn-north-4#/css/management/clusters/{CLUSTER}/logs"
    )
    assert result["state"] == "SUCCEEDED"
    assert result["result"]["record_id"] == record_id
    assert result["result"]["job_id"] == job_id
    assert result["result"]["job_types"] == "Manual"
    assert result["result"]["log_path"].startswith("css-backup-")
    json.dumps(result)


def test_failed_backup_raises_failed_msg_after_pushing_the_record(
    emulator: EmulatorHandle, context: Context, ti: XComRecorder
) -> None:
    emulator.admin.set_outcome("css", "fail", duration=1)
    with pytest.raises(TaskFailedError, match="OBS bucket is not accessible") as caught:
        backup_op().execute(context)
    assert ti.value("record_id")
    assert caught.value.task_id == ti.value("job_id")  # the status names a CSS record by its job
    assert caught.value.status["message"] == FAILED_MSG


def test_backup_already_running_is_an_api_error_before_any_push(
    emulator: EmulatorHandle, context: Context, ti: XComRecorder
) -> None:
    emulator.admin.create_task("css", cluster_id=CLUSTER, duration=1e6)
    # 409 (CreateLogBackup doc); no source pairs it with a code, the emulator says CSS.0011 (busy)
    with pytest.raises(ApiError, match=r"HTTP 409, code CSS\.0011") as caught:
        backup_op().execute(context)
    assert caught.value.status == 409
    assert ti.pushed == []


def test_log_backup_disabled_cluster(emulator: EmulatorHandle, context: Context, ti: XComRecorder) -> None:
    cluster = emulator.admin.create_resource("css_clusters", log_backup=False)["id"]
    # 412 (CreateLogBackup doc); no source pairs it with a code, the emulator says CSS.0004
    with pytest.raises(ApiError, match=r"HTTP 412, code CSS\.0004"):
        backup_op(cluster_id=cluster).execute(context)
    assert ti.pushed == []


def test_wait_timeout_after_the_record_was_pushed(emulator: EmulatorHandle, context: Context, ti: XComRecorder) -> None:
    emulator.admin.set_outcome("css", "succeed", duration=1e6)
    with pytest.raises(AirflowException, match="after waiting"):
        backup_op(wait_timeout=0.3).execute(context)
    assert ti.value("record_id")
    assert ti.value("job_id")


def test_wait_for_completion_false_returns_running(
    emulator: EmulatorHandle, context: Context, ti: XComRecorder
) -> None:
    emulator.admin.set_outcome("css", "succeed", duration=1e6)
    result = backup_op(wait_for_completion=False).execute(context)
    assert result["state"] == "RUNNING"
    assert result["raw_status"] == "RUNNING"
    assert result["result"]["record_id"] == ti.value("record_id")


def test_deferrable_trigger_names_the_record(emulator: EmulatorHandle, context: Context, ti: XComRecorder) -> None:
    emulator.admin.set_outcome("css", "succeed", duration=1e6)
    with pytest.raises(TaskDeferred) as caught:
        backup_op(deferrable=True).execute(context)
    trigger = caught.value.trigger
    assert isinstance(trigger, HuaweiCloudTaskTrigger)
    _, kwargs = trigger.serialize()
    assert kwargs["service"] == "css"
    assert kwargs["ids"] == {"cluster_id": CLUSTER, "record_id": ti.value("record_id")}
    assert emulator.identities.secret_key not in json.dumps(kwargs)


async def test_deferred_end_to_end(emulator: EmulatorHandle, context: Context, ti: XComRecorder) -> None:
    emulator.admin.set_outcome("css", "succeed", duration=FOREVER)
    op = backup_op(deferrable=True)
    with pytest.raises(TaskDeferred) as caught:
        op.execute(context)
    finish_now(emulator.admin, "css", ti.value("record_id"))
    events = [event async for event in caught.value.trigger.run()]
    assert [e.payload["status"] for e in events] == ["success"]
    assert events[0].payload["task_id"] == ti.value("record_id")
    result = op.execute_complete(context, events[0].payload)
    assert result["result"]["record_id"] == ti.value("record_id")
    assert result["state"] == "SUCCEEDED"


async def test_deferred_failure(emulator: EmulatorHandle, context: Context, ti: XComRecorder) -> None:
    emulator.admin.set_outcome("css", "succeed", duration=FOREVER)
    op = backup_op(deferrable=True)
    with pytest.raises(TaskDeferred) as caught:
        op.execute(context)
    finish_now(emulator.admin, "css", ti.value("record_id"), "fail")
    events = [event async for event in caught.value.trigger.run()]
    assert [e.payload["status"] for e in events] == ["failed"]
    with pytest.raises(TaskFailedError, match="OBS bucket is not accessible"):
        op.execute_complete(context, events[0].payload)


def test_execute_complete_event_for_another_record_is_rejected(context: Context) -> None:
    ids = {"cluster_id": CLUSTER, "record_id": "r-1"}
    event = {"status": "success", "task_id": "r-2", "ids": ids, "message": "", "task_status": None}
    with pytest.raises(HuaweiCloudError, match="'r-2', not 'r-1'"):
        backup_op().execute_complete(context, event)
