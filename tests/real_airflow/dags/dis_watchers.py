"""Two more watchers of the example's DIS transfer task, each on an asset of its own with a DAG
scheduled on it. Their arguments differ from the example's (``start_from``), so they are separate
triggers in Airflow, sharing the example's poll."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from typing import Any

from airflow.sdk import DAG, Asset, AssetWatcher, task

from airflow_provider.triggers.events import DisDumpPeriodTrigger

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
