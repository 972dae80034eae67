"""Collect edge node logs through MEF Center and download them: ``EdgeLogDumpOperator``.

The operator creates a log dump task for the chosen nodes (retrying while MEF answers "dump
busy": it runs one dump at a time), pushes the task id to XCom at once, waits in the triggerer
(``deferrable=True``: no worker slot held), then downloads ``edgeNodes.tar.gz`` into a folder
named after the run. Its return value (XCom) is the final task status plus the download's
``location``, ``bytes`` and ``sha256``; ``list_archive`` shows how a downstream task uses it.

The defaults are the emulator's seeded nodes (1-5), so the DAG runs unchanged against
``python -m airflow_provider.emulator`` with the ``edge_manager_default`` connection it prints.
"""

from __future__ import annotations

import tarfile
from datetime import datetime, timezone
from typing import Any

from airflow.sdk import DAG, Param, task

from airflow_provider.operators.edge import EdgeLogDumpOperator

with DAG(
    dag_id="example_edge_log_dump",
    description="Dump the logs of MEF edge nodes and download edgeNodes.tar.gz",
    schedule=None,
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    tags=["huaweicloud", "example"],
    params={
        "node_ids": Param(
            [1, 2, 3], type="array", items={"type": "integer"}, description="MEF edge node ids (1-100 of them)"
        ),
        "download_root": Param("/tmp/huaweicloud-examples", type="string", description="Local folder"),
    },
) as dag:
    dump = EdgeLogDumpOperator(
        task_id="dump_edge_logs",
        node_ids="{{ params.node_ids }}",
        # A trailing "/" means "a folder": the archive keeps its name, edgeNodes.tar.gz.
        download_to="{{ params.download_root }}/edge/{{ run_id | replace(':', '_') | replace('+', '_') }}/",
        deferrable=True,
        poke_interval=10,  # the longest wait between checks; the adaptive policy polls near the ETA
        min_poll_interval=0.5,
    )

    @task
    def list_archive(**context: Any) -> list[str]:
        """One log file per collected node."""
        dump_result = context["ti"].xcom_pull(task_ids="dump_edge_logs")
        with tarfile.open(dump_result["download"]["location"], mode="r:gz") as archive:
            return sorted(member.name for member in archive.getmembers() if member.isfile())

    dump >> list_archive()
