"""EdgeLogDumpSensor against the emulator's edge manager: waiting, processing, succeed, failed,
partiallyFailed (accepted or not) and aborting."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import pytest
from airflow.sdk.exceptions import AirflowSkipException

from airflow_provider.core.errors import TaskFailedError, TaskGoneError
from airflow_provider.core.status import TaskState, TaskStatus
from airflow_provider.sensors.edge import EdgeLogDumpSensor
from tests.sensors._support import (
    CONTEXT,
    MOCK_EDGE,
    SENSOR_ARGS,
    assert_reschedules,
    assert_running,
    assert_soft_fail_on_timeout_event,
    assert_succeeded,
    defer,
    first_event,
    resume,
    use_mock_connections,
)

if TYPE_CHECKING:
    import requests_mock
    from airflow.sdk import Context

    from airflow_provider.testing.emulator_runner import EmulatorHandle


def new_dump(emulator: EmulatorHandle, outcome: str = "succeed", duration: float = 100_000.0) -> str:
    emulator.admin.set_outcome("edge", outcome, duration=duration)
    return emulator.admin.create_task("edge", nodes=[1, 2, 3, 4])


def sensor(dump_task_id: str, **kwargs: Any) -> EdgeLogDumpSensor:
    return EdgeLogDumpSensor(task_id="wait_dump", dump_task_id=dump_task_id, **{**SENSOR_ARGS, **kwargs})


def test_template_fields_and_connection() -> None:
    assert tuple[str, ...](EdgeLogDumpSensor.template_fields) == ("dump_task_id", "edge_manager_conn_id")
    wait = sensor("dumpMultiNodesLog.abc", edge_manager_conn_id="my_mef")
    assert wait.conn_id == "my_mef"
    assert wait.accept_partial is False


def test_waiting_processing_succeed(emulator: EmulatorHandle) -> None:
    # MEF's one worker takes a dump at once: it is waiting only until the clock moves, so hold it.
    emulator.admin.set_speed(1e-9)
    dump_id = new_dump(emulator, duration=100.0)
    wait = sensor(dump_id)
    assert_running(wait, TaskState.WAITING)
    emulator.admin.advance(50)
    processing = assert_running(wait)
    assert processing.raw_status == "processing"
    emulator.admin.advance(50)
    done = assert_succeeded(wait)
    assert done.raw_status == "succeed"
    assert done.result["file_name"] == "edgeNodes.tar.gz"
    assert done.result["failed_nodes"] == []


def test_failed_raises_with_the_reason(emulator: EmulatorHandle) -> None:
    dump_id = new_dump(emulator, outcome="fail", duration=10.0)
    emulator.admin.advance(10)
    with pytest.raises(TaskFailedError) as info:
        sensor(dump_id).poke(CONTEXT)
    assert "(1)failed to send message to edge" in str(info.value)
    assert info.value.task_id == dump_id


def test_partially_failed_fails_by_default(emulator: EmulatorHandle) -> None:
    dump_id = new_dump(emulator, outcome="partial", duration=10.0)
    emulator.admin.advance(10)
    with pytest.raises(
        TaskFailedError, match=r"\(3\)failed to send message to edge;\(4\)failed to send message to edge"
    ):
        sensor(dump_id).poke(CONTEXT)


def test_partially_failed_accepted_warns_naming_nodes(
    emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    dump_id = new_dump(emulator, outcome="partial", duration=10.0)
    emulator.admin.advance(10)
    wait = sensor(dump_id, accept_partial_failure=True)
    warnings: list[str] = []
    monkeypatch.setattr(wait.log, "warning", lambda msg, *args: warnings.append(msg % args))
    done = assert_succeeded(wait)
    assert done.state is TaskState.PARTIALLY_FAILED
    assert [node["node_id"] for node in done.result["failed_nodes"]] == [3, 4]
    assert len(warnings) == 1
    assert "failed nodes: 3, 4" in warnings[0]


def test_aborting_keeps_waiting(monkeypatch: pytest.MonkeyPatch, requests_mock: requests_mock.Mocker) -> None:
    use_mock_connections(monkeypatch)
    dump_id = "dumpMultiNodesLog.413f66d069888b135e976c57"
    body = {"taskId": dump_id, "status": "aborting", "progress": 40, "reason": "task is aborting"}
    requests_mock.get(f"{MOCK_EDGE}/edgemanager/v1/logmgmt/dump/task", json={"status": "00000000", "data": body})
    status = assert_running(sensor(dump_id), TaskState.ABORTING)
    assert status.message == "task is aborting"
    assert requests_mock.last_request is not None
    assert requests_mock.last_request.qs == {"taskid": [dump_id.lower()]} or requests_mock.last_request.url.endswith(
        f"taskId={dump_id}"
    )


def test_templated_id_reaches_the_request(emulator: EmulatorHandle) -> None:
    dump_id = new_dump(emulator)
    wait = EdgeLogDumpSensor(task_id="w", dump_task_id="{{ ti_xcom }}", **SENSOR_ARGS)
    wait.render_template_fields(cast("Context", {"ti_xcom": dump_id}))
    assert wait.dump_task_id == dump_id
    assert_running(wait)
    last = emulator.admin.requests("edge")[-1]
    assert last["path"] == "/edgemanager/v1/logmgmt/dump/task"
    assert last["query"] == f"taskId={dump_id}"


def test_deferrable_over_the_edge_connection(emulator: EmulatorHandle) -> None:
    dump_id = new_dump(emulator, duration=20.0)
    wait = sensor(dump_id, deferrable=True)
    trigger = defer(wait, emulator)
    assert trigger.conn_id == "edge_manager_default"
    event = first_event(trigger)
    assert event["status"] == "success"
    assert TaskStatus.from_json(resume(wait, event)).raw_status == "succeed"


def test_deferrable_partial_accepted_is_success(emulator: EmulatorHandle) -> None:
    dump_id = new_dump(emulator, outcome="partial", duration=20.0)
    wait = sensor(dump_id, deferrable=True, accept_partial_failure=True)
    trigger = defer(wait, emulator)
    assert trigger.accept_partial_failure is True
    event = first_event(trigger)
    assert event["status"] == "success"
    assert TaskStatus.from_json(resume(wait, event)).state is TaskState.PARTIALLY_FAILED


def test_deferrable_partial_not_accepted_fails(emulator: EmulatorHandle) -> None:
    dump_id = new_dump(emulator, outcome="partial", duration=20.0)
    wait = sensor(dump_id, deferrable=True)
    event = first_event(defer(wait, emulator))
    assert event["status"] == "failed"
    with pytest.raises(TaskFailedError):
        resume(wait, event)


def test_deferrable_already_done_returns_at_once(emulator: EmulatorHandle) -> None:
    dump_id = new_dump(emulator, duration=1.0)
    emulator.admin.advance(5)
    result = sensor(dump_id, deferrable=True).execute(CONTEXT)
    assert TaskStatus.from_json(result).state is TaskState.SUCCEEDED


def test_deferrable_timeout_with_soft_fail_skips(emulator: EmulatorHandle) -> None:
    dump_id = new_dump(emulator)
    assert_soft_fail_on_timeout_event(sensor(dump_id, deferrable=True, soft_fail=True), dump_id)


def test_poke_mode_timeout_with_soft_fail_skips(emulator: EmulatorHandle) -> None:
    with pytest.raises(AirflowSkipException):
        sensor(new_dump(emulator), timeout=0.3, soft_fail=True).execute(CONTEXT)


def test_reschedule_mode(emulator: EmulatorHandle) -> None:
    assert_reschedules(sensor(new_dump(emulator), mode="reschedule"))


def test_a_task_dropped_by_a_mef_restart_is_reported_deleted(emulator: EmulatorHandle) -> None:
    dump_id = new_dump(emulator)
    wait = sensor(dump_id)
    assert_running(wait)
    emulator.admin.restart_edge_manager()
    with pytest.raises(TaskGoneError) as info:
        wait.poke(CONTEXT)
    text = str(info.value)
    assert dump_id in text
    assert "was deleted by MEF Center" in text and "restarts" in text
    assert "not found" not in text
    assert "40052002" in text


def test_a_task_mef_never_had_is_reported_not_found(emulator: EmulatorHandle) -> None:
    with pytest.raises(TaskGoneError) as info:
        sensor("dumpMultiNodesLog.neverexisted").poke(CONTEXT)
    assert "not found on MEF Center" in str(info.value)
