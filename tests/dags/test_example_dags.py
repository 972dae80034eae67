"""The example DAGs: every file parses, and each per-service example runs with ``dag.test()`` on the emulator."""

from __future__ import annotations

import hashlib
import io
import tarfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from airflow.dag_processing.dagbag import DagBag
    from airflow.models.dagrun import DagRun
    from airflow.sdk import DAG

    from airflow_provider.testing.emulator_runner import EmulatorHandle

EXAMPLES = Path(__file__).resolve().parents[2] / "example_dags"
SERVICE_EXAMPLES = (
    "example_edge_log_dump",
    "example_clouddc_log_export",
    "example_dis_transfer_log",
    "example_css_log_backup",
    "example_dcs_background_task",
)
LINK_KEY = "_link_HuaweiCloudConsoleLink"
SERVER = "a3b1c2d4-0000-4e5f-8a9b-emulator0001"
CLUSTER = "4213d908-f5dc-4633-8401-cfd7175fca0c"


@pytest.fixture(scope="module")
def dagbag() -> DagBag:
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(EXAMPLES))


def run_dag(dagbag: DagBag, dag_id: str, **conf: Any) -> DagRun:
    dag: DAG = dagbag.dags[dag_id]
    run: DagRun = dag.test(run_conf=conf or None)
    return run


def xcoms(run: DagRun) -> dict[tuple[str, str], Any]:
    """Every XCom of the run, as ``{(task_id, key): value}``, read from the metadata DB."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.scalars(
            select(XComModel).where(XComModel.dag_id == run.dag_id, XComModel.run_id == run.run_id)
        ).all()
        # Values set through the Task Execution API are stored as plain JSON (no second encoding).
        return {(row.task_id, row.key): row.value for row in rows}


def task_states(run: DagRun) -> dict[str, str | None]:
    return {ti.task_id: ti.state for ti in run.get_task_instances()}


# Parsing --------------------------------------------------------------------------------------
def test_every_example_file_imports_without_errors(dagbag: DagBag) -> None:
    assert dagbag.import_errors == {}
    files = sorted(p.stem for p in EXAMPLES.glob("*.py") if not p.name.startswith("_"))
    assert set(files) >= set(SERVICE_EXAMPLES)
    # One DAG per file, named after it (example_log_archival included when present).
    assert sorted(dagbag.dag_ids) == files


@pytest.mark.parametrize("dag_id", SERVICE_EXAMPLES)
def test_service_examples_follow_the_conventions(dagbag: DagBag, dag_id: str) -> None:
    dag = dagbag.dags[dag_id]
    assert dag.schedule is None
    assert dag.catchup is False
    assert dag.start_date is not None
    assert set(dag.tags) == {"huaweicloud", "example"}
    assert dag.doc_md or (dag.description and len(dag.description) > 20)
    module_doc = (EXAMPLES / f"{dag_id}.py").read_text(encoding="utf-8").split('"""')[1]
    assert len(module_doc.splitlines()) >= 3
    for task in dag.tasks:
        if hasattr(task, "deferrable"):
            assert task.deferrable is True, f"{dag_id}.{task.task_id} should show the triggerer path"


# Runs ----------------------------------------------------------------------------------------
@pytest.mark.dag
def test_edge_log_dump_runs_and_downloads(
    airflow_db: None, huaweicloud_emulator: EmulatorHandle, dagbag: DagBag, tmp_path: Path
) -> None:
    run = run_dag(dagbag, "example_edge_log_dump", download_root=str(tmp_path))
    assert run.state == "success", task_states(run)

    values = xcoms(run)
    result = values[("dump_edge_logs", "return_value")]
    dump_task_id = values[("dump_edge_logs", "dump_task_id")]
    assert result["task_id"] == dump_task_id
    assert result["state"] == "SUCCEEDED"
    archive = Path(result["download"]["location"])
    assert archive.name == "edgeNodes.tar.gz"
    assert archive.is_relative_to(tmp_path / "edge")
    assert archive.parent.name == run.run_id.replace(":", "_").replace("+", "_")
    data = archive.read_bytes()
    assert result["download"]["sha256"] == hashlib.sha256(data).hexdigest()
    with tarfile.open(archive, mode="r:gz") as tar:
        assert sorted(m.name for m in tar.getmembers()) == ["edge-node-1.log", "edge-node-2.log", "edge-node-3.log"]
    assert values[("list_archive", "return_value")] == ["edge-node-1.log", "edge-node-2.log", "edge-node-3.log"]
    assert values[("dump_edge_logs", "_link_MefCenterLink")] == huaweicloud_emulator.edge_url + "/"


@pytest.mark.dag
def test_clouddc_log_export_runs_and_downloads(
    airflow_db: None, huaweicloud_emulator: EmulatorHandle, dagbag: DagBag, tmp_path: Path
) -> None:
    run = run_dag(dagbag, "example_clouddc_log_export", download_root=str(tmp_path))
    assert run.state == "success", task_states(run)

    values = xcoms(run)
    result = values[("export_server_logs", "return_value")]
    assert values[("export_server_logs", "export_id")] == result["task_id"]
    archive = Path(result["download"]["location"])
    assert archive.name == f"{SERVER}-dump.tar.gz"
    assert archive.is_relative_to(tmp_path / "clouddc")
    assert archive.stat().st_size == result["download"]["bytes"]
    with tarfile.open(archive, mode="r:gz") as tar:
        assert [m.name for m in tar.getmembers()] == [f"{SERVER}-bmc.log"]
    # The console link the UI shows: read back through the XCom API by HuaweiCloudConsoleLink.get_link.
    assert values[("export_server_logs", LINK_KEY)] == (
        f"https://console.huaweicloud.com/clouddc/?region=cn-north-4#/clouddc/physicalservers/{SERVER}"
    )


@pytest.mark.dag
def test_dis_transfer_log_runs(airflow_db: None, huaweicloud_emulator: EmulatorHandle, dagbag: DagBag) -> None:
    run = run_dag(dagbag, "example_dis_transfer_log")
    assert run.state == "success", task_states(run)

    values = xcoms(run)
    waited = values[("wait_for_dump", "return_value")]
    assert waited["state"] == "SUCCEEDED"
    summary = values[("summarize_transfer_log", "return_value")]["summary"]
    assert summary["transfer_task_id"] == "CDaRPdvKUfZrAhzTaYs"
    assert summary["periods"] >= 4  # three seeded periods plus at least the one the sensor waited for
    entries = values[("summarize_transfer_log", "return_value")]["entries"]
    assert summary["transfer_records"] == sum(e["transferRecordsNum"] for e in entries)


@pytest.mark.dag
def test_css_log_backup_runs_and_reports_the_record(
    airflow_db: None, huaweicloud_emulator: EmulatorHandle, dagbag: DagBag
) -> None:
    run = run_dag(dagbag, "example_css_log_backup")
    assert run.state == "success", task_states(run)

    values = xcoms(run)
    record_id = values[("backup_css_logs", "record_id")]
    report = values[("report", "return_value")]
    assert report["record_id"] == record_id
    assert report["job_id"] == values[("backup_css_logs", "job_id")]
    assert report["state"] == "SUCCEEDED"
    assert report["log_path"].startswith("css-backup-")
    assert values[("backup_css_logs", "return_value")]["result"]["record_id"] == record_id
    assert [key for task, key in values if task == "report"] == ["return_value"]  # one XCom, not one per key


@pytest.mark.dag
def test_css_log_backup_failure_keeps_the_record_id_and_link(
    airflow_db: None, huaweicloud_emulator: EmulatorHandle, dagbag: DagBag
) -> None:
    huaweicloud_emulator.admin.set_outcome("css", "fail", duration=60)
    run = run_dag(dagbag, "example_css_log_backup")
    assert run.state == "failed"
    assert task_states(run)["backup_css_logs"] == "failed"

    values = xcoms(run)
    assert values[("backup_css_logs", "record_id")]
    assert values[("backup_css_logs", LINK_KEY)].endswith(f"/css/management/clusters/{CLUSTER}/logs")


@pytest.mark.dag
def test_dcs_background_task_runs(airflow_db: None, huaweicloud_emulator: EmulatorHandle, dagbag: DagBag) -> None:
    resources = huaweicloud_emulator.admin.info()["resources"]
    assert "d1347120363c2b310653f610d382729b" in resources["dcs_instances"]["5560df16-cebf-4473-95c4-d1b573c16e79"]
    run = run_dag(dagbag, "example_dcs_background_task")
    assert run.state == "success", task_states(run)

    status = xcoms(run)[("wait_for_background_task", "return_value")]
    assert status["state"] == "SUCCEEDED"
    assert status["task_id"] == "d1347120363c2b310653f610d382729b"


# The scheduled archival pipeline --------------------------------------------------------------
COLLECTIONS = ("collect_edge_logs", "export_server_logs", "backup_css_logs", "locate_dis_files", "collect_dcs_run_logs")


def _archive_root(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """A root of this test's own in the emulator's OBS (its S3 server outlives the resets)."""
    root = f"obs://huaweicloud-log-archive/test-{request.node.name[:40]}"
    monkeypatch.setenv("AIRFLOW_VAR_HUAWEICLOUD_LOG_ARCHIVE_ROOT", root)
    return root


def _manifest(root: str) -> dict[str, Any]:
    import json

    from airflow_provider.objects import path_of

    found = sorted(str(p) for p in path_of(root).rglob("manifest.json"))
    assert len(found) == 1, found
    manifest: dict[str, Any] = json.loads(path_of(found[0]).read_text())
    return manifest


@pytest.mark.dag
def test_log_archival_archives_all_collections_by_date_with_a_manifest(
    airflow_db: None,
    huaweicloud_emulator: EmulatorHandle,
    dagbag: DagBag,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from airflow_provider.objects import path_of

    root = _archive_root(request, monkeypatch)
    huaweicloud_emulator.admin.set_outcome("edge", "partial", duration=5)
    run = run_dag(dagbag, "example_log_archival")

    assert run.state == "success", task_states(run)
    manifest = _manifest(root)
    assert manifest["ok"] is True and manifest["failures"] == []
    entries = {entry["task"]: entry for entry in manifest["collections"]}
    assert set(entries) == {
        "collect_edge_logs",
        "export_server_logs",
        "backup_css_logs",
        "locate_dis_files",
        "collect_dcs_run_logs",
    }
    assert entries["collect_edge_logs"]["state"] == "PARTIALLY_FAILED"  # accepted, and reported
    assert entries["collect_edge_logs"]["failed_nodes"]
    assert entries["backup_css_logs"]["remote_ids"]["cluster_id"] == CLUSTER
    assert len(entries["backup_css_logs"]["files"]) == 5  # the backup's log files in its OBS folder
    assert entries["locate_dis_files"]["remote_ids"]["transfer_task_id"] == "CDaRPdvKUfZrAhzTaYs"
    assert run.logical_date is not None
    day = run.logical_date.strftime("%Y-%m-%d")
    for entry in entries.values():
        assert entry["files"], entry["task"]
        for item in entry["files"]:
            copy = path_of(item["archived_to"])
            assert f"/{day}/" in item["archived_to"]
            data = copy.read_bytes()
            assert (len(data), hashlib.sha256(data).hexdigest()) == (item["bytes"], item["sha256"])
            assert "://" in item["source"] and not item["source"].startswith("file://")
    for task_id in ("collect_edge_logs", "export_server_logs", "collect_dcs_run_logs"):
        with tarfile.open(fileobj=io.BytesIO(path_of(entries[task_id]["files"][0]["archived_to"]).read_bytes())) as tar:
            assert tar.getmembers()
    # MEF reports start and finish; CloudDC only a start (the duration is bounded by when the end was
    # seen, which the sped-up emulator clock cannot be compared with).
    assert entries["collect_edge_logs"]["duration_seconds"] > 0
    assert "duration_seconds" in entries["export_server_logs"]


@pytest.mark.dag
def test_log_archival_fails_loudly_but_still_writes_the_manifest(
    airflow_db: None,
    huaweicloud_emulator: EmulatorHandle,
    dagbag: DagBag,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = _archive_root(request, monkeypatch)
    huaweicloud_emulator.admin.set_outcome("css", "fail", duration=5)
    run = run_dag(dagbag, "example_log_archival")

    assert run.state == "failed"
    states = task_states(run)
    assert states["backup_css_logs"] == "failed"
    assert states["archive"] == "failed"  # raised after writing the manifest, to fail the run loudly
    manifest = _manifest(root)
    assert manifest["ok"] is False
    assert [(f["task"], f["kind"]) for f in manifest["failures"]] == [("backup_css_logs", "collection")]
    entries = {entry["task"]: entry for entry in manifest["collections"]}
    assert entries["backup_css_logs"]["remote_ids"]["record_id"]  # pushed before the wait failed
    assert entries["export_server_logs"]["state"] == "SUCCEEDED"
