"""DisTransferTaskSensor against the emulator: dump periods after ``completed_after`` and
``min_records``; a transfer task in ERROR fails the wait when ``stream_name`` is given.

The emulator's clock runs slowly here so that no dump period closes unless a test advances it.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import pytest
from airflow.sdk.exceptions import AirflowSkipException

from airflow_provider.core.errors import HuaweiCloudError, TaskFailedError
from airflow_provider.core.status import TaskState, TaskStatus
from airflow_provider.sensors.dis import DisTransferTaskSensor
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

PERIOD = 60.0
_names = itertools.count(1)


@pytest.fixture
def dis(emulator: EmulatorHandle) -> EmulatorHandle:
    emulator.admin.set_speed(0.01)
    return emulator


def default_task(emulator: EmulatorHandle) -> str:
    streams = resources(emulator)["dis_streams"]
    return str(streams["disMonitorTest"]["tasks"]["emulator-obs-task"])


def new_task(emulator: EmulatorHandle, outcome: str | None = None, duration: float = 10.0) -> tuple[str, str]:
    """(stream name, transfer task id) of a new running dump task with no period yet."""
    if outcome is not None:
        emulator.admin.set_outcome("dis", outcome, duration=duration)
    n = next(_names)
    stream = f"stream{n}"
    task_id = f"Task{n:015d}"
    created = emulator.admin.create_resource(
        "dis_streams", name=stream, transfer_task_name=f"obs-{n}", transfer_task_id=task_id
    )
    assert created["transfer_task_id"] == task_id
    return stream, task_id


def emulated_now(emulator: EmulatorHandle) -> datetime:
    return datetime.fromtimestamp(emulator.admin.now(), tz=timezone.utc)


def sensor(task_id: str, **kwargs: Any) -> DisTransferTaskSensor:
    return DisTransferTaskSensor(task_id="wait_dis", transfer_task_id=task_id, **{**SENSOR_ARGS, **kwargs})


def test_template_fields() -> None:
    assert tuple[str, ...](DisTransferTaskSensor.template_fields) == (
        "transfer_task_id",
        "completed_after",
        "stream_name",
        "task_name",
        "huaweicloud_conn_id",
        "region",
        "project_id",
    )


def test_waiting_until_the_first_period_closes(dis: EmulatorHandle) -> None:
    _, task_id = new_task(dis)
    wait = sensor(task_id)
    waiting = assert_running(wait, TaskState.WAITING)
    assert waiting.message == "no dump period has ended since the start"
    dis.admin.advance(PERIOD)
    done = assert_succeeded(wait)
    assert len(done.result["periods"]) == 1
    assert done.result["total_records"] >= 20  # the emulator's periods move 20-219 records
    assert done.result["file_names"] == [done.result["periods"][0]["file_name"]]
    assert done.result["file_names"][0].startswith(f"{task_id}.")


def test_without_completed_after_any_period_will_do(dis: EmulatorHandle) -> None:
    done = assert_succeeded(sensor(default_task(dis)))  # the seeded task has three closed periods
    assert done.result["completed_after"] is None
    assert done.result["periods"]


def test_completed_after_ignores_older_periods(dis: EmulatorHandle) -> None:
    task_id = default_task(dis)
    after = emulated_now(dis)
    wait = sensor(task_id, completed_after=after)
    waiting = assert_running(wait, TaskState.WAITING)
    assert "no dump period has ended since" in (waiting.message or "")
    dis.admin.advance(PERIOD)
    done = assert_succeeded(wait)
    assert len(done.result["periods"]) == 1
    period_end = datetime.fromisoformat(done.result["periods"][0]["end"].replace("Z", "+00:00"))
    assert period_end >= after.replace(microsecond=0)
    assert done.result["completed_after"] is not None


def test_min_records_waits_for_enough_records(dis: EmulatorHandle) -> None:
    _, task_id = new_task(dis)
    dis.admin.advance(PERIOD)
    first = assert_succeeded(sensor(task_id))
    records = first.result["total_records"]

    wait = sensor(task_id, min_records=records + 1)
    running = assert_running(wait)
    assert running.progress == pytest.approx(100.0 * records / (records + 1))
    assert f"{records} records" in (running.message or "")
    dis.admin.advance(PERIOD)
    done = assert_succeeded(wait)
    assert done.result["total_records"] >= records + 20
    assert len(done.result["periods"]) == 2
    assert done.result["min_records"] == records + 1


def test_templated_completed_after_reaches_the_probe(dis: EmulatorHandle) -> None:
    _, task_id = new_task(dis)
    dis.admin.advance(2 * PERIOD)
    after = emulated_now(dis)
    wait = DisTransferTaskSensor(
        task_id="w",
        transfer_task_id="{{ params.task }}",
        completed_after="{{ params.after }}",
        **SENSOR_ARGS,
    )
    wait.render_template_fields({"params": {"task": task_id, "after": after.isoformat()}})
    assert wait.completed_after == after.isoformat()
    assert wait.wait_options() == {"completed_after": after.isoformat(), "min_records": 0}
    assert_running(wait, TaskState.WAITING)  # the two closed periods ended before ``after``
    last = dis.admin.requests("dis")[-1]
    assert (last["method"], last["path"]) == ("POST", f"/v1/transfertasklog/{task_id}")
    dis.admin.advance(PERIOD)
    assert len(assert_succeeded(wait).result["periods"]) == 1


def test_datetime_completed_after_is_sent_as_iso_text() -> None:
    after = datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    wait = sensor("CDaRPdvKUfZrAhzTaYs", completed_after=after, min_records=5)
    assert wait.wait_options() == {"completed_after": "2024-01-02T03:04:05+00:00", "min_records": 5}


def test_task_in_error_fails_when_stream_is_named(dis: EmulatorHandle) -> None:
    stream, task_id = new_task(dis, outcome="fail", duration=10.0)
    wait = sensor(task_id, stream_name=stream)
    assert wait.task_ids() == {"transfer_task_id": task_id, "stream_name": stream}
    assert_running(wait, TaskState.WAITING)
    dis.admin.advance(10)
    with pytest.raises(TaskFailedError, match="is in state ERROR") as info:
        wait.poke(CONTEXT)
    assert info.value.task_id == task_id
    # the task list, then the log: no period since the mark, so the state decides
    paths = [r["path"] for r in dis.admin.requests("dis")[-2:]]
    assert paths == [f"/v2/{dis.project_id}/streams/{stream}/transfer-tasks", f"/v1/transfertasklog/{task_id}"]


def test_task_in_error_without_stream_name_just_waits(dis: EmulatorHandle) -> None:
    _, task_id = new_task(dis, outcome="fail", duration=10.0)
    dis.admin.advance(10)
    assert_running(sensor(task_id), TaskState.WAITING)


def test_deferrable_defers_then_completes(dis: EmulatorHandle) -> None:
    stream, task_id = new_task(dis)
    after = emulated_now(dis)
    wait = sensor(task_id, stream_name=stream, completed_after=after, min_records=1, deferrable=True)
    trigger = defer(wait, dis, requests=2)  # the task list, then the log
    assert trigger.options == {"completed_after": after.isoformat(), "min_records": 1}
    dis.admin.advance(PERIOD)
    event = first_event(trigger)
    assert event["status"] == "success"
    assert event["task_id"] == task_id
    final = TaskStatus.from_json(resume(wait, event))
    assert len(final.result["periods"]) == 1


def test_deferrable_failed_event(dis: EmulatorHandle) -> None:
    stream, task_id = new_task(dis, outcome="fail", duration=10.0)
    wait = sensor(task_id, stream_name=stream, deferrable=True)
    trigger = defer(wait, dis, requests=2)
    dis.admin.advance(10)
    event = first_event(trigger)
    assert event["status"] == "failed"
    assert "is in state ERROR" in event["message"]
    with pytest.raises(TaskFailedError):
        resume(wait, event)


def test_deferrable_already_done_returns_at_once(dis: EmulatorHandle) -> None:
    result = sensor(default_task(dis), deferrable=True).execute(CONTEXT)
    assert TaskStatus.from_json(result).state is TaskState.SUCCEEDED


def test_deferrable_timeout_with_soft_fail_skips(dis: EmulatorHandle) -> None:
    _, task_id = new_task(dis)
    assert_soft_fail_on_timeout_event(sensor(task_id, deferrable=True, soft_fail=True), task_id)


def test_poke_mode_timeout_with_soft_fail_skips(dis: EmulatorHandle) -> None:
    _, task_id = new_task(dis)
    with pytest.raises(AirflowSkipException):
        sensor(task_id, timeout=0.3, soft_fail=True).execute(CONTEXT)


def test_reschedule_mode(dis: EmulatorHandle) -> None:
    _, task_id = new_task(dis)
    assert_reschedules(sensor(task_id, mode="reschedule"))


def test_vanished_task_is_a_clear_error(dis: EmulatorHandle) -> None:
    _, task_id = new_task(dis)
    wait = sensor(task_id)
    assert_running(wait, TaskState.WAITING)
    dis.reset()
    with pytest.raises(HuaweiCloudError) as info:
        wait.poke(CONTEXT)
    text = str(info.value)
    assert "The transfer task does not exist." in text
    assert "DIS.4354" in text


# --- fidelity: failed periods, tasks that cannot dump, the log's error and pageInfo forms ---------


@pytest.mark.parametrize("form", ["state", "omitted"])
def test_a_failed_period_is_not_a_dump(dis: EmulatorHandle, form: str) -> None:
    """A 'partial' task fails every second period; listed with state 1 or left out, it never
    counts as dumped."""
    dis.admin.set_quirks(dis_failed_period=form)
    _, task_id = new_task(dis, outcome="partial")
    dis.admin.advance(PERIOD + 1)
    after_first = emulated_now(dis)
    dis.admin.advance(PERIOD)  # the second period closes: it failed
    status = assert_running(sensor(task_id, completed_after=after_first), TaskState.WAITING)
    assert status.result["periods"] == []
    failed = status.result["failed_periods"]
    assert len(failed) == (1 if form == "state" else 0)
    dis.admin.advance(PERIOD)  # the third one is dumped
    done = assert_succeeded(sensor(task_id, completed_after=after_first))
    assert len(done.result["periods"]) == 1


@pytest.mark.parametrize("state", ["ERROR", "ABNORMAL"])
def test_a_broken_task_fails_in_each_documented_state(dis: EmulatorHandle, state: str) -> None:
    dis.admin.set_quirks(dis_failed_task_state=state)
    stream, task_id = new_task(dis, outcome="fail", duration=1.0)
    dis.admin.advance(5)
    with pytest.raises(TaskFailedError, match=f"is in state {state}"):
        sensor(task_id, stream_name=stream).poke(CONTEXT)


def test_a_paused_task_fails_instead_of_waiting_forever(dis: EmulatorHandle) -> None:
    from airflow_provider.hooks.dis import DisHook

    stream, task_id = new_task(dis)
    DisHook().stop_transfer_tasks(stream, [task_id])
    with pytest.raises(TaskFailedError, match="is in state PAUSED: it dumps nothing until it is started again"):
        sensor(task_id, stream_name=stream).poke(CONTEXT)


def test_without_task_ids_in_the_list_or_a_task_name_the_wait_reads_the_log_and_warns_once(
    dis: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The SDK's TransferTask has no task_id: without task_name the state check cannot find the
    task, so the wait reads the log, and says once that the state is not checked."""
    from airflow_provider.hooks.dis import DisHook

    dis.admin.set_quirks(dis_task_id_in_list="absent")
    stream, task_id = new_task(dis)
    DisHook().stop_transfer_tasks(stream, [task_id])
    wait = sensor(task_id, stream_name=stream)
    warnings: list[str] = []
    monkeypatch.setattr(wait.log, "warning", lambda msg, *args: warnings.append(msg % args))
    assert_running(wait, TaskState.WAITING)
    assert_running(wait, TaskState.WAITING)
    assert warnings == [
        f"DIS transfer task {task_id}: the transfer task list of stream {stream!r} carries no task_id, so this "
        "task's own state (ERROR, ABNORMAL, PAUSED) cannot be checked and such a task keeps the wait going until "
        "its timeout; pass task_name (the name the list and ShowTransferTask know the task by) to check it"
    ]


@pytest.mark.parametrize("listing", ["present", "absent"])
def test_a_paused_task_fails_in_either_list_form_given_its_name(dis: EmulatorHandle, listing: str) -> None:
    from airflow_provider.hooks.dis import DisHook

    dis.admin.set_quirks(dis_task_id_in_list=listing)
    stream, task_id = new_task(dis)
    DisHook().stop_transfer_tasks(stream, [task_id])
    dis.admin.advance(10 * PERIOD)
    with pytest.raises(TaskFailedError, match=f"transfer task {_name(stream)} is in state PAUSED: it dumps nothing"):
        sensor(task_id, stream_name=stream, task_name=_name(stream), completed_after=emulated_now(dis)).poke(CONTEXT)


@pytest.mark.parametrize("listing", ["present", "absent"])
def test_a_task_in_error_fails_in_either_list_form_given_its_name(dis: EmulatorHandle, listing: str) -> None:
    dis.admin.set_quirks(dis_task_id_in_list=listing)
    stream, task_id = new_task(dis, outcome="fail", duration=10.0)
    dis.admin.advance(10)
    with pytest.raises(TaskFailedError, match=f"transfer task {_name(stream)} is in state ERROR"):
        sensor(task_id, stream_name=stream, task_name=_name(stream)).poke(CONTEXT)


@pytest.mark.parametrize("listing", ["present", "absent"])
def test_a_task_paused_after_dumping_the_periods_asked_for_satisfies_the_wait(
    dis: EmulatorHandle, listing: str
) -> None:
    """Both list forms agree: the periods after the mark were dumped, the pause came later."""
    from airflow_provider.hooks.dis import DisHook

    dis.admin.set_quirks(dis_task_id_in_list=listing)
    stream, task_id = new_task(dis)
    mark = emulated_now(dis)
    dis.admin.advance(2 * PERIOD)
    DisHook().stop_transfer_tasks(stream, [task_id])
    done = assert_succeeded(sensor(task_id, stream_name=stream, task_name=_name(stream), completed_after=mark))
    assert len(done.result["periods"]) == 2
    assert done.message is not None and done.message.endswith("; the task is now in state PAUSED")


def test_task_name_without_stream_name_is_a_clear_error(dis: EmulatorHandle) -> None:
    _, task_id = new_task(dis)
    with pytest.raises(HuaweiCloudError, match=r"task_name.*needs stream_name"):
        sensor(task_id, task_name="obs-1").poke(CONTEXT)


def _name(stream: str) -> str:
    """The name ``new_task`` gives the transfer task of ``stream<n>``."""
    return f"obs-{stream.removeprefix('stream')}"


@pytest.mark.parametrize("accepted", ["both", "object", "array"])
def test_the_log_is_read_whichever_page_info_form_the_service_takes(
    dis: EmulatorHandle, monkeypatch: pytest.MonkeyPatch, accepted: str
) -> None:
    from airflow_provider.services import dis as dis_service

    monkeypatch.setattr(dis_service._PageInfoForm, "current", "object")
    dis.admin.set_quirks(dis_page_info=accepted)
    done = assert_succeeded(sensor(default_task(dis)))
    assert len(done.result["periods"]) == 3
    assert dis_service._PageInfoForm.current == ("array" if accepted == "array" else "object")


@pytest.mark.parametrize("errors", ["status", "body"])
def test_an_unknown_task_is_not_found_in_either_error_form(dis: EmulatorHandle, errors: str) -> None:
    dis.admin.set_quirks(dis_log_errors=errors)
    with pytest.raises(HuaweiCloudError, match=r"not found: .*code DIS\.4354, The transfer task does not exist\."):
        sensor("NoSuchTask000000000").poke(CONTEXT)


def test_without_stream_name_a_warning_says_the_task_state_is_not_checked(
    dis: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, task_id = new_task(dis)
    wait = sensor(task_id)
    warnings: list[str] = []
    monkeypatch.setattr(wait.log, "warning", lambda msg, *args: warnings.append(msg % args))
    assert_running(wait, TaskState.WAITING)
    assert_running(wait, TaskState.WAITING)
    assert warnings == [
        f"DIS transfer task {task_id}: no stream_name, so the task's own state is not checked; a task "
        "in ERROR, ABNORMAL or PAUSED state keeps this wait going until its timeout"
    ]
