"""Retries, clears and concurrent runs on a real deployment: scheduler, api-server, dag-processor,
triggerer, LocalExecutor, the emulator in its own process.

* A worker process killed (SIGKILL) mid-wait, or after the start and before it defers, is retried
  by Airflow, and the retry waits on the remote task the killed try started: one start call per
  service in the emulator's request log.
* Clearing the task while it runs in a worker or waits in the triggerer is a deliberate rerun: a
  second start call, and the on_kill line naming the remote task that keeps running.
* Two runs dumping through one MEF Center at once: the second waits in the triggerer until the
  first has downloaded its archive, with or without a (deferred-blind) pool; each delivers its
  own archive.

Run alone with ``pytest -m real_airflow``.
"""

from __future__ import annotations

import json
import os
import signal
import tempfile
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from airflow_provider.testing.admin_client import AdminClient
from tests.operators._support import finish_now
from tests.real_airflow.stack import AirflowStack, wait_for

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = [pytest.mark.real_airflow, pytest.mark.timeout(900)]

DAGS = Path(__file__).resolve().parent / "dags"
START_SUFFIXES = {"collect_clouddc": "/logs/exports", "collect_css": "/logs/collect", "collect_edge": "/dump/task"}
ID_KEYS = {"collect_clouddc": "export_id", "collect_css": "record_id", "collect_edge": "dump_task_id"}
#: Each service's status check (path glob, matching requests before it in one try).
STATUS_CHECKS = {
    "collect_clouddc": ("/v1/*/physicalservers/*/logs/exports/*", 0),
    "collect_css": ("/v1.0/*/clusters/*/logs/records", 2),
    "collect_edge": ("/edgemanager/v1/logmgmt/dump/task", 0),
}
#: Emulated seconds: the remote tasks end when the test says so (``finish_now``).
FOREVER = 1e6


@pytest.fixture
def stack() -> Iterator[AirflowStack]:
    home = Path(tempfile.mkdtemp(prefix="hwc-real-airflow-retries-"))
    dags = home / "dags"
    dags.mkdir()
    (dags / "retry_safe.py").write_text((DAGS / "retry_safe.py").read_text())
    deployment = AirflowStack(home=home, dags_folder=dags, extra_env={"RETRY_TEST_ARCHIVES": str(home / "archives")})
    try:
        yield deployment
    finally:
        deployment.stop_all()


def _start(stack: AirflowStack, durations: dict[str, float]) -> AdminClient:
    admin = AdminClient(stack.start_emulator(speed=1.0))
    for service, seconds in durations.items():
        admin.set_outcome(service, "succeed", duration=seconds)
    stack.start_all()
    stack.airflow("dags", "reserialize")
    return admin


def _starts(admin: AdminClient, suffix: str) -> list[int]:
    return [r["status"] for r in admin.requests() if r["method"] == "POST" and r["path"].endswith(suffix)]


def _task_process(ti_id: str) -> int | None:
    """The pid of the process running task instance ``ti_id`` (titled ``airflow worker -- <uuid>``;
    SQLite keeps the uuid as 32 hex digits)."""
    wanted = f"airflow worker -- {uuid.UUID(ti_id)}"
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if wanted in command:
            return int(entry.name)
    return None


def _ids(stack: AirflowStack, dag_id: str, run_id: str) -> dict[str, str]:
    """The remote id each collect task pushed to XCom (its latest try's)."""
    found: dict[str, str] = {}
    for task_id, key in ID_KEYS.items():
        rows = stack.query(
            "SELECT value FROM xcom WHERE dag_id=? AND run_id=? AND task_id=? AND key=?", dag_id, run_id, task_id, key
        )
        if rows:
            found[task_id] = json.loads(rows[0][0])
    return found


def _kill_the_three(stack: AirflowStack, admin: AdminClient, dag_id: str, run_id: str) -> dict[str, str]:
    """Once each collect task has started its remote task and pushed its id, SIGKILL its task process
    (the task is then in its wait, or in the check before it defers). Returns the ids."""

    def all_published() -> dict[str, str] | None:
        states = stack.task_states(dag_id, run_id)
        running = all(states.get(task) == "running" for task in START_SUFFIXES)
        started = [_starts(admin, suffix) for suffix in START_SUFFIXES.values()]
        ids = _ids(stack, dag_id, run_id)
        one_each = all(len(calls) == 1 and calls[0] < 300 for calls in started)
        return ids if running and one_each and len(ids) == len(START_SUFFIXES) else None

    ids = wait_for(all_published, 240, "the three collections to start their remote tasks and push the ids")
    ti_ids = dict(stack.query("SELECT task_id, id FROM task_instance WHERE run_id=?", run_id))
    for task_id in START_SUFFIXES:
        pid = wait_for(lambda t=task_id: _task_process(str(ti_ids[t])), 30, f"the process of {task_id}")
        os.kill(pid, signal.SIGKILL)
    return dict(ids)


def _tries(stack: AirflowStack, run_id: str) -> dict[str, int]:
    return dict(stack.query("SELECT task_id, try_number FROM task_instance WHERE run_id=?", run_id))


def test_a_worker_killed_mid_wait_is_retried_onto_the_same_remote_task_and_a_clear_while_running_starts_anew(
    stack: AirflowStack,
) -> None:
    admin = _start(stack, dict.fromkeys(("clouddc", "css", "edge"), FOREVER))
    try:
        run_id = stack.trigger("durable_sigkill")
        ids = _kill_the_three(stack, admin, "durable_sigkill", run_id)

        def reattached() -> bool:
            states = stack.task_states("durable_sigkill", run_id)
            waiting = all(states.get(task) == "running" for task in START_SUFFIXES)
            return waiting and stack.task_logs("durable_sigkill", run_id).count("Reattaching to") >= 3

        wait_for(
            reattached,
            240,
            "the three retries to reattach and wait in their workers",
            diagnose=lambda: stack.diagnose("durable_sigkill", run_id),
        )
        assert _tries(stack, run_id) == dict.fromkeys(START_SUFFIXES, 2)  # each killed once, retried once
        for task_id, suffix in START_SUFFIXES.items():
            assert len(_starts(admin, suffix)) == 1, f"{task_id} started a second remote task"

        # A clear of a task that is running (Airflow 3.3: RESTARTING, the worker is stopped, then
        # the scheduler gives it a new max_tries) is a rerun on purpose: a new remote task.
        admin.set_outcome("clouddc", "succeed", duration=2)
        stack.clear_task("durable_sigkill", run_id, "collect_clouddc")
        wait_for(lambda: len(_starts(admin, "/logs/exports")) == 2, 240, "the cleared export to start anew")
        finish_now(admin, "css", ids["collect_css"])
        finish_now(admin, "edge", ids["collect_edge"])
        state = stack.wait_for_run("durable_sigkill", run_id, 300)
        logs = stack.task_logs("durable_sigkill", run_id)
        assert state == "success", (stack.task_states("durable_sigkill", run_id), logs[-3000:])
        assert "was cleared" in logs
        assert (
            f"Stopped waiting for CloudDC log export {ids['collect_clouddc']}: CloudDC has no API to cancel a log "
            "export, so it keeps running"
        ) in logs
        assert len(_starts(admin, "/logs/collect")) == 1 and len(_starts(admin, "/dump/task")) == 1
    finally:
        admin.close()


def test_deferrable_tasks_killed_before_they_defer_reattach_and_a_clear_while_deferred_starts_anew(
    stack: AirflowStack,
) -> None:
    admin = _start(stack, dict.fromkeys(("clouddc", "css", "edge"), FOREVER))
    try:
        # The check after the start (before the deferral) hangs once per service: the process is
        # killed there. CSS lists its records twice before that check (baseline, its own record).
        for path, skip in STATUS_CHECKS.values():
            admin.add_fault("latency", path_glob=path, method="GET", latency=600, count=1, skip=skip)
        run_id = stack.trigger("durable_deferred")
        ids = _kill_the_three(stack, admin, "durable_deferred", run_id)

        def deferred() -> bool:
            states = stack.task_states("durable_deferred", run_id)
            return all(states.get(task) == "deferred" for task in START_SUFFIXES)

        wait_for(
            deferred,
            240,
            "the three retries to reattach and defer",
            diagnose=lambda: stack.diagnose("durable_deferred", run_id),
        )
        assert _tries(stack, run_id) == dict.fromkeys(START_SUFFIXES, 2)
        assert stack.task_logs("durable_deferred", run_id).count("Reattaching to") >= 3
        for task_id, suffix in START_SUFFIXES.items():
            assert len(_starts(admin, suffix)) == 1, f"{task_id} started a second remote task"

        # Clear the MEF dump while it waits in the triggerer: the trigger's on_kill says the dump keeps
        # running and lets go of the MEF Center; the new try starts a new dump once the old one ends.
        old_dump = ids["collect_edge"]
        stopped = (
            f"Stopped waiting for Edge log dump {old_dump}: MEF Center has no API to cancel a log dump, "
            "so it keeps running"
        )
        released = f"from Edge log dump {old_dump}: the task was stopped, so its run will not download the archive"
        admin.set_outcome("edge", "succeed", duration=2)
        stack.clear_task("durable_deferred", run_id, "collect_edge")
        # The old dump runs on (MEF busy): the new try waits for it in the triggerer meanwhile.
        wait_for(
            lambda: all(line in stack.task_logs("durable_deferred", run_id) for line in (stopped, released)),
            120,
            "the trigger's on_kill lines",
            diagnose=lambda: stack.diagnose("durable_deferred", run_id),
        )
        finish_now(admin, "edge", old_dump)
        finish_now(admin, "clouddc", ids["collect_clouddc"])
        finish_now(admin, "css", ids["collect_css"])
        state = stack.wait_for_run("durable_deferred", run_id, 300)
        logs = stack.task_logs("durable_deferred", run_id)
        assert state == "success", (stack.task_states("durable_deferred", run_id), logs[-3000:])
        assert "was cleared" in logs
        assert _starts(admin, "/dump/task").count(200) == 2  # the clear's new dump
        assert len(_starts(admin, "/logs/exports")) == 1 and len(_starts(admin, "/logs/collect")) == 1
    finally:
        admin.close()


def _run_two_dumps(stack: AirflowStack, dag_id: str) -> dict[str, tuple[str, list[int]]]:
    runs = {stack.trigger(dag_id, {"nodes": nodes}): nodes for nodes in ([1, 2], [3, 4])}
    states = {run: stack.wait_for_run(dag_id, run, 400) for run in runs}
    return {run: (states[run], nodes) for run, nodes in runs.items()}


def _archive_of(stack: AirflowStack, dag_id: str, run_id: str) -> list[str] | None:
    rows = stack.query(
        "SELECT value FROM xcom WHERE dag_id=? AND run_id=? AND task_id='list_archive' AND key='return_value'",
        dag_id,
        run_id,
    )
    return json.loads(rows[0][0]) if rows else None


def test_two_runs_dumping_through_one_mef_center(stack: AirflowStack) -> None:
    admin = _start(stack, {"edge": 8})
    try:
        # Without a pool: the second run's dump waits (in the triggerer) until the first run has
        # downloaded its archive, then runs; each run delivers its own nodes' logs. The first
        # download is slowed down, so that the second run surely finds MEF free but held.
        admin.add_fault("latency", path_glob="/edgemanager/v1/logmgmt/dump/download/*", latency=4, count=1)
        unpooled = _run_two_dumps(stack, "mef_unpooled")
        for run_id, (state, nodes) in unpooled.items():
            assert state == "success", (
                stack.task_states("mef_unpooled", run_id),
                stack.task_logs("mef_unpooled", run_id)[-3000:],
            )
            assert _archive_of(stack, "mef_unpooled", run_id) == [f"edge-node-{n}.log" for n in nodes]
        created = _starts(admin, "/dump/task")
        assert created.count(200) == 2, created
        logs = "".join(stack.task_logs("mef_unpooled", run_id) for run_id in unpooled)
        # The first run's dump holds MEF while it runs and until its archive is downloaded.
        reserved = "MEF Center is reserved for another run's dump until that run has its archive"
        assert f"{reserved}: waiting for it in the triggerer" in logs
        # The second dump was created only after the first run had downloaded its archive.
        mef = [r for r in admin.requests(service="edge")]
        second_create = [r["time"] for r in mef if r["method"] == "POST" and r["status"] == 200][1]
        first_download = min(r["time"] for r in mef if "/dump/download/" in r["path"] and r["status"] == 200)
        assert first_download < second_create

        # With a one-slot pool that does not count deferred tasks (one that does would deadlock: the
        # waiting dump keeps the slot the first run needs to resume and download; docs/retries.md).
        admin.clear_requests()
        stack.airflow("pools", "set", "mef_center", "1", "one dump task per MEF Center at a time")
        pooled = _run_two_dumps(stack, "mef_pooled")
        for run_id, (state, nodes) in pooled.items():
            assert state == "success", stack.task_states("mef_pooled", run_id)
            assert _archive_of(stack, "mef_pooled", run_id) == [f"edge-node-{n}.log" for n in nodes]
        assert _starts(admin, "/dump/task").count(200) == 2
    finally:
        admin.close()
