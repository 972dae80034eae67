"""The MEF rows of the fault matrix: "dump busy" at start and a download cut halfway, with the edge
operator waiting in the worker (sync) and in the triggerer (deferrable)."""

from __future__ import annotations

import hashlib
import io
import tarfile
import time
from typing import TYPE_CHECKING, Any, cast

import pytest
from airflow.sdk.exceptions import TaskDeferred

from airflow_provider.core.errors import HuaweiCloudError
from airflow_provider.core.status import TaskState, TaskStatus
from airflow_provider.operators.edge import EdgeLogDumpOperator
from airflow_provider.triggers.edge import EdgeLogDumpStartTrigger
from airflow_provider.triggers.task import HuaweiCloudTaskTrigger
from tests.faults.conftest import MODES, run_trigger

if TYPE_CHECKING:
    from pathlib import Path

    from airflow.sdk import Context

    from airflow_provider.testing.emulator_runner import EmulatorHandle

pytestmark = pytest.mark.integration

TASK_PATH = "/edgemanager/v1/logmgmt/dump/task"
DOWNLOAD_GLOB = "/edgemanager/v1/logmgmt/dump/download/*"
# What MEF's create handler answers while another dump runs (the dump pool has no queue).
BUSY = {"status": "40052002", "msg": "task queue is full", "data": None}
FAST_POLL: dict[str, Any] = {"poll_policy": "fixed", "poke_interval": 0.2, "min_poll_interval": 0.1}


class XComs:
    def __init__(self) -> None:
        self.pushed: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    value: str = request.param
    return value


def run_operator(mode: str, emulator: EmulatorHandle, op: EdgeLogDumpOperator, ti: XComs) -> Any:
    """Execute; in deferrable mode the dump is still running when the operator defers, and ends
    while the trigger waits (a busy MEF Center is first waited for by the start trigger).
    Returns the operator's XCom return value (or raises)."""
    context = cast("Context", {"ti": ti})
    if mode == "sync":
        emulator.admin.set_outcome("edge", "succeed", duration=0)
        return op.execute(context)
    emulator.admin.set_outcome("edge", "succeed", duration=1e9)
    op.deferrable = True
    with pytest.raises(TaskDeferred) as info:
        op.execute(context)
    deferred = info.value
    while True:
        trigger = deferred.trigger
        if isinstance(trigger, EdgeLogDumpStartTrigger):
            emulator.admin.set_outcome("edge", "succeed", duration=1e9)
        else:
            assert isinstance(trigger, HuaweiCloudTaskTrigger)
            emulator.admin.set_outcome("edge", "succeed", duration=0, task_id=ti.pushed["dump_task_id"])
        events = run_trigger(type(trigger)(**trigger.serialize()[1]))
        assert len(events) == 1
        try:
            return getattr(op, deferred.method_name)(context, events[0])
        except TaskDeferred as again:
            deferred = again


def dump_op(**kwargs: Any) -> EdgeLogDumpOperator:
    return EdgeLogDumpOperator(task_id="dump", node_ids=[1, 2], deferrable=False, **FAST_POLL, **kwargs)


def mef_posts(emulator: EmulatorHandle) -> list[int]:
    return [r["status"] for r in emulator.admin.requests(service="edge") if r["method"] == "POST"]


def downloads(emulator: EmulatorHandle, at_least: int = 0) -> list[dict[str, Any]]:
    """The emulator logs a reset request after the client has seen the reset: wait (bounded) for it."""
    for _ in range(200):
        found = [r for r in emulator.admin.requests(service="edge") if "/dump/download/" in r["path"]]
        if len(found) >= at_least:
            break
        time.sleep(0.02)
    return found


def test_dump_busy_is_retried_until_mef_accepts(emulator: EmulatorHandle, mode: str) -> None:
    emulator.admin.add_fault("status", path_glob=TASK_PATH, method="POST", status=400, body=BUSY, count=2)
    ti = XComs()
    result = run_operator(mode, emulator, dump_op(busy_retry_interval=0.01, busy_timeout=30), ti)
    status = TaskStatus.from_json(result)
    assert status.state is TaskState.SUCCEEDED
    assert status.task_id == ti.pushed["dump_task_id"]
    assert mef_posts(emulator) == [400, 400, 200]  # one task started, never two


def test_dump_busy_beyond_busy_timeout_fails_before_any_id(emulator: EmulatorHandle) -> None:
    emulator.admin.add_fault("status", path_glob=TASK_PATH, method="POST", status=400, body=BUSY, count=50)
    ti = XComs()
    with pytest.raises(HuaweiCloudError, match=r"stayed busy with another log dump.*40052002.*task queue is full"):
        dump_op(busy_retry_interval=0.05, busy_timeout=0.2).execute(cast("Context", {"ti": ti}))
    assert ti.pushed == {}  # no id, no status: nothing downstream can mistake it for a result
    assert set(mef_posts(emulator)) == {400}


def tar_names(path: Path) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(path.read_bytes()), mode="r:gz") as archive:
        return sorted(archive.getnames())


def test_download_interrupted_halfway_is_retried_whole(emulator: EmulatorHandle, mode: str, tmp_path: Path) -> None:
    emulator.admin.add_fault("reset_mid_body", path_glob=DOWNLOAD_GLOB, count=1)
    ti = XComs()
    result = run_operator(mode, emulator, dump_op(download_to=f"{tmp_path}/out/"), ti)
    target = tmp_path / "out" / "edgeNodes.tar.gz"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["edgeNodes.tar.gz"]  # no .part left
    assert len(tar_names(target)) == 2  # one log per node: the whole archive
    assert result["download"]["location"] == str(target)
    assert result["download"]["sha256"] == hashlib.sha256(target.read_bytes()).hexdigest()
    assert len(downloads(emulator, at_least=2)) == 2


def test_download_interrupted_every_time_leaves_no_file_and_no_result(
    emulator: EmulatorHandle, mode: str, tmp_path: Path
) -> None:
    emulator.admin.add_fault("reset_mid_body", path_glob=DOWNLOAD_GLOB, count=50)
    ti = XComs()
    with pytest.raises(HuaweiCloudError, match="connection dropped"):
        run_operator(mode, emulator, dump_op(download_to=f"{tmp_path}/"), ti)
    assert list(tmp_path.iterdir()) == []
    assert set(ti.pushed) == {"dump_task_id", "huaweicloud_console_url"}  # the id (to find the dump), no result
    assert len(downloads(emulator, at_least=4)) == 4  # the retry policy's attempts, then a clear failure
