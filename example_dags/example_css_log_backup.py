"""Back up a CSS cluster's logs to its OBS bucket and use the backup record downstream.

``CssLogBackupOperator`` starts a manual log backup. The API returns no id, so the operator
finds the record the call created and pushes ``record_id`` and ``job_id`` to XCom before it
waits (in the triggerer: ``deferrable=True``). Its return value is the final status, whose
``result`` holds the record (``log_path`` is where the logs landed in the bucket).
``report`` reads both XComs, as any downstream task would.

The default cluster is the emulator's seeded one, so the DAG runs unchanged against it.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from airflow.sdk import DAG, Param, task

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

    @task
    def report(**context: Any) -> dict[str, Any]:
        ti = context["ti"]
        status = ti.xcom_pull(task_ids="backup_css_logs")  # the operator's return value
        record_id = ti.xcom_pull(task_ids="backup_css_logs", key="record_id")  # pushed before the wait
        job_id = ti.xcom_pull(task_ids="backup_css_logs", key="job_id")
        return {
            "record_id": record_id,
            "job_id": job_id,
            "state": status["state"],
            "log_path": status["result"]["log_path"],
        }

    backup >> report()
