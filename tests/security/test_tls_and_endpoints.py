"""TLS verification on by default, custom CA bundles, ``verify: false`` warns; client keys on disk
only 0600 and only while needed; endpoints only from the connection (no SSRF through DAG params)."""

from __future__ import annotations

import inspect
import json
import logging
import os
import stat
from typing import TYPE_CHECKING, Any, cast

import pytest
from airflow.sdk import Connection

from airflow_provider.core.errors import HuaweiCloudError, InvalidInputError, TransportError
from airflow_provider.hooks.connection_config import cloud_config, edge_config
from airflow_provider.hooks.edge import EdgeManagerHook
from airflow_provider.hooks.pem_files import PemFiles
from airflow_provider.operators.clouddc import CloudDCLogExportOperator
from airflow_provider.operators.css import CssLogBackupOperator
from airflow_provider.operators.dis import DisTransferTaskLogOperator
from airflow_provider.operators.edge import EdgeLogDumpOperator
from airflow_provider.sensors.clouddc import CloudDCLogExportSensor
from airflow_provider.sensors.css import CssLogBackupSensor
from airflow_provider.sensors.dcs import DcsBackgroundTaskSensor
from airflow_provider.sensors.dis import DisTransferTaskSensor
from airflow_provider.sensors.edge import EdgeLogDumpSensor
from tests.security.conftest import FAST

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider.testing.emulator_runner import EmulatorHandle

pytestmark = pytest.mark.integration

ALL = (
    CloudDCLogExportOperator,
    CssLogBackupOperator,
    DisTransferTaskLogOperator,
    EdgeLogDumpOperator,
    CloudDCLogExportSensor,
    CssLogBackupSensor,
    DcsBackgroundTaskSensor,
    DisTransferTaskSensor,
    EdgeLogDumpSensor,
)


def edge(emulator: EmulatorHandle, **extra: Any) -> Connection:
    conn = json.loads(emulator.edge_conn_json)
    conn["extra"] = {k: v for k, v in {**conn["extra"], **FAST, **extra}.items() if v is not None}
    return Connection.from_json(json.dumps(conn), conn_id="edge_manager_default")


def probe_edge(emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch, conn: Connection) -> Any:
    monkeypatch.setenv("AIRFLOW_CONN_EDGE_MANAGER_DEFAULT", conn.as_json())
    emulator.admin.set_outcome("edge", "succeed", duration=0)
    dump = emulator.admin.create_task("edge", nodes=[1])
    with EdgeManagerHook() as hook:
        return hook.get_log_dump_task(dump)


# TLS ------------------------------------------------------------------------------------------------
def test_verification_is_on_by_default_everywhere() -> None:
    cloud = Connection(conn_id="c", conn_type="huaweicloud", login="AK", password="SK", extra="{}")
    assert cloud_config(cloud).tls.verify is True
    mef = Connection(conn_id="e", conn_type="huawei_edge_manager", host="mef.example", extra="{}")
    assert edge_config(mef).verify is True
    assert PemFiles(edge_config(mef)).tls_settings().verify is True


def test_a_server_certificate_from_an_unknown_ca_is_refused(
    emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the emulator's CA (only the client certificate), the default verification rejects it."""
    with pytest.raises(TransportError, match="TLS error") as info:
        probe_edge(emulator, monkeypatch, edge(emulator, ca_cert=None))
    assert "CERTIFICATE_VERIFY_FAILED" in str(info.value).upper() or "certificate" in str(info.value).lower()


def test_a_custom_ca_bundle_works(emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch) -> None:
    files = emulator.tls_files
    assert files is not None
    task = probe_edge(emulator, monkeypatch, edge(emulator, ca_cert=None, verify=str(files.ca_cert)))
    assert task.status == "succeed"


def test_verify_false_warns(
    emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    task = probe_edge(emulator, monkeypatch, edge(emulator, ca_cert=None, verify=False))
    assert task.status == "succeed"
    assert "verification is DISABLED" in caplog.text
    caplog.clear()
    cloud = Connection(conn_id="c", conn_type="huaweicloud", login="AK", password="SK", extra='{"verify": false}')
    assert cloud_config(cloud).tls.verify is False
    assert "verification is DISABLED" in caplog.text


# client keys on disk ----------------------------------------------------------------------------------
def test_inline_client_key_is_written_0600_in_a_0700_folder_and_removed(emulator: EmulatorHandle) -> None:
    files = emulator.tls_files
    assert files is not None
    conn = edge(
        emulator,
        client_cert=files.client_cert.read_text(),
        client_private_key=files.client_key.read_text(),
        ca_cert=files.ca_cert.read_text(),
    )
    pem = PemFiles(edge_config(conn))
    tls = pem.tls_settings()
    assert tls.client_key is not None and pem.folder is not None
    assert stat.S_IMODE(os.stat(tls.client_key).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(pem.folder).st_mode) == 0o700
    assert open(tls.client_key).read() == files.client_key.read_text()  # noqa: SIM115
    folder = pem.folder
    pem.close()
    assert not os.path.exists(folder)


def test_the_hook_removes_its_key_files_when_closed(emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch) -> None:
    files = emulator.tls_files
    assert files is not None
    conn = edge(
        emulator,
        client_cert=files.client_cert.read_text(),
        client_private_key=files.client_key.read_text(),
        ca_cert=files.ca_cert.read_text(),
    )
    monkeypatch.setenv("AIRFLOW_CONN_EDGE_MANAGER_DEFAULT", conn.as_json())
    emulator.admin.set_outcome("edge", "succeed", duration=0)
    dump = emulator.admin.create_task("edge", nodes=[1])
    hook = EdgeManagerHook()
    assert hook.get_log_dump_task(dump).status == "succeed"
    key = hook.transport.settings.tls.client_key
    assert key is not None and os.path.exists(key)
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    hook.close()
    assert not os.path.exists(key)


# endpoints only from the connection ---------------------------------------------------------------------
ENDPOINT_WORDS = ("endpoint", "url", "host", "base", "iam", "proxy", "verify", "conn_extra")


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_no_endpoint_argument_and_no_templated_endpoint(cls: type) -> None:
    params = set(inspect.signature(cls.__init__).parameters)  # type: ignore[misc]
    fields = set(cls.template_fields)  # type: ignore[attr-defined]
    for name in params | fields:
        assert not any(word in name.lower() for word in ENDPOINT_WORDS if name != "download_to"), name


@pytest.mark.parametrize("cls", [CssLogBackupSensor, CssLogBackupOperator], ids=lambda c: c.__name__)
def test_an_endpoint_passed_as_an_argument_is_refused(cls: type) -> None:
    from airflow.sdk.exceptions import AirflowException

    with pytest.raises((TypeError, AirflowException)):
        cls(task_id="x", cluster_id="c", endpoint_url="http://169.254.169.254/")


@pytest.mark.parametrize(
    "cluster_id",
    [
        "http://169.254.169.254/latest",
        "@169.254.169.254",
        "../../../v3/auth/tokens",
        "c?x=1#",
        "%2e%2e%2f",
        "c\r\nHost: evil",
    ],
)
def test_a_templated_id_cannot_change_where_requests_go(
    emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch, cluster_id: str
) -> None:
    """An id rendered from DAG params is a path segment at most: refused, or percent-encoded, and the
    request still goes to the connection's host."""
    conn = json.loads(emulator.huaweicloud_conn_json)
    conn["extra"].update(FAST)
    monkeypatch.setenv("AIRFLOW_CONN_HUAWEICLOUD_DEFAULT", json.dumps(conn))
    emulator.admin.clear_requests()
    sensor = CssLogBackupSensor(task_id="s", cluster_id=cluster_id, record_id="r", poke_interval=0.2, timeout=5)
    with pytest.raises(HuaweiCloudError) as info:
        sensor.poke(cast("Context", {}))
    sent = emulator.admin.requests()
    if isinstance(info.value, InvalidInputError):
        assert info.value.field == "cluster_id"
        assert sent == []  # refused before anything was sent
    else:  # a harmless segment: encoded, sent to the connection's host, answered by its CSS API
        assert "CSS.0015" in str(info.value)
        assert [r["path"] for r in sent] == [f"/v1.0/{emulator.project_id}/clusters/{cluster_id}/logs/records"]
