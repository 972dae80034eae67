"""The archival DAG on CeleryExecutor: collections on one worker, the archive on another.

Each worker has its own temp folder and queue, and names itself as the task instance's hostname:
the archive task cannot read anything the collection tasks left on their machine, so the run
succeeds only if everything between them passed through object storage (the emulator's OBS).
Redis (Debian's ``redis-server``, installed by the Makefile) is the broker, on a free loopback port.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from airflow_provider.testing.admin_client import AdminClient
from tests.real_airflow.stack import AirflowStack

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = [
    pytest.mark.real_airflow,
    pytest.mark.timeout(600),
]

ROOT = Path(__file__).resolve().parents[2]
DAG_ID = "example_log_archival"
WORKERS = {"collector": "collect", "archiver": "archive"}
ARCHIVE_ROOT = "obs://huaweicloud-log-archive/celery"


@pytest.fixture
def celery_stack() -> Iterator[AirflowStack]:
    home = Path(tempfile.mkdtemp(prefix="hwc-celery-airflow-"))
    dags = home / "dags"
    dags.mkdir()
    # The example as users get it, minus the schedule, with its collections on one queue and its
    # archive step on another.
    source = (ROOT / "example_dags" / "example_log_archival.py").read_text()
    for old, new in (
        ('schedule="@daily",', 'schedule=None,\n    default_args={"queue": "collect"},'),
        ('LogArchiveOperator(task_id="archive",', 'LogArchiveOperator(task_id="archive", queue="archive",'),
    ):
        assert old in source, old
        source = source.replace(old, new)
    (dags / "example_log_archival.py").write_text(source)
    stack = AirflowStack(
        home=home, dags_folder=dags, extra_env={"AIRFLOW_VAR_HUAWEICLOUD_LOG_ARCHIVE_ROOT": ARCHIVE_ROOT}
    )
    try:
        yield stack
    finally:
        stack.stop_all()


def _manifest(stack: AirflowStack) -> dict[str, Any]:
    import boto3

    s3 = boto3.client(
        "s3", endpoint_url=stack.emulator_env["EMULATOR_OBS_URL"], aws_access_key_id="x", aws_secret_access_key="x"
    )
    keys = [
        item["Key"]
        for item in s3.list_objects_v2(Bucket="huaweicloud-log-archive", Prefix="celery/").get("Contents", [])
        if item["Key"].endswith("/manifest.json")
    ]
    assert len(keys) == 1, keys
    manifest: dict[str, Any] = json.loads(s3.get_object(Bucket="huaweicloud-log-archive", Key=keys[0])["Body"].read())
    return manifest


def test_collections_and_archive_on_different_workers_share_nothing_local(celery_stack: AirflowStack) -> None:
    stack = celery_stack
    url = stack.start_emulator(speed=20.0, obs=True)
    admin = AdminClient(url)
    try:
        for service in ("css", "clouddc", "edge"):
            admin.set_outcome(service, "succeed", duration=40)
    finally:
        admin.close()
    stack.start_celery(WORKERS)
    stack.start_all()
    stack.airflow("dags", "reserialize")
    run_id = stack.trigger(DAG_ID)
    state = stack.wait_for_run(DAG_ID, run_id, 360, interval=1)
    rows = stack.query("SELECT task_id, state, hostname, queue FROM task_instance WHERE run_id=?", run_id)
    assert state == "success", (rows, stack.task_logs(DAG_ID, run_id)[-3000:])

    ran_on = {task_id: (hostname, queue) for task_id, _, hostname, queue in rows}
    assert ran_on["archive"] == ("archiver", "archive")
    for task_id in (
        "collect_edge_logs",
        "export_server_logs",
        "backup_css_logs",
        "locate_dis_files",
        "collect_dcs_run_logs",
    ):
        assert ran_on[task_id] == ("collector", "collect"), ran_on
    manifest = _manifest(stack)
    assert manifest["ok"] is True and manifest["failures"] == []
    files = [item for entry in manifest["collections"] for item in entry["files"]]
    assert {entry["task"] for entry in manifest["collections"]} == {
        "collect_edge_logs",
        "export_server_logs",
        "backup_css_logs",
        "locate_dis_files",
        "collect_dcs_run_logs",
    }
    assert all(item["status"] == "archived" and item["source"].startswith("obs://") for item in files), files
    # The workers' temp folders are their own, and each holds nothing after its tasks.
    for name in WORKERS:
        assert list((stack.home / f"tmp-{name}").glob("hwc-download-*")) == []
