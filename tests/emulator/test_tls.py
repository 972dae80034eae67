"""The edge manager's mutual-TLS listener refuses clients without the generated client cert."""

from __future__ import annotations

import json
import ssl

import httpx
import pytest

from airflow_provider.testing import run_emulator


@pytest.fixture(scope="module")
def tls_emulator():
    with run_emulator(tls=True, seed=3) as handle:
        yield handle


def test_edge_connection_json_points_at_the_mtls_port(tls_emulator):
    conn = json.loads(tls_emulator.edge_conn_json)
    assert conn["schema"] == "https"
    assert conn["port"] == int(tls_emulator.edge_url.rsplit(":", 1)[1])
    assert set(conn["extra"]) == {"client_cert", "client_private_key", "ca_cert"}


def test_client_without_certificate_is_refused(tls_emulator):
    files = tls_emulator.tls_files
    context = ssl.create_default_context(cafile=str(files.ca_cert))
    with pytest.raises((httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError)):
        httpx.get(
            tls_emulator.edge_url + "/edgemanager/v1/logmgmt/dump/task?taskId=dumpMultiNodesLog.x",
            verify=context,
            timeout=5,
        )


def test_client_with_printed_certificate_works(tls_emulator):
    files = tls_emulator.tls_files
    context = ssl.create_default_context(cafile=str(files.ca_cert))
    context.load_cert_chain(str(files.client_cert), str(files.client_key))
    with httpx.Client(base_url=tls_emulator.edge_url, verify=context, timeout=5) as client:
        created = client.post("/edgemanager/v1/logmgmt/dump/task", json={"module": "edgeNode", "edgeNodes": [2]})
        assert created.status_code == 200
        task_id = created.json()["data"]["taskId"]
        status = client.get("/edgemanager/v1/logmgmt/dump/task", params={"taskId": task_id})
        assert status.json()["data"]["taskId"] == task_id


def test_tls_1_1_is_refused(tls_emulator):
    files = tls_emulator.tls_files
    context = ssl.create_default_context(cafile=str(files.ca_cert))
    context.load_cert_chain(str(files.client_cert), str(files.client_key))
    try:
        context.minimum_version = ssl.TLSVersion.TLSv1
        context.maximum_version = ssl.TLSVersion.TLSv1_1
    except (ValueError, ssl.SSLError):
        pytest.skip("this OpenSSL cannot offer TLS 1.1")
    with pytest.raises(httpx.TransportError):
        httpx.get(tls_emulator.edge_url + "/edgemanager/v1/logmgmt/dump/task", verify=context, timeout=5)


def test_only_tls_1_2_is_offered_as_mef_s_nginx_does(tls_emulator):
    """nginx_default.conf: ssl_protocols TLSv1.2: a client that insists on TLS 1.3 is refused."""
    files = tls_emulator.tls_files
    context = ssl.create_default_context(cafile=str(files.ca_cert))
    context.load_cert_chain(str(files.client_cert), str(files.client_key))
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    with pytest.raises(httpx.TransportError):
        httpx.get(tls_emulator.edge_url + "/edgemanager/v1/logmgmt/dump/task", verify=context, timeout=5)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    with httpx.Client(base_url=tls_emulator.edge_url, verify=context, timeout=5) as client:
        response = client.get("/edgemanager/v1/logmgmt/dump/task", params={"taskId": "dumpMultiNodesLog.x"})
        assert response.extensions["network_stream"].get_extra_info("ssl_object").version() == "TLSv1.2"
