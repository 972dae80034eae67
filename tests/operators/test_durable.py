"""Retries reattach, a clear starts anew: every operator against the emulator, one try after another.

Each test runs the tries of one Airflow task instance as Airflow does: a new operator object and a
new context per try, the task state store the only thing they share (a retry is a new process).
The emulator's request log counts the start calls.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest
from airflow.sdk.exceptions import TaskDeferred

from airflow_provider.core.errors import HuaweiCloudError
from airflow_provider.operators.clouddc import CloudDCLogExportOperator
from airflow_provider.operators.css import CssLogBackupOperator
from airflow_provider.operators.durable import STORE_KEY, Phase, RemoteTaskMemory, RemoteTaskRecord
from airflow_provider.operators.edge import EdgeLogDumpOperator
from tests.operators._support import FAST_POLL, FOREVER, StateStore, finish_now, try_context
from tests.recording_log import RecordingLog

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider.operators.base import HuaweiCloudTaskOperator
    from airflow_provider.testing.emulator_runner import EmulatorHandle

CLUSTER = "4213d908-f5dc-4633-8401-cfd7175fca0c"
SERVER = "a3b1c2d4-0000-4e5f-8a9b-emulator0001"


@dataclass(frozen=True)
class Kit:
    """What differs per service: the operator, its start call, its status check, its id."""

    service: str  # the emulator's name
    start_path: str  # suffix of the start call's path
    status_glob: str  # the status check (the first one after the start fails in try 1)
    status_skip: int  # matching requests before the status check (CSS lists records to find its own)
    id_key: str

    def operator(self, **kwargs: Any) -> HuaweiCloudTaskOperator[Any]:
        options: dict[str, Any] = {"task_id": "collect", "deferrable": False, **FAST_POLL, **kwargs}
        if self.service == "clouddc":
            return CloudDCLogExportOperator(server_id=SERVER, **options)
        if self.service == "css":
            return CssLogBackupOperator(cluster_id=CLUSTER, **options)
        return EdgeLogDumpOperator(node_ids=[1, 2], **options)


KITS = [
    Kit("clouddc", "/logs/exports", "/v1/*/physicalservers/*/logs/exports/*", 0, "export_id"),
    Kit("css", "/logs/collect", "/v1.0/*/clusters/*/logs/records", 2, "record_id"),
    Kit("edge", "/logmgmt/dump/task", "/edgemanager/v1/logmgmt/dump/task", 0, "dump_task_id"),
]


@pytest.fixture(params=KITS, ids=[kit.service for kit in KITS])
def kit(request: pytest.FixtureRequest) -> Kit:
    value: Kit = request.param
    return value


def starts(emulator: EmulatorHandle, kit: Kit) -> int:
    return sum(1 for r in emulator.admin.requests() if r["method"] == "POST" and r["path"].endswith(kit.start_path))


def recorded(op: HuaweiCloudTaskOperator[Any], monkeypatch: pytest.MonkeyPatch) -> RecordingLog:
    log = RecordingLog()
    monkeypatch.setattr(op.log, "info", log.info)
    monkeypatch.setattr(op.log, "warning", log.warning)
    return log


def first_try_fails_after_the_start(emulator: EmulatorHandle, kit: Kit, store: StateStore) -> str:
    """Try 1 starts the remote task, then its first status check is refused (HTTP 403): the try fails.
    Returns the remote task's id as try 1 stored it."""
    emulator.admin.set_outcome(kit.service, "succeed", duration=FOREVER)
    emulator.admin.add_fault("status", path_glob=kit.status_glob, method="GET", status=403, skip=kit.status_skip)
    context, _ = try_context(store, 1)
    with pytest.raises(HuaweiCloudError):
        kit.operator().execute(context)
    record = RemoteTaskRecord.from_json(store.get(STORE_KEY))
    assert record.phase is Phase.STARTED
    assert record.try_number == 1
    assert starts(emulator, kit) == 1
    return record.ids[kit.id_key]


# Retries ---------------------------------------------------------------------------------------
def test_a_retry_reattaches_to_the_running_task_in_the_worker(
    emulator: EmulatorHandle, kit: Kit, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = StateStore()
    remote = first_try_fails_after_the_start(emulator, kit, store)
    context, ti = try_context(store, 2)
    op = kit.operator()
    log = recorded(op, monkeypatch)
    timer = threading.Timer(2.0, finish_now, (emulator.admin, kit.service, remote))
    timer.start()
    try:
        result = op.execute(context)
    finally:
        timer.cancel()
    assert result["state"] == "SUCCEEDED"
    assert starts(emulator, kit) == 1  # never a second start
    assert ti.value(kit.id_key) == remote  # published again: this try's XComs start empty
    if kit.service == "css":
        assert ti.value("job_id")
    assert any(line.startswith("Reattaching to") and "started by try 1" in line for line in log.infos), log.lines


def test_a_retry_reattaches_to_the_running_task_in_the_triggerer(emulator: EmulatorHandle, kit: Kit) -> None:
    store = StateStore()
    remote = first_try_fails_after_the_start(emulator, kit, store)
    context, _ = try_context(store, 2)
    with pytest.raises(TaskDeferred) as caught:
        kit.operator(deferrable=True).execute(context)
    _, kwargs = caught.value.trigger.serialize()
    assert kwargs["ids"][kit.id_key] == remote
    assert kwargs["owned"] is True
    assert starts(emulator, kit) == 1


def test_a_retry_after_the_task_succeeded_finishes_without_a_start(
    emulator: EmulatorHandle, kit: Kit, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = StateStore()
    remote = first_try_fails_after_the_start(emulator, kit, store)
    finish_now(emulator.admin, kit.service, remote)
    context, _ = try_context(store, 2)
    op = kit.operator()
    log = recorded(op, monkeypatch)
    result = op.execute(context)
    assert result["state"] == "SUCCEEDED"
    assert starts(emulator, kit) == 1
    assert any("already ended SUCCEEDED" in line and "without starting a new one" in line for line in log.infos)


def test_a_retry_after_the_task_failed_starts_a_fresh_one_and_says_so(
    emulator: EmulatorHandle, kit: Kit, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = StateStore()
    remote = first_try_fails_after_the_start(emulator, kit, store)
    finish_now(emulator.admin, kit.service, remote, "fail")
    emulator.admin.set_outcome(kit.service, "succeed", duration=0)
    context, ti = try_context(store, 2)
    op = kit.operator()
    log = recorded(op, monkeypatch)
    result = op.execute(context)
    assert result["state"] == "SUCCEEDED"
    assert starts(emulator, kit) == 2
    assert ti.value(kit.id_key) != remote
    assert any("ended badly" in line and "starting a new one" in line for line in log.warnings), log.lines
    record = RemoteTaskRecord.from_json(store.get(STORE_KEY))
    assert record.ids[kit.id_key] == ti.value(kit.id_key)
    assert record.try_number == 2


def test_a_retry_after_mef_lost_the_task_starts_a_fresh_one(
    emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    kit = KITS[2]
    store = StateStore()
    remote = first_try_fails_after_the_start(emulator, kit, store)
    emulator.admin.restart_edge_manager()  # MEF Center deletes every task when it restarts
    emulator.admin.set_outcome("edge", "succeed", duration=0)
    context, ti = try_context(store, 2)
    op = kit.operator()
    log = recorded(op, monkeypatch)
    assert op.execute(context)["state"] == "SUCCEEDED"
    assert starts(emulator, kit) == 2
    assert ti.value("dump_task_id") != remote
    assert any("is gone" in line and remote in line for line in log.warnings), log.lines


# Clears ----------------------------------------------------------------------------------------
def test_a_clear_starts_a_new_remote_task(emulator: EmulatorHandle, kit: Kit, monkeypatch: pytest.MonkeyPatch) -> None:
    store = StateStore()
    emulator.admin.set_outcome(kit.service, "succeed", duration=0)
    first_context, first_ti = try_context(store, 1, max_tries=1)
    assert kit.operator().execute(first_context)["state"] == "SUCCEEDED"
    # A clear gives the task a new budget of tries: Airflow sets max_tries = try_number + retries.
    context, ti = try_context(store, 2, max_tries=2)
    op = kit.operator()
    log = recorded(op, monkeypatch)
    assert op.execute(context)["state"] == "SUCCEEDED"
    assert starts(emulator, kit) == 2
    assert ti.value(kit.id_key) != first_ti.value(kit.id_key)
    assert any("was cleared" in line and "new remote task is started" in line for line in log.infos), log.lines


# A try that died inside the start call ----------------------------------------------------------
def test_css_finds_the_backup_an_earlier_try_started_before_it_knew_the_record(
    emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow_provider.hooks.css import CssHook

    kit = KITS[1]
    store = StateStore()
    emulator.admin.set_outcome("css", "succeed", duration=FOREVER)
    # Try 1 noted the records and sent the start call, and died before it found the new record.
    first_context, _ = try_context(store, 1)
    memory = RemoteTaskMemory(first_context, "css", RecordingLog())
    hook = CssHook()
    try:
        baseline = hook.log_backup_baseline(CLUSTER)
        memory.remember_starting({"baseline": baseline.to_json()})
        hook.create_log_backup(CLUSTER)
        started = hook.find_started_backup(baseline)
    finally:
        hook.close()
    assert started is not None
    context, ti = try_context(store, 2)
    op = kit.operator(deferrable=True)
    log = recorded(op, monkeypatch)
    with pytest.raises(TaskDeferred):
        op.execute(context)
    assert ti.value("record_id") == started.id
    assert starts(emulator, kit) == 1
    assert any(f"Found the log backup record {started.id} that try 1 started" in line for line in log.infos)


def test_a_start_whose_id_was_never_known_is_started_again_with_a_warning(
    emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    kit = KITS[0]
    store = StateStore()
    first_context, _ = try_context(store, 1)
    RemoteTaskMemory(first_context, "clouddc", RecordingLog()).remember_starting()
    emulator.admin.set_outcome("clouddc", "succeed", duration=0)
    context, _ = try_context(store, 2)
    op = kit.operator()
    log = recorded(op, monkeypatch)
    assert op.execute(context)["state"] == "SUCCEEDED"
    assert starts(emulator, kit) == 1
    assert any("Try 1 stopped while starting a CloudDC log export" in line for line in log.warnings), log.lines


# Without the store (Airflow before 3.3) ---------------------------------------------------------
def test_without_a_task_state_store_every_try_starts_and_says_so(
    emulator: EmulatorHandle, context: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    kit = KITS[0]
    emulator.admin.set_outcome("clouddc", "succeed", duration=0)
    for _ in range(2):
        op = kit.operator()
        log = recorded(op, monkeypatch)
        assert op.execute(context)["state"] == "SUCCEEDED"
        assert any("task_state_store is not available" in line for line in log.warnings)
    assert starts(emulator, kit) == 2


# The record ------------------------------------------------------------------------------------
def test_the_record_round_trips_through_json() -> None:
    record = RemoteTaskRecord("css", Phase.STARTED, {"cluster_id": "c", "record_id": "r"}, 3, 2, detail={"x": [1]})
    assert RemoteTaskRecord.from_json(record.to_json()) == record


@pytest.mark.parametrize(
    ("stored", "problem"),
    [
        ("text", "expected an object"),
        ({"service": "css", "phase": "done"}, "unknown phase"),
        ({"service": "css", "phase": "started", "ids": {}}, "names no ids"),
        ({"service": "css", "phase": "started", "ids": {"a": 1}}, "ids must map names to strings"),
        ({"service": "", "phase": "starting"}, "service must be a name"),
        ({"service": "css", "phase": "starting", "series": "2"}, "series must be an integer"),
    ],
)
def test_a_malformed_record_is_refused_with_what_is_wrong(stored: object, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        RemoteTaskRecord.from_json(stored)


def test_a_malformed_stored_record_is_dropped_and_a_new_task_started(
    emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    kit = KITS[0]
    store = StateStore()
    store.set(STORE_KEY, {"service": "clouddc", "phase": "started", "ids": {}})
    emulator.admin.set_outcome("clouddc", "succeed", duration=0)
    context, _ = try_context(store, 2)
    op = kit.operator()
    log = recorded(op, monkeypatch)
    assert op.execute(context)["state"] == "SUCCEEDED"
    assert any("Ignoring the stored remote task record" in line for line in log.warnings)
    assert RemoteTaskRecord.from_json(store.get(STORE_KEY)).phase is Phase.STARTED
