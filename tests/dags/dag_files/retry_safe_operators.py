"""One DAG per operator and wait mode, each task with a retry: what the retry tests run with dag.test().

``durable_<service>_<mode>``: ``collect`` starts the remote task; the tests make its first try fail
after the start (the emulator refuses the first status check) and count the start calls.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from airflow.sdk import DAG

from airflow_provider.operators.clouddc import CloudDCLogExportOperator
from airflow_provider.operators.css import CssLogBackupOperator
from airflow_provider.operators.edge import EdgeLogDumpOperator

POLL: dict[str, Any] = {"poll_policy": "fixed", "poke_interval": 0.2, "min_poll_interval": 0.1}
RETRY: dict[str, Any] = {"retries": 1, "retry_delay": timedelta(0)}

for mode in ("sync", "deferrable"):
    deferrable = mode == "deferrable"
    for service, make in (
        ("clouddc", lambda **kw: CloudDCLogExportOperator(server_id="a3b1c2d4-0000-4e5f-8a9b-emulator0001", **kw)),
        ("css", lambda **kw: CssLogBackupOperator(cluster_id="4213d908-f5dc-4633-8401-cfd7175fca0c", **kw)),
        ("edge", lambda **kw: EdgeLogDumpOperator(node_ids=[1, 2], **kw)),
    ):
        with DAG(
            dag_id=f"durable_{service}_{mode}",
            schedule=None,
            start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
            catchup=False,
            tags=["test"],
        ):
            make(task_id="collect", deferrable=deferrable, **POLL, **RETRY)
