"""EdgeLogDumpStartTrigger: the triggerer waits for a free MEF Center and creates the dump there."""

from __future__ import annotations

import asyncio
import json
import time
from typing import TYPE_CHECKING, Any

import pytest
from airflow.sdk.exceptions import TaskDeferred

from airflow_provider.core.async_transport import close_shared_clients
from airflow_provider.hooks import edge_archive
from airflow_provider.operators.edge import EdgeLogDumpOperator
from airflow_provider.triggers.edge import EdgeLogDumpStartTrigger
from airflow_provider.triggers.task import HuaweiCloudTaskTrigger
from tests.operators._support import FAST_POLL, MemoryLatestDumps, StateStore, finish_now, try_context
from tests.recording_log import RecordingLog

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from airflow_provider.hooks.edge_archive import DumpOwner
    from airflow_provider.testing.emulator_runner import EmulatorHandle

TASK_PATH = "/edgemanager/v1/logmgmt/dump/task"


@pytest.fixture(autouse=True)
async def _close_clients() -> AsyncIterator[None]:
    yield
    await close_shared_clients()


@pytest.fixture(autouse=True)
def latest(monkeypatch: pytest.MonkeyPatch) -> MemoryLatestDumps:
    """The latest dump per MEF Center, as the Airflow Variables would hold it."""
    registry = MemoryLatestDumps()
    monkeypatch.setattr(edge_archive, "LATEST_DUMPS", registry)
    return registry


def creates(emulator: EmulatorHandle) -> list[int]:
    return [r["status"] for r in emulator.admin.requests(service="edge") if r["method"] == "POST"]


async def events_of(trigger: EdgeLogDumpStartTrigger) -> list[dict[str, Any]]:
    return [event.payload async for event in trigger.run()]


async def test_creates_the_dump_once_mef_is_free(emulator: EmulatorHandle, latest: MemoryLatestDumps) -> None:
    running = emulator.admin.create_task("edge", nodes=[1], duration=1e6)
    emulator.admin.set_outcome("edge", "succeed", duration=1e6)
    trigger = EdgeLogDumpStartTrigger(
        conn_id="edge_manager_default", node_ids=[2, 3], deadline=time.time() + 60, retry_interval=0.2
    )
    task = asyncio.ensure_future(events_of(trigger))
    for _ in range(200):  # MEF said "busy" at least once...
        if 400 in creates(emulator):
            break
        await asyncio.sleep(0.02)
    finish_now(emulator.admin, "edge", running)  # ...then the other dump ends
    events = await asyncio.wait_for(task, 30)
    assert [e["status"] for e in events] == ["started"]
    assert events[0]["dump_task_id"].startswith("dumpMultiNodesLog.")
    assert events[0]["dump_task_id"] != running
    assert events[0]["attempts"] >= 2
    assert creates(emulator)[-1] == 200 and creates(emulator).count(200) == 1
    # Recorded as the MEF Center's latest by the trigger itself, before the worker resumes.
    assert events[0]["recorded"] is True
    assert latest.owner(emulator.edge_url.split("://")[1]).dump_task_id == events[0]["dump_task_id"]


async def test_gives_up_at_the_deadline_with_mef_s_answer(emulator: EmulatorHandle) -> None:
    emulator.admin.create_task("edge", nodes=[1], duration=1e6)
    trigger = EdgeLogDumpStartTrigger(
        conn_id="edge_manager_default", node_ids=[2], deadline=time.time() + 0.5, retry_interval=0.1
    )
    events = await asyncio.wait_for(events_of(trigger), 30)
    assert [e["status"] for e in events] == ["busy_timeout"]
    assert "stayed busy with another log dump" in events[0]["message"]
    assert "task queue is full" in events[0]["message"]
    assert set(creates(emulator)) == {400}


async def test_another_create_error_ends_the_wait_at_once(emulator: EmulatorHandle) -> None:
    trigger = EdgeLogDumpStartTrigger(conn_id="edge_manager_default", node_ids=[77], deadline=time.time() + 60)
    events = await asyncio.wait_for(events_of(trigger), 30)
    assert [e["status"] for e in events] == ["error"]
    assert "40051002" in events[0]["message"]  # node (77) not found


def test_serializes_without_secrets_and_round_trips(emulator: EmulatorHandle) -> None:
    trigger = EdgeLogDumpStartTrigger(
        conn_id="edge_manager_default",
        node_ids=[2],
        deadline=123.0,
        retry_interval=7,
        hold_seconds=60,
        start_token="0f1e2d3c",
    )
    path, kwargs = trigger.serialize()
    assert path == "airflow_provider.triggers.edge.EdgeLogDumpStartTrigger"
    assert kwargs == {
        "conn_id": "edge_manager_default",
        "node_ids": [2],
        "deadline": 123.0,
        "retry_interval": 7.0,
        "hold_seconds": 60.0,
        "start_token": "0f1e2d3c",
        "waiting_since": trigger.waiting_since,
    }
    assert EdgeLogDumpStartTrigger(**kwargs).serialize() == (path, kwargs)
    assert "BEGIN" not in json.dumps(kwargs)


async def test_on_kill_says_no_dump_was_started(monkeypatch: pytest.MonkeyPatch) -> None:
    trigger = EdgeLogDumpStartTrigger(conn_id="edge_manager_default", node_ids=[2, 3], deadline=0.0)
    log = RecordingLog()
    monkeypatch.setattr(trigger.log, "warning", log.warning)
    await trigger.on_kill()
    assert log.warnings == ["Stopped waiting for MEF Center to be free: no log dump was started for [2, 3]"]


async def test_on_kill_right_after_the_create_call_names_the_dump_and_lets_go_of_the_mef_center(
    emulator: EmulatorHandle, latest: MemoryLatestDumps, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator.admin.set_outcome("edge", "succeed", duration=1e6)
    trigger = EdgeLogDumpStartTrigger(
        conn_id="edge_manager_default", node_ids=[2, 3], deadline=time.time() + 60, retry_interval=0.2
    )
    center = emulator.edge_url.split("://")[1]
    recorded = asyncio.Event()
    loop = asyncio.get_running_loop()
    original_record = latest.record

    def record_then_signal(where: str, owner: DumpOwner) -> bool:  # runs in a thread
        done = original_record(where, owner)
        loop.call_soon_threadsafe(recorded.set)
        return done

    monkeypatch.setattr(latest, "record", record_then_signal)
    run = asyncio.ensure_future(events_of(trigger))
    await asyncio.wait_for(recorded.wait(), 30)  # created and recorded; the event is not out yet
    run.cancel()  # the user stops the task now
    log = RecordingLog()
    monkeypatch.setattr(trigger.log, "warning", log.warning)
    monkeypatch.setattr(trigger.log, "info", log.info)
    await trigger.on_kill()
    dump = latest.owner(center).dump_task_id
    assert log.warnings == [
        f"Stopped waiting for Edge log dump {dump}: MEF Center has no API to cancel a log dump, so it keeps running"
    ]
    assert latest.owner(center).released is True


def test_a_deferrable_operator_waits_for_a_free_mef_in_the_triggerer_not_in_a_worker(
    emulator: EmulatorHandle, latest: MemoryLatestDumps
) -> None:
    """Busy: the worker defers at once (its slot is free); the triggerer creates; the worker records
    the id, then defers again to wait for the dump."""
    running = emulator.admin.create_task("edge", nodes=[1], duration=1e6)
    store = StateStore()
    context, ti = try_context(store, 1)
    op = EdgeLogDumpOperator(task_id="dump", node_ids=[2], deferrable=True, busy_retry_interval=0.2, **FAST_POLL)
    started = time.monotonic()
    with pytest.raises(TaskDeferred) as caught:
        op.execute(context)
    assert time.monotonic() - started < 5  # no sleeping in the worker
    assert caught.value.method_name == "execute_started"
    start_trigger = caught.value.trigger
    assert isinstance(start_trigger, EdgeLogDumpStartTrigger)
    assert ti.pushed == []  # no id yet
    finish_now(emulator.admin, "edge", running)
    emulator.admin.set_outcome("edge", "succeed", duration=1e6)
    [event] = asyncio.run(events_of(EdgeLogDumpStartTrigger(**start_trigger.serialize()[1])))
    with pytest.raises(TaskDeferred) as again:
        op.execute_started(context, event)
    assert again.value.method_name == "execute_complete"
    wait = again.value.trigger
    assert isinstance(wait, HuaweiCloudTaskTrigger)
    assert wait.ids == {"dump_task_id": event["dump_task_id"]}
    assert ti.value("dump_task_id") == event["dump_task_id"]
    assert json.loads(store.values["huaweicloud_remote_task"])["ids"] == {"dump_task_id": event["dump_task_id"]}
    assert creates(emulator) == [400, 200]  # busy in the worker, created by the triggerer: one dump


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"status": "busy_timeout", "message": "MEF Center stayed busy with another log dump for 600 s"}, "stayed"),
        ({"status": "error", "message": "log dump create call failed: boom"}, "boom"),
        ({"status": "weird"}, "invalid trigger event"),
        (None, "invalid trigger event"),
    ],
)
def test_execute_started_raises_what_the_trigger_reported(event: Any, message: str) -> None:
    op = EdgeLogDumpOperator(task_id="dump", node_ids=[2], deferrable=True)
    context, _ = try_context(StateStore(), 1)
    with pytest.raises(Exception, match=message):
        op.execute_started(context, event)


async def test_waits_while_another_run_s_archive_is_not_downloaded_yet(
    emulator: EmulatorHandle, latest: MemoryLatestDumps
) -> None:
    from datetime import datetime, timezone

    from airflow_provider.hooks.edge_archive import DumpOwner, release

    emulator.admin.set_outcome("edge", "succeed", duration=0)
    other = emulator.admin.create_task("edge", nodes=[1], duration=0)  # finished, archive waiting
    center = emulator.edge_url.split("://")[1]
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    latest.record(center, DumpOwner(other, dag_id="archival", run_id="run-1", task_id="dump", finished_seen_at=now))
    trigger = EdgeLogDumpStartTrigger(
        conn_id="edge_manager_default", node_ids=[2], deadline=time.time() + 60, retry_interval=0.2
    )
    task = asyncio.ensure_future(events_of(trigger))
    await asyncio.sleep(1.0)
    assert not task.done()
    assert creates(emulator) == []  # MEF is free, but the other run has not downloaded its archive
    release(latest, center, other)  # ...now it has
    events = await asyncio.wait_for(task, 30)
    assert [e["status"] for e in events] == ["started"]
    assert creates(emulator) == [200]


# A resumed try that died before it recorded the dump ----------------------------------------------
def test_a_retry_finds_the_dump_the_start_trigger_created_for_a_try_that_died_before_recording_it(
    emulator: EmulatorHandle, latest: MemoryLatestDumps, monkeypatch: pytest.MonkeyPatch
) -> None:
    running = emulator.admin.create_task("edge", nodes=[1], duration=1e6)
    store = StateStore()
    context, ti = try_context(store, 1)
    options: dict[str, Any] = {"task_id": "collect", "node_ids": [2], "deferrable": True, "busy_retry_interval": 0.2}
    with pytest.raises(TaskDeferred) as caught:
        EdgeLogDumpOperator(**options, **FAST_POLL).execute(context)
    start_trigger = EdgeLogDumpStartTrigger(**caught.value.trigger.serialize()[1])
    start_trigger.task_instance = ti  # type: ignore[assignment]  # what the triggerer sets
    finish_now(emulator.admin, "edge", running)
    emulator.admin.set_outcome("edge", "succeed", duration=1e6)
    [event] = asyncio.run(events_of(start_trigger))
    # The try resumed with that event dies before it records the id: the store says only "starting".
    assert json.loads(store.values["huaweicloud_remote_task"])["phase"] == "starting"
    retry_context, retry_ti = try_context(store, 2)
    retry = EdgeLogDumpOperator(**options, **FAST_POLL)
    log = RecordingLog()
    monkeypatch.setattr(retry.log, "info", log.info)
    monkeypatch.setattr(retry.log, "warning", log.warning)
    with pytest.raises(TaskDeferred) as again:
        retry.execute(retry_context)
    assert again.value.method_name == "execute_complete"  # waiting for that dump, not for a free MEF
    assert retry_ti.value("dump_task_id") == event["dump_task_id"]
    assert creates(emulator) == [400, 200]  # one dump
    assert any(f"Found the Edge log dump {event['dump_task_id']} that try 1 started" in line for line in log.infos)
    assert not log.warnings, log.lines


def test_a_retry_finds_the_dump_a_sync_try_created_and_died_before_recording(
    emulator: EmulatorHandle, latest: MemoryLatestDumps, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator.admin.set_outcome("edge", "succeed", duration=0)
    store = StateStore()
    context, _ = try_context(store, 1)
    first = EdgeLogDumpOperator(task_id="collect", node_ids=[2], deferrable=False, **FAST_POLL)

    def dies(context: Any, ids: dict[str, str]) -> None:
        raise SystemExit(-9)  # the worker died right after the create call answered

    monkeypatch.setattr(first, "publish", dies)
    with pytest.raises(SystemExit):
        first.execute(context)
    retry_context, retry_ti = try_context(store, 2)
    result = EdgeLogDumpOperator(task_id="collect", node_ids=[2], deferrable=False, **FAST_POLL).execute(retry_context)
    assert result["state"] == "SUCCEEDED"
    assert creates(emulator) == [200]
    assert retry_ti.value("dump_task_id") == result["task_id"]


def test_an_earlier_dump_of_the_same_task_is_not_taken_for_the_one_a_try_was_starting(
    emulator: EmulatorHandle, latest: MemoryLatestDumps, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow_provider.hooks.edge_archive import DumpOwner
    from airflow_provider.operators.durable import RemoteTaskMemory

    emulator.admin.set_outcome("edge", "succeed", duration=0)
    earlier = emulator.admin.create_task("edge", nodes=[2], duration=0)
    store = StateStore()
    context, ti = try_context(store, 1)
    center = emulator.edge_url.split("://")[1]
    latest.record(center, DumpOwner(earlier, dag_id=ti.dag_id, run_id=ti.run_id, task_id=ti.task_id, start_token="t1"))
    RemoteTaskMemory(context, "edge", RecordingLog()).remember_starting({"start_token": "t2"})
    retry_context, retry_ti = try_context(store, 2)
    retry = EdgeLogDumpOperator(task_id="collect", node_ids=[2], deferrable=False, **FAST_POLL)
    log = RecordingLog()
    monkeypatch.setattr(retry.log, "warning", log.warning)
    assert retry.execute(retry_context)["state"] == "SUCCEEDED"
    assert retry_ti.value("dump_task_id") != earlier
    assert any("Try 1 stopped while starting an Edge log dump" in line for line in log.warnings), log.lines
