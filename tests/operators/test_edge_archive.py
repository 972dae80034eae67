"""MEF keeps one archive, the latest dump's: an edge operator never delivers another dump's archive.

Two operators here are two DAG runs dumping through one MEF Center (the emulator's); the latest
dump each started is recorded as the Airflow Variables would hold it (``MemoryLatestDumps``).
"""

from __future__ import annotations

import dataclasses
import threading
import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from airflow_provider.hooks import edge_archive
from airflow_provider.hooks.edge_archive import ArchiveNotOursError, DumpOwner, check_written, holder
from airflow_provider.operators.edge import EdgeLogDumpOperator
from airflow_provider.services.edge import EdgeDumpTask
from tests.operators._support import FAST_POLL, MemoryLatestDumps, XComRecorder, finish_now

if TYPE_CHECKING:
    from pathlib import Path

    from airflow.sdk import Context

    from airflow_provider.testing.emulator_runner import EmulatorHandle


TASK_PATH = "/edgemanager/v1/logmgmt/dump/task"


@pytest.fixture
def latest(monkeypatch: pytest.MonkeyPatch) -> MemoryLatestDumps:
    registry = MemoryLatestDumps()
    monkeypatch.setattr(edge_archive, "LATEST_DUMPS", registry)
    return registry


def dump_op(nodes: list[int], target: Path, **kwargs: Any) -> EdgeLogDumpOperator:
    options: dict[str, Any] = {"task_id": "dump", "deferrable": False, **FAST_POLL, **kwargs}
    return EdgeLogDumpOperator(node_ids=nodes, download_to=f"{target}/", **options)


def started(op: EdgeLogDumpOperator, context: Context, emulator: EmulatorHandle) -> str:
    """The operator's dump, started and finished (its run's wait is over, the download not yet done)."""
    emulator.admin.set_outcome("edge", "succeed", duration=1e6)
    dump_id = op.start(context)["dump_task_id"]
    finish_now(emulator.admin, "edge", dump_id)
    return dump_id


def finish(op: EdgeLogDumpOperator, context: Context, dump_id: str) -> dict[str, Any]:
    result: dict[str, Any] = op.wait_and_finish(context, {"dump_task_id": dump_id})
    return result


def test_the_own_archive_is_delivered(emulator: EmulatorHandle, latest: MemoryLatestDumps, tmp_path: Path) -> None:
    context: Any = {"ti": XComRecorder()}
    op = dump_op([1, 2], tmp_path)
    dump_id = started(op, context, emulator)
    assert latest.owner(op.center).dump_task_id == dump_id
    result = finish(op, context, dump_id)
    assert result["download"]["bytes"] > 0


def test_a_newer_dump_of_another_run_is_named_and_nothing_is_delivered(
    emulator: EmulatorHandle, latest: MemoryLatestDumps, tmp_path: Path
) -> None:
    ours_context: Any = {"ti": XComRecorder()}
    theirs_context: Any = {"ti": XComRecorder()}
    ours_op = dump_op([1, 2], tmp_path / "a")
    theirs_op = dump_op([3, 4], tmp_path / "b", archive_hold=0)  # a run that does not wait for our download
    ours = started(ours_op, ours_context, emulator)
    theirs = started(theirs_op, theirs_context, emulator)  # MEF was free again: it deleted our archive
    with pytest.raises(ArchiveNotOursError) as caught:
        finish(ours_op, ours_context, ours)
    text = str(caught.value)
    assert f"no longer holds the archive of dump task {ours}" in text
    assert f"dump task {theirs}" in text and "before the download" in text
    assert "pool" in text
    assert not (tmp_path / "a").exists() or not any((tmp_path / "a").iterdir())
    # The other run gets its own archive.
    assert finish(theirs_op, theirs_context, theirs)["download"]["bytes"] > 0


def test_an_archive_of_a_dump_started_outside_airflow_is_refused(
    emulator: EmulatorHandle, latest: MemoryLatestDumps, tmp_path: Path
) -> None:
    context: Any = {"ti": XComRecorder()}
    op = dump_op([1, 2], tmp_path)
    ours = started(op, context, emulator)
    emulator.admin.advance(5)
    outside = emulator.admin.create_task("edge", nodes=[3], duration=1)  # e.g. from the MEF console
    emulator.admin.advance(2)
    with pytest.raises(ArchiveNotOursError) as caught:
        finish(op, context, ours)
    text = str(caught.value)
    assert "outside the run of dump task" in text and ours in text
    assert "not one this provider started" in text
    assert outside not in text  # MEF has no list call: it cannot be named
    assert list(tmp_path.iterdir()) == []


def test_an_archive_deleted_by_a_running_dump_is_refused_clearly(
    emulator: EmulatorHandle, latest: MemoryLatestDumps, tmp_path: Path
) -> None:
    context: Any = {"ti": XComRecorder()}
    op = dump_op([1, 2], tmp_path)
    ours = started(op, context, emulator)
    emulator.admin.create_task("edge", nodes=[3], duration=1e6)  # running: MEF deleted our archive
    with pytest.raises(ArchiveNotOursError, match=r"has no archive to download .*file is abnormal"):
        finish(op, context, ours)
    assert list(tmp_path.iterdir()) == []


def test_a_second_run_waits_until_the_first_run_downloaded_its_archive(
    emulator: EmulatorHandle, latest: MemoryLatestDumps, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.recording_log import RecordingLog

    first_context: Any = {"ti": XComRecorder(dag_id="archival", run_id="run-1", task_id="dump")}
    second_context: Any = {"ti": XComRecorder(dag_id="archival", run_id="run-2", task_id="dump")}
    first, second = dump_op([1, 2], tmp_path / "a"), dump_op([3, 4], tmp_path / "b", busy_retry_interval=0.1)
    ours = started(first, first_context, emulator)  # finished, not downloaded yet
    log = RecordingLog()
    monkeypatch.setattr(second.log, "info", log.info)
    emulator.admin.set_outcome("edge", "succeed", duration=0)
    done: list[dict[str, Any]] = []

    def first_run_downloads_a_little_later() -> None:
        time.sleep(1.0)
        done.append(finish(first, first_context, ours))

    thread = threading.Thread(target=first_run_downloads_a_little_later)
    thread.start()
    try:
        theirs = second.start(second_context)["dump_task_id"]
    finally:
        thread.join()
    assert done and done[0]["download"]["bytes"] > 0  # the first run got its own archive...
    assert any("reserved for another run's dump" in line and ours in line for line in log.infos)
    assert latest.owner(first.center).dump_task_id == theirs  # ...before the second dump replaced it
    assert finish(second, second_context, theirs)["download"]["bytes"] > 0


def test_a_hold_expires_and_a_released_archive_holds_nothing(
    emulator: EmulatorHandle, latest: MemoryLatestDumps, tmp_path: Path
) -> None:
    first = dump_op([1, 2], tmp_path / "a")
    first_context: Any = {"ti": XComRecorder(run_id="run-1")}
    ours = started(first, first_context, emulator)
    owner = latest.latest(first.center)
    assert owner is not None and owner.dump_task_id == ours
    # Its run saw it finish long ago and never downloaded: the hold is over.
    latest.record(first.center, dataclasses.replace(owner, finished_seen_at="2020-01-01T00:00:00+00:00"))
    emulator.admin.set_outcome("edge", "succeed", duration=0)
    second_context: Any = {"ti": XComRecorder(run_id="run-2")}
    second = dump_op([3], tmp_path / "b", busy_timeout=0.2)  # a hold would fail it within 0.2 s
    theirs = second.start(second_context)["dump_task_id"]
    # Downloaded and released: the next dump need not wait either.
    finish(second, second_context, theirs)
    assert latest.owner(first.center).released is True
    emulator.admin.set_outcome("edge", "succeed", duration=0)
    third_context: Any = {"ti": XComRecorder(run_id="run-3")}
    assert dump_op([1], tmp_path / "c", busy_timeout=0.2).start(third_context)


def test_an_archive_replaced_while_the_download_waits_is_refused_naming_the_dump(
    emulator: EmulatorHandle, latest: MemoryLatestDumps, tmp_path: Path
) -> None:
    context: Any = {"ti": XComRecorder()}
    op = dump_op([1, 2], tmp_path / "a")
    ours = started(op, context, emulator)
    emulator.admin.add_fault("latency", path_glob="/edgemanager/v1/logmgmt/dump/download/*", latency=1.5)
    theirs: list[str] = []

    def another_run_dumps() -> None:
        # Another worker process (this process serializes its own calls to one MEF Center); its
        # dump (10 emulated seconds) is over before our download is answered.
        time.sleep(0.3)
        created = httpx.post(f"{emulator.edge_url}{TASK_PATH}", json={"module": "edgeNode", "edgeNodes": [3]})
        theirs.append(created.json()["data"]["taskId"])
        latest.record(op.center, DumpOwner(theirs[0], dag_id="other_dag", run_id="r2", task_id="dump"))

    thread = threading.Thread(target=another_run_dumps)
    thread.start()
    try:
        with pytest.raises(ArchiveNotOursError) as caught:
            finish(op, context, ours)
    finally:
        thread.join()
    text = str(caught.value)
    assert "outside the run of dump task" in text
    assert f"dump task {theirs[0]} (started by DAG other_dag, run r2, task dump" in text
    assert not (tmp_path / "a").exists() or list((tmp_path / "a").iterdir()) == []


def test_a_dump_started_while_the_body_streams_fails_after_the_download(
    emulator: EmulatorHandle, latest: MemoryLatestDumps, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import airflow_provider.operators.edge as edge_module

    context: Any = {"ti": XComRecorder()}
    op = dump_op([1, 2], tmp_path)
    ours = started(op, context, emulator)
    theirs = DumpOwner("dumpMultiNodesLog.theirs", dag_id="other_dag", run_id="r2", task_id="dump")

    def accepted_then_another_run_starts(headers: Any, **kwargs: Any) -> None:
        check_written(headers, **kwargs)  # our archive's headers pass
        latest.record(op.center, theirs)  # and another worker records its new dump meanwhile

    monkeypatch.setattr(edge_module, "check_written", accepted_then_another_run_starts)
    with pytest.raises(ArchiveNotOursError) as caught:
        finish(op, context, ours)
    assert "after the download" in str(caught.value)
    assert "dump task dumpMultiNodesLog.theirs (started by DAG other_dag" in str(caught.value)
    assert list(tmp_path.iterdir()) == []  # downloaded, then removed: never delivered


def test_a_task_lost_by_a_mef_restart_before_the_download_is_explained(
    emulator: EmulatorHandle, latest: MemoryLatestDumps, tmp_path: Path
) -> None:
    context: Any = {"ti": XComRecorder()}
    op = dump_op([1, 2], tmp_path)
    ours = started(op, context, emulator)
    op.close_hook()
    status = op.task_wait({"dump_task_id": ours}).probe(op.hook)
    emulator.admin.restart_edge_manager()
    with pytest.raises(ArchiveNotOursError, match=r"no longer knows dump task .* restarts"):
        op.finish(context, status)


@pytest.mark.parametrize(
    ("last_modified", "ok"),
    [
        ("Fri, 01 Mar 2024 10:00:05 GMT", True),
        ("Fri, 01 Mar 2024 10:00:00 GMT", True),  # the start, to the second
        ("Fri, 01 Mar 2024 10:00:10 GMT", True),  # within the header's one-second resolution
        ("Fri, 01 Mar 2024 09:59:59 GMT", False),
        ("Fri, 01 Mar 2024 10:00:11 GMT", False),
        (None, True),  # no header: the Variable-side checks still apply
    ],
)
def test_last_modified_must_fall_within_the_dump_run(last_modified: str | None, ok: bool) -> None:
    from datetime import datetime, timezone

    start = datetime(2024, 3, 1, 10, 0, 0, 400_000, tzinfo=timezone.utc)
    end = datetime(2024, 3, 1, 10, 0, 9, 900_000, tzinfo=timezone.utc)
    headers = {"Last-Modified": last_modified} if last_modified else {}
    other = DumpOwner("dumpMultiNodesLog.other", dag_id="d", run_id="r", task_id="t", started_at="2024-03-01T10:00:10")

    def check() -> None:
        check_written(
            headers, center="mef:30035", ours="dumpMultiNodesLog.ours", started_at=start, finished_at=end, latest=other
        )

    if ok:
        check()
    else:
        with pytest.raises(
            ArchiveNotOursError, match=r"dump task dumpMultiNodesLog\.other \(started by DAG d, run r, task t"
        ):
            check()


def test_two_map_indexes_of_one_task_hold_the_mef_center_against_each_other() -> None:
    from datetime import datetime, timezone

    now = datetime.now(timezone.utc)
    seen = now.isoformat(timespec="seconds")

    def of_map_index(dump_task_id: str, map_index: int, seen: str | None = None) -> DumpOwner:
        return DumpOwner(dump_task_id, "archival", "run-1", "dump", map_index=map_index, finished_seen_at=seen)

    latest = of_map_index("dumpMultiNodesLog.first", 0, seen)
    task = EdgeDumpTask.model_validate({"taskId": "dumpMultiNodesLog.first", "status": "succeed"})
    assert holder(latest, of_map_index("", 1), task=task, now=now, hold_seconds=3600) == latest
    retry_of_the_same = of_map_index("", 0)
    assert holder(latest, retry_of_the_same, task=task, now=now, hold_seconds=3600) is None


@pytest.mark.parametrize("status", ["waiting", "processing"])
def test_another_run_s_running_dump_holds_the_mef_center_too(status: str) -> None:
    """Checking the hold and creating a dump are two calls: a dump of another run that finishes
    between them used to lose its archive to the new dump (a running dump held nothing, since MEF
    answers busy meanwhile)."""
    now = datetime.now(timezone.utc)
    other = DumpOwner("dumpMultiNodesLog.other", dag_id="d", run_id="run-1", task_id="dump", started_at=now.isoformat())
    me = DumpOwner("", dag_id="d", run_id="run-2", task_id="dump")
    running = EdgeDumpTask.model_validate({"taskId": other.dump_task_id, "status": status})
    assert holder(other, me, task=running, now=now, hold_seconds=3600) == other
    aborting = EdgeDumpTask.model_validate({"taskId": other.dump_task_id, "status": "aborting"})
    assert holder(other, me, task=aborting, now=now, hold_seconds=3600) is None  # it ends failed, no archive
