"""A DAG whose tasks return what the hooks return and read it back downstream (XCom).

The hooks are imported at the top of the file, as in the examples: every task process imports
them while it parses this file, which registers their result types for deserialization.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from airflow.sdk import DAG, task

from airflow_provider.hooks.clouddc import CloudDCHook
from airflow_provider.hooks.css import CssHook
from airflow_provider.hooks.dcs import DcsHook
from airflow_provider.hooks.dis import DisHook
from airflow_provider.hooks.edge import EdgeManagerHook

CLUSTER = "4213d908-f5dc-4633-8401-cfd7175fca0c"
INSTANCE = "5560df16-cebf-4473-95c4-d1b573c16e79"
SERVER = "a3b1c2d4-0000-4e5f-8a9b-emulator0001"
DIS_TASK = "CDaRPdvKUfZrAhzTaYs"

with DAG("hook_results_in_xcom", schedule=None, start_date=datetime(2026, 1, 1, tzinfo=timezone.utc)):

    @task
    def css_records() -> Any:
        return CssHook().list_log_backup_records(CLUSTER)

    @task
    def css_page() -> Any:
        return CssHook().get_log_backup_record_page(CLUSTER)

    @task
    def dcs_tasks() -> Any:
        return DcsHook().list_background_tasks(INSTANCE)

    @task
    def dcs_progress() -> Any:
        hook = DcsHook()
        return hook.get_background_task_progress(INSTANCE, str(hook.list_background_tasks(INSTANCE)[0].id))

    @task
    def dis_logs() -> Any:
        return DisHook().list_transfer_task_logs(DIS_TASK)

    @task
    def clouddc_export() -> Any:
        return CloudDCHook().export_server_logs(SERVER)

    @task
    def edge_dump() -> Any:
        with EdgeManagerHook() as hook:
            return hook.get_log_dump_task(hook.create_log_dump_task([1]))

    @task
    def read_back(
        records: Any, page: Any, tasks: Any, progress: Any, logs: Any, export: Any, dump: Any
    ) -> dict[str, Any]:
        """Fails unless each value came back as the type the hook returned, with its fields."""
        from airflow_provider.services import clouddc, css, dcs, dis, edge

        assert all(isinstance(r, css.ClusterLogRecord) for r in records) and records, records
        assert isinstance(page, css.LogRecordPage) and page.cluster_log_record == records, page
        assert all(isinstance(t, dcs.BackgroundTask) for t in tasks) and tasks, tasks
        assert isinstance(progress, dcs.BackgroundTaskProgress) and progress.step_details, progress
        assert all(isinstance(e, dis.TransferTaskLogEntry) for e in logs) and logs, logs
        assert isinstance(export, clouddc.ServerLogExport) and export.export_id, export
        assert isinstance(dump, edge.EdgeDumpTask) and dump.task_id, dump
        return {
            "record": records[0].id,
            "task_names": sorted(str(t.name) for t in tasks),
            "steps": len(progress.step_details),
            "periods": len(logs),
            "export_id": export.export_id,
            "dump": dump.task_id,
        }

    read_back(css_records(), css_page(), dcs_tasks(), dcs_progress(), dis_logs(), clouddc_export(), edge_dump())
