"""Every fault kind, the count/rate controls, and method/path matching."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.emulator.helpers import DCS_INSTANCE, dcs_progress_path, signed_request

if TYPE_CHECKING:
    from airflow_provider.testing.emulator_runner import EmulatorHandle

MEF_QUERY = "/edgemanager/v1/logmgmt/dump/task"


def _get(emulator: EmulatorHandle, path: str = MEF_QUERY) -> httpx.Response:
    return httpx.get(emulator.url + path, params={"taskId": "dumpMultiNodesLog.none"}, timeout=5)


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_status_faults_fire_count_times_then_stop(huaweicloud_emulator, status):
    huaweicloud_emulator.admin.add_fault("status", path_glob="/edgemanager/*", status=status, count=2)
    assert [_get(huaweicloud_emulator).status_code for _ in range(3)] == [status, status, 400]


def test_429_with_and_without_retry_after(huaweicloud_emulator):
    admin = huaweicloud_emulator.admin
    admin.add_fault("status", path_regex="^/edgemanager/", status=429, retry_after=3)
    with_header = _get(huaweicloud_emulator)
    assert with_header.status_code == 429
    assert with_header.headers["Retry-After"] == "3"
    assert with_header.json()["error_code"] == "APIGW.0308"
    admin.add_fault("status", path_regex="^/edgemanager/", status=429)
    without = _get(huaweicloud_emulator)
    assert without.status_code == 429
    assert "Retry-After" not in without.headers


def test_faults_apply_before_auth_and_respect_method(huaweicloud_emulator):
    admin = huaweicloud_emulator.admin
    admin.add_fault("status", path_glob="*/tasks/*/progress", method="POST", status=503)
    task = admin.create_task("dcs", instance_id=DCS_INSTANCE)
    path = dcs_progress_path(huaweicloud_emulator, task)
    assert signed_request(huaweicloud_emulator, "GET", path).status_code == 200
    assert len(admin.faults()) == 1
    admin.add_fault("status", path_glob="*/tasks/*/progress", status=503)
    assert httpx.get(huaweicloud_emulator.url + path).status_code == 503


def test_latency(huaweicloud_emulator):
    huaweicloud_emulator.admin.add_fault("latency", path_glob="/edgemanager/*", latency=0.4)
    began = time.monotonic()
    resp = _get(huaweicloud_emulator)
    assert time.monotonic() - began >= 0.4
    assert resp.status_code == 400  # the real answer, only late


def test_dropped_connection(huaweicloud_emulator):
    huaweicloud_emulator.admin.add_fault("drop", path_glob="/edgemanager/*")
    with pytest.raises(httpx.TransportError):
        _get(huaweicloud_emulator)
    assert _get(huaweicloud_emulator).status_code == 400
    logged = huaweicloud_emulator.admin.requests(service="edge")
    assert logged[0]["fault"] == "drop"


def test_reset_mid_body_on_download(huaweicloud_emulator):
    admin = huaweicloud_emulator.admin
    admin.set_outcome("edge", "succeed", duration=1)
    httpx.post(
        huaweicloud_emulator.url + "/edgemanager/v1/logmgmt/dump/task", json={"module": "edgeNode", "edgeNodes": [1]}
    )
    admin.advance(2)
    url = huaweicloud_emulator.url + "/edgemanager/v1/logmgmt/dump/download/edgeNodes.tar.gz"
    full = httpx.get(url)
    assert full.status_code == 200 and len(full.content) > 100
    admin.add_fault("reset_mid_body", path_glob="*/edgeNodes.tar.gz")
    received = bytearray()
    with pytest.raises(httpx.TransportError), httpx.stream("GET", url) as resp:
        assert resp.headers["content-length"] == str(len(full.content))
        for chunk in resp.iter_bytes():
            received.extend(chunk)
    assert len(received) < len(full.content)


@pytest.mark.parametrize(
    ("kind", "check"),
    [
        ("malformed_json", lambda r: r.headers["content-type"].startswith("application/json")),
        ("html_200", lambda r: r.text.lstrip().startswith("<html>")),
        ("empty_body", lambda r: r.content == b""),
    ],
)
def test_bad_bodies_with_status_200(huaweicloud_emulator, kind, check):
    huaweicloud_emulator.admin.add_fault(kind, path_glob="/edgemanager/*")
    resp = _get(huaweicloud_emulator)
    assert resp.status_code == 200
    assert check(resp)
    if kind != "html_200":
        with pytest.raises(ValueError):
            resp.json()


def test_rate_faults_are_reproducible_for_a_seed(huaweicloud_emulator):
    def run() -> list[int]:
        huaweicloud_emulator.admin.reset()
        huaweicloud_emulator.admin.add_fault("status", path_glob="/edgemanager/*", status=500, rate=0.5)
        return [_get(huaweicloud_emulator).status_code for _ in range(30)]

    first, second = run(), run()
    assert first == second
    assert 500 in first and 400 in first
    huaweicloud_emulator.admin.clear_faults()
    assert _get(huaweicloud_emulator).status_code == 400


def test_invalid_fault_spec_is_rejected(huaweicloud_emulator):
    with pytest.raises(RuntimeError, match="400"):
        huaweicloud_emulator.admin.add_fault("explode", path_glob="*")
    with pytest.raises(RuntimeError, match="400"):
        huaweicloud_emulator.admin.add_fault("status")
