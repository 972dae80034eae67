"""HuaweiCloudTaskTrigger driven directly (``run()``) against the emulator on a real port."""

from __future__ import annotations

import asyncio
import json
import time
from typing import TYPE_CHECKING, Any, cast

import pytest

from airflow_provider.core.async_transport import close_shared_clients
from airflow_provider.core.auth import TOKEN_CACHE
from airflow_provider.core.status import TaskState, TaskStatus
from airflow_provider.triggers.task import HuaweiCloudTaskTrigger
from tests.recording_log import RecordingLog

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator, AsyncIterator
    from pathlib import Path

    from airflow.triggers.base import TriggerEvent

    from airflow_provider.testing.emulator_runner import EmulatorHandle

FAST = {"kind": "fixed", "poke_interval": 0.2, "min_interval": 0.1, "factor": 2.0}
QUICK_RETRY = {"base_delay": 0.05, "max_delay": 0.5, "max_attempts": 5}
CSS_FAILED_MSG = "Failed to back up logs: the OBS bucket is not accessible with the agency"


@pytest.fixture(autouse=True)
async def _close_clients() -> AsyncIterator[None]:
    """Each test has its own loop: close the clients the transport shared on it."""
    yield
    await close_shared_clients()


# helpers ---------------------------------------------------------------------------------------------
def resources(emulator: EmulatorHandle) -> dict[str, Any]:
    result: dict[str, Any] = emulator.admin.info()["resources"]
    return result


def dcs_instance(emulator: EmulatorHandle) -> str:
    return str(next(iter(resources(emulator)["dcs_instances"])))


def new_dcs_task(emulator: EmulatorHandle, outcome: str = "succeed", duration: float = 100_000.0) -> str:
    emulator.admin.set_outcome("dcs", outcome, duration=duration)
    return emulator.admin.create_task("dcs", instance_id=dcs_instance(emulator))


def dcs_trigger(emulator: EmulatorHandle, task_id: str, **kwargs: Any) -> HuaweiCloudTaskTrigger:
    settings: dict[str, Any] = {
        "service": "dcs",
        "conn_id": "huaweicloud_default",
        "ids": {"instance_id": dcs_instance(emulator), "dcs_task_id": task_id},
        "deadline": time.time() + 60,
        "poll_policy": FAST,
    }
    settings.update(kwargs)
    return HuaweiCloudTaskTrigger(**settings)


def progress_path(emulator: EmulatorHandle, task_id: str) -> str:
    return f"/v2/{emulator.project_id}/instances/{dcs_instance(emulator)}/tasks/{task_id}/progress"


def events_of(trigger: HuaweiCloudTaskTrigger) -> AsyncGenerator[TriggerEvent, None]:
    return cast("AsyncGenerator[TriggerEvent, None]", trigger.run())


async def first_event(trigger: HuaweiCloudTaskTrigger) -> dict[str, Any]:
    events = events_of(trigger)
    try:
        event = await asyncio.wait_for(events.__anext__(), timeout=30)
    finally:
        await events.aclose()
    payload: dict[str, Any] = event.payload
    return payload


async def all_events(trigger: HuaweiCloudTaskTrigger) -> list[dict[str, Any]]:
    async def collect() -> list[dict[str, Any]]:
        return [event.payload async for event in events_of(trigger)]

    return await asyncio.wait_for(collect(), timeout=30)


async def until(predicate: Any, what: str) -> None:
    """Wait (on the loop) until the emulator shows something; a bound, not a timing assertion."""
    for _ in range(300):
        if await asyncio.to_thread(predicate):
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"never happened: {what}")


def requests_to(emulator: EmulatorHandle, path: str) -> list[dict[str, Any]]:
    return [r for r in emulator.admin.requests() if r["path"] == path]


def use_conn(monkeypatch: pytest.MonkeyPatch, conn_json: str, **extra: Any) -> None:
    conn = json.loads(conn_json)
    conn["extra"] = {**conn.get("extra", {}), **extra}
    monkeypatch.setenv("AIRFLOW_CONN_HUAWEICLOUD_DEFAULT", json.dumps(conn))


# outcomes --------------------------------------------------------------------------------------------
async def test_success_event_carries_the_final_status(emulator: EmulatorHandle) -> None:
    task_id = new_dcs_task(emulator, duration=10.0)  # 0.2 s of real time
    trigger = dcs_trigger(emulator, task_id)
    event = await first_event(trigger)
    assert event["status"] == "success"
    assert event["service"] == "dcs"
    assert event["task_id"] == task_id
    assert event["ids"] == trigger.ids
    status = TaskStatus.from_json(event["task_status"])
    assert status.state is TaskState.SUCCEEDED
    assert status.progress == 100
    assert len(requests_to(emulator, progress_path(emulator, task_id))) >= 1


async def test_failure_event_has_the_remote_reason(emulator: EmulatorHandle) -> None:
    task_id = new_dcs_task(emulator, outcome="fail", duration=10.0)
    event = await first_event(dcs_trigger(emulator, task_id))
    assert event["status"] == "failed"
    assert "step 'Data migration.' failed" in event["message"]
    assert "DCS.5091" in event["message"]
    assert TaskStatus.from_json(event["task_status"]).error_code == "DCS.5091"


async def test_css_failure_event_has_failed_msg(emulator: EmulatorHandle) -> None:
    cluster = resources(emulator)["css_clusters"][0]
    emulator.admin.set_outcome("css", "fail", duration=5.0)
    record_id = emulator.admin.create_task("css", cluster_id=cluster)
    trigger = HuaweiCloudTaskTrigger(
        service="css",
        conn_id="huaweicloud_default",
        ids={"cluster_id": cluster, "record_id": record_id},
        deadline=time.time() + 60,
        poll_policy=FAST,
    )
    event = await first_event(trigger)
    assert event["status"] == "failed"
    assert event["message"] == CSS_FAILED_MSG
    assert event["task_id"] == record_id


async def test_deadline_in_the_past_polls_once_then_times_out(emulator: EmulatorHandle) -> None:
    task_id = new_dcs_task(emulator)
    trigger = dcs_trigger(emulator, task_id, deadline=time.time() - 1, waiting_since=time.time() - 120)
    events = await all_events(trigger)
    assert len(events) == 1
    event = events[0]
    assert event["status"] == "timeout"
    assert "still RUNNING" in event["message"]
    assert "deadline reached" in event["message"]
    assert TaskStatus.from_json(event["task_status"]).state is TaskState.RUNNING
    assert len(requests_to(emulator, progress_path(emulator, task_id))) == 1


async def test_a_finished_task_wins_over_a_past_deadline(emulator: EmulatorHandle) -> None:
    task_id = new_dcs_task(emulator, duration=1.0)
    emulator.admin.advance(5)
    event = await first_event(dcs_trigger(emulator, task_id, deadline=time.time() - 1))
    assert event["status"] == "success"


@pytest.mark.parametrize("outcome", ["succeed", "fail"])
async def test_exactly_one_event_per_run(emulator: EmulatorHandle, outcome: str) -> None:
    task_id = new_dcs_task(emulator, outcome=outcome, duration=10.0)
    events = await all_events(dcs_trigger(emulator, task_id))
    assert [e["status"] for e in events] == ["success" if outcome == "succeed" else "failed"]


# transient errors and auth ----------------------------------------------------------------------------
async def test_transient_errors_are_retried_then_success(
    emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_conn(monkeypatch, emulator.huaweicloud_conn_json, retry=QUICK_RETRY)
    task_id = new_dcs_task(emulator, duration=1.0)
    emulator.admin.advance(5)
    path = progress_path(emulator, task_id)
    emulator.admin.add_fault("status", path_glob=path, status=503, count=2)
    emulator.admin.add_fault("status", path_glob=path, status=429, retry_after=1, count=1)
    event = await first_event(dcs_trigger(emulator, task_id))
    assert event["status"] == "success"
    seen = requests_to(emulator, path)
    assert [r["status"] for r in seen] == [503, 503, 429, 200]
    assert all(r["fault"] for r in seen[:3])
    assert seen[3]["fault"] is None
    # Retry-After: 1 was honoured (a lower bound only)
    assert seen[3]["time"] - seen[2]["time"] >= 0.9
    assert emulator.admin.faults() == []


@pytest.mark.parametrize("failing_checks", [0, 1])
async def test_the_wait_opens_with_its_deadline_on_the_first_status_or_before_a_failed_check(
    emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch, failing_checks: int
) -> None:
    """One line opens the wait (what, until when), joined to the first status; when the first
    check fails it comes alone, before the warnings about the failure."""
    use_conn(monkeypatch, emulator.huaweicloud_conn_json, retry={**QUICK_RETRY, "max_attempts": 1})
    log = RecordingLog()
    monkeypatch.setattr(HuaweiCloudTaskTrigger, "logger", classmethod(lambda cls: log))
    task_id = new_dcs_task(emulator, duration=1.0)
    emulator.admin.advance(5)
    if failing_checks:
        emulator.admin.add_fault("status", path_glob=progress_path(emulator, task_id), status=503, count=1)
    trigger = dcs_trigger(emulator, task_id, poll_policy={"kind": "fixed", "poke_interval": 1.0, "min_interval": 1.0})
    event = await first_event(trigger)
    assert event["status"] == "success"
    infos = log.infos
    opening = f"Waiting for DCS background task {task_id} in the triggerer until "
    assert sum(opening in text for text in infos) == 1
    first = log.lines[0]
    assert first[0] == "info" and first[1].startswith(opening)
    if failing_checks:
        assert first[1].endswith("(deadline)")  # alone: no status yet
        assert any(level == "warning" and "503" in text for level, text in log.lines[1:])
        assert infos[-1].startswith(f"DCS background task {task_id}: SUCCEEDED")  # one name per task
    else:
        assert "(deadline): SUCCEEDED" in first[1]  # the task was done at the first check


async def test_errors_beyond_the_retry_policy_end_in_an_error_event(
    emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_conn(monkeypatch, emulator.huaweicloud_conn_json, retry={**QUICK_RETRY, "max_attempts": 2})
    task_id = new_dcs_task(emulator)
    # 2 attempts per check; 3 failed checks in a row are ridden out, the 4th ends the wait
    emulator.admin.add_fault("status", path_glob=progress_path(emulator, task_id), status=503, count=8)
    events = await all_events(dcs_trigger(emulator, task_id))
    assert len(events) == 1
    assert events[0]["status"] == "error"
    assert "HTTP 503" in events[0]["message"]
    assert "4 checks in a row failed" in events[0]["message"]
    assert len(requests_to(emulator, progress_path(emulator, task_id))) == 8


async def test_token_expiry_mid_wait_refreshes_once(emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_HUAWEICLOUD_DEFAULT", emulator.huaweicloud_password_conn_json)
    TOKEN_CACHE.clear()
    task_id = new_dcs_task(emulator)
    path = progress_path(emulator, task_id)
    run = asyncio.create_task(first_event(dcs_trigger(emulator, task_id)))
    await until(lambda: any(r["status"] == 200 for r in requests_to(emulator, path)), "a first successful poll")
    tokens_before = [r for r in emulator.admin.requests("iam") if r["path"] == "/v3/auth/tokens"]
    assert len(tokens_before) == 1
    assert emulator.admin.expire_tokens() >= 1
    await until(lambda: any(r["status"] == 401 for r in requests_to(emulator, path)), "a poll with the expired token")
    emulator.admin.set_outcome("dcs", "succeed", duration=0, task_id=task_id)
    event = await asyncio.wait_for(run, timeout=30)
    assert event["status"] == "success"
    tokens = [r for r in emulator.admin.requests("iam") if r["path"] == "/v3/auth/tokens"]
    assert len(tokens) == 2
    statuses = [r["status"] for r in requests_to(emulator, path)]
    assert statuses.count(401) == 1
    assert statuses[-1] == 200


async def test_status_polls_are_read_on_the_wake_up_grid_and_token_fetches_are_not(
    emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Waits sleep to the grid and their responses wait in the socket for its next tick, so one
    wake-up serves every wait due together; a token fetch, which every poll waits for, does not."""
    from airflow_provider.core.http11 import ConnectionPool
    from airflow_provider.core.wake_grid import WAKE_GRID_SECONDS

    monkeypatch.setenv("AIRFLOW_CONN_HUAWEICLOUD_DEFAULT", emulator.huaweicloud_password_conn_json)
    TOKEN_CACHE.clear()
    seen: list[tuple[str, float, float]] = []  # target, read_grid, seconds to the response
    request = ConnectionPool.request

    async def timed(self: ConnectionPool, method: str, target: str, *args: Any, **kwargs: Any) -> Any:
        started = time.monotonic()
        response = await request(self, method, target, *args, **kwargs)
        seen.append((target, kwargs.get("read_grid", 0.0), time.monotonic() - started))
        return response

    monkeypatch.setattr(ConnectionPool, "request", timed)
    tasks = [new_dcs_task(emulator, duration=100.0) for _ in range(3)]  # 2 s of real time
    policy = {"kind": "fixed", "poke_interval": 1.0, "min_interval": 1.0}
    events = await asyncio.gather(*(first_event(dcs_trigger(emulator, t, poll_policy=policy)) for t in tasks))

    assert [event["status"] for event in events] == ["success"] * 3
    polls = [(grid, took) for target, grid, took in seen if target.endswith("/progress")]
    tokens = [(grid, took) for target, grid, took in seen if target.startswith("/v3/auth/tokens")]
    assert len(polls) >= 6
    assert all(grid == WAKE_GRID_SECONDS and took >= WAKE_GRID_SECONDS / 2 - 0.01 for grid, took in polls)
    assert tokens
    assert all(grid == 0.0 for grid, _took in tokens)


# edge -------------------------------------------------------------------------------------------------
def edge_trigger(dump_id: str, **kwargs: Any) -> HuaweiCloudTaskTrigger:
    return HuaweiCloudTaskTrigger(
        service="edge",
        conn_id="edge_manager_default",
        ids={"dump_task_id": dump_id},
        deadline=time.time() + 60,
        poll_policy=FAST,
        **kwargs,
    )


async def test_edge_over_the_edge_connection(emulator: EmulatorHandle) -> None:
    emulator.admin.set_outcome("edge", "succeed", duration=10.0)
    dump_id = emulator.admin.create_task("edge", nodes=[1, 2])
    events = await all_events(edge_trigger(dump_id))
    assert len(events) == 1
    assert events[0]["status"] == "success"
    assert events[0]["task_id"] == dump_id
    assert TaskStatus.from_json(events[0]["task_status"]).result["file_name"] == "edgeNodes.tar.gz"
    polls = [r for r in emulator.admin.requests("edge") if r["path"] == "/edgemanager/v1/logmgmt/dump/task"]
    assert polls
    assert all(r["query"] == f"taskId={dump_id}" for r in polls)


@pytest.mark.parametrize(("accept", "expected"), [(True, "success"), (False, "failed")])
async def test_edge_partial_failure(emulator: EmulatorHandle, accept: bool, expected: str) -> None:
    emulator.admin.set_outcome("edge", "partial", duration=5.0)
    dump_id = emulator.admin.create_task("edge", nodes=[1, 2, 3, 4])
    event = await first_event(edge_trigger(dump_id, accept_partial_failure=accept))
    assert event["status"] == expected
    assert TaskStatus.from_json(event["task_status"]).state is TaskState.PARTIALLY_FAILED
    assert "(3)failed to send message to edge" in event["message"]


# not found and bad connections ---------------------------------------------------------------------
async def test_unknown_task_is_an_error_event(emulator: EmulatorHandle) -> None:
    events = await all_events(dcs_trigger(emulator, "f" * 32))
    assert len(events) == 1
    assert events[0]["status"] == "error"
    assert "not found" in events[0]["message"]
    assert "existed" not in events[0]["message"]


async def test_task_vanishing_mid_wait_says_it_existed(emulator: EmulatorHandle) -> None:
    task_id = new_dcs_task(emulator)
    path = progress_path(emulator, task_id)
    run = asyncio.create_task(first_event(dcs_trigger(emulator, task_id)))
    await until(lambda: bool(requests_to(emulator, path)), "a first poll")
    emulator.reset()
    event = await asyncio.wait_for(run, timeout=30)
    assert event["status"] == "error"
    assert "not found (it existed at an earlier check)" in event["message"]
    assert "DCS.4001" in event["message"]


async def test_unusable_connection_is_an_error_event(emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch) -> None:
    use_conn(monkeypatch, emulator.huaweicloud_conn_json, auth_type="kerberos")
    events = await all_events(dcs_trigger(emulator, new_dcs_task(emulator)))
    assert len(events) == 1
    assert events[0]["status"] == "error"
    assert "cannot use connection 'huaweicloud_default'" in events[0]["message"]
    assert emulator.identities.secret_key not in events[0]["message"]


async def test_missing_connection_is_an_error_event(emulator: EmulatorHandle) -> None:
    events = await all_events(dcs_trigger(emulator, new_dcs_task(emulator), conn_id="not_defined_anywhere"))
    assert len(events) == 1
    assert events[0]["status"] == "error"
    assert "not_defined_anywhere" in events[0]["message"]


async def test_a_body_that_does_not_parse_is_an_error_event(emulator: EmulatorHandle) -> None:
    task_id = new_dcs_task(emulator)
    # tolerated 3 times in a row (a gateway hiccup during a long wait), the 4th ends the wait
    emulator.admin.add_fault("html_200", path_glob=progress_path(emulator, task_id), count=4)
    events = await all_events(dcs_trigger(emulator, task_id))
    assert [e["status"] for e in events] == ["error"]
    assert "unexpected response, field '<body>': not JSON" in events[0]["message"]
    assert len(requests_to(emulator, progress_path(emulator, task_id))) == 4


async def test_a_dropped_connection_is_retried(emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch) -> None:
    use_conn(monkeypatch, emulator.huaweicloud_conn_json, retry=QUICK_RETRY)
    task_id = new_dcs_task(emulator, duration=1.0)
    emulator.admin.advance(5)
    emulator.admin.add_fault("drop", path_glob=progress_path(emulator, task_id), count=1)
    events = await all_events(dcs_trigger(emulator, task_id))
    assert [e["status"] for e in events] == ["success"]
    assert len(requests_to(emulator, progress_path(emulator, task_id))) == 2


# serialization and resumption -----------------------------------------------------------------------
def test_serialize_round_trip_keeps_the_original_deadline() -> None:
    trigger = HuaweiCloudTaskTrigger(
        service="dis",
        conn_id="c",
        ids={"transfer_task_id": "CDaRPdvKUfZrAhzTaYs", "stream_name": "s"},
        deadline=1_700_000_000.5,
        poll_policy=FAST,
        options={"completed_after": "2024-01-01T00:00:00+00:00", "min_records": 3},
        accept_partial_failure=True,
        waiting_since=1_699_999_000.0,
    )
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_provider.triggers.task.HuaweiCloudTaskTrigger"
    json.dumps(kwargs)  # the triggerer stores it as JSON
    again = HuaweiCloudTaskTrigger(**kwargs)
    assert again.serialize() == (classpath, kwargs)
    assert again.deadline == 1_700_000_000.5
    assert again.waiting_since == 1_699_999_000.0
    assert kwargs == {
        "service": "dis",
        "conn_id": "c",
        "ids": {"transfer_task_id": "CDaRPdvKUfZrAhzTaYs", "stream_name": "s"},
        "deadline": 1_700_000_000.5,
        "poll_policy": FAST,
        "options": {"completed_after": "2024-01-01T00:00:00+00:00", "min_records": 3},
        "accept_partial_failure": True,
        "waiting_since": 1_699_999_000.0,
        "owned": False,  # a sensor's wait: it only watches the task (on_kill says so)
        "region": None,
        "project_id": None,
    }


async def test_a_restarted_trigger_keeps_the_deadline(emulator: EmulatorHandle) -> None:
    """After a triggerer restart the trigger is rebuilt from its kwargs: the clock is not reset."""
    task_id = new_dcs_task(emulator)
    original = dcs_trigger(emulator, task_id, deadline=time.time() - 5)
    _, kwargs = original.serialize()
    event = await first_event(HuaweiCloudTaskTrigger(**kwargs))
    assert event["status"] == "timeout"


def test_no_secret_in_serialized_kwargs(emulator: EmulatorHandle) -> None:
    _, kwargs = dcs_trigger(emulator, "a" * 32).serialize()
    dumped = json.dumps(kwargs)
    for secret in (emulator.identities.secret_key, emulator.identities.password, emulator.identities.access_key):
        assert secret not in dumped


# cancellation ---------------------------------------------------------------------------------------
async def test_cancellation_is_clean_and_removes_inline_pem_files(
    emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from airflow_provider.emulator.tls import generate

    files = generate(tmp_path / "pki")
    conn = json.loads(emulator.edge_conn_json)
    conn["extra"] = {
        **conn.get("extra", {}),
        "client_cert": files.client_cert.read_text(),
        "client_private_key": files.client_key.read_text(),
    }
    monkeypatch.setenv("AIRFLOW_CONN_EDGE_MANAGER_DEFAULT", json.dumps(conn))
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(scratch))

    emulator.admin.set_outcome("edge", "succeed", duration=100_000.0)
    dump_id = emulator.admin.create_task("edge", nodes=[1])
    run = asyncio.create_task(first_event(edge_trigger(dump_id)))
    await until(lambda: any(r["query"] == f"taskId={dump_id}" for r in emulator.admin.requests("edge")), "a first poll")
    pem_folders = list(scratch.glob("hwc-edge-tls-*"))
    assert len(pem_folders) == 1
    assert sorted(p.name for p in pem_folders[0].iterdir()) == ["client_cert.pem", "client_key.pem"]

    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    assert run.cancelled()
    assert list(scratch.iterdir()) == []


# project lookup -----------------------------------------------------------------------------------------
async def test_a_dis_wait_of_an_aksk_connection_without_project_id_looks_it_up_in_the_triggerer(
    emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The triggerer resolves the region's project as the worker does (once per key and region) and
    signs it into the log read; without a region the wait ends in an error naming the field."""
    from airflow_provider.hooks.project_lookup import clear_cache

    clear_cache()
    emulator.admin.set_quirks(dis_log_without_project="refused")
    conn = json.loads(emulator.huaweicloud_conn_json)
    del conn["extra"]["project_id"]
    monkeypatch.setenv("AIRFLOW_CONN_HUAWEICLOUD_DEFAULT", json.dumps(conn))
    emulator.admin.clear_requests()
    task_id = str(resources(emulator)["dis_streams"]["disMonitorTest"]["tasks"]["emulator-obs-task"])
    trigger = HuaweiCloudTaskTrigger(
        service="dis",
        conn_id="huaweicloud_default",
        ids={"transfer_task_id": task_id},
        deadline=time.time() + 60,
        poll_policy=FAST,
    )
    event = await first_event(trigger)
    assert event["status"] == "success", event
    lookups = [r for r in emulator.admin.requests(service="iam") if r["path"] == "/v3/projects"]
    assert len(lookups) == 1
    clear_cache()

    del conn["extra"]["region"]
    monkeypatch.setenv("AIRFLOW_CONN_NO_REGION", json.dumps(conn))  # another id: connections are reused a while
    event = await first_event(
        HuaweiCloudTaskTrigger(
            service="dis",
            conn_id="no_region",
            ids={"transfer_task_id": task_id},
            deadline=time.time() + 60,
            poll_policy=FAST,
        )
    )
    assert event["status"] == "error"
    assert "neither extra.project_id nor extra.region" in event["message"]
