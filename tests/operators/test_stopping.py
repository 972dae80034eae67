"""What a user sees when a task is stopped, and how operators bound and choose their wait."""

from __future__ import annotations

import threading
import time
import warnings
from typing import TYPE_CHECKING, Any

import pytest

from airflow_provider.core.errors import HuaweiCloudError, InvalidInputError
from airflow_provider.operators.clouddc import CloudDCLogExportOperator
from airflow_provider.operators.css import CssLogBackupOperator
from airflow_provider.operators.edge import EdgeLogDumpOperator
from airflow_provider.sensors.dcs import DcsBackgroundTaskSensor
from airflow_provider.triggers.task import HuaweiCloudTaskTrigger
from airflow_provider.waiting import TaskWait
from tests.operators._support import FOREVER
from tests.recording_log import RecordingLog

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider.testing.emulator_runner import EmulatorHandle
    from tests.operators._support import XComRecorder

SERVER = "a3b1c2d4-0000-4e5f-8a9b-emulator0001"
#: Emulated seconds per real second where a dump goes through MEF's 300 s graceful-shutdown period (aborting).
ABORT_SPEED = 250.0


def record_warnings(obj: Any, monkeypatch: pytest.MonkeyPatch) -> RecordingLog:
    log = RecordingLog()
    monkeypatch.setattr(obj.log, "warning", log.warning)
    return log


# on_kill -----------------------------------------------------------------------------------------
def test_killing_a_waiting_operator_stops_polling_and_says_the_export_keeps_running(
    emulator: EmulatorHandle, context: Context, ti: XComRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator.admin.set_outcome("clouddc", "succeed", duration=FOREVER)
    op = CloudDCLogExportOperator(
        task_id="export", server_id=SERVER, deferrable=False, poll_policy="fixed", poke_interval=30
    )
    log = record_warnings(op, monkeypatch)
    outcome: list[BaseException] = []

    def run() -> None:
        try:
            op.execute(context)
        except BaseException as exc:  # what ends the task
            outcome.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    for _ in range(500):
        if ti.pushed:
            break
        time.sleep(0.01)
    time.sleep(0.2)  # now in its 30 s sleep between checks
    killed_at = time.monotonic()
    op.on_kill()  # what Airflow's SIGTERM handler calls
    worker.join(10)
    assert not worker.is_alive()
    assert time.monotonic() - killed_at < 2  # not after the 30 s sleep
    assert isinstance(outcome[0], HuaweiCloudError) and "stopped waiting" in str(outcome[0])
    export_id = ti.value("export_id")
    assert log.warnings[-1:] == [
        f"Stopped waiting for CloudDC log export {export_id}: CloudDC has no API to cancel a log export, "
        "so it keeps running"
    ]
    polls = [r for r in emulator.admin.requests("clouddc") if r["method"] == "GET"]
    time.sleep(0.3)
    assert [r for r in emulator.admin.requests("clouddc") if r["method"] == "GET"] == polls  # no more checks


async def test_a_trigger_killed_by_the_user_names_the_task_and_why_it_goes_on(monkeypatch: pytest.MonkeyPatch) -> None:
    owned = HuaweiCloudTaskTrigger(
        service="css", conn_id="c", ids={"cluster_id": "c1", "record_id": "r1"}, deadline=0.0, owned=True
    )
    watched = HuaweiCloudTaskTrigger(
        service="dcs", conn_id="c", ids={"instance_id": "i", "dcs_task_id": "t9"}, deadline=0.0
    )
    lines = []
    for trigger in (owned, watched):
        log = record_warnings(trigger, monkeypatch)
        await trigger.on_kill()
        lines += log.warnings
    assert lines == [
        "Stopped waiting for CSS log backup r1: CSS has no API to cancel a log backup, so it keeps running",
        "Stopped waiting for DCS background task t9: a sensor only watches it, so it keeps running",
    ]
    assert owned.serialize()[1]["owned"] is True and watched.serialize()[1]["owned"] is False


def test_a_killed_sensor_makes_no_further_check(
    emulator: EmulatorHandle, context: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    instance = next(iter(emulator.admin.info()["resources"]["dcs_instances"]))
    sensor = DcsBackgroundTaskSensor(task_id="w", instance_id=instance, dcs_task_id="t-1", poke_interval=1, timeout=5)
    sensor.task_wait()
    log = record_warnings(sensor, monkeypatch)
    sensor.on_kill()
    before = len(emulator.admin.requests("dcs"))
    with pytest.raises(HuaweiCloudError, match="stopped watching"):
        sensor.poke(context)
    assert len(emulator.admin.requests("dcs")) == before
    assert log.warnings == ["Stopped watching DCS background task t-1: a sensor only watches it, so it keeps running"]


# The wait's bound and mode -----------------------------------------------------------------------
def test_operators_take_the_timeout_name_sensors_use() -> None:
    op = CssLogBackupOperator(task_id="b", cluster_id="c", timeout=90)
    assert op.timeout == 90.0
    from datetime import timedelta

    assert CssLogBackupOperator(task_id="b", cluster_id="c", timeout=timedelta(minutes=2)).timeout == 120.0
    with pytest.raises(InvalidInputError, match="timeout"):
        CssLogBackupOperator(task_id="b", cluster_id="c", timeout=-1)


def test_wait_timeout_still_works_with_a_deprecation_warning() -> None:
    from airflow.exceptions import AirflowProviderDeprecationWarning

    with pytest.warns(AirflowProviderDeprecationWarning, match="use timeout"):
        op = CssLogBackupOperator(task_id="b", cluster_id="c", wait_timeout=60)
    assert op.timeout == 60.0 == op.wait_timeout
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(InvalidInputError, match="not both"):
            CssLogBackupOperator(task_id="b", cluster_id="c", wait_timeout=60, timeout=30)


def test_deferrable_without_waiting_is_rejected_not_ignored() -> None:
    with pytest.raises(InvalidInputError, match=r"deferrable=True: has no effect with wait_for_completion=False"):
        EdgeLogDumpOperator(task_id="d", node_ids=[1], deferrable=True, wait_for_completion=False)


def test_a_deployment_wide_default_deferrable_does_not_break_a_non_waiting_operator(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE", "True")
    assert CssLogBackupOperator(task_id="b", cluster_id="c").deferrable is True
    assert CssLogBackupOperator(task_id="b", cluster_id="c", wait_for_completion=False).deferrable is False


# One label per message ---------------------------------------------------------------------------
def test_a_trigger_error_is_labelled_once() -> None:
    wait = TaskWait(service="edge", conn_id="c", ids={"dump_task_id": "dumpMultiNodesLog.abc"})
    label = "Edge log dump dumpMultiNodesLog.abc"
    event = {
        "status": "error",
        "task_id": "dumpMultiNodesLog.abc",
        "ids": {"dump_task_id": "dumpMultiNodesLog.abc"},
        "message": f"{label}: edge API error: HTTP 400, code 00001006, invalid task Id",
    }
    with pytest.raises(HuaweiCloudError) as caught:
        wait.complete(event)
    assert str(caught.value) == event["message"]
    assert str(caught.value).count(label) == 1


def _label_once(text: str, label: str) -> None:
    """The task is named once: never "<label>: <label>: ..."."""
    assert text.count(label) <= 1, text
    assert f"{label}: {label}" not in text, text


def _edge_label(dump_id: str) -> str:
    return f"Edge log dump {dump_id}"


@pytest.mark.parametrize("outcome", ["fail", "abort"])
def test_a_sync_operator_failure_is_labelled_once(
    emulator: EmulatorHandle, context: Context, ti: XComRecorder, outcome: str
) -> None:
    """The wait in the worker (deferrable=False) ends with the remote reason, the task named once;
    an ``abort`` goes through MEF's aborting phase first (tasks/tasks.go) and ends failed."""
    from airflow_provider.core.errors import TaskFailedError

    emulator.admin.set_speed(ABORT_SPEED)  # MEF's graceful-shutdown period (aborting) in about a second
    emulator.admin.set_outcome("edge", outcome, duration=1)
    op = EdgeLogDumpOperator(
        task_id="dump", node_ids=[1, 2], deferrable=False, poll_policy="fixed", poke_interval=0.1, timeout=60
    )
    with pytest.raises(TaskFailedError) as caught:
        op.execute(context)
    dump_id = ti.value("dump_task_id")
    text = str(caught.value)
    _label_once(text, _edge_label(dump_id))
    assert dump_id in text
    reason = "failed to dump edge logs" if outcome == "abort" else "failed to send message to edge"
    assert reason in text


def test_a_sync_operator_sees_aborting_then_failed(
    emulator: EmulatorHandle, context: Context, ti: XComRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The abort outcome end to end: aborting is not terminal (the wait goes on), failed ends it."""
    from airflow_provider.core.errors import TaskFailedError

    emulator.admin.set_speed(ABORT_SPEED)
    emulator.admin.set_outcome("edge", "abort", duration=1)
    op = EdgeLogDumpOperator(
        task_id="dump", node_ids=[1, 2], deferrable=False, poll_policy="fixed", poke_interval=0.1, timeout=60
    )
    lines = RecordingLog()
    monkeypatch.setattr(op.log, "info", lines.info)
    monkeypatch.setattr(op.log, "warning", lines.warning)
    with pytest.raises(TaskFailedError, match="failed to dump edge logs"):
        op.execute(context)
    logged = [text for _level, text in lines.lines]
    assert any("ABORTING" in text for text in logged), logged
    assert any("FAILED" in text for text in logged), logged


def test_a_sync_operator_timeout_is_labelled_once(emulator: EmulatorHandle, context: Context, ti: XComRecorder) -> None:
    from airflow.sdk.exceptions import AirflowSensorTimeout

    emulator.admin.set_outcome("edge", "succeed", duration=FOREVER)
    op = EdgeLogDumpOperator(
        task_id="dump", node_ids=[1, 2], deferrable=False, poll_policy="fixed", poke_interval=0.1, timeout=0.3
    )
    with pytest.raises(AirflowSensorTimeout) as caught:
        op.execute(context)
    _label_once(str(caught.value), _edge_label(ti.value("dump_task_id")))
    assert "still RUNNING after waiting" in str(caught.value)


def test_a_task_gone_mid_wait_is_labelled_once(emulator: EmulatorHandle, context: Context, ti: XComRecorder) -> None:
    from airflow_provider.core.errors import TaskGoneError

    emulator.admin.set_outcome("edge", "succeed", duration=FOREVER)
    op = EdgeLogDumpOperator(
        task_id="dump", node_ids=[1, 2], deferrable=False, poll_policy="fixed", poke_interval=0.2, timeout=60
    )
    restarted = threading.Timer(0.5, emulator.admin.restart_edge_manager)
    restarted.start()
    try:
        with pytest.raises(TaskGoneError) as caught:
            op.execute(context)
    finally:
        restarted.cancel()
    text = str(caught.value)
    _label_once(text, _edge_label(ti.value("dump_task_id")))
    assert "was deleted by MEF Center" in text


@pytest.mark.parametrize("outcome", ["fail", "abort"])
def test_a_sensor_failure_is_labelled_once(emulator: EmulatorHandle, context: Context, outcome: str) -> None:
    from airflow_provider.core.errors import TaskFailedError
    from airflow_provider.sensors.edge import EdgeLogDumpSensor

    emulator.admin.set_speed(ABORT_SPEED)  # MEF's graceful-shutdown period (aborting) in about a second
    emulator.admin.set_outcome("edge", outcome, duration=1)
    dump_id = emulator.admin.create_task("edge", nodes=[1, 2])
    wait = EdgeLogDumpSensor(
        task_id="wait", dump_task_id=dump_id, poke_interval=0.1, timeout=60, mode="poke", poll_policy="fixed"
    )
    with pytest.raises(TaskFailedError) as caught:
        wait.execute(context)
    _label_once(str(caught.value), _edge_label(dump_id))


def test_a_sensor_timeout_and_a_gone_task_are_labelled_once(emulator: EmulatorHandle, context: Context) -> None:
    from airflow.sdk.exceptions import AirflowSensorTimeout

    from airflow_provider.core.errors import TaskGoneError
    from airflow_provider.sensors.edge import EdgeLogDumpSensor

    emulator.admin.set_outcome("edge", "succeed", duration=FOREVER)
    dump_id = emulator.admin.create_task("edge", nodes=[1, 2])

    def sensor() -> EdgeLogDumpSensor:
        return EdgeLogDumpSensor(
            task_id="wait", dump_task_id=dump_id, poke_interval=0.1, timeout=0.3, mode="poke", poll_policy="fixed"
        )

    with pytest.raises(AirflowSensorTimeout) as timed_out:
        sensor().execute(context)
    _label_once(str(timed_out.value), _edge_label(dump_id))
    emulator.admin.restart_edge_manager()
    with pytest.raises(TaskGoneError) as gone:
        sensor().execute(context)
    _label_once(str(gone.value), _edge_label(dump_id))
    assert "not found on MEF Center" in str(gone.value)
