"""Two more watchers of the example's DIS transfer task, each on an asset of its own with a DAG
scheduled on it: their arguments differ from the example's (``start_from``), so they are separate
triggers in Airflow, sharing the example's poll. And two watchers of a CSS cluster, sharing theirs."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from typing import Any

from airflow.sdk import DAG, Asset, AssetAlias, AssetWatcher, task

from airflow_provider.sensors.css import CssLogBackupSensor
from airflow_provider.triggers.events import CssLogBackupTrigger, DisDumpPeriodTrigger

TRANSFER_TASK_ID = os.environ.get("HUAWEICLOUD_DIS_TRANSFER_TASK_ID", "CDaRPdvKUfZrAhzTaYs")
POLL_INTERVAL = float(os.environ.get("HUAWEICLOUD_DIS_POLL_INTERVAL", "60"))

for name, start_from in (("b", "earliest"), ("c", "2020-01-01T00:00:00+00:00")):
    asset = Asset(
        name=f"dis_periods_{name}",
        uri=f"obs://dis-dump/watcher-{name}",
        watchers=[
            AssetWatcher(
                name=f"dis_watcher_{name}",
                trigger=DisDumpPeriodTrigger(
                    transfer_task_id=TRANSFER_TASK_ID, poll_interval=POLL_INTERVAL, start_from=start_from
                ),
            )
        ],
    )
    with DAG(
        dag_id=f"dis_consumer_{name}",
        schedule=[asset],
        start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
        catchup=False,
    ):

        @task
        def seen(**context: Any) -> list[str]:
            events = context["triggering_asset_events"]
            return [e.extra["payload"]["event_id"] for each in events.values() for e in each]

        seen()

#: Two watchers of the emulator's seeded CSS cluster: every backup, and manual ones only.
CLUSTER = "4213d908-f5dc-4633-8401-cfd7175fca0c"
css_assets = [
    Asset(
        name=f"css_backups_{name}",
        uri=f"obs://css-log-backup/css/log/{name}",
        watchers=[
            AssetWatcher(
                name=f"css_watcher_{name}",
                trigger=CssLogBackupTrigger(cluster_id=CLUSTER, poll_interval=POLL_INTERVAL, job_types=job_types),
            )
        ],
    )
    for name, job_types in (("all", None), ("manual", ["Manual"]))
]
with DAG(
    dag_id="css_consumer",
    schedule=css_assets[0] | css_assets[1],
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
):

    @task
    def finished_backup(**context: Any) -> str:
        events = context["triggering_asset_events"]
        return str([e.extra["payload"]["record_id"] for each in events.values() for e in each][-1])

    # The sensor confirms the backup and hands it on: an asset event per backup folder (the alias) and,
    # with OpenLineage configured, the cluster as input and the folder as output.
    CssLogBackupSensor(
        task_id="confirm_backup",
        cluster_id=CLUSTER,
        record_id=finished_backup(),  # type: ignore[arg-type]  # the value at run time
        poke_interval=1,
        timeout=120,
        outlets=[AssetAlias(name="css_backup_folders")],
    )
