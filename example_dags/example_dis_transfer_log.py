"""Check that a DIS dump (transfer) task dumped this run's data, then summarize its transfer log.

A DIS dump task runs continuously and never "finishes": ``DisTransferTaskSensor`` waits until
a dump period that ended at or after ``completed_after`` (here the run's ``data_interval_end``,
or its ``run_after`` for a manual run) is in the transfer log; with ``stream_name`` it also
fails at once if the task went to ERROR. It waits in the triggerer (``deferrable=True``).
``DisTransferTaskLogOperator`` then reads every page of the log and returns a summary
(periods, bytes, records, first start, last end) and the entries.

The defaults are the emulator's seeded stream and task, so the DAG runs unchanged against it.
"""

from __future__ import annotations

from datetime import datetime, timezone

from airflow.sdk import DAG, Param

from airflow_provider.operators.dis import DisTransferTaskLogOperator
from airflow_provider.sensors.dis import DisTransferTaskSensor

with DAG(
    dag_id="example_dis_transfer_log",
    description="Wait for a DIS dump period after the run's interval, then summarize the transfer log",
    schedule=None,
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    tags=["huaweicloud", "example"],
    params={
        "transfer_task_id": Param("CDaRPdvKUfZrAhzTaYs", type="string"),
        "stream_name": Param("disMonitorTest", type="string"),
    },
) as dag:
    dumped = DisTransferTaskSensor(
        task_id="wait_for_dump",
        transfer_task_id="{{ params.transfer_task_id }}",
        stream_name="{{ params.stream_name }}",
        completed_after="{{ data_interval_end or dag_run.run_after }}",
        deferrable=True,
        poke_interval=10,
        min_poll_interval=0.5,
        timeout=3600,
    )
    summary = DisTransferTaskLogOperator(
        task_id="summarize_transfer_log",
        transfer_task_id="{{ params.transfer_task_id }}",
        max_entries=100,
    )
    dumped >> summary
