"""Nightly log archival: collect edge, server and search-cluster logs in parallel, archive, report.

Three collections run at once, each deferrable (no worker slot held while Huawei Cloud works):

* ``collect_edge_logs``   MEF edge manager log dump of the configured nodes, downloaded;
* ``export_server_logs``  CloudDC physical server log export, downloaded;
* ``backup_css_logs``     CSS cluster log backup (the logs land in the cluster's OBS bucket).

``archive`` copies the downloaded archives under an ``ObjectStoragePath`` root (Airflow Variable
``huaweicloud_log_archive_root``, default a local ``file://`` folder) in a folder named after the
run's date, and ``write_manifest`` writes ``manifest.json`` there: what was collected, sizes,
sha256, remote task ids, durations, and partial edge failures. It runs even when a collection
failed, records the failure in the manifest, and then fails the run loudly.

Against the local emulator (``make demo``) it runs unchanged: the defaults below are the
emulator's seeded resources.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from airflow.sdk import DAG, ObjectStoragePath, Param, Variable, task
from airflow.sdk.exceptions import AirflowFailException

from airflow_provider.operators.clouddc import CloudDCLogExportOperator
from airflow_provider.operators.css import CssLogBackupOperator
from airflow_provider.operators.edge import EdgeLogDumpOperator

DEFAULT_ARCHIVE_ROOT = "file:///tmp/huaweicloud-log-archive"
STAGING = "/tmp/huaweicloud-log-staging/{{ dag.dag_id }}/{{ run_id | replace(':', '_') | replace('+', '_') }}"
COLLECTIONS = {
    "collect_edge_logs": "edge node logs",
    "export_server_logs": "physical server logs",
    "backup_css_logs": "CSS cluster logs",
}

with DAG(
    dag_id="example_log_archival",
    description="Collect Huawei Cloud logs in parallel, archive them by date and write a manifest",
    schedule="@daily",
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    max_active_runs=1,
    tags=["huaweicloud", "example"],
    params={
        "edge_node_ids": Param(
            [1, 2, 3], type="array", items={"type": "integer"}, description="MEF edge node ids to collect"
        ),
        "server_id": Param("a3b1c2d4-0000-4e5f-8a9b-emulator0001", type="string"),
        "css_cluster_id": Param("4213d908-f5dc-4633-8401-cfd7175fca0c", type="string"),
    },
) as dag:
    edge_logs = EdgeLogDumpOperator(
        task_id="collect_edge_logs",
        node_ids="{{ params.edge_node_ids }}",
        download_to=STAGING + "/edge/",
        accept_partial_failure=True,  # partial failures are reported in the manifest
        deferrable=True,
        poke_interval=30,
        min_poll_interval=1.0,
    )
    server_logs = CloudDCLogExportOperator(
        task_id="export_server_logs",
        server_id="{{ params.server_id }}",
        download_to=STAGING + "/clouddc/",
        deferrable=True,
        poke_interval=30,
        min_poll_interval=1.0,
    )
    css_logs = CssLogBackupOperator(
        task_id="backup_css_logs",
        cluster_id="{{ params.css_cluster_id }}",
        deferrable=True,
        poke_interval=30,
        min_poll_interval=1.0,
    )

    @task(trigger_rule="all_done")
    def archive(**context: Any) -> dict[str, Any]:
        """Copy every downloaded archive to ``<root>/<YYYY-MM-DD>/`` and checksum the copies."""
        root = ObjectStoragePath(Variable.get("huaweicloud_log_archive_root", default=DEFAULT_ARCHIVE_ROOT))
        folder = root / context["logical_date"].strftime("%Y-%m-%d") if context.get("logical_date") else root
        folder = folder / context["run_id"].replace(":", "_").replace("+", "_")
        folder.mkdir(parents=True, exist_ok=True)
        archived: dict[str, Any] = {}
        for task_id in ("collect_edge_logs", "export_server_logs"):
            status = context["ti"].xcom_pull(task_ids=task_id)
            download = (status or {}).get("download")
            if not download:
                continue
            source = ObjectStoragePath(
                download["location"] if "://" in download["location"] else "file://" + download["location"]
            )
            target = folder / f"{task_id}-{source.name}"
            source.copy(target)
            archived[task_id] = {**download, "archived_to": str(target)}
        return {"folder": str(folder), "files": archived}

    @task(trigger_rule="all_done")
    def write_manifest(**context: Any) -> str:
        """Write manifest.json next to the archives; fail the run if any collection failed."""
        ti = context["ti"]
        archive_result = ti.xcom_pull(task_ids="archive")
        entries, failed = [], []
        for task_id, what in COLLECTIONS.items():
            status = ti.xcom_pull(task_ids=task_id)
            ids = {
                key: ti.xcom_pull(task_ids=task_id, key=key)
                for key in ("dump_task_id", "server_id", "export_id", "cluster_id", "record_id", "job_id")
            }
            entry: dict[str, Any] = {
                "task": task_id,
                "what": what,
                "remote_ids": {k: v for k, v in ids.items() if v},
                "state": (status or {}).get("state", "FAILED"),
            }
            if status:
                # Services that report no finish time (CloudDC) are bounded by when the end was seen.
                started = status.get("started_at")
                finished = status.get("finished_at") or status.get("observed_at")
                if started and finished:
                    seconds = (datetime.fromisoformat(finished) - datetime.fromisoformat(started)).total_seconds()
                    entry["duration_seconds"] = seconds if seconds >= 0 else None  # clocks disagree
                if status.get("result", {}).get("failed_nodes"):
                    entry["failed_nodes"] = status["result"]["failed_nodes"]
                if status.get("result", {}).get("log_path"):
                    entry["obs_log_path"] = status["result"]["log_path"]
                entry["file"] = ((archive_result or {}).get("files") or {}).get(task_id)
            else:
                failed.append(task_id)
            entries.append(entry)
        folder = ObjectStoragePath(
            (archive_result or {}).get("folder")
            or Variable.get("huaweicloud_log_archive_root", default=DEFAULT_ARCHIVE_ROOT)
        )
        folder.mkdir(parents=True, exist_ok=True)
        manifest = {
            "dag_id": context["dag"].dag_id,
            "run_id": context["run_id"],
            "written_at": datetime.now(timezone.utc).isoformat(),
            "ok": not failed,
            "failed_collections": failed,
            "collections": entries,
        }
        path = folder / "manifest.json"
        path.write_text(json.dumps(manifest, indent=2, sort_keys=True))
        if failed:
            raise AirflowFailException(f"log collection failed for {', '.join(failed)}; manifest: {path}")
        return str(path)

    [edge_logs, server_logs, css_logs] >> archive() >> write_manifest()
