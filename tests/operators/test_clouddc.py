"""CloudDCLogExportOperator against the emulator's CloudDC log export API."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from typing import TYPE_CHECKING, Any

import pytest
from airflow.sdk.exceptions import AirflowException, TaskDeferred

from airflow_provider.core.errors import ApiError, HuaweiCloudError, InvalidInputError, NotFoundError, TaskFailedError
from airflow_provider.operators.clouddc import CloudDCLogExportOperator
from airflow_provider.operators.links import CONSOLE_URL_KEY
from airflow_provider.triggers.task import HuaweiCloudTaskTrigger
from tests.operators._support import FAST_POLL, FOREVER, finish_now

if TYPE_CHECKING:
    from pathlib import Path

    from airflow.sdk import Context

    from airflow_provider.testing.emulator_runner import EmulatorHandle
    from tests.operators._support import XComRecorder

SERVER = "a3b1c2d4-0000-4e5f-8a9b-emulator0001"
ARCHIVE = f"{SERVER}-dump.tar.gz"
CONTENT_GLOB = "/v1/*/physicalservers/*/logs/exports/*/content"


def export_op(**kwargs: Any) -> CloudDCLogExportOperator:
    options: dict[str, Any] = {"task_id": "export", "server_id": SERVER, "deferrable": False, **FAST_POLL}
    options.update(kwargs)
    return CloudDCLogExportOperator(**options)


def tar_names(data: bytes) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        return sorted(member.name for member in archive.getmembers() if member.isfile())


@pytest.mark.parametrize(("percentage", "export_id"), [("string", "sequential"), ("int", "uuid")])
def test_success_pushes_ids_first_and_downloads_into_a_folder(
    emulator: EmulatorHandle, context: Context, ti: XComRecorder, tmp_path: Path, percentage: str, export_id: str
) -> None:
    # percentage: String "30%" (SDK, docs) or Integer (one doc version); export_id "1" (the
    # example) or opaque: the operator reads either.
    emulator.admin.set_quirks(clouddc_percentage=percentage, clouddc_export_id=export_id)
    emulator.admin.set_outcome("clouddc", "succeed", duration=2)
    result = export_op(download_to=f"{tmp_path}/exports/").execute(context)

    assert ti.keys == ["server_id", "export_id", CONSOLE_URL_KEY]
    export_id = ti.value("export_id")
    assert ti.value("server_id") == SERVER
    assert ti.value(CONSOLE_URL_KEY) == (
        f"https://console.huaweicloud.com/clouddc/?region=cn-north-4#/clouddc/physicalservers/{SERVER}"
    )
    assert result["state"] == "SUCCEEDED"
    assert result["task_id"] == export_id
    assert result["progress"] == 100.0
    json.dumps(result)

    target = tmp_path / "exports" / ARCHIVE
    data = target.read_bytes()
    assert result["download"] == {
        "location": str(target),
        "bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    assert tar_names(data) == [f"{SERVER}-bmc.log"]


def test_download_to_an_explicit_file_name(emulator: EmulatorHandle, context: Context, tmp_path: Path) -> None:
    emulator.admin.set_outcome("clouddc", "succeed", duration=1)
    result = export_op(download_to=str(tmp_path / "bmc" / "server.tgz")).execute(context)
    assert result["download"]["location"] == str(tmp_path / "bmc" / "server.tgz")
    assert tar_names((tmp_path / "bmc" / "server.tgz").read_bytes()) == [f"{SERVER}-bmc.log"]


def test_download_to_memory_object_storage(emulator: EmulatorHandle, memory_fs: Any, context: Context) -> None:
    emulator.admin.set_outcome("clouddc", "succeed", duration=1)
    result = export_op(download_to="memory://clouddc-ok/2024-05-01/").execute(context)

    assert result["download"]["location"] == f"memory://clouddc-ok/2024-05-01/{ARCHIVE}"
    data = memory_fs.cat_file(f"/clouddc-ok/2024-05-01/{ARCHIVE}")
    assert result["download"]["sha256"] == hashlib.sha256(data).hexdigest()
    assert result["download"]["bytes"] == len(data)
    assert tar_names(data) == [f"{SERVER}-bmc.log"]


def test_interrupted_download_leaves_nothing_at_either_destination(
    emulator: EmulatorHandle, memory_fs: Any, context: Context, tmp_path: Path
) -> None:
    emulator.admin.set_outcome("clouddc", "succeed", duration=1)
    emulator.admin.set_outcome("clouddc", "succeed", duration=1)
    emulator.admin.add_fault("reset_mid_body", path_glob=CONTENT_GLOB, count=40)
    with pytest.raises(HuaweiCloudError):
        export_op(download_to=f"{tmp_path}/").execute(context)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(HuaweiCloudError):
        export_op(download_to="memory://clouddc-cut/run/").execute(context)
    assert memory_fs.find("/clouddc-cut") == []


def test_failed_export_raises_after_pushing_the_ids(
    emulator: EmulatorHandle, context: Context, ti: XComRecorder, tmp_path: Path
) -> None:
    emulator.admin.set_outcome("clouddc", "fail", duration=1)
    with pytest.raises(TaskFailedError, match="failed") as caught:
        export_op(download_to=f"{tmp_path}/").execute(context)
    assert caught.value.task_id == ti.value("export_id")
    assert caught.value.service == "clouddc"
    assert caught.value.status["raw_status"] == "failed"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("errors", ["404", "500"])
def test_unknown_server_is_not_found_and_nothing_is_pushed(
    emulator: EmulatorHandle, context: Context, ti: XComRecorder, errors: str
) -> None:
    # The docs give no answer for an unknown server: a 404, or the one documented error body (500).
    emulator.admin.set_quirks(clouddc_errors=errors)
    expected = NotFoundError if errors == "404" else ApiError
    with pytest.raises(expected, match="physical server") as caught:
        export_op(server_id="00000000-0000-4000-8000-000000000000").execute(context)
    assert caught.value.status == int(errors)
    assert ti.pushed == []


def test_wait_timeout_raises_after_the_ids_were_pushed(
    emulator: EmulatorHandle, context: Context, ti: XComRecorder
) -> None:
    emulator.admin.set_outcome("clouddc", "succeed", duration=1e6)
    with pytest.raises(AirflowException, match="after waiting"):
        export_op(timeout=0.3).execute(context)
    assert ti.value("export_id")


def test_wait_for_completion_false_returns_the_running_status(
    emulator: EmulatorHandle, context: Context, ti: XComRecorder, tmp_path: Path
) -> None:
    emulator.admin.set_outcome("clouddc", "succeed", duration=1e6)
    with pytest.raises(InvalidInputError, match="download_to"):
        export_op(wait_for_completion=False, download_to=f"{tmp_path}/")
    result = export_op(wait_for_completion=False).execute(context)
    assert result["state"] == "RUNNING"
    assert result["raw_status"] == "Running"
    assert result["task_id"] == ti.value("export_id")
    assert list(tmp_path.iterdir()) == []


def test_deferrable_defers_with_both_ids_and_no_secret(
    emulator: EmulatorHandle, context: Context, ti: XComRecorder
) -> None:
    emulator.admin.set_outcome("clouddc", "succeed", duration=1e6)
    with pytest.raises(TaskDeferred) as caught:
        export_op(deferrable=True, timeout=900).execute(context)
    trigger = caught.value.trigger
    assert isinstance(trigger, HuaweiCloudTaskTrigger)
    _, kwargs = trigger.serialize()
    assert kwargs["service"] == "clouddc"
    assert kwargs["conn_id"] == "huaweicloud_default"
    assert kwargs["ids"] == {"server_id": SERVER, "export_id": ti.value("export_id")}
    assert caught.value.timeout is not None
    assert caught.value.timeout.total_seconds() == 900
    text = json.dumps(kwargs)
    assert emulator.identities.secret_key not in text
    assert emulator.identities.access_key not in text


@pytest.mark.parametrize("percentage", ["string", "int"])
async def test_deferred_run_end_to_end_downloads_after_the_event(
    emulator: EmulatorHandle, context: Context, ti: XComRecorder, tmp_path: Path, percentage: str
) -> None:
    emulator.admin.set_quirks(clouddc_percentage=percentage)
    emulator.admin.set_outcome("clouddc", "succeed", duration=FOREVER)
    op = export_op(deferrable=True, download_to=f"{tmp_path}/")
    with pytest.raises(TaskDeferred) as caught:
        op.execute(context)
    finish_now(emulator.admin, "clouddc", ti.value("export_id"))
    events = [event async for event in caught.value.trigger.run()]
    assert [e.payload["status"] for e in events] == ["success"]
    assert events[0].payload["task_id"] == ti.value("export_id")

    result = op.execute_complete(context, events[0].payload)
    assert result["state"] == "SUCCEEDED"
    assert tar_names((tmp_path / ARCHIVE).read_bytes()) == [f"{SERVER}-bmc.log"]


async def test_deferred_failure_event_raises_task_failed(
    emulator: EmulatorHandle, context: Context, ti: XComRecorder, tmp_path: Path
) -> None:
    emulator.admin.set_outcome("clouddc", "succeed", duration=FOREVER)
    op = export_op(deferrable=True, download_to=f"{tmp_path}/")
    with pytest.raises(TaskDeferred) as caught:
        op.execute(context)
    finish_now(emulator.admin, "clouddc", ti.value("export_id"), "fail")
    events = [event async for event in caught.value.trigger.run()]
    assert [e.payload["status"] for e in events] == ["failed"]
    with pytest.raises(TaskFailedError) as failed:
        op.execute_complete(context, events[0].payload)
    assert failed.value.task_id == ti.value("export_id")
    assert list(tmp_path.iterdir()) == []


def test_execute_complete_timeout_and_error_events(context: Context) -> None:
    ids = {"server_id": SERVER, "export_id": "7"}
    base = {"service": "clouddc", "task_id": "7", "ids": ids, "task_status": None}
    with pytest.raises(AirflowException, match="deadline reached"):
        export_op().execute_complete(context, {**base, "status": "timeout", "message": "deadline reached"})
    with pytest.raises(HuaweiCloudError, match="7: HTTP 500"):
        export_op().execute_complete(context, {**base, "status": "error", "message": "HTTP 500"})
