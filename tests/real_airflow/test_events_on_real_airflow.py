"""Asset watchers on a real deployment: api-server, scheduler, dag-processor, triggerer (LocalExecutor),
the emulator in its own process with its clock stopped, so a DIS period lands when the test says.

Three watchers of one DIS transfer task (the event-driven example's and two of
``dags/watchers.py``, each a trigger of its own) share one poll: the emulator's request log shows
one transfer-log request per interval, not three. A period dumped in the emulator starts the example's
run through the triggerer, and the run sees the period's metadata. Then the triggerer is killed
(SIGKILL), two periods land while it is down, and a new triggerer fires each of them once for every
watcher: none missed, none twice. The archive's asset event and the run's consumed events are read
back through the REST API.

Run alone with ``pytest -m real_airflow``.
"""

from __future__ import annotations

import json
import signal
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from airflow_provider.testing.admin_client import AdminClient
from tests.real_airflow.stack import AirflowStack, wait_for

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = [pytest.mark.real_airflow, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]
DAGS = Path(__file__).resolve().parent / "dags"
EXAMPLE = "example_event_driven_archival"
TRANSFER_TASK_ID = "CDaRPdvKUfZrAhzTaYs"  # the emulator's seeded transfer task
PERIOD = 60.0  # its dump period, in emulated seconds
POLL = 2.0
FROZEN = 1e-9
ASSETS = {"huaweicloud_dis_dump_periods": EXAMPLE, "dis_periods_b": "dis_consumer_b", "dis_periods_c": "dis_consumer_c"}
HISTORY = 3  # periods listed when the emulator starts (the seeded task started 3 periods ago)
CLUSTER = "4213d908-f5dc-4633-8401-cfd7175fca0c"
CSS_ASSETS = ("css_backups_all", "css_backups_manual")


@pytest.fixture
def stack() -> Iterator[AirflowStack]:
    home = Path(tempfile.mkdtemp(prefix="hwc-real-airflow-events-"))
    dags = home / "dags"
    dags.mkdir()
    (dags / f"{EXAMPLE}.py").write_text((ROOT / "example_dags" / f"{EXAMPLE}.py").read_text())
    (dags / "watchers.py").write_text((DAGS / "watchers.py").read_text())
    deployment = AirflowStack(
        home=home,
        dags_folder=dags,
        extra_env={
            "HUAWEICLOUD_DIS_POLL_INTERVAL": str(POLL),
            "AIRFLOW_VAR_HUAWEICLOUD_LOG_ARCHIVE_ROOT": f"file://{home}/archive",
            # OpenLineage (installed in dev) writes its events to a file the test reads.
            "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(
                {"type": "file", "log_file_path": str(home / "openlineage.jsonl"), "append": True}
            ),
        },
    )
    try:
        yield deployment
    finally:
        deployment.stop_all()


def events_by_asset(stack: AirflowStack) -> dict[str, list[dict[str, Any]]]:
    """Every asset event of the three watched assets, as their trigger payloads."""
    rows = stack.query(
        "SELECT asset.name, asset_event.extra FROM asset_event JOIN asset ON asset.id = asset_event.asset_id "
        "ORDER BY asset_event.id"
    )
    found: dict[str, list[dict[str, Any]]] = {name: [] for name in (*ASSETS, *CSS_ASSETS)}
    for name, extra in rows:
        if name in found:
            found[name].append(json.loads(extra)["payload"])
    return found


def cursors(stack: AirflowStack, key: str = f"huaweicloud.dis.{TRANSFER_TASK_ID}") -> dict[str, dict[str, Any]]:
    rows = stack.query(
        "SELECT asset.name, asset_state_store.value FROM asset_state_store "
        "JOIN asset ON asset.id = asset_state_store.asset_id WHERE asset_state_store.key LIKE ?",
        key + "%",
    )
    return {name: json.loads(value) for name, value in rows}


def log_requests(admin: AdminClient) -> int:
    return sum(1 for r in admin.requests() if r["path"] == f"/v1/transfertasklog/{TRANSFER_TASK_ID}")


def period_keys(stack: AirflowStack) -> list[str]:
    """The event ids of the periods the emulator lists now (the transfer log, read as the provider reads it)."""
    import os

    from airflow_provider.hooks.dis import DisHook

    os.environ["AIRFLOW_CONN_HUAWEICLOUD_DEFAULT"] = stack.emulator_env["AIRFLOW_CONN_HUAWEICLOUD_DEFAULT"]
    hook = DisHook()
    try:
        entries = hook.list_transfer_task_logs(TRANSFER_TASK_ID)
    finally:
        hook.close()
        os.environ.pop("AIRFLOW_CONN_HUAWEICLOUD_DEFAULT", None)
    keys = []
    for entry in entries:
        assert entry.start_time is not None and entry.end_time is not None
        start, end = (int(t.timestamp() * 1000) for t in (entry.start_time, entry.end_time))
        keys.append(f"dis:{TRANSFER_TASK_ID}:{start}-{end}/{entry.state}")
    return sorted(keys)


def api(stack: AirflowStack, path: str, **params: Any) -> Any:
    response = httpx.get(f"http://127.0.0.1:{stack.api_port}/api/v2{path}", params=params, timeout=30)
    response.raise_for_status()
    return response.json()


def run_sees_the_period(stack: AirflowStack, new: str) -> None:
    """The example's run, through the REST API: the period it received, what it archived, the archive's
    asset event."""
    wait_for(lambda: stack.query(f"SELECT 1 FROM dag_run WHERE dag_id='{EXAMPLE}' AND state='success'"), 240, "a run")
    [(run_id,)] = stack.query(f"SELECT run_id FROM dag_run WHERE dag_id='{EXAMPLE}'")
    xcom = api(stack, f"/dags/{EXAMPLE}/dagRuns/{run_id}/taskInstances/archive_periods/xcomEntries/return_value")
    value = xcom["value"] if isinstance(xcom["value"], dict) else json.loads(xcom["value"])
    assert value["received"] == [new]
    [archived] = value["archived"]
    assert archived["status"] == "dumped" and archived["records"] > 0 and len(archived["sha256"]) == 64
    consumed = api(stack, f"/dags/{EXAMPLE}/dagRuns/{run_id}/upstreamAssetEvents")["asset_events"]
    assert [e["extra"]["payload"]["event_id"] for e in consumed] == [new]
    # The archive's asset event, with what the run wrote.
    [archive_asset] = api(stack, "/assets", name_pattern="huaweicloud_dis_period_archive")["assets"]
    assert [t["dag_id"] for t in archive_asset["producing_tasks"]] == [EXAMPLE]
    [produced] = api(stack, "/assets/events", asset_id=archive_asset["id"])["asset_events"]
    assert produced["extra"]["periods"][0]["sha256"] == archived["sha256"]
    assert Path(archived["uri"].removeprefix("file://")).read_bytes()


def each_period_once(stack: AirflowStack, expected: set[str], history: set[str]) -> None:
    """Every watcher fired each period once: the new ones, and the history for the two that start earlier."""
    got = events_by_asset(stack)
    for asset in ASSETS:
        counts = Counter(p["event_id"] for p in got[asset])
        want = expected | (history if asset != "huaweicloud_dis_dump_periods" else set())
        assert set(counts) == want, f"{asset}: {sorted(counts)}"
        assert max(counts.values()) == 1, f"{asset}: fired twice: {counts}"


def backup_fired_for_both_css_watchers(stack: AirflowStack, backup: str) -> None:
    """The finished backup fired once for each CSS watcher, from one shared poll loop."""
    wait_for(lambda: all(len(events_by_asset(stack)[a]) == 1 for a in CSS_ASSETS), 120, "the backup's events")
    for asset in CSS_ASSETS:
        [finished] = events_by_asset(stack)[asset]
        assert finished["record_id"] == backup and finished["status"] == "success" and finished["log_path"]
    triggerer_log = stack.processes["triggerer"].log()
    assert triggerer_log.count(f"Polling CSS log backup {CLUSTER} every") == 1
    assert triggerer_log.count(f"Watching CSS log backup {CLUSTER}") == len(CSS_ASSETS)


def backup_folder_has_its_asset_and_lineage(stack: AirflowStack, backup: str, log_path: str) -> None:
    """The consumer's sensor: an asset event on the backup's OBS folder (through its alias), and an
    OpenLineage COMPLETE event with the cluster in and the folder out."""
    folder = f"obs://css-log-backup/{log_path.strip('/')}"
    wait_for(lambda: stack.query("SELECT 1 FROM asset WHERE uri = ?", folder), 240, "the backup folder's asset")
    [(extra,)] = stack.query(
        "SELECT asset_event.extra FROM asset_event JOIN asset ON asset.id = asset_event.asset_id WHERE asset.uri = ?",
        folder,
    )[:1]
    assert json.loads(extra)["record_id"] == backup
    lineage = stack.home / "openlineage.jsonl"

    def completed() -> dict[str, Any] | None:
        lines = lineage.read_text().splitlines() if lineage.exists() else []
        for event in map(json.loads, lines):
            if event.get("eventType") == "COMPLETE" and event["job"]["name"].endswith("confirm_backup"):
                return dict(event)
        return None

    event = wait_for(completed, 120, "the sensor's OpenLineage COMPLETE event")
    assert [(d["namespace"], d["name"]) for d in event["inputs"]] == [
        ("huaweicloud://css", f"cluster_id={CLUSTER}/record_id={backup}")
    ]
    assert [(d["namespace"], d["name"]) for d in event["outputs"]] == [
        ("obs://css-log-backup", log_path.strip("/") + "/")
    ]


def test_watchers_share_one_poll_start_runs_and_keep_their_place_across_a_triggerer_kill(
    stack: AirflowStack,
) -> None:
    admin = AdminClient(stack.start_emulator(speed=1.0))
    admin.set_speed(FROZEN)
    stack.start_all()
    stack.airflow("dags", "reserialize")

    # The three watchers run, each with its cursor stored; "earliest" and 2020 fire the history.
    wait_for(lambda: len(cursors(stack)) == len(ASSETS), 240, "the three watchers' cursors")
    history = period_keys(stack)
    assert len(history) == HISTORY
    wait_for(
        lambda: all(len(events_by_asset(stack)[a]) == HISTORY for a in ("dis_periods_b", "dis_periods_c")),
        120,
        "the history fired for the watchers that start from the earliest period",
    )
    assert events_by_asset(stack)["huaweicloud_dis_dump_periods"] == []  # start_from="now"

    # One poll for the three: one transfer-log request per interval.
    admin.clear_requests()
    window = 10 * POLL
    time.sleep(window)
    polls = log_requests(admin)
    assert window / POLL * 0.5 <= polls <= window / POLL + 2, f"{polls} requests in {window:.0f} s"
    # One shared poll loop in the triggerer (it says so once per loop), three watchers on it.
    triggerer_log = stack.processes["triggerer"].log()
    assert triggerer_log.count(f"Polling DIS transfer task {TRANSFER_TASK_ID} every") == 1
    assert triggerer_log.count(f"Watching DIS transfer task {TRANSFER_TASK_ID}") == len(ASSETS)

    # A manual CSS backup starts; a period lands and the backup ends with the same minute.
    wait_for(lambda: len(cursors(stack, f"huaweicloud.css.{CLUSTER}")) == len(CSS_ASSETS), 60, "the CSS cursors")
    admin.set_outcome("css", "succeed", duration=30)
    backup = admin.create_task("css", cluster_id=CLUSTER, job_types="Manual")
    admin.advance(PERIOD)
    [new] = sorted(set(period_keys(stack)) - set(history))
    run_sees_the_period(stack, new)

    backup_fired_for_both_css_watchers(stack, backup)
    backup_folder_has_its_asset_and_lineage(stack, backup, events_by_asset(stack)["css_backups_all"][0]["log_path"])

    # Every watcher stores the new period in its cursor once its event is stored; then the kill.
    wait_for(lambda: all(new.split(":")[-1] in c["done"] for c in cursors(stack).values()), 60, "the cursors to move")
    killed = stack.processes["triggerer"]
    killed.stop(signal.SIGKILL)
    admin.advance(2 * PERIOD)  # two periods land while no triggerer runs
    time.sleep(2)
    stack.start("triggerer")
    expected = set(period_keys(stack)) - set(history)
    assert len(expected) == 3

    def all_fired() -> bool:
        got = events_by_asset(stack)
        return all(expected <= {p["event_id"] for p in got[a]} for a in ASSETS)

    wait_for(all_fired, 300, "every period fired for every watcher after the restart")
    time.sleep(3 * POLL)  # a duplicate would come within a poll or two
    each_period_once(stack, expected, set(history))
    assert all(len(events_by_asset(stack)[a]) == 1 for a in CSS_ASSETS), "a backup fired again after the restart"
    # The example's runs archive each period once. Airflow 3.3.2's scheduler may leave an event that
    # lands while it creates a run to the next run (its queue row was already taken): one more
    # period makes that run.
    admin.advance(PERIOD)

    def received() -> list[str]:
        rows = stack.query(
            f"SELECT value FROM xcom WHERE dag_id='{EXAMPLE}' AND task_id='archive_periods' AND key='received'"
        )
        return [event_id for (value,) in rows for event_id in json.loads(value)]

    wait_for(lambda: expected <= set(received()), 240, "the example's runs to archive the three periods")
    assert max(Counter(received()).values()) == 1
    manifests = list((stack.home / "archive").rglob("manifest.jsonl"))
    lines = [json.loads(line)["event_id"] for m in manifests for line in m.read_text().splitlines()]
    assert expected <= set(lines) and len(lines) == len(set(lines))
