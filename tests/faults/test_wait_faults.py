"""The fault matrix of a wait (docs/reliability.md): each fault in the sync path (the sensor's poke
loop) and the async path (its trigger), each asserting the defined outcome and the XCom left.

The DCS task of most rows has already finished: the only thing between the wait and its true
answer is the injected fault, so a recovered wait must return exactly that final status.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import pytest

from airflow_provider.core.errors import AuthenticationError, HuaweiCloudError
from airflow_provider.core.status import TaskState, TaskStatus
from airflow_provider.triggers.task import HuaweiCloudTaskTrigger
from tests.faults.conftest import (
    CONTEXT,
    FAST_POLICY,
    MODES,
    closed_port,
    cloud_conn,
    dcs_instance,
    dcs_sensor,
    dcs_task,
    install,
    progress_path,
    progress_requests,
    run_trigger,
    running_body,
    settled_requests,
    wait_with,
)

if TYPE_CHECKING:
    from airflow_provider.testing.emulator_runner import EmulatorHandle
    from tests.faults.conftest import Outcome

pytestmark = pytest.mark.integration

TOLERATED = "tolerated in a row"


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    value: str = request.param
    return value


def assert_true_final(outcome: Outcome, task_id: str) -> TaskStatus:
    """The XCom is the task's real final status, not a placeholder or a stale observation."""
    status = TaskStatus.from_json(outcome.succeeded())
    assert status.task_id == task_id
    assert status.state is TaskState.SUCCEEDED
    assert status.progress == 100
    assert [s["step_status"] for s in status.result["steps"]] == ["FINISH"] * 3
    return status


def statuses(emulator: EmulatorHandle, task_id: str) -> list[int]:
    return [r["status"] for r in progress_requests(emulator, task_id)]


# 429 -----------------------------------------------------------------------------------------------
def test_429_with_retry_after_is_retried_then_succeeds(
    emulator: EmulatorHandle, mode: str, capsys: pytest.CaptureFixture[str]
) -> None:
    task_id = dcs_task(emulator)
    emulator.admin.add_fault("status", path_glob=progress_path(emulator, task_id), status=429, retry_after=1, count=2)
    outcome = wait_with(mode, dcs_sensor(emulator, task_id), capsys)
    assert_true_final(outcome, task_id)
    assert statuses(emulator, task_id) == [429, 429, 200]  # the transport's retries, one check
    assert TOLERATED not in outcome.log


def test_429_without_retry_after_beyond_the_transport_retries_is_ridden_out(
    emulator: EmulatorHandle, mode: str, capsys: pytest.CaptureFixture[str]
) -> None:
    task_id = dcs_task(emulator)
    emulator.admin.add_fault("status", path_glob=progress_path(emulator, task_id), status=429, count=6)
    outcome = wait_with(mode, dcs_sensor(emulator, task_id), capsys)
    assert_true_final(outcome, task_id)
    # check 1: 4 attempts, all 429 (RateLimitedError, tolerated); check 2: 2 x 429 then 200
    assert statuses(emulator, task_id) == [429] * 6 + [200]
    assert outcome.log.count(TOLERATED) == 1
    assert "APIGW.0308" in outcome.log


# 5xx -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_burst_then_recovery(
    emulator: EmulatorHandle, mode: str, status: int, capsys: pytest.CaptureFixture[str]
) -> None:
    task_id = dcs_task(emulator)
    emulator.admin.add_fault("status", path_glob=progress_path(emulator, task_id), status=status, count=10)
    outcome = wait_with(mode, dcs_sensor(emulator, task_id), capsys)
    assert_true_final(outcome, task_id)
    assert statuses(emulator, task_id) == [status] * 10 + [200]  # 4 + 4 + 2 failed attempts, 3 checks
    assert outcome.log.count(TOLERATED) == 2


def test_5xx_on_four_checks_in_a_row_fails_the_wait(
    emulator: EmulatorHandle, mode: str, capsys: pytest.CaptureFixture[str]
) -> None:
    task_id = dcs_task(emulator)
    emulator.admin.add_fault("status", path_glob=progress_path(emulator, task_id), status=503, count=16)
    outcome = wait_with(mode, dcs_sensor(emulator, task_id), capsys)
    error = outcome.failed()
    assert isinstance(error, HuaweiCloudError)
    assert "4 checks in a row failed" in str(error)
    assert "HTTP 503" in str(error)
    assert statuses(emulator, task_id) == [503] * 16
    assert outcome.log.count(TOLERATED) == 3


# network ---------------------------------------------------------------------------------------------
def test_connection_refused_fails_after_the_tolerance(
    emulator: EmulatorHandle, mode: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    install(monkeypatch, cloud_conn(emulator, endpoint_url=f"http://127.0.0.1:{closed_port()}"))
    outcome = wait_with(mode, dcs_sensor(emulator, "a" * 32), capsys)
    error = outcome.failed()
    assert "4 checks in a row failed" in str(error)
    assert "connection refused" in str(error)
    assert "after 4 attempt(s)" in str(error)
    assert outcome.log.count(TOLERATED) == 3


def test_connection_reset_mid_body_is_retried(
    emulator: EmulatorHandle, mode: str, capsys: pytest.CaptureFixture[str]
) -> None:
    task_id = dcs_task(emulator)
    emulator.admin.add_fault("reset_mid_body", path_glob=progress_path(emulator, task_id), count=2)
    outcome = wait_with(mode, dcs_sensor(emulator, task_id), capsys)
    assert_true_final(outcome, task_id)
    assert len(progress_requests(emulator, task_id)) == 3
    assert TOLERATED not in outcome.log


def test_read_timeout_is_retried(emulator: EmulatorHandle, mode: str, capsys: pytest.CaptureFixture[str]) -> None:
    task_id = dcs_task(emulator)
    emulator.admin.add_fault("latency", path_glob=progress_path(emulator, task_id), latency=1.5, count=1)
    outcome = wait_with(mode, dcs_sensor(emulator, task_id), capsys)
    assert_true_final(outcome, task_id)
    assert len(settled_requests(emulator, task_id, 2)) == 2  # the timed-out attempt and its retry
    assert TOLERATED not in outcome.log


def test_slow_responses_near_the_timeout_are_not_retried(
    emulator: EmulatorHandle, mode: str, capsys: pytest.CaptureFixture[str]
) -> None:
    task_id = dcs_task(emulator)
    emulator.admin.add_fault("latency", path_glob=progress_path(emulator, task_id), latency=0.7, count=1)
    outcome = wait_with(mode, dcs_sensor(emulator, task_id), capsys)  # the read timeout is 1 s
    assert_true_final(outcome, task_id)
    assert statuses(emulator, task_id) == [200]  # slow but in time: answered once, nothing retried
    assert TOLERATED not in outcome.log


# bodies ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["malformed_json", "html_200", "empty_body"])
def test_bad_body_once_is_ridden_out(
    emulator: EmulatorHandle, mode: str, kind: str, capsys: pytest.CaptureFixture[str]
) -> None:
    task_id = dcs_task(emulator)
    emulator.admin.add_fault(kind, path_glob=progress_path(emulator, task_id), count=3)
    outcome = wait_with(mode, dcs_sensor(emulator, task_id), capsys)
    assert_true_final(outcome, task_id)
    assert len(progress_requests(emulator, task_id)) == 4  # a 200 body is an answer: not retried
    assert outcome.log.count(TOLERATED) == 3
    assert "field '<body>'" in outcome.log


@pytest.mark.parametrize("kind", ["malformed_json", "html_200", "empty_body"])
def test_bad_body_four_times_in_a_row_fails_naming_the_body(
    emulator: EmulatorHandle, mode: str, kind: str, capsys: pytest.CaptureFixture[str]
) -> None:
    task_id = dcs_task(emulator)
    emulator.admin.add_fault(kind, path_glob=progress_path(emulator, task_id), count=4)
    outcome = wait_with(mode, dcs_sensor(emulator, task_id), capsys)
    error = outcome.failed()
    assert "4 checks in a row failed" in str(error)
    assert "unexpected response, field '<body>'" in str(error)
    assert len(progress_requests(emulator, task_id)) == 4


def test_a_success_resets_the_count_of_failed_checks(
    emulator: EmulatorHandle, mode: str, capsys: pytest.CaptureFixture[str]
) -> None:
    task_id = dcs_task(emulator, finished=False)
    path = progress_path(emulator, task_id)
    for _ in range(2):  # 3 bad, 1 good, 3 bad: never 4 in a row
        emulator.admin.add_fault("html_200", path_glob=path, count=3)
        emulator.admin.add_fault("status", path_glob=path, status=200, body=running_body(), count=1)
    emulator.admin.add_fault("html_200", path_glob=path, count=1)
    emulator.admin.set_outcome("dcs", "succeed", duration=0, task_id=task_id)
    outcome = wait_with(mode, dcs_sensor(emulator, task_id), capsys)
    assert_true_final(outcome, task_id)
    assert len(progress_requests(emulator, task_id)) == 10
    assert outcome.log.count(TOLERATED) == 7


# authentication -----------------------------------------------------------------------------------
def iam_token_requests(emulator: EmulatorHandle) -> list[dict[str, Any]]:
    return [r for r in emulator.admin.requests(service="iam") if r["path"] == "/v3/auth/tokens"]


EXPIRED = {"error_code": "APIGW.0301", "error_msg": "Incorrect IAM authentication information: token expires"}


def test_token_expired_mid_wait_is_refreshed_once(
    emulator: EmulatorHandle, mode: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    install(monkeypatch, cloud_conn(emulator, password=True))
    task_id = dcs_task(emulator, finished=False)
    path = progress_path(emulator, task_id)
    emulator.admin.add_fault("status", path_glob=path, status=200, body=running_body(), count=1)
    emulator.admin.add_fault("status", path_glob=path, status=401, body=EXPIRED, count=1)
    emulator.admin.set_outcome("dcs", "succeed", duration=0, task_id=task_id)
    outcome = wait_with(mode, dcs_sensor(emulator, task_id), capsys)
    assert_true_final(outcome, task_id)
    assert statuses(emulator, task_id) == [200, 401, 200]
    assert len(iam_token_requests(emulator)) == 2  # the first token, and one refresh
    assert TOLERATED not in outcome.log


def test_real_token_expiry_between_pokes_is_refreshed_once(
    emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sync path with the emulator's own token expiry (no injected 401)."""
    install(monkeypatch, cloud_conn(emulator, password=True))
    task_id = dcs_task(emulator, finished=False)
    sensor = dcs_sensor(emulator, task_id)
    assert sensor.poke(CONTEXT).is_done is False
    assert emulator.admin.expire_tokens() >= 1
    emulator.admin.set_outcome("dcs", "succeed", duration=0, task_id=task_id)
    result = sensor.poke(CONTEXT)
    assert result.is_done is True
    assert isinstance(result.xcom_value, dict)
    assert TaskStatus.from_json(result.xcom_value).state is TaskState.SUCCEEDED
    assert statuses(emulator, task_id) == [200, 401, 200]
    assert len(iam_token_requests(emulator)) == 2


def test_token_revoked_fails_clearly_after_one_refresh(
    emulator: EmulatorHandle, mode: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    install(monkeypatch, cloud_conn(emulator, password=True))
    task_id = dcs_task(emulator)
    revoked = {"error_code": "APIGW.0301", "error_msg": "Incorrect IAM authentication information: decrypt token fail"}
    emulator.admin.add_fault("status", path_glob=progress_path(emulator, task_id), status=401, body=revoked, count=2)
    outcome = wait_with(mode, dcs_sensor(emulator, task_id), capsys)
    error = outcome.failed()
    assert "HTTP 401" in str(error)
    assert "APIGW.0301" in str(error)
    assert "decrypt token fail" in str(error)
    assert statuses(emulator, task_id) == [401, 401]  # one refresh, then no tolerance for auth
    assert len(iam_token_requests(emulator)) == 2
    assert TOLERATED not in outcome.log
    if mode == "sync":
        assert isinstance(error, AuthenticationError)


class _SkewedTime:
    """The ``time`` module as the signer sees it, 20 minutes ahead: a worker with a wrong clock."""

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)

    @staticmethod
    def time() -> float:
        return time.time() + 20 * 60


def test_clock_skew_beyond_15_minutes_names_x_sdk_date(
    emulator: EmulatorHandle, mode: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from airflow_provider.core import signing

    monkeypatch.setattr(signing, "time", _SkewedTime())
    monkeypatch.setattr(signing, "_now_text", (-1, ""))  # the once-a-second cache of the date text
    task_id = dcs_task(emulator)
    outcome = wait_with(mode, dcs_sensor(emulator, task_id), capsys)
    error = outcome.failed()
    assert "APIGW.0303" in str(error)
    assert "X-Sdk-Date" in str(error)
    assert "clock" in str(error)
    assert statuses(emulator, task_id) == [401]  # never retried, never tolerated
    if mode == "sync":
        assert isinstance(error, AuthenticationError)


# what the task reports -----------------------------------------------------------------------------
def test_unknown_status_value_keeps_waiting_with_one_warning(
    emulator: EmulatorHandle, mode: str, capsys: pytest.CaptureFixture[str]
) -> None:
    task_id = dcs_task(emulator)
    body = running_body(step_status="SUSPENDED")
    emulator.admin.add_fault("status", path_glob=progress_path(emulator, task_id), status=200, body=body, count=3)
    outcome = wait_with(mode, dcs_sensor(emulator, task_id), capsys)
    assert_true_final(outcome, task_id)
    assert len(progress_requests(emulator, task_id)) == 4
    assert outcome.log.count("treating it as still running") == 1
    assert "'SUSPENDED'" in outcome.log


def test_progress_going_backwards_keeps_waiting_with_one_warning(
    emulator: EmulatorHandle, mode: str, capsys: pytest.CaptureFixture[str]
) -> None:
    task_id = dcs_task(emulator)
    path = progress_path(emulator, task_id)
    for value in (60, 30, 20, 50):
        emulator.admin.add_fault("status", path_glob=path, status=200, body=running_body(progress=value), count=1)
    outcome = wait_with(mode, dcs_sensor(emulator, task_id), capsys)
    assert_true_final(outcome, task_id)
    assert len(progress_requests(emulator, task_id)) == 5
    assert outcome.log.count("progress went backwards") == 1
    assert "from 60% to 30%" in outcome.log


def test_task_vanished_after_it_existed(
    emulator: EmulatorHandle, mode: str, capsys: pytest.CaptureFixture[str]
) -> None:
    task_id = dcs_task(emulator, finished=False)
    path = progress_path(emulator, task_id)
    gone = {"error_code": "DCS.4011", "error_msg": "The task does not exist."}
    # the first check sees the task (a rule that fires once), every later one a 404
    emulator.admin.add_fault("status", path_glob=path, status=200, body=running_body(), count=1)
    emulator.admin.add_fault("status", path_glob=path, status=404, body=gone, count=5)
    outcome = wait_with(mode, dcs_sensor(emulator, task_id), capsys)
    error = outcome.failed()
    assert f"DCS background task {task_id} not found (it existed at an earlier check)" in str(error)
    assert "DCS.4011" in str(error)
    assert statuses(emulator, task_id) == [200, 404]  # not retried, not tolerated
    if mode == "async":
        last = outcome.events[0]["task_status"]
        assert last is not None and last["state"] == "RUNNING"  # the last real observation, nothing else


def test_task_never_seen_is_not_found_without_existed(emulator: EmulatorHandle, mode: str) -> None:
    outcome = wait_with(mode, dcs_sensor(emulator, "f" * 32))
    error = outcome.failed()
    assert "not found" in str(error)
    assert "existed" not in str(error)


# the triggerer restarts ----------------------------------------------------------------------------
def test_triggerer_restart_resumes_with_the_original_deadline(emulator: EmulatorHandle) -> None:
    task_id = dcs_task(emulator, finished=False)
    original = HuaweiCloudTaskTrigger(
        service="dcs",
        conn_id="huaweicloud_default",
        ids={"instance_id": dcs_instance(emulator), "dcs_task_id": task_id},
        deadline=time.time() + 60,
        poll_policy=FAST_POLICY,
    )
    classpath, kwargs = original.serialize()

    async def killed_mid_wait() -> None:
        run = asyncio.ensure_future(run_async_events(original))
        for _ in range(500):
            if progress_requests_count(emulator, task_id) >= 2:
                break
            await asyncio.sleep(0.02)
        run.cancel()  # what a SIGKILLed triggerer amounts to for the wait
        with pytest.raises(asyncio.CancelledError):
            await run

    asyncio.run(killed_mid_wait())
    polled_before = progress_requests_count(emulator, task_id)
    assert polled_before >= 2
    emulator.admin.set_outcome("dcs", "succeed", duration=0, task_id=task_id)
    resumed = HuaweiCloudTaskTrigger(**kwargs)
    assert resumed.serialize() == (classpath, kwargs)
    assert resumed.deadline == original.deadline
    events = run_trigger(resumed)
    assert [e["status"] for e in events] == ["success"]
    assert TaskStatus.from_json(events[0]["task_status"]).state is TaskState.SUCCEEDED
    assert progress_requests_count(emulator, task_id) > polled_before


def test_triggerer_restart_after_the_deadline_times_out_at_once(emulator: EmulatorHandle) -> None:
    task_id = dcs_task(emulator, finished=False)
    sensor = dcs_sensor(emulator, task_id, timeout=60)
    _, kwargs = sensor.task_wait().trigger(timeout=60).serialize()
    kwargs["deadline"] = time.time() - 1  # the triggerer was down past the original deadline
    events = run_trigger(HuaweiCloudTaskTrigger(**kwargs))
    assert [e["status"] for e in events] == ["timeout"]
    assert len(progress_requests(emulator, task_id)) == 1
    from airflow.sdk.exceptions import AirflowSensorTimeout

    with pytest.raises(AirflowSensorTimeout, match="deadline reached"):
        sensor.execute_complete(CONTEXT, events[0])


async def run_async_events(trigger: HuaweiCloudTaskTrigger) -> list[dict[str, Any]]:
    from airflow_provider.core.async_transport import close_shared_clients

    try:
        return [event.payload async for event in trigger.run()]
    finally:
        await close_shared_clients()


def progress_requests_count(emulator: EmulatorHandle, task_id: str) -> int:
    return len(progress_requests(emulator, task_id))


def test_deferrable_sensor_pokes_then_defers_through_a_hiccup(emulator: EmulatorHandle) -> None:
    """The real deferrable entry: a first poke that hits a bad body defers instead of failing."""
    from airflow.sdk.exceptions import TaskDeferred

    task_id = dcs_task(emulator)
    emulator.admin.add_fault("html_200", path_glob=progress_path(emulator, task_id), count=1)
    sensor = dcs_sensor(emulator, task_id, deferrable=True)
    with pytest.raises(TaskDeferred) as info:
        sensor.execute(CONTEXT)
    trigger = info.value.trigger
    assert isinstance(trigger, HuaweiCloudTaskTrigger)
    events = run_trigger(HuaweiCloudTaskTrigger(**trigger.serialize()[1]))
    status = TaskStatus.from_json(sensor.execute_complete(CONTEXT, events[0]))
    assert status.state is TaskState.SUCCEEDED
    assert status.task_id == task_id
    assert datetime.now(timezone.utc) - status.observed_at < timedelta(minutes=5)
