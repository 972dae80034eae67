"""Nightly log archival: collect every kind of Huawei Cloud log in parallel, archive it by date.

Five collections run at once, each deferrable or cheap (no worker slot held while Huawei Cloud works):

* ``collect_edge_logs``   MEF edge manager log dump of the configured nodes, downloaded to staging;
* ``export_server_logs``  CloudDC physical server log export, downloaded to staging;
* ``backup_css_logs``     CSS cluster log backup; its files are found in the cluster's OBS log bucket;
* ``wait_for_dis_dump`` + ``locate_dis_files``  the DIS dump periods of the data interval, and their
  files in the transfer task's OBS bucket;
* ``collect_dcs_run_logs`` DCS Redis run logs: collected, waited for, downloaded to staging.

``archive`` (``LogArchiveOperator``) copies everything into one folder per run under an
``ObjectStoragePath`` root (Airflow Variable ``huaweicloud_log_archive_root``), by date, and writes
``manifest.json`` there: what was collected, where from, sizes, sha256, remote ids, durations and
failures. Nothing local passes between tasks: the downloads go to object storage (Variable
``huaweicloud_log_staging_root``), so the tasks may run on different workers (Celery, Kubernetes).

Against the local emulator (``make demo``) it runs unchanged: the defaults below are the emulator's
seeded resources and the bucket its S3-compatible server (``--obs``) creates.
"""

from __future__ import annotations

from datetime import datetime, timezone

from airflow.sdk import DAG, Param

from airflow_provider.operators.archive import LogArchiveOperator
from airflow_provider.operators.clouddc import CloudDCLogExportOperator
from airflow_provider.operators.css import CssLogBackupOperator
from airflow_provider.operators.dcs import DcsRunLogOperator
from airflow_provider.operators.dis import DisDumpFilesOperator
from airflow_provider.operators.edge import EdgeLogDumpOperator
from airflow_provider.sensors.dis import DisTransferTaskSensor

ARCHIVE_ROOT = "{{ var.value.get('huaweicloud_log_archive_root', 'obs://huaweicloud-log-archive/logs') }}"
STAGING = (
    "{{ var.value.get('huaweicloud_log_staging_root', 'obs://huaweicloud-log-archive/staging') }}"
    "/{{ dag.dag_id }}/{{ run_id | replace(':', '_') | replace('+', '_') }}"
)
COLLECTIONS = {
    "collect_edge_logs": "edge node logs (MEF)",
    "export_server_logs": "physical server logs (CloudDC)",
    "backup_css_logs": "CSS cluster logs",
    "locate_dis_files": "DIS dump files",
    "collect_dcs_run_logs": "Redis run logs (DCS)",
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
        "dis_stream": Param("disMonitorTest", type="string"),
        "dis_task_id": Param("CDaRPdvKUfZrAhzTaYs", type="string"),
        "dis_task_name": Param("emulator-obs-task", type="string"),
        "dcs_instance_id": Param("5560df16-cebf-4473-95c4-d1b573c16e79", type="string"),
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
        locate_files=True,
        deferrable=True,
        poke_interval=30,
        min_poll_interval=1.0,
    )
    dis_dump = DisTransferTaskSensor(
        task_id="wait_for_dis_dump",
        transfer_task_id="{{ params.dis_task_id }}",
        stream_name="{{ params.dis_stream }}",
        # The periods of the data interval (a manual run: the day before it).
        completed_after="{{ (dag_run.data_interval_start or dag_run.run_after - macros.timedelta(days=1))"
        ".isoformat() }}",
        deferrable=True,
        timeout=3600,
        poke_interval=30,
        min_poll_interval=1.0,
    )
    dis_files = DisDumpFilesOperator(
        task_id="locate_dis_files",
        stream_name="{{ params.dis_stream }}",
        transfer_task_name="{{ params.dis_task_name }}",
        sensor_task_id="wait_for_dis_dump",
    )
    dcs_logs = DcsRunLogOperator(
        task_id="collect_dcs_run_logs",
        instance_id="{{ params.dcs_instance_id }}",
        download_to=STAGING + "/dcs/",
        deferrable=True,
        poke_interval=30,
        min_poll_interval=1.0,
    )
    archive = LogArchiveOperator(task_id="archive", archive_root=ARCHIVE_ROOT, collections=COLLECTIONS)

    dis_dump >> dis_files
    [edge_logs, server_logs, css_logs, dis_files, dcs_logs] >> archive
