"""DcsBackgroundTaskSensor against the emulator: state derived from steps, modes, failures."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import pytest
from airflow.sdk.exceptions import AirflowSkipException

from airflow_provider.core.errors import BadResponseError, HuaweiCloudError, TaskFailedError
from airflow_provider.core.status import TaskState, TaskStatus
from airflow_provider.sensors.dcs import DcsBackgroundTaskSensor
from tests.sensors._support import (
    CONTEXT,
    MOCK_ENDPOINT,
    MOCK_PROJECT,
    SENSOR_ARGS,
    assert_reschedules,
    assert_running,
    assert_soft_fail_on_timeout_event,
    assert_succeeded,
    defer,
    first_event,
    resources,
    resume,
    use_mock_connections,
)

if TYPE_CHECKING:
    import requests_mock

    from airflow_provider.testing.emulator_runner import EmulatorHandle


def instance_of(emulator: EmulatorHandle) -> str:
    return str(next(iter(resources(emulator)["dcs_instances"])))


def new_task(emulator: EmulatorHandle, outcome: str = "succeed", duration: float = 100_000.0) -> str:
    emulator.admin.set_outcome("dcs", outcome, duration=duration)
    return emulator.admin.create_task("dcs", instance_id=instance_of(emulator))


def sensor(emulator: EmulatorHandle, task_id: str, **kwargs: Any) -> DcsBackgroundTaskSensor:
    return DcsBackgroundTaskSensor(
        task_id="wait_dcs", instance_id=instance_of(emulator), dcs_task_id=task_id, **{**SENSOR_ARGS, **kwargs}
    )


def test_template_fields() -> None:
    assert tuple[str, ...](DcsBackgroundTaskSensor.template_fields) == (
        "instance_id",
        "dcs_task_id",
        "huaweicloud_conn_id",
        "region",
        "project_id",
    )


def test_running_then_succeeded(emulator: EmulatorHandle) -> None:
    task_id = new_task(emulator, duration=100.0)
    wait = sensor(emulator, task_id)
    running = assert_running(wait)
    assert running.result["current_step"] == "Pre-check."
    assert running.eta_seconds is not None
    assert running.message == "Pre-check. / Resource check."
    emulator.admin.advance(40)
    middle = assert_running(wait)
    assert middle.result["current_step"] == "Data migration."
    emulator.admin.advance(60)
    done = assert_succeeded(wait)
    assert done.state is TaskState.SUCCEEDED
    assert done.progress == 100
    assert done.task_id == task_id
    assert [step["step_status"] for step in done.result["steps"]] == ["FINISH"] * 3


def test_finished_task_with_error_codes_on_finish_steps_is_success(emulator: EmulatorHandle) -> None:
    # the emulator (like the seed) sets error_code DCS.4064 on FINISH steps
    task_id = new_task(emulator, duration=1.0)
    emulator.admin.advance(5)
    done = assert_succeeded(sensor(emulator, task_id))
    assert {step["error_code"] for step in done.result["steps"]} == {"DCS.4064"}
    assert done.error_code is None


@pytest.mark.parametrize("words", ["dms", "other"])
@pytest.mark.parametrize("code", ["DCS.5091", "empty"])
def test_failed_step_raises_naming_step_and_error_code(emulator: EmulatorHandle, code: str, words: str) -> None:
    """No source gives a FAILED step's error_code, nor the list's word for a failed task: the FAILED
    step decides, with or without a code, whatever the list says."""
    emulator.admin.set_quirks(dcs_failed_step_code=code, dcs_list_status=words)
    task_id = new_task(emulator, outcome="fail", duration=100.0)
    wait = sensor(emulator, task_id)
    assert_running(wait)
    emulator.admin.advance(100)
    with pytest.raises(TaskFailedError) as info:
        wait.poke(CONTEXT)
    text = str(info.value)
    assert "step 'Data migration.' failed" in text
    assert "sub-step 'Resource request.'" in text
    assert ("error code DCS.5091" in text) is (code != "empty")
    assert info.value.task_id == task_id
    failed = TaskStatus.from_json(info.value.status)
    assert failed.state is TaskState.FAILED
    assert failed.error_code == (None if code == "empty" else code)


def test_waiting_when_every_step_waits(monkeypatch: pytest.MonkeyPatch, requests_mock: requests_mock.Mocker) -> None:
    use_mock_connections(monkeypatch)
    task_id = "a" * 32
    steps: list[dict[str, Any]] = [
        {"step_name": name, "step_status": "WAITING", "error_code": "DCS.4064", "sub_step_details": []}
        for name in ("Pre-check.", "Data migration.")
    ]
    url = f"{MOCK_ENDPOINT}/v2/{MOCK_PROJECT}/instances/inst-1/tasks/{task_id}/progress"
    requests_mock.get(url, json={"progress": 0, "remain_time": 30, "step_details": steps})
    wait = DcsBackgroundTaskSensor(task_id="w", instance_id="inst-1", dcs_task_id=task_id, **SENSOR_ARGS)
    status = assert_running(wait, TaskState.WAITING)
    assert status.eta_seconds == 30
    assert requests_mock.call_count == 1


def test_templated_ids_reach_the_request(emulator: EmulatorHandle) -> None:
    task_id = new_task(emulator)
    wait = DcsBackgroundTaskSensor(
        task_id="w", instance_id="{{ params.instance }}", dcs_task_id="{{ params.task }}", **SENSOR_ARGS
    )
    wait.render_template_fields({"params": {"instance": instance_of(emulator), "task": task_id}})
    assert wait.dcs_task_id == task_id
    assert_running(wait)
    last = emulator.admin.requests("dcs")[-1]
    assert last["path"] == f"/v2/{emulator.project_id}/instances/{instance_of(emulator)}/tasks/{task_id}/progress"


def test_poke_mode_execute_returns_the_final_status(emulator: EmulatorHandle) -> None:
    task_id = new_task(emulator, duration=20.0)  # 0.4 s of real time at 50x
    result = sensor(emulator, task_id).execute(CONTEXT)
    assert TaskStatus.from_json(result).state is TaskState.SUCCEEDED


def test_poke_mode_timeout_with_soft_fail_skips(emulator: EmulatorHandle) -> None:
    wait = sensor(emulator, new_task(emulator), timeout=0.3, soft_fail=True)
    with pytest.raises(AirflowSkipException):
        wait.execute(CONTEXT)


def test_deferrable_defers_and_trigger_completes(emulator: EmulatorHandle) -> None:
    task_id = new_task(emulator, duration=30.0)
    wait = sensor(emulator, task_id, deferrable=True)
    trigger = defer(wait, emulator)
    assert trigger.ids == {"instance_id": instance_of(emulator), "dcs_task_id": task_id}
    event = first_event(trigger)
    assert event["status"] == "success"
    final = resume(wait, event)
    assert TaskStatus.from_json(final).state is TaskState.SUCCEEDED


def test_deferrable_failed_event_raises_task_failed(emulator: EmulatorHandle) -> None:
    task_id = new_task(emulator, outcome="fail", duration=20.0)
    wait = sensor(emulator, task_id, deferrable=True)
    event = first_event(defer(wait, emulator))
    assert event["status"] == "failed"
    with pytest.raises(TaskFailedError, match=r"DCS\.5091"):
        resume(wait, event)


def test_deferrable_already_done_returns_without_deferring(emulator: EmulatorHandle) -> None:
    task_id = new_task(emulator, duration=1.0)
    emulator.admin.advance(5)
    result = sensor(emulator, task_id, deferrable=True).execute(CONTEXT)
    assert TaskStatus.from_json(result).state is TaskState.SUCCEEDED


def test_deferrable_timeout_event_with_soft_fail_skips(emulator: EmulatorHandle) -> None:
    task_id = new_task(emulator)
    assert_soft_fail_on_timeout_event(sensor(emulator, task_id, deferrable=True, soft_fail=True), task_id)


def test_reschedule_mode(emulator: EmulatorHandle) -> None:
    wait = sensor(emulator, new_task(emulator), mode="reschedule")
    assert_reschedules(wait)


def test_next_poke_interval_follows_remain_time(emulator: EmulatorHandle) -> None:
    wait = sensor(emulator, new_task(emulator, duration=10.0), poke_interval=120, min_poll_interval=1)
    assert_running(wait)
    started = datetime.now(timezone.utc) - timedelta(seconds=5)
    interval = wait._get_next_poke_interval(started, lambda: 5.0, 2)
    # remain_time is at most 10 s: poll just after it, not at poke_interval
    assert 1 <= interval <= 11 + 1


def test_vanished_task_is_a_clear_error(emulator: EmulatorHandle) -> None:
    task_id = new_task(emulator)
    wait = sensor(emulator, task_id)
    assert_running(wait)
    # DCS deletes the records of finished tasks only (user guide, Viewing Background Tasks): a
    # running one vanishes with the emulator's state.
    emulator.reset()
    with pytest.raises(HuaweiCloudError) as info:
        wait.poke(CONTEXT)
    text = str(info.value)
    assert f"DCS background task {task_id} not found" in text
    assert "existed at an earlier check" in text
    assert "DCS.4001" in text


def test_a_failed_check_is_ridden_out_in_poke_mode_but_not_in_reschedule_mode(
    monkeypatch: pytest.MonkeyPatch, requests_mock: requests_mock.Mocker
) -> None:
    """Reschedule mode starts each poke afresh: a count of failures could never reach its limit."""
    use_mock_connections(monkeypatch)
    task_id = "b" * 32
    url = f"{MOCK_ENDPOINT}/v2/{MOCK_PROJECT}/instances/inst-1/tasks/{task_id}/progress"
    requests_mock.get(url, status_code=200, text="<html>gateway maintenance</html>")
    args = {"task_id": "w", "instance_id": "inst-1", "dcs_task_id": task_id, **SENSOR_ARGS}

    poking = DcsBackgroundTaskSensor(**args)
    assert poking.poke(CONTEXT).is_done is False  # tolerated: keep waiting
    rescheduling = DcsBackgroundTaskSensor(mode="reschedule", **args)
    with pytest.raises(BadResponseError, match="<body>"):
        rescheduling.poke(CONTEXT)


# --- fidelity: what the progress API leaves open ------------------------------------------------


@pytest.mark.parametrize("remain", ["0", "missing"])
@pytest.mark.parametrize("order", ["newest_first", "oldest_first"])
@pytest.mark.parametrize("final", ["100", "99", "missing"])
def test_finished_task_succeeds_whatever_final_progress_the_service_reports(
    emulator: EmulatorHandle, final: str, order: str, remain: str
) -> None:
    """No source says progress reaches 100 once every step is FINISH: the task list's own status
    (SDK SingleBackgroundTask.status) settles it, so the wait ends instead of timing out, in
    whichever order the list comes and whatever an ended task's remain_time is."""
    emulator.admin.set_quirks(dcs_final_progress=final, dcs_task_order=order, dcs_final_remain_time=remain)
    for _ in range(3):
        new_task(emulator, duration=1.0)  # other finished tasks share the list
    task_id = new_task(emulator, duration=1.0)
    emulator.admin.advance(5)
    done = assert_succeeded(sensor(emulator, task_id))
    assert done.state is TaskState.SUCCEEDED
    assert done.progress == 100
    # At 100% the progress settles it; short of it (or without it) the list's SUCCESS does.
    assert done.result.get("list_status") == (None if final == "100" else "SUCCESS")


def test_eta_is_in_wall_seconds(emulator: EmulatorHandle) -> None:
    """remain_time is what the client waits: emulated seconds divided by the clock's speed (50)."""
    task_id = new_task(emulator, duration=1000.0)
    running = assert_running(sensor(emulator, task_id))
    assert running.eta_seconds is not None
    assert 15 <= running.eta_seconds <= 1000 / 50
