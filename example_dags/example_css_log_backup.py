"""Back up a CSS cluster's logs to its OBS bucket and use the backup record downstream.

``CssLogBackupOperator`` starts a manual log backup. The API returns no id, so the operator
finds the record the call created and pushes ``record_id`` and ``job_id`` to XCom before it
waits (in the triggerer: ``deferrable=True``). Its return value is the final status, whose
``result`` holds the record (``log_path`` is where the logs landed in the bucket).
``report`` takes both as arguments (``backup.output`` and ``XComArg(backup, key=...)``), as any
downstream task should: Airflow then orders the tasks and pulls the values itself.

The default cluster is the emulator's seeded one, so the DAG runs unchanged against it.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from airflow.sdk import DAG, Param, XComArg, task

from airflow_provider.operators.css import CssLogBackupOperator

with DAG(
    dag_id="example_css_log_backup",
    description="Back up a CSS cluster's logs and report the backup record",
    schedule=None,
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    tags=["huaweicloud", "example"],
    params={"cluster_id": Param("4213d908-f5dc-4633-8401-cfd7175fca0c", type="string")},
) as dag:
    backup = CssLogBackupOperator(
        task_id="backup_css_logs",
        cluster_id="{{ params.cluster_id }}",
        deferrable=True,
        poke_interval=10,
        min_poll_interval=0.5,
    )

    # One XCom, the summary: a task typed "-> dict" would otherwise push each key as an XCom too.
    @task(multiple_outputs=False)
    def report(status: dict[str, Any], record_id: str, job_id: str) -> dict[str, Any]:
        return {
            "record_id": record_id,
            "job_id": job_id,
            "state": status["state"],
            "log_path": status["result"]["log_path"],
        }

    # The final status is the return value; the ids were pushed before the wait began.
    report(
        backup.output,  # type: ignore[arg-type]  # XComArgs are the values at run time
        XComArg(backup, key="record_id"),  # type: ignore[arg-type]
        XComArg(backup, key="job_id"),  # type: ignore[arg-type]
    )
