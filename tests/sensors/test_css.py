"""CssLogBackupSensor against the emulator: a record found by id or job id, RUNNING/SUCCESS/FAIL."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from airflow.sdk.exceptions import AirflowSkipException

from airflow_provider.core.errors import HuaweiCloudError, InvalidInputError, TaskFailedError
from airflow_provider.core.status import TaskState, TaskStatus
from airflow_provider.sensors.css import CssLogBackupSensor
from tests.sensors._support import (
    CONTEXT,
    SENSOR_ARGS,
    assert_reschedules,
    assert_running,
    assert_soft_fail_on_timeout_event,
    assert_succeeded,
    defer,
    first_event,
    resources,
    resume,
)

if TYPE_CHECKING:
    from airflow_provider.testing.emulator_runner import EmulatorHandle

FAILED_MSG = "Failed to back up logs: the OBS bucket is not accessible with the agency"


def cluster_of(emulator: EmulatorHandle) -> str:
    return str(resources(emulator)["css_clusters"][0])


def new_record(emulator: EmulatorHandle, outcome: str = "succeed", duration: float = 100_000.0) -> tuple[str, str]:
    """(record id, job id) of a new backup record."""
    emulator.admin.set_outcome("css", outcome, duration=duration)
    record_id = emulator.admin.create_task("css", cluster_id=cluster_of(emulator))
    return record_id, job_id_of(emulator, record_id)


def job_id_of(emulator: EmulatorHandle, record_id: str) -> str:
    from airflow_provider.hooks.base import HuaweiCloudHook
    from airflow_provider.services.css import get_log_backup_record

    hook = HuaweiCloudHook()
    try:
        record = hook.run(get_log_backup_record(emulator.project_id, cluster_of(emulator), record_id=record_id))
    finally:
        hook.close()
    assert record.job_id
    return record.job_id


def sensor(emulator: EmulatorHandle, **kwargs: Any) -> CssLogBackupSensor:
    return CssLogBackupSensor(task_id="wait_css", cluster_id=cluster_of(emulator), **{**SENSOR_ARGS, **kwargs})


def test_template_fields() -> None:
    assert tuple[str, ...](CssLogBackupSensor.template_fields) == (
        "cluster_id",
        "record_id",
        "job_id",
        "huaweicloud_conn_id",
        "region",
        "project_id",
    )


@pytest.mark.parametrize("ids", [{}, {"record_id": "r", "job_id": "j"}])
def test_exactly_one_of_record_id_and_job_id(ids: dict[str, str]) -> None:
    with pytest.raises(InvalidInputError) as info:
        CssLogBackupSensor(task_id="w", cluster_id="c", **ids, **SENSOR_ARGS)
    assert info.value.field == "record_id"
    assert "exactly one of record_id and job_id" in str(info.value)


def test_running_then_success_by_record_id(emulator: EmulatorHandle) -> None:
    record_id, job_id = new_record(emulator, duration=100.0)
    wait = sensor(emulator, record_id=record_id)
    running = assert_running(wait)
    assert running.raw_status == "RUNNING"
    emulator.admin.advance(100)
    done = assert_succeeded(wait)
    assert done.state is TaskState.SUCCEEDED
    assert done.result["record_id"] == record_id
    assert done.result["job_id"] == job_id
    assert done.result["log_path"]


def test_success_by_job_id(emulator: EmulatorHandle) -> None:
    record_id, job_id = new_record(emulator, duration=10.0)
    emulator.admin.advance(10)
    wait = sensor(emulator, job_id=job_id)
    assert wait.task_wait().label == f"CSS log backup {job_id}"
    assert assert_succeeded(wait).result["record_id"] == record_id


def test_fail_raises_with_failed_msg(emulator: EmulatorHandle) -> None:
    record_id, job_id = new_record(emulator, outcome="fail", duration=10.0)
    emulator.admin.advance(10)
    with pytest.raises(TaskFailedError) as info:
        sensor(emulator, record_id=record_id).poke(CONTEXT)
    assert FAILED_MSG in str(info.value)
    assert info.value.task_id == record_id  # the record's id names the backup; its job id is in the result
    assert TaskStatus.from_json(info.value.status).result["job_id"] == job_id
    assert TaskStatus.from_json(info.value.status).raw_status == "FAIL"


def test_templated_ids_reach_the_request(emulator: EmulatorHandle) -> None:
    record_id, _ = new_record(emulator)
    wait = CssLogBackupSensor(
        task_id="w", cluster_id="{{ params.cluster }}", record_id="{{ params.record }}", **SENSOR_ARGS
    )
    wait.render_template_fields({"params": {"cluster": cluster_of(emulator), "record": record_id}})
    assert (wait.cluster_id, wait.record_id) == (cluster_of(emulator), record_id)
    assert_running(wait)
    last = emulator.admin.requests("css")[-1]
    assert last["path"] == f"/v1.0/{emulator.project_id}/clusters/{cluster_of(emulator)}/logs/records"


def test_deferrable_defers_then_completes(emulator: EmulatorHandle) -> None:
    record_id, job_id = new_record(emulator, duration=20.0)
    wait = sensor(emulator, record_id=record_id, deferrable=True)
    trigger = defer(wait, emulator)
    event = first_event(trigger)
    assert event["status"] == "success"
    assert event["task_id"] == record_id
    assert TaskStatus.from_json(resume(wait, event)).result["job_id"] == job_id


def test_deferrable_fail_event_raises(emulator: EmulatorHandle) -> None:
    _, job_id = new_record(emulator, outcome="fail", duration=10.0)
    wait = sensor(emulator, job_id=job_id, deferrable=True)
    event = first_event(defer(wait, emulator))
    assert event["status"] == "failed"
    assert event["message"] == FAILED_MSG
    with pytest.raises(TaskFailedError, match="OBS bucket is not accessible"):
        resume(wait, event)


def test_deferrable_already_done_returns_at_once(emulator: EmulatorHandle) -> None:
    record_id, _ = new_record(emulator, duration=1.0)
    emulator.admin.advance(5)
    result = sensor(emulator, record_id=record_id, deferrable=True).execute(CONTEXT)
    assert TaskStatus.from_json(result).state is TaskState.SUCCEEDED


def test_deferrable_timeout_with_soft_fail_skips(emulator: EmulatorHandle) -> None:
    record_id, _ = new_record(emulator)
    assert_soft_fail_on_timeout_event(sensor(emulator, record_id=record_id, deferrable=True, soft_fail=True), record_id)


def test_deferrable_timeout_without_soft_fail_is_a_sensor_timeout(emulator: EmulatorHandle) -> None:
    from airflow.sdk.exceptions import AirflowSensorTimeout

    record_id, _ = new_record(emulator)
    wait = sensor(emulator, record_id=record_id, deferrable=True)
    event = {"status": "timeout", "task_id": record_id, "message": "still RUNNING", "task_status": None}
    with pytest.raises(AirflowSensorTimeout, match="still RUNNING"):
        resume(wait, event)


def test_poke_mode_timeout_with_soft_fail_skips(emulator: EmulatorHandle) -> None:
    record_id, _ = new_record(emulator)
    with pytest.raises(AirflowSkipException):
        sensor(emulator, record_id=record_id, timeout=0.3, soft_fail=True).execute(CONTEXT)


def test_reschedule_mode(emulator: EmulatorHandle) -> None:
    record_id, _ = new_record(emulator)
    assert_reschedules(sensor(emulator, record_id=record_id, mode="reschedule"))


def test_vanished_record_is_a_clear_error(emulator: EmulatorHandle) -> None:
    record_id, _ = new_record(emulator)
    wait = sensor(emulator, record_id=record_id)
    assert_running(wait)
    emulator.reset()  # the cluster is seeded again, without this record
    with pytest.raises(HuaweiCloudError) as info:
        wait.poke(CONTEXT)
    assert f"CSS log backup {record_id} not found (it existed at an earlier check" in str(info.value)


def test_a_missing_cluster_is_named_once_not_repeated(emulator: EmulatorHandle) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    wait = CssLogBackupSensor(task_id="wait_css", cluster_id=missing, record_id="r-1", **SENSOR_ARGS)
    with pytest.raises(HuaweiCloudError) as caught:
        wait.poke(CONTEXT)
    text = str(caught.value)
    assert text.count("not found") == 1, text
    assert text.startswith("CSS log backup r-1: ")
    assert "CSS.0015" in text and "00000000-0000-4000-8000-000000000000" in text
