"""The CLI as a user runs it: a subprocess that prints its URL and stops cleanly on SIGTERM."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import httpx


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
