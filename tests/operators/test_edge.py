"""EdgeLogDumpOperator against the emulator's MEF Center (and requests_mock for exact busy sequences)."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import threading
import time
from typing import TYPE_CHECKING, Any

import pytest
from airflow.sdk.exceptions import AirflowException, TaskDeferred

from airflow_provider.core.errors import HuaweiCloudError, InvalidInputError, TaskFailedError
from airflow_provider.operators.edge import EdgeLogDumpOperator
from airflow_provider.operators.links import CONSOLE_URL_KEY
from airflow_provider.triggers.task import HuaweiCloudTaskTrigger
from tests.operators._support import FAST_POLL, FAST_RETRY, FOREVER, finish_now

if TYPE_CHECKING:
    from pathlib import Path

    from airflow.sdk import Context

    from airflow_provider.testing.emulator_runner import EmulatorHandle
    from tests.operators._support import XComRecorder

MEF = "https://mef.test:30035"
TASK_URL = f"{MEF}/edgemanager/v1/logmgmt/dump/task"
DOWNLOAD_GLOB = "/edgemanager/v1/logmgmt/dump/download/*"
TASK_ID = "dumpMultiNodesLog.413f66d069888b135e976c57"
BUSY = {"status": "40052001", "msg": "log dump busy, only one task can run at a time", "data": None}


def dump_op(**kwargs: Any) -> EdgeLogDumpOperator:
    options: dict[str, Any] = {"task_id": "dump", "node_ids": [1, 2, 3], "deferrable": False, **FAST_POLL}
    options.update(kwargs)
    return EdgeLogDumpOperator(**options)


def tar_members(data: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        out = {}
        for member in archive.getmembers():
            handle = archive.extractfile(member)
            assert handle is not None
            out[member.name] = handle.read()
        return out


def mef_task(status: str, *, progress: int = 100, reason: str = "") -> dict[str, Any]:
    return {
        "status": "00000000",
        "msg": "success",
        "data": {
            "taskId": TASK_ID,
            "status": status,
            "progress": progress,
            "reason": reason,
            "createdAt": "2024-05-01T10:00:00.123456789+08:00",
            "startedAt": "2024-05-01T10:00:01+08:00",
            "finishedAt": "2024-05-01T10:00:09+08:00" if status != "processing" else None,
            "data": {"fileName": "edgeNodes.tar.gz"} if status == "succeed" else None,
        },
    }


@pytest.fixture
def mef_mock(monkeypatch: pytest.MonkeyPatch) -> None:
    """``edge_manager_default`` pointing at a requests_mock host."""
    conn = {"conn_type": "huawei_edge_manager", "host": "mef.test", "port": 30035, "schema": "https"}
    monkeypatch.setenv("AIRFLOW_CONN_EDGE_MANAGER_DEFAULT", json.dumps({**conn, "extra": {"retry": FAST_RETRY}}))


# Success, XCom and download -------------------------------------------------------------------
def test_success_pushes_id_then_url_and_downloads_a_tar_with_one_log_per_node(
    emulator: EmulatorHandle, context: Context, ti: XComRecorder, tmp_path: Path
) -> None:
    emulator.admin.set_outcome("edge", "succeed", duration=2)
    result = dump_op(node_ids=[1, 2, 3], download_to=f"{tmp_path}/logs/").execute(context)

    assert ti.keys == ["dump_task_id", CONSOLE_URL_KEY]
    dump_task_id = ti.value("dump_task_id")
    assert dump_task_id.startswith("dumpMultiNodesLog.")
    assert ti.value(CONSOLE_URL_KEY) == emulator.edge_url + "/"
    assert result["state"] == "SUCCEEDED"
    assert result["task_id"] == dump_task_id
    assert result["result"]["file_name"] == "edgeNodes.tar.gz"
    json.dumps(result)  # XCom-serializable as is

    download = result["download"]
    target = tmp_path / "logs" / "edgeNodes.tar.gz"
    assert download["location"] == str(target)
    data = target.read_bytes()
    assert download["bytes"] == len(data)
    assert download["sha256"] == hashlib.sha256(data).hexdigest()
    members = tar_members(data)
    assert sorted(members) == ["edge-node-1.log", "edge-node-2.log", "edge-node-3.log"]
    assert all(members.values())
    assert sorted(p.name for p in target.parent.iterdir()) == ["edgeNodes.tar.gz"]  # no temp file left


def test_templated_node_ids_string_is_accepted(emulator: EmulatorHandle, context: Context) -> None:
    emulator.admin.set_outcome("edge", "succeed", duration=1)
    result = dump_op(node_ids="[4, 5]").execute(context)
    assert result["state"] == "SUCCEEDED"
    created = [r for r in emulator.admin.requests() if r.get("method") == "POST" and "dump/task" in r.get("path", "")]
    assert len(created) == 1


def test_templated_list_of_string_ids_is_accepted(emulator: EmulatorHandle, context: Context) -> None:
    emulator.admin.set_outcome("edge", "succeed", duration=0)
    result = dump_op(node_ids="['4', '5']").execute(context)
    assert result["state"] == "SUCCEEDED"


def test_download_to_memory_object_storage(emulator: EmulatorHandle, memory_fs: Any, context: Context) -> None:
    emulator.admin.set_outcome("edge", "succeed", duration=1)
    result = dump_op(node_ids=[2, 5], download_to="memory://edge-ok/run-1/").execute(context)

    assert result["download"]["location"] == "memory://edge-ok/run-1/edgeNodes.tar.gz"
    data = memory_fs.cat_file("/edge-ok/run-1/edgeNodes.tar.gz")
    assert result["download"]["bytes"] == len(data)
    assert result["download"]["sha256"] == hashlib.sha256(data).hexdigest()
    assert sorted(tar_members(data)) == ["edge-node-2.log", "edge-node-5.log"]


@pytest.mark.parametrize("kind", ["reset_mid_body", "drop"])
def test_interrupted_download_leaves_nothing_locally(
    emulator: EmulatorHandle, context: Context, ti: XComRecorder, tmp_path: Path, kind: str
) -> None:
    emulator.admin.set_outcome("edge", "succeed", duration=1)
    emulator.admin.add_fault(kind, path_glob=DOWNLOAD_GLOB, count=20)
    with pytest.raises(HuaweiCloudError):
        dump_op(download_to=f"{tmp_path}/").execute(context)
    assert list(tmp_path.iterdir()) == []
    assert ti.value("dump_task_id").startswith("dumpMultiNodesLog.")


def test_interrupted_download_leaves_nothing_in_object_storage(
    emulator: EmulatorHandle, memory_fs: Any, context: Context
) -> None:
    emulator.admin.set_outcome("edge", "succeed", duration=1)
    emulator.admin.add_fault("reset_mid_body", path_glob=DOWNLOAD_GLOB, count=20)
    with pytest.raises(HuaweiCloudError):
        dump_op(download_to="memory://edge-cut/run-1/").execute(context)
    assert not memory_fs.exists("/edge-cut/run-1/edgeNodes.tar.gz")
    assert memory_fs.find("/edge-cut") == []


# Failure and partial failure -------------------------------------------------------------------
def test_failed_dump_raises_with_mef_reason_after_pushing_the_id(
    emulator: EmulatorHandle, context: Context, ti: XComRecorder, tmp_path: Path
) -> None:
    emulator.admin.set_outcome("edge", "fail", duration=1)
    with pytest.raises(TaskFailedError) as caught:
        dump_op(node_ids=[1, 2], download_to=f"{tmp_path}/").execute(context)

    dump_task_id = ti.value("dump_task_id")
    assert caught.value.task_id == dump_task_id
    assert "(1)failed to send message to edge" in str(caught.value)
    assert "(2)failed to send message to edge" in str(caught.value)
    assert CONSOLE_URL_KEY in ti.keys
    assert list(tmp_path.iterdir()) == []  # nothing downloaded for a failed task


def test_partially_failed_fails_by_default(emulator: EmulatorHandle, context: Context, tmp_path: Path) -> None:
    emulator.admin.set_outcome("edge", "partial", duration=1)
    with pytest.raises(TaskFailedError, match=r"\(3\)failed to send message to edge"):
        dump_op(node_ids=[1, 2, 3, 4], download_to=f"{tmp_path}/").execute(context)
    assert list(tmp_path.iterdir()) == []


def test_partially_failed_accepted_downloads_the_logs_that_exist(
    emulator: EmulatorHandle, context: Context, tmp_path: Path
) -> None:
    emulator.admin.set_outcome("edge", "partial", duration=1)
    result = dump_op(node_ids=[1, 2, 3, 4], download_to=f"{tmp_path}/", accept_partial_failure=True).execute(context)

    assert result["state"] == "PARTIALLY_FAILED"
    assert [n["node_id"] for n in result["result"]["failed_nodes"]] == [3, 4]
    data = (tmp_path / "edgeNodes.tar.gz").read_bytes()
    assert sorted(tar_members(data)) == ["edge-node-1.log", "edge-node-2.log"]
    assert result["download"]["sha256"] == hashlib.sha256(data).hexdigest()


def test_unknown_node_is_a_clear_error_and_nothing_is_pushed(
    emulator: EmulatorHandle, context: Context, ti: XComRecorder
) -> None:
    with pytest.raises(HuaweiCloudError, match="40051002"):
        dump_op(node_ids=[1, 99]).execute(context)
    assert ti.pushed == []


def test_wait_timeout_raises_after_the_id_was_pushed(
    emulator: EmulatorHandle, context: Context, ti: XComRecorder
) -> None:
    emulator.admin.set_outcome("edge", "succeed", duration=1e6)
    with pytest.raises(AirflowException, match="after waiting"):
        dump_op(timeout=0.3).execute(context)
    assert ti.value("dump_task_id").startswith("dumpMultiNodesLog.")


def test_wait_for_completion_false_returns_the_first_status(
    emulator: EmulatorHandle, context: Context, ti: XComRecorder, tmp_path: Path
) -> None:
    emulator.admin.set_outcome("edge", "succeed", duration=1e6)
    result = dump_op(wait_for_completion=False).execute(context)
    assert result["state"] in ("WAITING", "RUNNING")
    assert result["task_id"] == ti.value("dump_task_id")
    assert "download" not in result
    assert list(tmp_path.iterdir()) == []


def test_download_without_waiting_is_rejected_up_front(tmp_path: Path) -> None:
    """Nothing to download before the dump finished: a contradiction, not a silent no-op."""
    with pytest.raises(InvalidInputError, match="download_to") as info:
        dump_op(wait_for_completion=False, download_to=f"{tmp_path}/")
    assert "wait_for_completion" in str(info.value)


# Dump busy -------------------------------------------------------------------------------------
def test_busy_is_retried_until_mef_accepts(
    mef_mock: None, requests_mock: Any, context: Context, ti: XComRecorder
) -> None:
    create = requests_mock.post(
        TASK_URL,
        [
            {"status_code": 400, "json": BUSY},
            {"status_code": 400, "json": BUSY},
            {"status_code": 200, "json": {"status": "00000000", "msg": "success", "data": {"taskId": TASK_ID}}},
        ],
    )
    requests_mock.get(TASK_URL, json=mef_task("succeed"))
    result = dump_op(busy_retry_interval=0.01, busy_timeout=30).execute(context)

    assert create.call_count == 3
    assert all(call.json() == {"module": "edgeNode", "edgeNodes": [1, 2, 3]} for call in create.request_history)
    assert result["state"] == "SUCCEEDED"
    assert ti.value("dump_task_id") == TASK_ID


def test_busy_gives_up_after_busy_timeout(
    mef_mock: None, requests_mock: Any, context: Context, ti: XComRecorder
) -> None:
    create = requests_mock.post(TASK_URL, status_code=400, json=BUSY)
    query = requests_mock.get(TASK_URL, json=mef_task("succeed"))
    with pytest.raises(HuaweiCloudError, match=r"stayed busy with another log dump for 0 s.*40052001") as caught:
        dump_op(busy_retry_interval=0.05, busy_timeout=0.3).execute(context)

    assert not isinstance(caught.value, TaskFailedError)
    assert create.call_count >= 1
    assert query.call_count == 0
    assert ti.pushed == []


def test_busy_with_a_running_emulator_dump_then_succeeds(
    emulator: EmulatorHandle, context: Context, ti: XComRecorder
) -> None:
    running = emulator.admin.create_task("edge", nodes=[1], duration=FOREVER)
    emulator.admin.set_outcome("edge", "succeed", duration=0)  # the operator's own dump

    def end_running_dump_after_a_busy_answer() -> None:
        """Let the operator see "busy" at least once, then end the other dump (no race on durations)."""
        for _ in range(2000):
            if any(r["method"] == "POST" and r["status"] == 400 for r in emulator.admin.requests(service="edge")):
                finish_now(emulator.admin, "edge", running)
                return
            time.sleep(0.01)

    helper = threading.Thread(target=end_running_dump_after_a_busy_answer)
    helper.start()
    try:
        result = dump_op(node_ids=[2], busy_retry_interval=0.05, busy_timeout=120).execute(context)
    finally:
        helper.join()

    assert result["state"] == "SUCCEEDED"
    assert result["task_id"] == ti.value("dump_task_id") != running
    creates = [r["status"] for r in emulator.admin.requests(service="edge") if r["method"] == "POST"]
    assert creates[0] == 400
    assert creates[-1] == 200


def test_busy_with_a_never_ending_emulator_dump_gives_up(
    emulator: EmulatorHandle, context: Context, ti: XComRecorder
) -> None:
    emulator.admin.create_task("edge", nodes=[1], duration=1e6)
    with pytest.raises(HuaweiCloudError, match="stayed busy"):
        dump_op(node_ids=[2], busy_retry_interval=0.05, busy_timeout=0.25).execute(context)
    assert ti.pushed == []


# Deferrable ------------------------------------------------------------------------------------
def test_deferrable_defers_with_a_trigger_that_carries_no_secret(
    emulator: EmulatorHandle, context: Context, ti: XComRecorder
) -> None:
    emulator.admin.set_outcome("edge", "succeed", duration=1e6)
    with pytest.raises(TaskDeferred) as caught:
        dump_op(deferrable=True, timeout=600, accept_partial_failure=True).execute(context)

    deferred = caught.value
    assert deferred.method_name == "execute_complete"
    assert deferred.timeout is not None
    assert deferred.timeout.total_seconds() == 600
    trigger = deferred.trigger
    assert isinstance(trigger, HuaweiCloudTaskTrigger)
    path, kwargs = trigger.serialize()
    assert path == "airflow_provider.triggers.task.HuaweiCloudTaskTrigger"
    assert kwargs["service"] == "edge"
    assert kwargs["conn_id"] == "edge_manager_default"
    assert kwargs["ids"] == {"dump_task_id": ti.value("dump_task_id")}
    assert kwargs["accept_partial_failure"] is True
    assert kwargs["poll_policy"]["poke_interval"] == FAST_POLL["poke_interval"]
    text = json.dumps(kwargs)
    for secret in (emulator.identities.secret_key, emulator.identities.password, emulator.identities.access_key):
        assert secret not in text


async def test_deferred_run_end_to_end_through_the_trigger(
    emulator: EmulatorHandle, context: Context, ti: XComRecorder, tmp_path: Path
) -> None:
    emulator.admin.set_outcome("edge", "succeed", duration=FOREVER)
    op = dump_op(deferrable=True, download_to=f"{tmp_path}/")
    with pytest.raises(TaskDeferred) as caught:
        op.execute(context)
    finish_now(emulator.admin, "edge", ti.value("dump_task_id"))
    trigger = caught.value.trigger
    events = [event async for event in trigger.run()]
    assert len(events) == 1
    payload = events[0].payload
    assert payload["status"] == "success"
    assert payload["task_id"] == ti.value("dump_task_id")

    result = op.execute_complete(context, payload)
    assert result["state"] == "SUCCEEDED"
    assert (tmp_path / "edgeNodes.tar.gz").stat().st_size == result["download"]["bytes"]


def test_deferrable_finished_at_first_probe_does_not_defer(emulator: EmulatorHandle, context: Context) -> None:
    emulator.admin.set_outcome("edge", "succeed", duration=0)
    result = dump_op(deferrable=True).execute(context)
    assert result["state"] == "SUCCEEDED"


def status_json(state: str, raw: str, *, message: str = "") -> dict[str, Any]:
    return {
        "service": "edge",
        "task_id": TASK_ID,
        "state": state,
        "raw_status": raw,
        "progress": 100.0,
        "message": message,
        "result": {"task_id": TASK_ID, "file_name": None, "failed_nodes": []},
    }


def event(status: str, task_status: dict[str, Any] | None = None, message: str = "") -> dict[str, Any]:
    return {
        "status": status,
        "service": "edge",
        "task_id": TASK_ID,
        "ids": {"dump_task_id": TASK_ID},
        "message": message,
        "task_status": task_status,
    }


def test_execute_complete_success_returns_the_status(mef_mock: None, context: Context) -> None:
    result = dump_op().execute_complete(context, event("success", status_json("SUCCEEDED", "succeed")))
    assert result["state"] == "SUCCEEDED"
    assert result["task_id"] == TASK_ID


def test_execute_complete_failed_raises_the_remote_reason(context: Context) -> None:
    reason = "failed to dump log for following nodes:(7)failed to send message to edge;"
    failed = event("failed", status_json("FAILED", "failed", message=reason), reason)
    with pytest.raises(TaskFailedError, match=r"\(7\)failed to send message to edge") as caught:
        dump_op().execute_complete(context, failed)
    assert caught.value.task_id == TASK_ID


def test_execute_complete_timeout_and_error(context: Context) -> None:
    with pytest.raises(AirflowException, match="deadline reached"):
        dump_op().execute_complete(context, event("timeout", None, "still RUNNING after 600 s (deadline reached)"))
    with pytest.raises(HuaweiCloudError, match="connection refused"):
        dump_op().execute_complete(context, event("error", None, "connection refused"))


def test_execute_complete_rejects_foreign_or_malformed_events(context: Context) -> None:
    other = event("success", status_json("SUCCEEDED", "succeed"))
    other["task_id"] = "dumpMultiNodesLog.other"
    with pytest.raises(HuaweiCloudError, match="not"):
        dump_op().execute_complete(context, other)
    with pytest.raises(HuaweiCloudError, match="invalid trigger event"):
        dump_op().execute_complete(context, None)
    with pytest.raises(HuaweiCloudError, match="invalid trigger event"):
        dump_op().execute_complete(context, {**event("success"), "status": "done"})


def test_execute_complete_success_event_with_partial_status_needs_acceptance(mef_mock: None, context: Context) -> None:
    partial = event("success", status_json("PARTIALLY_FAILED", "partiallyFailed"))
    with pytest.raises(TaskFailedError):
        dump_op().execute_complete(context, partial)
    assert dump_op(accept_partial_failure=True).execute_complete(context, partial)["state"] == "PARTIALLY_FAILED"
