"""TaskWait: the outcome rules, event validation, the trigger it builds, and a sync wait."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import pytest
from airflow.sdk.exceptions import AirflowException, AirflowSensorTimeout

from airflow_provider.core.errors import HuaweiCloudError, InvalidInputError, TaskFailedError
from airflow_provider.core.polling import PollPolicy
from airflow_provider.core.status import TaskState, TaskStatus
from airflow_provider.hooks.dcs import DcsHook
from airflow_provider.triggers.task import HuaweiCloudTaskTrigger
from airflow_provider.waiting import TaskWait, primary_id
from tests.recording_log import RecordingLog

if TYPE_CHECKING:
    from airflow_provider.testing.emulator_runner import EmulatorHandle

RECORD = "a1847fb9-b49c-4d20-a577-ecd1cd15e285"
CLUSTER = "4213d908-f5dc-4633-8401-cfd7175fca0c"


def css_wait(**kwargs: Any) -> TaskWait:
    return TaskWait(
        service="css", conn_id="huaweicloud_default", ids={"cluster_id": CLUSTER, "record_id": RECORD}, **kwargs
    )


def edge_wait(**kwargs: Any) -> TaskWait:
    return TaskWait(
        service="edge", conn_id="edge_manager_default", ids={"dump_task_id": "dumpMultiNodesLog.abc"}, **kwargs
    )


def css_status(state: TaskState, **fields: Any) -> TaskStatus:
    return TaskStatus(service="css", task_id=RECORD, state=state, **fields)


def edge_partial() -> TaskStatus:
    return TaskStatus(
        service="edge",
        task_id="dumpMultiNodesLog.abc",
        state=TaskState.PARTIALLY_FAILED,
        raw_status="partiallyFailed",
        message="failed to dump log for following nodes:(3)failed to send message to edge;"
        "(4)failed to send message to edge;",
        result={
            "failed_nodes": [
                {"node_id": 3, "message": "failed to send message to edge"},
                {"node_id": 4, "message": "x"},
            ]
        },
    )


def event(wait: TaskWait, kind: str, status: TaskStatus | None = None, message: str = "m") -> dict[str, Any]:
    return {
        "status": kind,
        "service": wait.service,
        "task_id": primary_id(wait.service, wait.ids),
        "ids": wait.ids,
        "message": message,
        "task_status": None if status is None else status.to_json(),
    }


# construction ------------------------------------------------------------------------------------
def test_unknown_service_is_rejected() -> None:
    with pytest.raises(InvalidInputError, match="service"):
        TaskWait(service="obs", conn_id="c", ids={"x": "1"})


@pytest.mark.parametrize("value", ["", None, 5])
def test_empty_or_non_string_ids_are_rejected(value: Any) -> None:
    with pytest.raises(InvalidInputError) as info:
        TaskWait(service="dcs", conn_id="c", ids={"instance_id": "i", "dcs_task_id": value})
    assert info.value.field == "dcs_task_id"


def test_label_and_primary_id() -> None:
    assert css_wait().label == f"CSS log backup {RECORD}"
    by_job = TaskWait(service="css", conn_id="c", ids={"cluster_id": CLUSTER, "job_id": "j1"})
    assert by_job.label == "CSS log backup j1"
    assert primary_id("dcs", {"instance_id": "i", "dcs_task_id": "t"}) == "t"
    assert primary_id("clouddc", {"server_id": "s", "export_id": "7"}) == "7"
    assert primary_id("dis", {"transfer_task_id": "T"}) == "T"


# is_done -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("state", [TaskState.WAITING, TaskState.RUNNING, TaskState.ABORTING])
def test_is_done_false_while_not_terminal(state: TaskState) -> None:
    assert css_wait().is_done(css_status(state)) is False


def test_is_done_true_on_success() -> None:
    assert css_wait().is_done(css_status(TaskState.SUCCEEDED)) is True


def test_is_done_raises_on_failure_with_message_and_code() -> None:
    failed = css_status(TaskState.FAILED, raw_status="FAIL", message="bucket denied", error_code="CSS.0042")
    with pytest.raises(TaskFailedError) as info:
        css_wait().is_done(failed)
    assert info.value.service == "css"
    assert info.value.task_id == RECORD
    assert "bucket denied" in str(info.value)
    assert "error code CSS.0042" in str(info.value)
    assert info.value.status == failed.to_json()


def test_is_done_failure_without_message_names_the_raw_state() -> None:
    with pytest.raises(TaskFailedError, match="ended FAIL"):
        css_wait().is_done(css_status(TaskState.FAILED, raw_status="FAIL"))


def test_is_done_names_a_failed_step() -> None:
    failed = css_status(TaskState.FAILED, message="boom", result={"failed_step": "Data migration."})
    with pytest.raises(TaskFailedError, match=r"failed step Data migration\."):
        css_wait().is_done(failed)


def test_partially_failed_fails_unless_accepted() -> None:
    log = RecordingLog()
    with pytest.raises(TaskFailedError, match=r"\(3\)failed to send message to edge"):
        edge_wait(logger=log).is_done(edge_partial())
    assert log.warnings == []


def test_partially_failed_accepted_warns_naming_failed_nodes() -> None:
    log = RecordingLog()
    assert edge_wait(accept_partial_failure=True, logger=log).is_done(edge_partial()) is True
    assert len(log.warnings) == 1
    assert "partially failed (accepted)" in log.warnings[0]
    assert "failed nodes: 3, 4" in log.warnings[0]


def test_partially_failed_accepted_without_node_list() -> None:
    log = RecordingLog()
    partial = edge_partial().model_copy(update={"result": {}})
    assert edge_wait(accept_partial_failure=True, logger=log).is_done(partial) is True
    assert "failed nodes: unknown" in log.warnings[0]


def test_accept_partial_does_not_accept_failed() -> None:
    failed = edge_partial().model_copy(update={"state": TaskState.FAILED})
    with pytest.raises(TaskFailedError):
        edge_wait(accept_partial_failure=True).is_done(failed)


# complete ----------------------------------------------------------------------------------------
def test_complete_success_returns_the_status_without_logging_it_twice() -> None:
    log = RecordingLog()
    wait = css_wait(logger=log)
    done = css_status(TaskState.SUCCEEDED, raw_status="SUCCESS", progress=100.0, result={"log_path": "p"})
    result = wait.complete(event(wait, "success", done))
    assert isinstance(result, TaskStatus)
    assert result == done
    assert wait.last_status == done
    assert log.infos == []  # the trigger logged the final state: the worker does not log it again


def test_complete_success_for_accepted_partial_failure() -> None:
    wait = edge_wait(accept_partial_failure=True, logger=RecordingLog())
    assert wait.complete(event(wait, "success", edge_partial())).state is TaskState.PARTIALLY_FAILED


def test_complete_success_with_unaccepted_partial_failure_raises() -> None:
    wait = edge_wait()
    with pytest.raises(TaskFailedError):
        wait.complete(event(wait, "success", edge_partial()))


def test_complete_failed_raises_task_failed_with_remote_reason() -> None:
    wait = css_wait()
    failed = css_status(TaskState.FAILED, raw_status="FAIL", message="bucket denied", error_code="CSS.0042")
    with pytest.raises(TaskFailedError) as info:
        wait.complete(event(wait, "failed", failed, message="bucket denied"))
    assert "bucket denied" in str(info.value)
    assert "CSS.0042" in str(info.value)
    assert info.value.status == failed.to_json()


def test_complete_timeout_raises_sensor_timeout() -> None:
    wait = css_wait()
    with pytest.raises(AirflowSensorTimeout, match="still RUNNING after waiting 60 s"):
        wait.complete(event(wait, "timeout", css_status(TaskState.RUNNING), "still RUNNING after waiting 60 s"))


def test_complete_error_raises_huaweicloud_error() -> None:
    wait = css_wait()
    with pytest.raises(HuaweiCloudError, match="css API error: HTTP 403") as info:
        wait.complete(event(wait, "error", None, "css API error: HTTP 403"))
    assert not isinstance(info.value, TaskFailedError)
    assert f"CSS log backup {RECORD}" in str(info.value)


@pytest.mark.parametrize(
    "bad",
    [None, {}, "success", ["success"], {"status": "done", "task_id": RECORD}, {"status": None, "task_id": RECORD}],
)
def test_complete_rejects_malformed_events(bad: Any) -> None:
    with pytest.raises(HuaweiCloudError, match="invalid trigger event"):
        css_wait().complete(bad)


def test_complete_rejects_an_event_for_another_task() -> None:
    wait = css_wait()
    other = event(wait, "success", css_status(TaskState.SUCCEEDED)) | {"task_id": "someone-else"}
    with pytest.raises(HuaweiCloudError, match="someone-else"):
        wait.complete(other)
    missing = {k: v for k, v in event(wait, "timeout").items() if k != "task_id"}
    with pytest.raises(HuaweiCloudError, match="not"):
        wait.complete(missing)


@pytest.mark.parametrize("task_status", [None, {"state": "SUCCEEDED"}, "SUCCEEDED"])
def test_complete_rejects_a_success_event_without_a_valid_status(task_status: Any) -> None:
    wait = css_wait()
    bad = event(wait, "success") | {"task_status": task_status}
    with pytest.raises(HuaweiCloudError):
        wait.complete(bad)


# trigger -----------------------------------------------------------------------------------------
def test_trigger_has_an_absolute_deadline_and_the_wait_settings() -> None:
    policy = PollPolicy(kind="fixed", poke_interval=0.2, min_interval=0.1, factor=2.0)
    wait = TaskWait(
        service="dis",
        conn_id="my_conn",
        ids={"transfer_task_id": "T1", "stream_name": "s"},
        policy=policy,
        options={"completed_after": "2024-01-01T00:00:00+00:00", "min_records": 5},
        accept_partial_failure=True,
    )
    since = datetime(2024, 1, 1, tzinfo=timezone.utc)
    before = time.time()
    trigger = wait.trigger(timeout=3600, waiting_since=since)
    after = time.time()
    assert isinstance(trigger, HuaweiCloudTaskTrigger)
    assert before + 3600 <= trigger.deadline <= after + 3600
    assert trigger.waiting_since == since.timestamp()
    assert trigger.service == "dis"
    assert trigger.conn_id == "my_conn"
    assert trigger.ids == {"transfer_task_id": "T1", "stream_name": "s"}
    assert trigger.options == {"completed_after": "2024-01-01T00:00:00+00:00", "min_records": 5}
    assert PollPolicy.from_dict(trigger.poll_policy) == policy
    assert trigger.accept_partial_failure is True
    # the trigger does not share the wait's dicts
    trigger.ids["transfer_task_id"] = "changed"
    assert wait.ids["transfer_task_id"] == "T1"


def test_trigger_waiting_since_defaults_to_now() -> None:
    before = time.time()
    trigger = css_wait().trigger(timeout=10)
    assert before <= trigger.waiting_since <= time.time()
    assert trigger.deadline - trigger.waiting_since == pytest.approx(10, abs=1)


# probe / wait against the emulator ---------------------------------------------------------------
@pytest.fixture
def emulator(huaweicloud_emulator: EmulatorHandle) -> EmulatorHandle:
    huaweicloud_emulator.admin.set_speed(50.0)
    return huaweicloud_emulator


def dcs_wait(emulator: EmulatorHandle, task_id: str, **kwargs: Any) -> TaskWait:
    instance = next(iter(emulator.admin.info()["resources"]["dcs_instances"]))
    return TaskWait(
        service="dcs", conn_id="huaweicloud_default", ids={"instance_id": instance, "dcs_task_id": task_id}, **kwargs
    )


def new_dcs_task(emulator: EmulatorHandle, outcome: str = "succeed", duration: float = 1000.0) -> str:
    instance = next(iter(emulator.admin.info()["resources"]["dcs_instances"]))
    emulator.admin.set_outcome("dcs", outcome, duration=duration)
    return emulator.admin.create_task("dcs", instance_id=instance)


def test_wait_polls_until_done_with_the_policy_interval(emulator: EmulatorHandle) -> None:
    task_id = new_dcs_task(emulator, duration=100.0)
    wait = dcs_wait(emulator, task_id, policy=PollPolicy(kind="fixed", poke_interval=30.0, min_interval=1.0))
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        emulator.admin.advance(seconds)

    hook = DcsHook(huaweicloud_conn_id=wait.conn_id)
    try:
        final = wait.wait(hook, timeout=3600, sleep=sleep)
    finally:
        hook.close()
    assert final.state is TaskState.SUCCEEDED
    assert final.task_id == task_id
    assert slept and all(s == 30.0 for s in slept)
    assert len(slept) <= 4  # 100 emulated seconds at 30 s per poll (plus the real clock at speed 50)


def test_wait_raises_when_out_of_time(emulator: EmulatorHandle) -> None:
    wait = dcs_wait(emulator, new_dcs_task(emulator, duration=100_000.0))
    hook = DcsHook(huaweicloud_conn_id=wait.conn_id)
    try:
        with pytest.raises(AirflowException, match="still RUNNING after waiting 0 s"):
            wait.wait(hook, timeout=0, sleep=lambda _s: pytest.fail("must not sleep"))
    finally:
        hook.close()


def test_wait_raises_task_failed_for_a_failed_task(emulator: EmulatorHandle) -> None:
    task_id = new_dcs_task(emulator, outcome="fail", duration=10.0)
    emulator.admin.advance(10)
    wait = dcs_wait(emulator, task_id)
    hook = DcsHook(huaweicloud_conn_id=wait.conn_id)
    try:
        with pytest.raises(TaskFailedError, match=r"DCS\.5091"):
            wait.wait(hook, timeout=60, sleep=lambda _s: None)
    finally:
        hook.close()


def test_probe_of_a_vanished_task_says_it_existed(emulator: EmulatorHandle) -> None:
    wait = dcs_wait(emulator, new_dcs_task(emulator))
    hook = DcsHook(huaweicloud_conn_id=wait.conn_id)
    try:
        assert wait.probe(hook).state is TaskState.RUNNING
        emulator.reset()  # the task is gone
        with pytest.raises(HuaweiCloudError, match=r"not found \(it existed at an earlier check") as info:
            wait.probe(hook)
    finally:
        hook.close()
    assert "DCS.4001" in str(info.value)


def test_probe_of_a_task_never_seen_says_not_found(emulator: EmulatorHandle) -> None:
    wait = dcs_wait(emulator, "f" * 32)
    hook = DcsHook(huaweicloud_conn_id=wait.conn_id)
    try:
        with pytest.raises(HuaweiCloudError, match=r"DCS background task f+ not found: ") as info:
            wait.probe(hook)
    finally:
        hook.close()
    assert "existed" not in str(info.value)


def test_next_interval_uses_the_last_status(emulator: EmulatorHandle) -> None:
    # remain_time is in wall seconds (emulated ones divided by the clock speed): 10^7 emulated
    # seconds are far beyond poke_interval at any speed the tests run.
    wait = dcs_wait(emulator, new_dcs_task(emulator, duration=1e7), policy=PollPolicy(poke_interval=60.0))
    hook = DcsHook(huaweicloud_conn_id=wait.conn_id)
    try:
        status = wait.probe(hook)
    finally:
        hook.close()
    assert status.eta_seconds is not None
    # remain_time from DCS is beyond poke_interval: the wait is capped.
    assert wait.next_interval(1, datetime.now(timezone.utc) - timedelta(seconds=1)) == 60.0
