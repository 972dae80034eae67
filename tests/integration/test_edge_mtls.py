"""The edge manager hook over HTTPS with mutual TLS, against the emulator's mTLS listener."""

from __future__ import annotations

import json
import logging
import os
import tarfile
from typing import TYPE_CHECKING, Any

import pytest

from airflow_provider.core.errors import ConfigurationError, TransportError
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
    assert all(r["service"] == "edge" for r in mtls.admin.requests(service="edge"))
    assert len(mtls.admin.requests(service="edge")) == 4


ASYNC_NO_CERT_BUG = (
    "BUG: core/async_transport.py:97-100 classify_httpx_error tests `'SSL' in str(exc)` on httpx.ConnectError, but a "
    "failed TLS handshake's ConnectError can have an empty/neutral message (the ssl.SSLError is only in "
    "__cause__/__context__), so it is classified Failure.CONNECT: retried max_attempts times and reported as "
    "'connection refused or unreachable'. Fix: walk exc.__cause__/__context__ for ssl.SSLError (or "
    "ssl.SSLCertVerificationError) and return None (not retryable) so send() raises TransportError naming TLS."
)


def _no_cert_conn(handle: EmulatorHandle) -> dict[str, Any]:
    return conn(handle, client_cert=None, client_private_key=None)


def test_mtls_without_client_cert_is_a_clear_tls_error(mtls: EmulatorHandle, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every try, read or start, fails with an error that names TLS (a TransportError, or a
    ConfigurationError before anything is sent), never as a dropped connection. Regression: before
    81ecee4 (TLS 1.2 cap) this was 'connection dropped', retried for reads."""
    install(monkeypatch, _no_cert_conn(mtls), CONN_ID)
    messages: list[str] = []
    for attempt in range(6):
        with EdgeManagerHook() as hook, pytest.raises((TransportError, ConfigurationError)) as caught:
            if attempt % 2:
                hook.create_log_dump_task([1])
            else:
                hook.get_log_dump_task("dumpMultiNodesLog.abc")
        messages.append(str(caught.value))
    assert all("TLS" in m and "connection dropped" not in m for m in messages), messages
    assert mtls.admin.requests(service="edge") == []  # refused in the handshake: the app never saw it


def test_mtls_without_client_cert_async_is_a_clear_tls_error(
    mtls: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.sdk import Connection

    from airflow_provider.hooks.connection_config import edge_config
    from airflow_provider.hooks.pem_files import PemFiles
    from airflow_provider.services import edge
    from tests.integration.conftest import run_async

    config = edge_config(Connection.from_json(json.dumps(_no_cert_conn(mtls)), conn_id=CONN_ID))
    with pytest.raises((TransportError, ConfigurationError)) as caught:
        settings = config.transport_settings(PemFiles(config).tls_settings())
        run_async(edge.get_dump_task("dumpMultiNodesLog.abc"), settings)
    message = str(caught.value)
    assert "TLS" in message or "SSL" in message, message
    assert "refused" not in message and "connection dropped" not in message, message


def test_mtls_without_client_cert_never_reaches_the_app(mtls: EmulatorHandle, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever the error says, no request without a client certificate gets through, and no task starts."""
    install(monkeypatch, _no_cert_conn(mtls), CONN_ID)
    with EdgeManagerHook() as hook, pytest.raises((TransportError, ConfigurationError)):
        hook.create_log_dump_task([1])
    assert mtls.admin.requests(service="edge") == []
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
        "client_private_key": tls.client_key.read_text(),
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


def _verify_false_bug_present() -> bool:
    """The TLS 1.2 cap hands urllib3 a context with check_hostname=True; verify=False then fails."""
    from airflow_provider.core import transport

    make = getattr(transport, "tls12_context", None)
    return make is not None and bool(make().check_hostname)


VERIFY_FALSE_BUG = (
    "BUG (since 81ecee4, TLS 1.2 cap): core/transport.py:51 tls12_context() returns "
    "ssl.create_default_context() (check_hostname=True) and mount_tls12 (:312, used at :208) gives it to every "
    "https pool of the edge session; with "
    "extra.verify=false requests/urllib3 then set verify_mode=CERT_NONE and raise 'ValueError: Cannot set "
    "verify_mode to CERT_NONE when check_hostname is enabled' (a raw ValueError, not a HuaweiCloudError). "
    "Fix: build the context from TlsSettings: context.check_hostname = tls.verify is not False and "
    "context.verify_mode = CERT_NONE when verify is False (or set check_hostname=False in tls12_context and "
    "let urllib3 set it per request)."
)


@pytest.mark.filterwarnings("ignore:Unverified HTTPS request")
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
