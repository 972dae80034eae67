"""CloudDCLogExportSensor against the emulator: Running/processing, completed, failed, unknown."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
from airflow.sdk.exceptions import AirflowSkipException

from airflow_provider.core.errors import HuaweiCloudError, TaskFailedError
from airflow_provider.core.status import TaskState, TaskStatus
from airflow_provider.sensors.clouddc import CloudDCLogExportSensor
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


def server_of(emulator: EmulatorHandle) -> str:
    return str(resources(emulator)["clouddc_servers"][0])


def new_export(emulator: EmulatorHandle, outcome: str = "succeed", duration: float = 100_000.0) -> str:
    emulator.admin.set_outcome("clouddc", outcome, duration=duration)
    return emulator.admin.create_task("clouddc", server_id=server_of(emulator))


def sensor(emulator: EmulatorHandle, export_id: str, **kwargs: Any) -> CloudDCLogExportSensor:
    return CloudDCLogExportSensor(
        task_id="wait_export", server_id=server_of(emulator), export_id=export_id, **{**SENSOR_ARGS, **kwargs}
    )


def test_template_fields() -> None:
    assert tuple[str, ...](CloudDCLogExportSensor.template_fields) == (
        "server_id",
        "export_id",
        "huaweicloud_conn_id",
        "region",
        "project_id",
    )


@pytest.mark.parametrize("running_word", ["Running", "processing"])
def test_running_then_completed(emulator: EmulatorHandle, running_word: str) -> None:
    emulator.admin.set_quirks(clouddc_status=running_word)
    export_id = new_export(emulator, duration=100.0)
    wait = sensor(emulator, export_id)
    running = assert_running(wait)
    assert running.raw_status == running_word
    assert running.recognized
    emulator.admin.advance(50)
    assert 40 <= (assert_running(wait).progress or 0) < 100
    emulator.admin.advance(50)
    done = assert_succeeded(wait)
    assert done.state is TaskState.SUCCEEDED
    assert done.progress == 100
    assert done.result == {
        "export_id": export_id,
        "server_id": server_of(emulator),
        "created_at": done.result["created_at"],
    }


def test_failed_export_raises(emulator: EmulatorHandle) -> None:
    export_id = new_export(emulator, outcome="fail", duration=10.0)
    emulator.admin.advance(10)
    with pytest.raises(
        TaskFailedError, match=f"clouddc task {export_id} failed: log export ended with status 'failed'"
    ):
        sensor(emulator, export_id).poke(CONTEXT)


def test_unknown_status_keeps_waiting_and_warns_once(
    monkeypatch: pytest.MonkeyPatch, requests_mock: requests_mock.Mocker, caplog: pytest.LogCaptureFixture
) -> None:
    use_mock_connections(monkeypatch)
    url = f"{MOCK_ENDPOINT}/v1/{MOCK_PROJECT}/physicalservers/srv-1/logs/exports/9"
    requests_mock.get(url, json={"export_id": "9", "status": "Paused", "percentage": "30%"})
    wait = CloudDCLogExportSensor(task_id="w", server_id="srv-1", export_id="9", **SENSOR_ARGS)
    warnings: list[str] = []
    monkeypatch.setattr(wait.log, "warning", lambda msg, *args: warnings.append(msg % args))
    for _ in range(3):
        status = assert_running(wait)
    assert status.recognized is False
    assert status.progress == 30
    assert len(warnings) == 1
    assert "'Paused'" in warnings[0]
    assert requests_mock.call_count == 3


def test_templated_ids_reach_the_request(emulator: EmulatorHandle) -> None:
    export_id = new_export(emulator)
    wait = CloudDCLogExportSensor(
        task_id="w", server_id="{{ params.server }}", export_id="{{ params.export }}", **SENSOR_ARGS
    )
    wait.render_template_fields({"params": {"server": server_of(emulator), "export": export_id}})
    assert_running(wait)
    last = emulator.admin.requests("clouddc")[-1]
    assert last["path"] == f"/v1/{emulator.project_id}/physicalservers/{server_of(emulator)}/logs/exports/{export_id}"


def test_deferrable_defers_then_completes(emulator: EmulatorHandle) -> None:
    export_id = new_export(emulator, duration=20.0)
    wait = sensor(emulator, export_id, deferrable=True)
    event = first_event(defer(wait, emulator))
    assert event["status"] == "success"
    assert event["task_id"] == export_id
    assert TaskStatus.from_json(resume(wait, event)).state is TaskState.SUCCEEDED


def test_deferrable_failed_event(emulator: EmulatorHandle) -> None:
    export_id = new_export(emulator, outcome="fail", duration=10.0)
    wait = sensor(emulator, export_id, deferrable=True)
    event = first_event(defer(wait, emulator))
    assert event["status"] == "failed"
    with pytest.raises(TaskFailedError):
        resume(wait, event)


def test_deferrable_already_done_returns_at_once(emulator: EmulatorHandle) -> None:
    export_id = new_export(emulator, duration=1.0)
    emulator.admin.advance(5)
    result = sensor(emulator, export_id, deferrable=True).execute(CONTEXT)
    assert TaskStatus.from_json(result).state is TaskState.SUCCEEDED


def test_deferrable_timeout_with_soft_fail_skips(emulator: EmulatorHandle) -> None:
    export_id = new_export(emulator)
    assert_soft_fail_on_timeout_event(sensor(emulator, export_id, deferrable=True, soft_fail=True), export_id)


def test_poke_mode_timeout_with_soft_fail_skips(emulator: EmulatorHandle) -> None:
    with pytest.raises(AirflowSkipException):
        sensor(emulator, new_export(emulator), timeout=0.3, soft_fail=True).execute(CONTEXT)


def test_reschedule_mode(emulator: EmulatorHandle) -> None:
    assert_reschedules(sensor(emulator, new_export(emulator), mode="reschedule"))


def test_vanished_export_is_a_clear_error(emulator: EmulatorHandle) -> None:
    export_id = new_export(emulator)
    wait = sensor(emulator, export_id)
    assert_running(wait)
    emulator.reset()
    with pytest.raises(HuaweiCloudError) as info:
        wait.poke(CONTEXT)
    text = str(info.value)
    assert f"CloudDC log export {export_id} not found (it existed at an earlier check" in text
    assert "CLOUDDC.0404" in text


def test_vanished_export_answered_with_the_documented_500_ends_the_wait_after_the_tolerated_checks(
    emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The clouddc_errors quirk's other form: the one documented error body, 500, which a wait
    rides out a few times (an outage looks the same) and then fails naming the last answer."""
    # Each check retries its 500s first (``extra.retry``): short delays keep the test short.
    conn = json.loads(emulator.huaweicloud_conn_json)
    extra = conn.get("extra") or {}
    extra = json.loads(extra) if isinstance(extra, str) else extra
    conn["extra"] = {**extra, "retry": {"base_delay": 0.05, "max_delay": 0.1, "jitter": 0}}
    monkeypatch.setenv("AIRFLOW_CONN_HUAWEICLOUD_DEFAULT", json.dumps(conn))
    export_id = new_export(emulator)
    wait = sensor(emulator, export_id)
    assert_running(wait)
    emulator.reset()
    emulator.admin.set_quirks(clouddc_errors="500")
    for _ in range(3):
        assert_running(wait)
    with pytest.raises(
        HuaweiCloudError, match=r"4 checks in a row failed; the last: .*HTTP 500.*log export .* not found"
    ):
        wait.poke(CONTEXT)


# --- fidelity: the docs list no failure value ------------------------------------------------------


@pytest.mark.parametrize(("percentage", "shown"), [("frozen", "60%"), ("100", "100%")])
@pytest.mark.parametrize("failure", ["failed", "error"])
def test_failed_export_fails_in_each_failure_form(
    emulator: EmulatorHandle, failure: str, percentage: str, shown: str
) -> None:
    emulator.admin.set_quirks(clouddc_failure=failure, clouddc_failed_percentage=percentage)
    export_id = new_export(emulator, outcome="fail", duration=10.0)
    emulator.admin.advance(10)
    with pytest.raises(TaskFailedError, match=f"log export ended with status '{failure}' at {shown}"):
        sensor(emulator, export_id).poke(CONTEXT)


def test_stalled_export_times_out_instead_of_succeeding(emulator: EmulatorHandle) -> None:
    """An export that fails without a failure word keeps saying it runs: the wait ends at its
    timeout and never succeeds."""
    from airflow.sdk.exceptions import AirflowSensorTimeout

    emulator.admin.set_quirks(clouddc_failure="stalled")
    export_id = new_export(emulator, outcome="fail", duration=1.0)
    emulator.admin.advance(10)
    stalled = assert_running(sensor(emulator, export_id))
    assert (stalled.raw_status, stalled.progress) == ("Running", 60.0)
    with pytest.raises(AirflowSensorTimeout):
        sensor(emulator, export_id, timeout=0.5, poke_interval=0.1).execute(CONTEXT)
