"""Wait for a DCS instance's background task (a resize, a replica change...): ``DcsBackgroundTaskSensor``.

The sensor derives the task's state from its steps: done when every step is FINISH, failed
(with the step and its error code in the message) as soon as one is FAILED. After a first poke
it waits in the triggerer (``deferrable=True``), polling near the task's expected finish.
Its XCom value is the final status.

The defaults are the emulator's seeded instance and its running ``AddReplica`` task (ids from
the emulator's default seed 0), so the DAG runs unchanged against it.
"""

from __future__ import annotations

from datetime import datetime, timezone

from airflow.sdk import DAG, Param

from airflow_provider.sensors.dcs import DcsBackgroundTaskSensor

with DAG(
    dag_id="example_dcs_background_task",
    description="Wait for a DCS background task to finish",
    schedule=None,
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    tags=["huaweicloud", "example"],
    params={
        "instance_id": Param("5560df16-cebf-4473-95c4-d1b573c16e79", type="string"),
        "dcs_task_id": Param("d1347120363c2b310653f610d382729b", type="string"),
    },
) as dag:
    DcsBackgroundTaskSensor(
        task_id="wait_for_background_task",
        instance_id="{{ params.instance_id }}",
        dcs_task_id="{{ params.dcs_task_id }}",
        deferrable=True,
        poke_interval=10,
        min_poll_interval=0.5,
        timeout=3600,
    )
