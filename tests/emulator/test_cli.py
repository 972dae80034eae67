"""The CLI as a user runs it: a subprocess that prints its URL and stops cleanly on SIGTERM."""

from __future__ import annotations

import gc
import json
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from airflow_provider.emulator import tls as emulator_tls


def _read_until_ready(proc: subprocess.Popen[str], timeout: float = 20.0) -> dict[str, str]:
    values: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        key, sep, value = line.strip().partition("=")
        if sep and not key.startswith("#"):
            values[key] = value.strip("'")
        if key == "EMULATOR_READY":
            return values
    raise AssertionError(f"emulator did not report readiness; got {values}")


def test_cli_prints_url_serves_and_exits_cleanly_on_sigterm():
    proc = subprocess.Popen(
        [sys.executable, "-m", "airflow_provider.emulator", "--port", "0", "--speed", "10", "--seed", "5"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        values = _read_until_ready(proc)
        url = values["EMULATOR_URL"]
        assert url.startswith("http://127.0.0.1:")
        conn = json.loads(values["AIRFLOW_CONN_HUAWEICLOUD_DEFAULT"])
        assert conn["extra"]["endpoint_url"] == url
        assert len(conn["extra"]["project_id"]) == 32
        edge = json.loads(values["AIRFLOW_CONN_EDGE_MANAGER_DEFAULT"])
        assert edge["schema"] == "http" and f":{edge['port']}" in url
        assert httpx.get(url + "/_emulator/health").json() == {"status": "ok"}
        assert httpx.get(url + "/_emulator/clock").json()["speed"] == 10
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err
    assert "emulator stopped" in out


def test_cli_rejects_unknown_quirk():
    result = subprocess.run(
        [sys.executable, "-m", "airflow_provider.emulator", "--quirk", "nope=1"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "unknown quirk" in result.stderr


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_cli_removes_its_tls_folder_when_it_stops(stop: signal.Signals):
    """The folder holds a test CA and private keys: nothing of it outlives the emulator."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "airflow_provider.emulator", "--port", "0", "--tls"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        values = _read_until_ready(proc)
        folder = Path(values["EMULATOR_TLS_CA_CERT"]).parent
        assert Path(values["EMULATOR_TLS_CLIENT_KEY"]).is_file()
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    finally:
        proc.send_signal(stop)
        out, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err
    assert "emulator stopped" in out
    assert not folder.exists()


def test_a_generated_tls_folder_goes_with_its_files_object():
    files = emulator_tls.generate()
    folder = files.directory
    assert files.client_key.is_file()
    files.remove()
    assert not folder.exists()
    files.remove()  # idempotent

    again = emulator_tls.generate()
    folder = again.directory
    del again
    gc.collect()
    assert not folder.exists()
