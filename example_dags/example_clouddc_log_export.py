"""Export a CloudDC physical server's logs and download the archive: ``CloudDCLogExportOperator``.

The operator starts the export, pushes ``server_id`` and ``export_id`` to XCom at once (so the
console link works even if the wait fails), waits in the triggerer (``deferrable=True``) until
the export is ``completed``, and streams ``<server_id>-dump.tar.gz`` to ``download_to``: a local
folder here, or any ``ObjectStoragePath`` URL such as ``s3://bucket/logs/``. Its XCom value is
the final status plus ``download.location``, ``download.bytes`` and ``download.sha256``.

The default server is the emulator's seeded one, so the DAG runs unchanged against it.
"""

from __future__ import annotations

from datetime import datetime, timezone

from airflow.sdk import DAG, Param

from airflow_provider.operators.clouddc import CloudDCLogExportOperator

with DAG(
    dag_id="example_clouddc_log_export",
    description="Export a CloudDC physical server's logs and download them",
    schedule=None,
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    tags=["huaweicloud", "example"],
    params={
        "server_id": Param("a3b1c2d4-0000-4e5f-8a9b-emulator0001", type="string"),
        "download_root": Param("/tmp/huaweicloud-examples", type="string", description="Local folder or URL"),
    },
) as dag:
    CloudDCLogExportOperator(
        task_id="export_server_logs",
        server_id="{{ params.server_id }}",
        download_to="{{ params.download_root }}/clouddc/{{ run_id | replace(':', '_') | replace('+', '_') }}/",
        deferrable=True,
        poke_interval=10,
        min_poll_interval=0.5,
    )
