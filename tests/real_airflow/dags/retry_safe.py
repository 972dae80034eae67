"""DAGs the real-Airflow retry tests run (copied into the test deployment's DAGs folder).

* ``durable_sigkill``: a CloudDC export, a CSS backup and a MEF dump, waited for in the worker,
  each with one retry: the test kills their worker processes mid-wait.
* ``durable_deferred``: the same three, deferrable: the test kills their worker processes before
  they defer.
* ``mef_pooled`` / ``mef_unpooled``: one deferrable MEF dump per run, downloaded under the run's
  own folder; ``list_archive`` reports which nodes' logs the archive holds. The pooled one takes a
  slot of the one-slot ``mef_center`` pool while it runs in a worker.
"""

from __future__ import annotations

import os
import tarfile
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from airflow.sdk import DAG, task

from airflow_provider.operators.clouddc import CloudDCLogExportOperator
from airflow_provider.operators.css import CssLogBackupOperator
from airflow_provider.operators.edge import EdgeLogDumpOperator

START = datetime(2026, 1, 1, tzinfo=timezone.utc)
POLL: dict[str, Any] = {"poll_policy": "fixed", "poke_interval": 1.0, "min_poll_interval": 0.5}
ARCHIVES = os.environ.get("RETRY_TEST_ARCHIVES", "/tmp/retry-test-archives")

with DAG("durable_sigkill", schedule=None, start_date=START, catchup=False, max_active_runs=1):
    retry: dict[str, Any] = {"retries": 1, "retry_delay": timedelta(seconds=2), "deferrable": False, **POLL}
    CloudDCLogExportOperator(task_id="collect_clouddc", server_id="a3b1c2d4-0000-4e5f-8a9b-emulator0001", **retry)
    CssLogBackupOperator(task_id="collect_css", cluster_id="4213d908-f5dc-4633-8401-cfd7175fca0c", **retry)
    EdgeLogDumpOperator(task_id="collect_edge", node_ids=[1, 2], **retry)

with DAG("durable_deferred", schedule=None, start_date=START, catchup=False, max_active_runs=1):
    deferred: dict[str, Any] = {**retry, "deferrable": True}
    CloudDCLogExportOperator(task_id="collect_clouddc", server_id="a3b1c2d4-0000-4e5f-8a9b-emulator0001", **deferred)
    CssLogBackupOperator(task_id="collect_css", cluster_id="4213d908-f5dc-4633-8401-cfd7175fca0c", **deferred)
    EdgeLogDumpOperator(task_id="collect_edge", node_ids=[1, 2], busy_retry_interval=1.0, **deferred)


@task
def list_archive(status: dict[str, Any]) -> list[str]:
    with tarfile.open(status["download"]["location"], mode="r:gz") as archive:
        return sorted(archive.getnames())


for dag_id, pool in (("mef_pooled", "mef_center"), ("mef_unpooled", "default_pool")):
    with DAG(dag_id, schedule=None, start_date=START, catchup=False, max_active_runs=4):
        dump = EdgeLogDumpOperator(
            task_id="dump",
            node_ids="{{ dag_run.conf['nodes'] }}",
            download_to=str(Path(ARCHIVES) / "{{ run_id | replace(':', '_') | replace('+', '_') }}") + "/",
            deferrable=True,
            busy_retry_interval=1.0,
            pool=pool,
            **POLL,
        )
        list_archive(dump.output)  # type: ignore[arg-type]  # an XComArg resolves to the dict at run time
