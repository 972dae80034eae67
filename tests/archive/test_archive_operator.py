"""LogArchiveOperator: remote objects into a dated run folder, a manifest written last, failures recorded."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, cast

import pytest

from airflow_provider.core.errors import HuaweiCloudError, InvalidInputError
from airflow_provider.operators.archive import LogArchiveOperator
from tests.operators._support import StateStore

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider.testing.emulator_runner import EmulatorHandle

BUCKET = "huaweicloud-log-archive"
RUN_ID = "scheduled__2026-12-01T00:00:00+00:00"
EDGE = b"edge archive bytes" * 1000
CSS_FILES = {"css-1.log": b"run log\n" * 50, "css-1_access.log": b"access\n" * 20}


@dataclass
class PullingTi:
    """``context["ti"]`` of the archive task: serves the collection tasks' XComs."""

    xcoms: dict[tuple[str, str], Any]
    max_tries: int = 1
    try_number: int = 1
    pulled: list[tuple[str, str]] = field(default_factory=list)

    def xcom_pull(self, task_ids: str, key: str = "return_value") -> Any:
        self.pulled.append((task_ids, key))
        return self.xcoms.get((task_ids, key))


def _status(service: str, remote_id: str, artifacts: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "service": service,
        "task_id": remote_id,
        "state": "SUCCEEDED",
        "started_at": "2026-12-01T00:00:00Z",
        "finished_at": "2026-12-01T00:02:00Z",
        "result": {},
        "artifacts": artifacts,
    }


@pytest.fixture
def staged(s3: Any) -> dict[tuple[str, str], Any]:
    """What two collections left: a downloaded archive in staging, and CSS backup objects in place."""
    s3.put_object(Bucket=BUCKET, Key="staging/run1/edgeNodes.tar.gz", Body=EDGE)
    for name, body in CSS_FILES.items():
        s3.put_object(Bucket=BUCKET, Key=f"css-backup-1/css/log/{name}", Body=body)
    edge = {
        "url": f"obs://{BUCKET}/staging/run1/edgeNodes.tar.gz",
        "name": "edgeNodes.tar.gz",
        "bytes": len(EDGE),
        "sha256": hashlib.sha256(EDGE).hexdigest(),
    }
    css = [
        {"url": f"obs://{BUCKET}/css-backup-1/css/log/{n}", "name": n, "bytes": len(b)} for n, b in CSS_FILES.items()
    ]
    return {
        ("collect_edge_logs", "return_value"): _status("edge", "dumpMultiNodesLog.1", [edge]),
        ("collect_edge_logs", "dump_task_id"): "dumpMultiNodesLog.1",
        ("backup_css_logs", "return_value"): _status("css", "rec-1", css),
        ("backup_css_logs", "record_id"): "rec-1",
    }


def _context(ti: PullingTi, store: StateStore) -> Context:
    return cast(
        "Context",
        {"ti": ti, "task_state_store": store, "dag": SimpleNamespace(dag_id="archival"), "run_id": RUN_ID},
    )


def _operator(root: str) -> LogArchiveOperator:
    return LogArchiveOperator(
        task_id="archive",
        archive_root=f"obs://{BUCKET}/{root}",
        collections={"collect_edge_logs": "edge node logs", "backup_css_logs": "CSS cluster logs"},
        run_folder="2026-12-01/" + RUN_ID,
    )


def _manifest(s3: Any, folder: str) -> dict[str, Any]:
    return cast(
        "dict[str, Any]", json.loads(s3.get_object(Bucket=BUCKET, Key=f"{folder}/manifest.json")["Body"].read())
    )


RUN_FOLDER = "2026-12-01/scheduled__2026-12-01T00_00_00_00_00"


@pytest.fixture
def root(request: pytest.FixtureRequest) -> str:
    """A root of this test's own: the S3 server outlives the emulator's resets."""
    return f"archive-{request.node.name[:40]}"


def test_archives_every_collection_into_the_run_folder_with_a_manifest(
    emulator: EmulatorHandle, s3: Any, staged: dict[tuple[str, str], Any], root: str
) -> None:
    folder = f"{root}/{RUN_FOLDER}"
    result = _operator(root).execute(_context(PullingTi(staged), StateStore()))
    assert result["folder"] == f"obs://{BUCKET}/{folder}"
    edge_copy = s3.get_object(Bucket=BUCKET, Key=f"{folder}/collect_edge_logs/edgeNodes.tar.gz")["Body"].read()
    assert edge_copy == EDGE
    manifest = _manifest(s3, folder)
    assert manifest["ok"] is True and manifest["failures"] == []
    assert manifest["files"] == 3 and manifest["bytes"] == len(EDGE) + sum(map(len, CSS_FILES.values()))
    by_task = {entry["task"]: entry for entry in manifest["collections"]}
    assert by_task["collect_edge_logs"]["remote_ids"] == {
        "dump_task_id": "dumpMultiNodesLog.1",
        "task_id": "dumpMultiNodesLog.1",
    }
    assert by_task["backup_css_logs"]["duration_seconds"] == 120
    css_files = {item["name"]: item for item in by_task["backup_css_logs"]["files"]}
    for name, body in CSS_FILES.items():
        assert css_files[name]["sha256"] == hashlib.sha256(body).hexdigest()
        assert css_files[name]["source"] == f"obs://{BUCKET}/css-backup-1/css/log/{name}"
        assert css_files[name]["archived_to"] == f"obs://{BUCKET}/{folder}/backup_css_logs/{name}"


def test_a_failed_copy_is_in_the_manifest_leaves_no_object_and_the_retry_copies_only_the_rest(
    emulator: EmulatorHandle, s3: Any, staged: dict[tuple[str, str], Any], root: str
) -> None:
    folder = f"{root}/{RUN_FOLDER}"
    store = StateStore()
    edge = staged[("collect_edge_logs", "return_value")]["artifacts"][0]
    edge["sha256"] = "f" * 64  # the staged object is not what the collection measured
    with pytest.raises(HuaweiCloudError, match="collect_edge_logs"):
        _operator(root).execute(_context(PullingTi(staged), store))
    manifest = _manifest(s3, folder)
    assert manifest["ok"] is False
    assert [(f["task"], f["kind"]) for f in manifest["failures"]] == [("collect_edge_logs", "copy")]
    assert "sha256" in manifest["failures"][0]["error"]
    assert s3.list_objects_v2(Bucket=BUCKET, Prefix=f"{folder}/collect_edge_logs/").get("KeyCount") == 0

    edge["sha256"] = hashlib.sha256(EDGE).hexdigest()  # the retry (same attempt series) finds it right
    _operator(root).execute(_context(PullingTi(staged, try_number=2), store))
    manifest = _manifest(s3, folder)
    assert manifest["ok"] is True
    files = {item["name"]: item for entry in manifest["collections"] for item in entry["files"]}
    assert files["edgeNodes.tar.gz"].get("reused") is None  # copied now
    assert all(files[name].get("reused") is True for name in CSS_FILES)  # committed by try 1


def test_a_failed_collection_is_recorded_and_fails_the_task(
    emulator: EmulatorHandle, s3: Any, staged: dict[tuple[str, str], Any], root: str
) -> None:
    folder = f"{root}/{RUN_FOLDER}"
    from airflow.sdk.exceptions import AirflowFailException

    del staged[("backup_css_logs", "return_value")]
    with pytest.raises(AirflowFailException, match="backup_css_logs"):
        _operator(root).execute(_context(PullingTi(staged), StateStore()))
    manifest = _manifest(s3, folder)
    css = next(entry for entry in manifest["collections"] if entry["task"] == "backup_css_logs")
    assert css["state"] == "FAILED" and css["remote_ids"] == {"record_id": "rec-1"}
    assert manifest["files"] == 1  # the edge archive is archived all the same


def test_a_local_path_is_refused_by_name(
    emulator: EmulatorHandle, s3: Any, staged: dict[tuple[str, str], Any], root: str
) -> None:
    staged[("collect_edge_logs", "return_value")]["artifacts"] = [{"url": "/tmp/staging/edgeNodes.tar.gz"}]
    with pytest.raises(HuaweiCloudError, match=r"collect_edge_logs\.artifacts\.url.*/tmp/staging"):
        _operator(root).execute(_context(PullingTi(staged), StateStore()))


def test_the_archive_root_must_be_a_url() -> None:
    operator = LogArchiveOperator(task_id="a", archive_root="/var/archive", collections={"c": "logs"})
    with pytest.raises(InvalidInputError, match="archive_root"):
        operator.execute(cast("Context", {"ti": PullingTi({}), "run_id": "r", "dag": None}))


def test_the_default_run_folder_is_the_logical_date() -> None:
    from airflow.sdk import DAG

    with DAG("d", schedule=None, start_date=datetime(2026, 1, 1, tzinfo=timezone.utc)):
        operator = LogArchiveOperator(task_id="a", archive_root="obs://b/r", collections={"c": "logs"})
    day = datetime(2026, 12, 1, 3, tzinfo=timezone.utc)
    scheduled: Any = {"dag_run": SimpleNamespace(logical_date=day, run_after=day.replace(day=2)), "run_id": RUN_ID}
    manual: Any = {"dag_run": SimpleNamespace(logical_date=None, run_after=day.replace(day=2)), "run_id": "manual"}
    assert operator.render_template(operator.run_folder, scheduled) == f"2026-12-01/{RUN_ID}"
    assert operator.render_template(operator.run_folder, manual) == "2026-12-02/manual"
