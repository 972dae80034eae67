"""The archival DAG on a real scheduler, dag-processor, api-server and triggerer (LocalExecutor).

Run alone with ``pytest -m real_airflow``. Every wait is bounded, and the fixture stops every
process it started, by PID, also when an assertion fails.
"""

from __future__ import annotations

import json
import re
import signal
import time
from typing import TYPE_CHECKING

import pytest

from airflow_provider.testing.admin_client import AdminClient
from tests.real_airflow.stack import wait_for

if TYPE_CHECKING:
    from tests.real_airflow.stack import AirflowStack

pytestmark = [pytest.mark.real_airflow, pytest.mark.timeout(900)]

DAG_ID = "example_log_archival"
COLLECTORS = ("collect_edge_logs", "export_server_logs", "backup_css_logs", "collect_dcs_run_logs")
DEADLINE_LINE = re.compile(r"Waiting for (?P<what>.+?) in the triggerer until (?P<deadline>\S+) \(deadline\)")


def _watch_run(stack: AirflowStack, run_id: str, seen: dict[str, set[str]], timeout: float) -> str:
    """Poll the metadata DB until the run ends; record every state each task went through."""

    def finished() -> str | None:
        for task_id, state in stack.task_states(DAG_ID, run_id).items():
            if state:
                seen.setdefault(task_id, set()).add(state)
        state = stack.run_state(DAG_ID, run_id)
        return state if state in ("success", "failed") else None

    result: str = wait_for(
        finished, timeout, f"dag run {run_id}", interval=0.3, diagnose=lambda: stack.diagnose(DAG_ID, run_id)
    )
    return result


def _deadlines(logs: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for match in DEADLINE_LINE.finditer(logs):
        found.setdefault(match["what"], set()).add(match["deadline"])
    return found


def _start(stack: AirflowStack, durations: dict[str, float]) -> None:
    url = stack.start_emulator(speed=1.0, obs=True)
    admin = AdminClient(url)
    try:
        for service, seconds in durations.items():
            admin.set_outcome(service, "succeed", duration=seconds)
    finally:
        admin.close()
    stack.start_all()
    stack.airflow("dags", "reserialize")


def test_archival_run_waits_in_the_triggerer(airflow_stack: AirflowStack) -> None:
    stack = airflow_stack
    _start(stack, {"css": 20, "clouddc": 20, "edge": 15, "dcs": 20})
    run_id = stack.trigger(DAG_ID)
    seen: dict[str, set[str]] = {}

    assert _watch_run(stack, run_id, seen, timeout=300) == "success", stack.task_states(DAG_ID, run_id)

    for task_id in COLLECTORS:
        assert "deferred" in seen.get(task_id, set()), f"{task_id} never deferred: {seen}"
    logs = stack.task_logs(DAG_ID, run_id)
    assert "Trigger fired event" in logs
    assert len(_deadlines(logs)) == len(COLLECTORS)
    assert "CSS log backup" in logs and "SUCCEEDED" in logs
    manifests = list((stack.home / "archive").rglob("manifest.json"))
    assert len(manifests) == 1
    manifest = json.loads(manifests[0].read_text())
    assert manifest["ok"] is True
    assert {entry["state"] for entry in manifest["collections"]} == {"SUCCEEDED"}


def test_triggerer_killed_mid_wait_resumes_with_the_original_deadline(airflow_stack: AirflowStack) -> None:
    stack = airflow_stack
    _start(stack, {"css": 60, "clouddc": 60, "edge": 60, "dcs": 60})
    run_id = stack.trigger(DAG_ID)
    seen: dict[str, set[str]] = {}

    def all_deferred() -> bool:
        states = stack.task_states(DAG_ID, run_id)
        return all(states.get(task_id) == "deferred" for task_id in COLLECTORS)

    wait_for(all_deferred, 180, "the collections to be deferred", diagnose=lambda: stack.diagnose(DAG_ID, run_id))
    wait_for(lambda: len(_deadlines(stack.task_logs(DAG_ID, run_id))) == len(COLLECTORS), 60, "the triggers to start")
    before = _deadlines(stack.task_logs(DAG_ID, run_id))

    killed = stack.processes["triggerer"]
    killed.stop(signal.SIGKILL)
    assert killed.popen.returncode is not None
    time.sleep(3)
    assert all_deferred(), "a wait ended while no triggerer was running"
    stack.start("triggerer")

    assert _watch_run(stack, run_id, seen, timeout=300) == "success", stack.task_states(DAG_ID, run_id)
    after = _deadlines(stack.task_logs(DAG_ID, run_id))
    assert after.keys() == before.keys()
    for what, deadlines in after.items():
        assert deadlines == before[what], f"{what}: the deadline changed across the restart: {deadlines}"
    resumed = stack.processes["triggerer"].log() + stack.task_logs(DAG_ID, run_id)
    assert resumed.count("in the triggerer until") >= 2 * len(COLLECTORS), "the triggers did not start again"
