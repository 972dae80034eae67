"""Outlets and lineage: what a run produced reaches its asset events and its OpenLineage facets.

``obs://`` is registered with Airflow through the provider info (``asset-uris``), so Airflow
normalizes OBS asset URIs and the OpenLineage provider (installed in dev) names them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import pytest
from airflow.sdk import Asset, AssetAlias
from airflow.sdk.execution_time.context import OutletEventAccessors

from airflow_provider.operators.clouddc import CloudDCLogExportOperator
from airflow_provider.operators.css import CssLogBackupOperator
from tests.operators._support import FAST_POLL

if TYPE_CHECKING:
    from pathlib import Path

    from airflow.sdk import Context

    from airflow_provider.testing.emulator_runner import EmulatorHandle
    from tests.operators._support import XComRecorder

CLUSTER = "4213d908-f5dc-4633-8401-cfd7175fca0c"
SERVER = "a3b1c2d4-0000-4e5f-8a9b-emulator0001"
CSS_BACKUPS = Asset(name="css_backups", uri="obs://css-log-backup/css/log")
CSS_FOLDERS = AssetAlias(name="css_backup_folders")


@pytest.fixture
def outlet_context(ti: XComRecorder) -> tuple[Context, OutletEventAccessors]:
    events = OutletEventAccessors()
    return cast("Context", {"ti": ti, "outlet_events": events}), events


def test_obs_asset_uris_are_normalized_by_the_provider_s_handler() -> None:
    asset = Asset(uri="obs://css-log-backup/css/log/")
    assert asset.uri == "obs://css-log-backup/css/log"
    assert asset.normalized_uri == "obs://css-log-backup/css/log"  # None without a registered handler
    with pytest.raises(ValueError, match="Invalid bucket='Not_A_Bucket'"):
        Asset(uri="obs://Not_A_Bucket/key")


def test_openlineage_names_an_obs_asset_by_bucket_and_key() -> None:
    from airflow.providers.openlineage.utils.utils import translate_airflow_asset

    dataset = translate_airflow_asset(Asset(uri="obs://css-log-backup/css/log/b1"), None)
    assert dataset is not None
    assert (dataset.namespace, dataset.name) == ("obs://css-log-backup", "css/log/b1")


def test_css_backup_fills_its_outlets_and_its_lineage(
    emulator: EmulatorHandle, outlet_context: tuple[Context, OutletEventAccessors]
) -> None:
    context, events = outlet_context
    emulator.admin.set_outcome("css", "succeed", duration=2)
    op = CssLogBackupOperator(
        task_id="backup",
        cluster_id=CLUSTER,
        deferrable=False,
        outlets=[CSS_BACKUPS, CSS_FOLDERS],
        **FAST_POLL,
    )
    result = op.execute(context)
    record_id, log_path = result["result"]["record_id"], result["result"]["log_path"]
    folder = f"obs://css-log-backup/{log_path}/"

    extra = events[CSS_BACKUPS].extra
    assert extra["service"] == "css" and extra["state"] == "SUCCEEDED"
    assert extra["remote_ids"] == {"cluster_id": CLUSTER, "record_id": record_id}
    assert extra["uri"] == folder and extra["log_path"] == log_path and extra["record_id"] == record_id
    assert extra["objects_total"] == 1
    [alias_event] = events[CSS_FOLDERS].asset_alias_events
    assert alias_event.dest_asset_key.uri == Asset(uri=folder).uri
    assert alias_event.extra["record_id"] == record_id

    lineage = op.get_openlineage_facets_on_complete(None)
    [source] = lineage.inputs
    assert source.namespace == "huaweicloud://css"
    assert source.name == f"cluster_id={CLUSTER}/record_id={record_id}"
    [target] = lineage.outputs
    assert (target.namespace, target.name) == ("obs://css-log-backup", log_path + "/")


def test_a_download_is_an_asset_event_with_its_bytes_and_sha256(
    emulator: EmulatorHandle, outlet_context: tuple[Context, OutletEventAccessors], tmp_path: Path
) -> None:
    import hashlib

    context, events = outlet_context
    archives = Asset(name="server_logs", uri=f"file://{tmp_path}/archives")
    emulator.admin.set_outcome("clouddc", "succeed", duration=2)
    op = CloudDCLogExportOperator(
        task_id="export",
        server_id=SERVER,
        download_to=f"{tmp_path}/archives/",
        deferrable=False,
        outlets=[archives],
        **FAST_POLL,
    )
    result = op.execute(context)
    location = result["download"]["location"]
    extra: dict[str, Any] = events[archives].extra
    with open(location, "rb") as handle:
        content = handle.read()
    assert extra["uri"] == f"file://{location}"
    assert extra["bytes"] == len(content)
    assert extra["sha256"] == hashlib.sha256(content).hexdigest()
    assert extra["remote_ids"]["export_id"] == result["task_id"]
    [target] = op.get_openlineage_facets_on_complete(None).outputs
    assert (target.namespace, target.name) == ("file", location)


def test_without_outlets_css_is_asked_for_the_bucket_only_when_openlineage_asks(
    emulator: EmulatorHandle, context: Context
) -> None:
    emulator.admin.set_outcome("css", "succeed", duration=2)
    emulator.admin.clear_requests()
    op = CssLogBackupOperator(task_id="backup", cluster_id=CLUSTER, deferrable=False, **FAST_POLL)
    op.execute(context)

    def settings_calls() -> int:
        return sum(1 for r in emulator.admin.requests() if r["path"].endswith("/logs/settings"))

    assert settings_calls() == 0
    [target] = op.get_openlineage_facets_on_complete(None).outputs
    assert target.namespace == "obs://css-log-backup"
    assert settings_calls() == 1
    assert op._hook is None  # the hook made for the question is closed again


def test_the_log_bucket_is_read_once_per_hook(emulator: EmulatorHandle) -> None:
    """Before, a backup that located its files and filled its outlets read the log settings twice."""
    from airflow_provider.hooks.css import CssHook

    emulator.admin.clear_requests()
    hook = CssHook()
    try:
        assert hook.get_log_bucket(CLUSTER) == hook.get_log_bucket(CLUSTER) == "css-log-backup"
    finally:
        hook.close()
    assert sum(1 for r in emulator.admin.requests() if r["path"].endswith("/logs/settings")) == 1


def test_a_dis_wait_s_outlet_event_lists_the_periods_it_found(
    emulator: EmulatorHandle, outlet_context: tuple[Context, OutletEventAccessors]
) -> None:
    from airflow_provider.sensors.dis import DisTransferTaskSensor

    context, events = outlet_context
    periods = Asset(name="dis_periods", uri="obs://dis-dump/emulator-obs-task")
    sensor = DisTransferTaskSensor(
        task_id="wait", transfer_task_id="CDaRPdvKUfZrAhzTaYs", outlets=[periods], poke_interval=0.1, timeout=30
    )
    result = sensor.execute(context)
    extra: dict[str, Any] = events[periods].extra
    found = result["result"]
    assert extra["periods"] == found["periods"] and extra["periods"]
    assert extra["total_records"] == sum(p["records"] for p in found["periods"]) > 0
    assert extra["file_names"] == found["file_names"]
    assert extra["remote_ids"]["transfer_task_id"] == "CDaRPdvKUfZrAhzTaYs"
