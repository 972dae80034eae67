"""A MEF dump holds its MEF Center only while its run may still download the archive.

Every path on which a run will not download its archive lets go of the MEF Center at once (no wait,
a dump that ended badly, a timeout, a failure with no retry left, a stopped task in the worker or
the triggerer); a failure that Airflow will retry keeps the hold for the retry. "Another run" is a
second operator with a short ``busy_timeout``: it starts its dump only if the MEF Center is free.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from typing import TYPE_CHECKING, Any, cast

import pytest
from airflow.sdk.exceptions import AirflowSensorTimeout, AirflowTaskTimeout, TaskDeferred

from airflow_provider.core.errors import HuaweiCloudError, NothingStartedError, TaskFailedError
from airflow_provider.hooks import edge_archive
from airflow_provider.hooks.edge_archive import DumpOwner, VariableLatestDumps, mark_finished, release
from airflow_provider.operators.durable import STORE_KEY
from airflow_provider.operators.edge import EdgeLogDumpOperator
from airflow_provider.triggers.task import HuaweiCloudTaskTrigger
from tests.operators._support import (
    FAST_POLL,
    FOREVER,
    MemoryLatestDumps,
    StateStore,
    XComRecorder,
    finish_now,
    try_context,
)
from tests.recording_log import RecordingLog

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from airflow.sdk import Context

    from airflow_provider.testing.emulator_runner import EmulatorHandle

STATUS_PATH = "/edgemanager/v1/logmgmt/dump/task"


@pytest.fixture
def latest(monkeypatch: pytest.MonkeyPatch) -> MemoryLatestDumps:
    registry = MemoryLatestDumps()
    monkeypatch.setattr(edge_archive, "LATEST_DUMPS", registry)
    return registry


def dump_op(**kwargs: Any) -> EdgeLogDumpOperator:
    options: dict[str, Any] = {"task_id": "dump", "node_ids": [1, 2], "deferrable": False, **FAST_POLL, **kwargs}
    return EdgeLogDumpOperator(**options)


def recorded(op: Any, monkeypatch: pytest.MonkeyPatch) -> RecordingLog:
    log = RecordingLog()
    monkeypatch.setattr(op.log, "info", log.info)
    monkeypatch.setattr(op.log, "warning", log.warning)
    return log


def center_of_emulator(emulator: EmulatorHandle) -> str:
    return emulator.edge_url.split("://", 1)[1]


def another_run_can_dump(emulator: EmulatorHandle) -> bool:
    """Whether another DAG run's dump starts within its short busy_timeout (no hold in its way)."""
    emulator.admin.set_outcome("edge", "succeed", duration=0)
    other = dump_op(node_ids=[3], busy_timeout=0.6, busy_retry_interval=0.2)
    context: Any = {"ti": XComRecorder(dag_id="other_dag", run_id="run-other", task_id="dump")}
    try:
        other.start(context)
    except NothingStartedError:
        return False
    finally:
        other.close_hook()
    return True


def stop_while_executing(
    op: EdgeLogDumpOperator, context: Context, ready: Callable[[], bool], settle: float = 0.0
) -> tuple[threading.Thread, list[BaseException]]:
    """Run ``op.execute`` in a worker thread, and ``op.on_kill`` there once ``ready()`` (plus ``settle``
    seconds), as a worker told to stop does; the thread and what ``execute`` raised."""
    outcome: list[BaseException] = []

    def run() -> None:
        try:
            op.execute(context)
        except BaseException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    for _ in range(500):
        if ready():
            break
        time.sleep(0.01)
    time.sleep(settle)
    op.on_kill()
    worker.join(10)
    return worker, outcome


def run_context(run_id: str = "run-1") -> Context:
    return cast("Context", {"ti": XComRecorder(dag_id="archival", run_id=run_id, task_id="dump")})


# Paths on which the run will not download the archive -------------------------------------------
def test_a_dump_started_without_waiting_lets_go_of_the_mef_center_at_once(
    emulator: EmulatorHandle, latest: MemoryLatestDumps, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator.admin.set_outcome("edge", "succeed", duration=0)
    op = dump_op(wait_for_completion=False)
    log = recorded(op, monkeypatch)
    op.execute(run_context())
    owner = latest.owner(center_of_emulator(emulator))
    assert owner.released is True
    assert any("Released MEF Center" in line and "does not wait for the dump" in line for line in log.infos)
    assert another_run_can_dump(emulator)


@pytest.mark.parametrize(
    ("outcome", "accept", "error"),
    [("partial", False, TaskFailedError), ("fail", False, TaskFailedError)],
    ids=["partially-failed-not-accepted", "failed"],
)
def test_a_dump_that_ended_badly_lets_go_of_the_mef_center(
    emulator: EmulatorHandle,
    latest: MemoryLatestDumps,
    tmp_path: Path,
    outcome: str,
    accept: bool,
    error: type[Exception],
) -> None:
    emulator.admin.set_outcome("edge", outcome, duration=0)
    op = dump_op(download_to=f"{tmp_path}/", accept_partial_failure=accept)
    # Try 1 of 2: a retry would come, but it would start a new dump, not download this one.
    store = StateStore()
    context, _ = try_context(store, 1, max_tries=1)
    with pytest.raises(error):
        op.execute(context)
    assert latest.owner(center_of_emulator(emulator)).released is True
    assert another_run_can_dump(emulator)


def test_a_wait_that_timed_out_lets_go_once_the_dump_ends(emulator: EmulatorHandle, latest: MemoryLatestDumps) -> None:
    emulator.admin.set_outcome("edge", "succeed", duration=FOREVER)
    op = dump_op(timeout=0.3)
    context, ti = try_context(StateStore(), 1, max_tries=1)
    with pytest.raises(AirflowSensorTimeout):  # never retried by Airflow
        op.execute(context)
    finish_now(emulator.admin, "edge", ti.value("dump_task_id"))
    assert latest.owner(center_of_emulator(emulator)).released is True
    assert another_run_can_dump(emulator)


def test_a_failed_wait_with_no_retry_left_lets_go(
    emulator: EmulatorHandle, latest: MemoryLatestDumps, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator.admin.set_outcome("edge", "succeed", duration=0)
    emulator.admin.add_fault("status", path_glob=STATUS_PATH, method="GET", status=500, count=100)
    op = dump_op()
    log = recorded(op, monkeypatch)
    context, _ = try_context(StateStore(), 2, max_tries=1)  # the last try
    with pytest.raises(HuaweiCloudError, match="checks in a row failed"):
        op.execute(context)
    emulator.admin.clear_faults()
    assert latest.owner(center_of_emulator(emulator)).released is True
    assert any("no retry of this task is left" in line for line in log.infos), log.lines
    assert another_run_can_dump(emulator)


def test_a_failed_wait_keeps_the_hold_for_the_retry_that_downloads(
    emulator: EmulatorHandle, latest: MemoryLatestDumps, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator.admin.set_outcome("edge", "succeed", duration=0)
    emulator.admin.add_fault("status", path_glob=STATUS_PATH, method="GET", status=500, count=100)
    store = StateStore()
    first = dump_op(download_to=f"{tmp_path}/")
    log = recorded(first, monkeypatch)
    context, _ = try_context(store, 1, max_tries=1)  # Airflow retries this try
    with pytest.raises(HuaweiCloudError):
        first.execute(context)
    emulator.admin.clear_faults()
    assert latest.owner(center_of_emulator(emulator)).released is False
    assert any("stays held" in line and "a retry of this task will come back" in line for line in log.infos)
    assert not another_run_can_dump(emulator)  # the archive is still wanted
    second_context, _ = try_context(store, 2, max_tries=1)
    result = dump_op(download_to=f"{tmp_path}/").execute(second_context)
    assert result["download"]["bytes"] > 0  # the retry got the archive...
    assert another_run_can_dump(emulator)  # ...and let go


def test_an_execution_timeout_with_a_retry_to_come_keeps_the_hold_also_through_on_kill(
    emulator: EmulatorHandle, latest: MemoryLatestDumps, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Airflow calls on_kill after execute ended with AirflowTaskTimeout, and then retries."""
    emulator.admin.set_outcome("edge", "succeed", duration=FOREVER)
    op = dump_op()

    def timed_out(seconds: float) -> None:
        raise AirflowTaskTimeout("Timeout, PID: 1")

    monkeypatch.setattr(op, "_sleep", timed_out)
    context, _ = try_context(StateStore(), 1, max_tries=1)
    with pytest.raises(AirflowTaskTimeout):
        op.execute(context)
    op.on_kill()
    assert latest.owner(center_of_emulator(emulator)).released is False


# Stopped by a user -------------------------------------------------------------------------------
def test_a_worker_stopped_mid_wait_lets_go_and_a_retry_that_reattaches_holds_again(
    emulator: EmulatorHandle, latest: MemoryLatestDumps, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator.admin.set_outcome("edge", "succeed", duration=FOREVER)
    store = StateStore()
    op = dump_op(poll_policy="fixed", poke_interval=30)
    log = recorded(op, monkeypatch)
    context, ti = try_context(store, 1, max_tries=1)
    stop_while_executing(op, context, lambda: "dump_task_id" in ti.keys, settle=0.2)
    dump_task_id = ti.value("dump_task_id")
    center = center_of_emulator(emulator)
    assert latest.owner(center).released is True
    assert f"Released MEF Center {center} from Edge log dump {dump_task_id}: the task was stopped" in " ".join(
        log.infos
    )
    # A retry (e.g. after a worker shutdown forwarded SIGTERM) reattaches: it will download, so it holds again.
    retry_context, _ = try_context(store, 2, max_tries=1)
    retry = dump_op()
    ids, _status = retry.reattach(retry_context)
    retry.close_hook()
    assert ids == {"dump_task_id": dump_task_id}
    assert latest.owner(center).released is False


def test_a_worker_stopped_while_waiting_for_a_free_mef_says_no_dump_was_started(
    emulator: EmulatorHandle, latest: MemoryLatestDumps, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator.admin.create_task("edge", nodes=[1], duration=FOREVER)  # MEF busy with another dump
    op = dump_op(node_ids=[2, 3], busy_retry_interval=30, busy_timeout=120)
    log = recorded(op, monkeypatch)
    context, _ = try_context(StateStore(), 1)
    worker, outcome = stop_while_executing(op, context, lambda: any("retrying in" in line for line in log.infos))
    assert not worker.is_alive()
    assert log.warnings == ["Stopped waiting for MEF Center to be free: no log dump was started for [2, 3]"]
    assert isinstance(outcome[0], NothingStartedError)


class ThreadRecordingLatestDumps(MemoryLatestDumps):
    """Notes the thread of every store access: the triggerer's loop must not make them."""

    def __init__(self) -> None:
        super().__init__()
        self.threads: set[int] = set()

    def _get(self, key: str) -> str | None:
        self.threads.add(threading.get_ident())
        return super()._get(key)

    def _set(self, key: str, value: str, description: str) -> None:
        self.threads.add(threading.get_ident())
        super()._set(key, value, description)


async def test_a_deferred_wait_stopped_by_the_user_lets_go_off_the_event_loop(
    emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = ThreadRecordingLatestDumps()
    monkeypatch.setattr(edge_archive, "LATEST_DUMPS", registry)
    center = center_of_emulator(emulator)
    registry.record(center, DumpOwner("dumpMultiNodesLog.ours", dag_id="d", run_id="r", task_id="dump"))
    registry.threads.clear()
    watched = HuaweiCloudTaskTrigger(
        service="edge", conn_id="edge_manager_default", ids={"dump_task_id": "dumpMultiNodesLog.ours"}, deadline=0.0
    )
    await watched.on_kill()  # a sensor's wait owns no hold
    assert registry.threads == set()
    owned = HuaweiCloudTaskTrigger(**{**watched.serialize()[1], "owned": True})
    log = RecordingLog()
    monkeypatch.setattr(owned.log, "warning", log.warning)
    monkeypatch.setattr(owned.log, "info", log.info)
    await owned.on_kill()
    used = set(registry.threads)
    assert used and threading.get_ident() not in used  # the Variables were read and written off the loop
    assert registry.owner(center).released is True
    assert log.warnings == [
        "Stopped waiting for Edge log dump dumpMultiNodesLog.ours: MEF Center has no API to cancel a log dump, "
        "so it keeps running"
    ]
    assert log.infos == [
        f"Released MEF Center {center} from Edge log dump dumpMultiNodesLog.ours: the task was stopped, so its "
        "run will not download the archive"
    ]


class SlowLatestDumps(MemoryLatestDumps):
    """Variables as slow as a triggerer's first call (its in-process Execution API starts then)."""

    def _get(self, key: str) -> str | None:
        time.sleep(0.2)
        return super()._get(key)


async def test_a_stopped_deferred_wait_completes_its_release_through_the_triggerer_s_repeated_cancels(
    emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Airflow 3.3's triggerer cancels a stopped trigger again on every pass of its loop until it is
    done (``cancel_triggers``), and each cancel reaches the on_kill it awaits with ``wait_for``."""
    registry = SlowLatestDumps()
    monkeypatch.setattr(edge_archive, "LATEST_DUMPS", registry)
    center = center_of_emulator(emulator)
    registry.record(center, DumpOwner("dumpMultiNodesLog.ours", dag_id="d", run_id="r", task_id="dump"))
    trigger = HuaweiCloudTaskTrigger(
        service="edge",
        conn_id="edge_manager_default",
        ids={"dump_task_id": "dumpMultiNodesLog.ours"},
        deadline=0.0,
        owned=True,
    )
    log = RecordingLog()
    monkeypatch.setattr(trigger.log, "warning", log.warning)
    monkeypatch.setattr(trigger.log, "info", log.info)

    async def run_trigger() -> None:  # what the triggerer does with a trigger the user stopped
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(trigger.on_kill(), timeout=30)
            raise

    task = asyncio.ensure_future(run_trigger())
    await asyncio.sleep(0)
    for _ in range(8):  # the triggerer loop, once a pass
        task.cancel("__airflow_user_action__")
        await asyncio.sleep(0.1)
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 10)
    # A cancel that lands while wait_for is cancelling on_kill leaves on_kill running on its own (as
    # in the triggerer): the release completes there, and says so, a moment later.
    deadline = time.monotonic() + 10
    while not any(line.startswith(f"Released MEF Center {center}") for line in log.infos):
        assert time.monotonic() < deadline, log.lines
        await asyncio.sleep(0.05)
    assert registry.owner(center).released is True


def test_a_deferred_wait_that_timed_out_lets_go(emulator: EmulatorHandle, latest: MemoryLatestDumps) -> None:
    from airflow_provider.core.async_transport import close_shared_clients

    emulator.admin.set_outcome("edge", "succeed", duration=FOREVER)
    op = dump_op(deferrable=True)
    context, ti = try_context(StateStore(), 1, max_tries=1)
    with pytest.raises(TaskDeferred) as caught:
        op.execute(context)
    trigger = caught.value.trigger
    assert isinstance(trigger, HuaweiCloudTaskTrigger)
    late = HuaweiCloudTaskTrigger(**{**trigger.serialize()[1], "deadline": time.time() - 1})

    async def first_event() -> dict[str, Any]:
        try:
            async for event in late.run():
                return dict(event.payload)
        finally:
            await close_shared_clients()
        raise AssertionError("no event")

    event = asyncio.run(first_event())
    assert event["status"] == "timeout"
    with pytest.raises(AirflowSensorTimeout):
        dump_op(deferrable=True).execute_complete(context, event)
    finish_now(emulator.admin, "edge", ti.value("dump_task_id"))
    assert latest.owner(center_of_emulator(emulator)).released is True
    assert another_run_can_dump(emulator)


# A start that created nothing --------------------------------------------------------------------
def test_a_busy_timeout_leaves_no_record_so_the_retry_does_not_claim_a_start_was_cut_short(
    emulator: EmulatorHandle, latest: MemoryLatestDumps, monkeypatch: pytest.MonkeyPatch
) -> None:
    running = emulator.admin.create_task("edge", nodes=[1], duration=FOREVER)
    store = StateStore()
    context, _ = try_context(store, 1, max_tries=1)
    with pytest.raises(NothingStartedError, match=r"stayed busy with another log dump .* no log dump was started"):
        dump_op(busy_timeout=0.3, busy_retry_interval=0.1).execute(context)
    assert STORE_KEY not in store.values
    finish_now(emulator.admin, "edge", running)
    emulator.admin.set_outcome("edge", "succeed", duration=0)
    retry = dump_op()
    log = recorded(retry, monkeypatch)
    retry_context, _ = try_context(store, 2, max_tries=1)
    assert retry.execute(retry_context)["state"] == "SUCCEEDED"
    assert not any("stopped while starting" in line for line in log.warnings), log.lines


def test_a_deferred_busy_timeout_leaves_no_record_either(emulator: EmulatorHandle, latest: MemoryLatestDumps) -> None:
    emulator.admin.create_task("edge", nodes=[1], duration=FOREVER)
    store = StateStore()
    context, _ = try_context(store, 1, max_tries=1)
    op = dump_op(deferrable=True, busy_retry_interval=0.1)
    with pytest.raises(TaskDeferred):
        op.execute(context)
    assert json.loads(store.values[STORE_KEY])["phase"] == "starting"
    event = {"status": "busy_timeout", "message": "MEF Center stayed busy with another log dump for 600 s"}
    with pytest.raises(NothingStartedError, match="no log dump was started"):
        dump_op(deferrable=True).execute_started(context, event)
    assert STORE_KEY not in store.values


# The Variables: no read-then-write over another run's record -------------------------------------
class FakeVariables:
    """Airflow's Variable API over a dict; ``on_get`` runs once, at the first read of ``when_key``."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self.when_key: str | None = None
        self.on_get: Any = None

    def get(self, key: str, default: Any = None) -> Any:
        value = self.values.get(key, default)
        if key == self.when_key and self.on_get is not None:
            action, self.on_get = self.on_get, None
            action()
        return value

    def set(self, key: str, value: str, description: str | None = None) -> None:
        self.values[key] = value

    def delete(self, key: str) -> None:
        self.values.pop(key, None)


@pytest.mark.parametrize("step", ["release", "mark_finished"])
def test_a_run_letting_go_never_overwrites_a_newer_dump_recorded_meanwhile(
    monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    from airflow.sdk import Variable

    variables = FakeVariables()
    monkeypatch.setattr(Variable, "get", variables.get)
    monkeypatch.setattr(Variable, "set", variables.set)
    monkeypatch.setattr(Variable, "delete", variables.delete)
    latests = VariableLatestDumps()
    center = "10.10.10.10:30035"
    ours = DumpOwner("dump-a", dag_id="archival", run_id="run-1", task_id="dump")
    theirs = DumpOwner("dump-b", dag_id="archival", run_id="run-2", task_id="dump")
    latests.record(center, ours)
    # Another run records its new dump between our read of the latest dump and our write.
    variables.when_key = latests.key(center)
    variables.on_get = lambda: latests.record(center, theirs)
    (release if step == "release" else mark_finished)(latests, center, "dump-a")
    now = latests.latest(center)
    assert now is not None and now.dump_task_id == "dump-b" and not now.released and now.finished_seen_at is None
    assert sorted(variables.values) == [latests.key(center)]  # no hold left behind for dump-a
