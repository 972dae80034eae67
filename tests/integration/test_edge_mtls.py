"""The edge manager hook over HTTPS with mutual TLS, against the emulator's mTLS listener."""

from __future__ import annotations

import json
import logging
import os
import tarfile
from typing import TYPE_CHECKING, Any

import pytest

from airflow_provider.core.errors import TransportError
from airflow_provider.hooks.edge import EdgeManagerHook
from airflow_provider.testing.emulator_runner import run_emulator
from tests.integration.conftest import FAST_RETRY, TIMEOUT, install

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from airflow_provider.emulator.tls import TlsFiles
    from airflow_provider.testing.emulator_runner import EmulatorHandle

pytestmark = pytest.mark.integration

CONN_ID = "edge_manager_default"


@pytest.fixture(scope="module")
def tls_emulator() -> Iterator[EmulatorHandle]:
    with run_emulator(tls=True) as handle:
        yield handle


@pytest.fixture
def mtls(tls_emulator: EmulatorHandle) -> EmulatorHandle:
    tls_emulator.reset()
    tls_emulator.admin.set_speed(1e-9)
    return tls_emulator


def files(handle: EmulatorHandle) -> TlsFiles:
    assert handle.tls_files is not None
    return handle.tls_files


def conn(handle: EmulatorHandle, **extra: Any) -> dict[str, Any]:
    """The printed edge connection (https, client cert/key/ca paths) with fast retries; None drops a key."""
    base: dict[str, Any] = json.loads(handle.edge_conn_json)
    assert base["schema"] == "https"
    merged = {**base["extra"], "retry": dict(FAST_RETRY), "timeout": list(TIMEOUT), **extra}
    base["extra"] = {k: v for k, v in merged.items() if v is not None}
    return base


def dump_and_download(hook: EdgeManagerHook, handle: EmulatorHandle, target: Path) -> Path:
    task_id = hook.create_log_dump_task([1, 2])
    assert hook.get_log_dump_task(task_id).status == "waiting"
    handle.admin.advance(11)
    assert hook.get_log_dump_task(task_id).status == "succeed"
    return hook.download_log_dump(target)


def members(path: Path) -> list[str]:
    with tarfile.open(path, "r:gz") as archive:
        return sorted(archive.getnames())


def test_mtls_with_printed_cert_paths(mtls: EmulatorHandle, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    install(monkeypatch, conn(mtls), CONN_ID)
    assert mtls.edge_url.startswith("https://")
    with EdgeManagerHook() as hook:
        path = dump_and_download(hook, mtls, tmp_path)
    assert members(path) == ["edge-node-1.log", "edge-node-2.log"]
    assert all(r["service"] == "mef" for r in mtls.admin.requests(service="mef"))
    assert len(mtls.admin.requests(service="mef")) == 4


NO_CERT_BUG = (
    "BUG: without a client certificate, MEF (TLS 1.3) rejects the client after the handshake, so requests/httpx "
    "see 'Remote end closed connection without response' and core/transport.py classify_requests_error "
    "(and async_transport.classify_httpx_error) call it Failure.DISCONNECTED: a read is retried max_attempts "
    "times and reported as 'connection dropped', a start call as 'may have reached the service'; only "
    "sometimes (a race) does an SSLError surface as 'TLS error'. Fix: in connection_config.edge_config / "
    "PemFiles.tls_settings raise ConfigurationError when schema is https and client_cert/client_key are "
    "missing (MEF always requires mTLS), and cap the edge SSL context at TLS 1.2 (MEF documents TLS 1.2) "
    "so a rejected certificate fails inside the handshake as an SSLError -> TransportError('TLS error')."
)


@pytest.mark.xfail(strict=True, reason=NO_CERT_BUG)
def test_mtls_without_client_cert_is_a_clear_tls_error(mtls: EmulatorHandle, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every try, read or start, must fail at once with a TransportError that names TLS."""
    install(monkeypatch, conn(mtls, client_cert=None, client_key=None), CONN_ID)
    messages: list[str] = []
    for attempt in range(6):
        with EdgeManagerHook() as hook, pytest.raises(TransportError) as caught:
            if attempt % 2:
                hook.create_log_dump_task([1])
            else:
                hook.get_log_dump_task("dumpMultiNodesLog.abc")
        assert caught.value.service == "edge"
        messages.append(str(caught.value))
    assert all("TLS" in m and "connection dropped" not in m for m in messages), messages
    assert mtls.admin.requests(service="mef") == []  # refused in the handshake: the app never saw it


def test_mtls_without_client_cert_never_reaches_the_app(mtls: EmulatorHandle, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever the error says, no request without a client certificate gets through, and no task starts."""
    install(monkeypatch, conn(mtls, client_cert=None, client_key=None), CONN_ID)
    with EdgeManagerHook() as hook, pytest.raises(TransportError):
        hook.create_log_dump_task([1])
    assert mtls.admin.requests(service="mef") == []
    install(monkeypatch, conn(mtls), CONN_ID)
    with EdgeManagerHook() as hook:
        hook.create_log_dump_task([1])  # not busy: the refused call started nothing


def test_mtls_with_untrusted_server_ca_is_a_tls_error(mtls: EmulatorHandle, monkeypatch: pytest.MonkeyPatch) -> None:
    # No ca_cert: the system trust store does not know the emulator's CA.
    install(monkeypatch, conn(mtls, ca_cert=None), CONN_ID)
    with EdgeManagerHook() as hook, pytest.raises(TransportError, match="TLS"):
        hook.get_log_dump_task("dumpMultiNodesLog.abc")


def test_mtls_with_inline_pem_and_temp_files_removed(
    mtls: EmulatorHandle, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    tls = files(mtls)
    inline = {
        "client_cert": tls.client_cert.read_text(),
        "client_key": tls.client_key.read_text(),
        "ca_cert": tls.ca_cert.read_text(),
    }
    assert all("-----BEGIN " in v for v in inline.values())
    install(monkeypatch, conn(mtls, **inline), CONN_ID)
    hook = EdgeManagerHook()
    path = dump_and_download(hook, mtls, tmp_path)
    assert members(path) == ["edge-node-1.log", "edge-node-2.log"]
    assert hook._pem is not None
    folder = hook._pem.folder
    assert folder is not None and os.path.isdir(folder)
    assert sorted(os.listdir(folder)) == ["ca_cert.pem", "client_cert.pem", "client_key.pem"]
    assert os.stat(folder).st_mode & 0o777 == 0o700
    assert os.stat(os.path.join(folder, "client_key.pem")).st_mode & 0o777 == 0o600
    hook.close()
    assert not os.path.exists(folder)
    # The hook still works after close(): it writes fresh files and removes them again.
    hook.get_log_dump_task(hook.create_log_dump_task([3]))
    assert hook._pem is not None and hook._pem.folder not in (None, folder)
    again = hook._pem.folder
    hook.close()
    assert again is not None and not os.path.exists(again)


def test_mtls_with_verify_false_logs_a_warning(
    mtls: EmulatorHandle, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    install(monkeypatch, conn(mtls, verify=False, ca_cert=None), CONN_ID)
    with caplog.at_level(logging.WARNING), EdgeManagerHook() as hook:
        task_id = hook.create_log_dump_task([1])
        assert hook.get_log_dump_task(task_id).task_id == task_id
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "verification is DISABLED" in r.message]
    assert len(warnings) == 1
    assert CONN_ID in warnings[0].message
