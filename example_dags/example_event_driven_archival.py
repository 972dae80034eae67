"""Event-driven archival: each DIS dump period is archived as soon as it lands, not on a clock.

``DIS_PERIODS`` is an Asset watched in the triggerer by ``DisDumpPeriodTrigger``: every period the
transfer task dumps is an asset event, and this DAG runs on it (several periods that land while a
run is queued come in one run). ``archive_periods`` reads the periods from
``triggering_asset_events``, writes one record per period under the archive root
(``<root>/dis/<transfer task>/<YYYY-MM-DD>/<period start>_<period end>.json``: the period's times,
bytes, records, OBS file names and state) and appends it to ``manifest.jsonl`` in that folder, once
per period: a period that fires again after a triggerer restart is not archived twice. Its outlet,
``DIS_ARCHIVE``, carries each record's location, bytes and sha256 in its asset event, so a DAG
scheduled on the archive can read what arrived. A failed or missing period is recorded too, and
fails the run so that someone looks.

Settings (environment, read when the DAG file is parsed): ``HUAWEICLOUD_DIS_TRANSFER_TASK_ID`` (the
emulator's seeded transfer task by default), ``HUAWEICLOUD_DIS_POLL_INTERVAL`` (seconds, default 60),
``AIRFLOW_VAR_HUAWEICLOUD_LOG_ARCHIVE_ROOT`` (an ``ObjectStoragePath`` URL, default a local folder).

Against the emulator (its seeded DIS task dumps a period every emulated minute; ``--speed 10``
makes that every 6 s), in two shells from the repository::

    .venv/bin/python -m airflow_provider.emulator --port 8080 --speed 10   # prints AIRFLOW_CONN_* lines

    export AIRFLOW_CONN_HUAWEICLOUD_DEFAULT='...'   # as the emulator printed it
    export AIRFLOW__CORE__DAGS_FOLDER=$PWD/example_dags AIRFLOW__CORE__LOAD_EXAMPLES=False
    export HUAWEICLOUD_DIS_POLL_INTERVAL=5
    .venv/bin/airflow standalone   # the triggerer watches the task; a run starts for each period

``tests/real_airflow/test_events_on_real_airflow.py`` runs it so on a real deployment.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime, timezone
from typing import Any

from airflow.sdk import DAG, Asset, AssetWatcher, ObjectStoragePath, Variable, task
from airflow.sdk.exceptions import AirflowFailException

from airflow_provider.triggers.events import DisDumpPeriodTrigger

#: The emulator's seeded transfer task (its stream disMonitorTest, task emulator-obs-task).
TRANSFER_TASK_ID = os.environ.get("HUAWEICLOUD_DIS_TRANSFER_TASK_ID", "CDaRPdvKUfZrAhzTaYs")
POLL_INTERVAL = float(os.environ.get("HUAWEICLOUD_DIS_POLL_INTERVAL", "60"))
DEFAULT_ARCHIVE_ROOT = "file:///tmp/huaweicloud-log-archive"
ARCHIVE_ROOT = os.environ.get("AIRFLOW_VAR_HUAWEICLOUD_LOG_ARCHIVE_ROOT", DEFAULT_ARCHIVE_ROOT).rstrip("/")

DIS_PERIODS = Asset(
    name="huaweicloud_dis_dump_periods",
    # Where the transfer task dumps: its OBS bucket and file prefix (ShowTransferTask).
    uri="obs://dis-dump/emulator-obs-task",
    watchers=[
        AssetWatcher(
            name="dis_new_dump_periods",
            trigger=DisDumpPeriodTrigger(transfer_task_id=TRANSFER_TASK_ID, poll_interval=POLL_INTERVAL),
        )
    ],
)
DIS_ARCHIVE = Asset(name="huaweicloud_dis_period_archive", uri=f"{ARCHIVE_ROOT}/dis/{TRANSFER_TASK_ID}")

with DAG(
    dag_id="example_event_driven_archival",
    description="Archive each DIS dump period as soon as it lands (asset watcher in the triggerer)",
    schedule=[DIS_PERIODS],
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    tags=["huaweicloud", "example", "event-driven"],
):

    @task(outlets=[DIS_ARCHIVE])
    def archive_periods(**context: Any) -> dict[str, Any]:
        """Archive every period of the events that started this run, once each; fill the outlet's event."""
        periods = [event.extra["payload"] for event in context["triggering_asset_events"][DIS_PERIODS]]
        root = ObjectStoragePath(Variable.get("huaweicloud_log_archive_root", default=DEFAULT_ARCHIVE_ROOT))
        archived: list[dict[str, Any]] = []
        bad: list[str] = []
        for period in sorted(periods, key=lambda p: (p["period_end_ms"], p["event_id"])):
            day = period["period_end"][:10]
            folder = root / "dis" / period["transfer_task_id"] / day
            folder.mkdir(parents=True, exist_ok=True)
            manifest = folder / "manifest.jsonl"
            seen = manifest.read_text().splitlines() if manifest.exists() else []
            if any(json.loads(line)["event_id"] == period["event_id"] for line in seen):
                continue  # fired again after a triggerer restart: archived already
            record = json.dumps(period, sort_keys=True).encode()
            name = f"{period['period_start_ms']}_{period['period_end_ms']}.json"
            (folder / name).write_bytes(record)
            entry = {
                "event_id": period["event_id"],
                "status": period["status"],
                "uri": str(folder / name),
                "bytes": len(record),
                "sha256": hashlib.sha256(record).hexdigest(),
                "period_start": period["period_start"],
                "period_end": period["period_end"],
                "records": period["records"],
                "file_names": period["file_names"],
            }
            manifest.write_text("".join(f"{line}\n" for line in [*seen, json.dumps(entry, sort_keys=True)]))
            archived.append(entry)
            if period["status"] != "dumped":
                bad.append(f"{period['period_start']} - {period['period_end']} ({period['status']})")
        event = context["outlet_events"][DIS_ARCHIVE].extra
        event.update({"transfer_task_id": TRANSFER_TASK_ID, "periods": archived, "objects_total": len(archived)})
        if bad:
            raise AirflowFailException(f"DIS periods not dumped: {'; '.join(bad)} (recorded in the manifest)")
        return {"received": [p["event_id"] for p in periods], "archived": archived}

    archive_periods()
