"""Retries on real Airflow (``dag.test()``: the task runner, the task state store, the Execution API).

Each run's first try of ``collect`` starts its remote task and then fails (the emulator refuses the
first status check); Airflow retries it, and the retry waits on the same remote task.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from airflow.dag_processing.dagbag import DagBag
    from airflow.models.dagrun import DagRun

    from airflow_provider.testing.emulator_runner import EmulatorHandle

pytestmark = pytest.mark.dag

DAGS = Path(__file__).resolve().parent / "dag_files"
#: service -> (start call path suffix, status check glob, matching requests before the check)
SERVICES = {
    "clouddc": ("/logs/exports", "/v1/*/physicalservers/*/logs/exports/*", 0),
    "css": ("/logs/collect", "/v1.0/*/clusters/*/logs/records", 2),
    "edge": ("/logmgmt/dump/task", "/edgemanager/v1/logmgmt/dump/task", 0),
}


@pytest.fixture(scope="module")
def dagbag() -> DagBag:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS))
    assert bag.import_errors == {}
    return bag


def starts(emulator: EmulatorHandle, suffix: str) -> int:
    return sum(1 for r in emulator.admin.requests() if r["method"] == "POST" and r["path"].endswith(suffix))


def collect_ti(run: DagRun):
    [ti] = [ti for ti in run.get_task_instances() if ti.task_id == "collect"]
    return ti


@pytest.mark.parametrize("mode", ["sync", "deferrable"])
@pytest.mark.parametrize("service", sorted(SERVICES))
def test_a_retry_waits_on_the_remote_task_the_first_try_started(
    airflow_db: None,
    huaweicloud_emulator: EmulatorHandle,
    dagbag: DagBag,
    service: str,
    mode: str,
) -> None:
    suffix, status_glob, skip = SERVICES[service]
    admin = huaweicloud_emulator.admin
    admin.set_outcome(service, "succeed", duration=20)
    admin.add_fault("status", path_glob=status_glob, method="GET", status=403, skip=skip)

    run = dagbag.dags[f"durable_{service}_{mode}"].test()

    assert run.state == "success"
    ti = collect_ti(run)
    assert ti.try_number == 2  # the first try failed: this is the retry
    assert starts(huaweicloud_emulator, suffix) == 1  # and it did not start a second remote task


def test_an_edge_dump_is_recorded_as_the_mef_center_s_latest_in_an_airflow_variable(
    airflow_db: None, huaweicloud_emulator: EmulatorHandle, dagbag: DagBag
) -> None:
    from airflow.models.variable import Variable

    huaweicloud_emulator.admin.set_outcome("edge", "succeed", duration=1)
    run = dagbag.dags["durable_edge_sync"].test()
    assert run.state == "success"
    dump_task_id = collect_ti(run).xcom_pull(task_ids="collect", key="dump_task_id")
    center = huaweicloud_emulator.edge_url.split("://", 1)[1]
    stored = json.loads(Variable.get(f"huaweicloud_mef_latest_dump.{center}"))
    assert stored["dump_task_id"] == dump_task_id
    assert (stored["dag_id"], stored["run_id"], stored["task_id"]) == ("durable_edge_sync", run.run_id, "collect")
