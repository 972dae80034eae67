"""CssLogBackupOperator against the emulator's CSS log backup API (the start call returns no id)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
from airflow.sdk.exceptions import AirflowException, TaskDeferred

from airflow_provider.core.errors import HuaweiCloudError, InvalidInputError, TaskFailedError
from airflow_provider.hooks.css import LogBackupNotEnabledError, LogBackupRunningError
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
    """Ids of the records present before the operator ran (the emulator starts with one Auto backup)."""
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
    assert caught.value.task_id == ti.value("record_id")  # one id names the backup everywhere
    assert caught.value.status["message"] == FAILED_MSG


def collect_calls(emulator: EmulatorHandle) -> int:
    return sum(1 for r in emulator.admin.requests() if r.get("method") == "POST" and r["path"].endswith("/collect"))


def test_a_running_backup_is_attached_to_not_a_failure(
    emulator: EmulatorHandle, context: Context, ti: XComRecorder
) -> None:
    emulator.admin.clear_requests()
    running = emulator.admin.create_task("css", cluster_id=CLUSTER, duration=FOREVER, job_types="Auto")
    with pytest.raises(TaskDeferred) as caught:
        backup_op(deferrable=True).execute(context)
    assert ti.value("record_id") == running
    assert caught.value.trigger.serialize()[1]["ids"]["record_id"] == running
    assert collect_calls(emulator) == 1  # the refused one: no second start


@pytest.mark.parametrize("code", ["CSS.0011", "CSS.3004"])
def test_a_running_backup_fails_clearly_when_asked(
    emulator: EmulatorHandle, context: Context, ti: XComRecorder, code: str
) -> None:
    # CreateLogBackup documents 409, not its code: the operator reads the status, whichever code comes.
    emulator.admin.set_quirks(css_busy_code=code)
    running = emulator.admin.create_task("css", cluster_id=CLUSTER, duration=FOREVER)
    with pytest.raises(LogBackupRunningError, match="already running a log backup") as caught:
        backup_op(if_running="fail").execute(context)
    assert running in str(caught.value)
    assert f"HTTP 409, code {code}" in str(caught.value)
    assert ti.pushed == []


@pytest.mark.parametrize("code", ["CSS.0011", "CSS.3004"])
def test_a_running_backup_is_attached_to_whichever_busy_code_comes(
    emulator: EmulatorHandle, context: Context, ti: XComRecorder, code: str
) -> None:
    emulator.admin.set_quirks(css_busy_code=code)
    running = emulator.admin.create_task("css", cluster_id=CLUSTER, duration=FOREVER, job_types="Auto")
    with pytest.raises(TaskDeferred):
        backup_op(deferrable=True).execute(context)
    assert ti.value("record_id") == running


def test_if_running_is_checked_when_the_dag_is_parsed() -> None:
    with pytest.raises(InvalidInputError, match="if_running"):
        backup_op(if_running="queue")


@pytest.mark.parametrize("code", ["CSS.0004", "CSS.5090"])
def test_log_backup_disabled_cluster_says_how_to_enable_it(
    emulator: EmulatorHandle, context: Context, ti: XComRecorder, code: str
) -> None:
    emulator.admin.set_quirks(css_log_off_code=code)  # 412 is documented, its code is not
    cluster = emulator.admin.create_resource("css_clusters", log_backup=False)["id"]
    with pytest.raises(LogBackupNotEnabledError, match="log backup is not enabled") as caught:
        backup_op(cluster_id=cluster).execute(context)
    assert cluster in str(caught.value) and "logs/open" in str(caught.value)
    assert code in str(caught.value)
    assert ti.pushed == []


def test_wait_timeout_after_the_record_was_pushed(emulator: EmulatorHandle, context: Context, ti: XComRecorder) -> None:
    emulator.admin.set_outcome("css", "succeed", duration=1e6)
    with pytest.raises(AirflowException, match="after waiting"):
        backup_op(timeout=0.3).execute(context)
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


@pytest.mark.parametrize("order", ["newest_first", "oldest_first"])
def test_the_new_record_is_found_whatever_the_list_order(
    emulator: EmulatorHandle, context: Context, ti: XComRecorder, order: str
) -> None:
    # ListLogsJob documents no order: the emulator sends either, the operator must not care.
    emulator.admin.set_quirks(css_record_order=order)
    older = {
        emulator.admin.create_task("css", cluster_id=CLUSTER, duration=1, started_ago=3600 * hours)
        for hours in (2, 3, 4)
    }
    emulator.admin.set_outcome("css", "succeed", duration=2)
    result = backup_op().execute(context)
    assert result["state"] == "SUCCEEDED"
    assert ti.value("record_id") not in older
    assert result["result"]["job_types"] == "Manual"
    listed = [r["id"] for r in _listing(emulator)]
    assert (listed[-1] if order == "oldest_first" else listed[0]) == ti.value("record_id")


def _listing(emulator: EmulatorHandle) -> list[dict[str, Any]]:
    from airflow_provider.hooks.css import CssHook

    hook = CssHook()
    try:
        return [r.model_dump(by_alias=True) for r in hook.iter_log_backup_records(CLUSTER)]
    finally:
        hook.close()
