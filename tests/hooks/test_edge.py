"""EdgeManagerHook against requests_mock: MEF envelopes, HTTP 400 errors, mTLS files, downloads."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import stat
from typing import TYPE_CHECKING, Any

import pytest

from airflow_provider.core.errors import (
    ApiError,
    BadResponseError,
    DumpBusyError,
    EdgeManagerError,
    EdgeTaskNotFoundError,
    HuaweiCloudError,
    InvalidInputError,
    NotFoundError,
    TransportError,
)
from airflow_provider.core.transport import TlsSettings
from airflow_provider.get_provider_info import EDGE_UI_FIELD_BEHAVIOUR
from airflow_provider.hooks.edge import EdgeManagerHook
from tests.api_examples import EDGE_POLL as API_EXAMPLE_POLL
from tests.hooks._support import EDGE_BASE, EDGE_TASK_ID, HTML_BODY, body_bytes, mef, url_parts
from tests.local_http import RawHttpServer
from tests.pem_samples import CA, CERT, KEY

if TYPE_CHECKING:
    from pathlib import Path

TASK_PATH = "/edgemanager/v1/logmgmt/dump/task"
TASK_URL = f"{EDGE_BASE}{TASK_PATH}"
DOWNLOAD_PATH = "/edgemanager/v1/logmgmt/dump/download/edgeNodes.tar.gz"
DOWNLOAD_URL = f"{EDGE_BASE}{DOWNLOAD_PATH}"
ARCHIVE = b"\x1f\x8b\x08\x00" + os.urandom(70_000)


def mef_error(code: str, msg: str, status: int = 400) -> dict[str, Any]:
    return {"status_code": status, "json": mef(None, status=code, msg=msg)}


def test_class_attributes():
    assert EdgeManagerHook.conn_type == "huawei_edge_manager"
    assert EdgeManagerHook.default_conn_name == "edge_manager_default"
    assert EdgeManagerHook.get_ui_field_behaviour() == EDGE_UI_FIELD_BEHAVIOUR


# --- create -----------------------------------------------------------------------------------


def test_create_dump_task(edge_env, requests_mock, monkeypatch):
    import certifi

    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"):
        monkeypatch.delenv(name, raising=False)
    requests_mock.post(TASK_URL, json=mef({"taskId": EDGE_TASK_ID}))
    with EdgeManagerHook() as hook:
        assert hook.create_log_dump_task([2, 7]) == EDGE_TASK_ID
    request = requests_mock.last_request
    assert request.method == "POST"
    assert url_parts(request) == (TASK_PATH, [])
    assert json.loads(body_bytes(request)) == {"module": "edgeNode", "edgeNodes": [2, 7]}
    assert request.headers["Content-Type"] == "application/json"
    assert "Authorization" not in request.headers
    assert "X-Auth-Token" not in request.headers
    assert request.verify == certifi.where()  # verify=true: the default store, the async path's too


def test_create_accepts_any_iterable_and_digit_strings(edge_env, requests_mock):
    requests_mock.post(TASK_URL, json=mef({"taskId": EDGE_TASK_ID}))
    EdgeManagerHook().create_log_dump_task(n for n in (1, 2**32 - 1))
    EdgeManagerHook().create_log_dump_task(["5"])  # type: ignore[list-item]
    first, second = (json.loads(body_bytes(r))["edgeNodes"] for r in requests_mock.request_history)
    assert first == [1, 2**32 - 1]
    assert second == [5]


@pytest.mark.parametrize(
    "node_ids",
    [[], [0], [-1], [2**32], [1, 1], ["x"], [True], [1.5], list(range(1, 102))],
)
def test_bad_node_ids_rejected_before_any_request(edge_env, requests_mock, node_ids):
    with pytest.raises(InvalidInputError) as info:
        EdgeManagerHook().create_log_dump_task(node_ids)
    assert info.value.field == "node_ids"
    assert requests_mock.call_count == 0


@pytest.mark.parametrize(
    ("code", "msg", "error_class"),
    [
        ("40052001", "log dump busy", DumpBusyError),
        # What MEF answers while another dump runs (create_task_handler.go, taskschedule ErrFullQueue).
        ("40052002", "task queue is full", DumpBusyError),
        ("40052002", "too many tasks", DumpBusyError),
        ("00001005", "invalid parameter", EdgeManagerError),
        ("40051002", "node (3) not found", EdgeManagerError),
        ("40052002", "count task failed or has reached maximum number", EdgeManagerError),
    ],
)
def test_create_mef_error_envelopes(edge_env, requests_mock, code, msg, error_class):
    requests_mock.post(TASK_URL, **mef_error(code, msg))
    with pytest.raises(error_class) as info:
        EdgeManagerHook().create_log_dump_task([3])
    assert type(info.value) is error_class
    assert (info.value.service, info.value.status, info.value.error_code, info.value.error_msg) == (
        "edge",
        400,
        code,
        msg,
    )
    assert requests_mock.call_count == 1


def test_error_envelope_inside_http_200_raises_the_same_error(edge_env, requests_mock):
    requests_mock.post(TASK_URL, **mef_error("40052001", "log dump busy", status=200))
    with pytest.raises(DumpBusyError) as info:
        EdgeManagerHook().create_log_dump_task([3])
    assert info.value.error_code == "40052001"


def test_create_html_error(edge_env, requests_mock):
    requests_mock.post(TASK_URL, status_code=400, text=HTML_BODY)
    with pytest.raises(ApiError) as info:
        EdgeManagerHook().create_log_dump_task([3])
    assert not isinstance(info.value, EdgeManagerError)
    assert info.value.error_msg == "non-JSON (HTML) error body"


def test_create_is_not_retried_on_500(edge_env, requests_mock):
    requests_mock.post(TASK_URL, status_code=500, text="internal")
    with pytest.raises(ApiError):
        EdgeManagerHook().create_log_dump_task([3])
    assert requests_mock.call_count == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ('{"status": "00000000", "msg": "success", "data": {"taskId": "other.123"}}', "data.taskId"),
        ('{"status": "00000000", "msg": "success", "data": {}}', "taskId"),
        ('{"status": "00000000", "msg": "success", "data"', "<body>"),
        ('{"status": "OK", "msg": "success", "data": {"taskId": "x"}}', "status"),
        ('{"msg": "success"}', "status"),
    ],
)
def test_create_malformed_200(edge_env, requests_mock, body, field):
    requests_mock.post(TASK_URL, text=body)
    with pytest.raises(BadResponseError) as info:
        EdgeManagerHook().create_log_dump_task([3])
    assert (info.value.service, info.value.field) == ("edge", field)


# --- poll -------------------------------------------------------------------------------------


def test_get_dump_task_parses_seed(edge_env, requests_mock):
    requests_mock.get(TASK_URL, text=API_EXAMPLE_POLL)
    task = EdgeManagerHook().get_log_dump_task("dumpMultiNodesLog.eca14a007f930e5689652a30")
    request = requests_mock.last_request
    assert request.method == "GET"
    assert url_parts(request) == (TASK_PATH, [("taskId", "dumpMultiNodesLog.eca14a007f930e5689652a30")])
    assert body_bytes(request) == b""
    assert (task.status, task.progress, task.reason) == ("succeed", 100, "task succeeded")
    assert task.data is not None
    assert task.data.file_name == "edgeNodes.tar.gz"
    assert task.finished_at is not None
    assert task.finished_at.microsecond == 677862


def test_get_dump_task_null_times(edge_env, requests_mock):
    data = {"taskId": EDGE_TASK_ID, "status": "waiting", "progress": 0, "startedAt": None, "finishedAt": None}
    requests_mock.get(TASK_URL, json=mef(data))
    task = EdgeManagerHook().get_log_dump_task(EDGE_TASK_ID)
    assert (task.status, task.started_at, task.finished_at) == ("waiting", None, None)


@pytest.mark.parametrize(
    "task_id", ["abc", "dumpMultiNodesLog", "dumpMultiNodesLog/../x", "dumpMultiNodesLog.a b", "x" + EDGE_TASK_ID]
)
def test_bad_task_ids_rejected_before_any_request(edge_env, requests_mock, task_id):
    with pytest.raises(InvalidInputError) as info:
        EdgeManagerHook().get_log_dump_task(task_id)
    assert info.value.field == "dump_task_id"
    assert requests_mock.call_count == 0


def test_get_unknown_task_error(edge_env, requests_mock):
    # query_progress_handler.go: GetTaskContext fails with taskschedule.ErrTaskNotFound ("no such task").
    requests_mock.get(TASK_URL, **mef_error("40052002", "no such task"))
    with pytest.raises(EdgeTaskNotFoundError) as info:
        EdgeManagerHook().get_log_dump_task(EDGE_TASK_ID)
    assert info.value.error_code == "40052002"
    assert isinstance(info.value, NotFoundError)
    assert not isinstance(info.value, DumpBusyError)
    assert requests_mock.call_count == 1


def test_get_is_retried_on_503(edge_env, requests_mock):
    requests_mock.get(TASK_URL, [{"status_code": 503, "text": HTML_BODY}, {"text": API_EXAMPLE_POLL}])
    assert EdgeManagerHook().get_log_dump_task(EDGE_TASK_ID).status == "succeed"
    assert requests_mock.call_count == 2


def test_get_malformed_task(edge_env, requests_mock):
    requests_mock.get(TASK_URL, json=mef({"taskId": EDGE_TASK_ID, "status": "processing", "progress": "150"}))
    with pytest.raises(BadResponseError) as info:
        EdgeManagerHook().get_log_dump_task(EDGE_TASK_ID)
    assert (info.value.service, info.value.field) == ("edge", "progress")


# --- download ---------------------------------------------------------------------------------


def test_download_writes_exact_bytes_into_folder(edge_env, requests_mock, tmp_path: Path):
    requests_mock.get(DOWNLOAD_URL, content=ARCHIVE, headers={"Content-Length": str(len(ARCHIVE))})
    with EdgeManagerHook() as hook:
        path = hook.download_log_dump(tmp_path)
    assert path == tmp_path / "edgeNodes.tar.gz"
    assert path.read_bytes() == ARCHIVE
    assert sorted(os.listdir(tmp_path)) == ["edgeNodes.tar.gz"]
    request = requests_mock.last_request
    assert (request.method, url_parts(request)) == ("GET", (DOWNLOAD_PATH, []))
    assert request.stream is True


def test_download_to_a_named_file(edge_env, requests_mock, tmp_path: Path):
    requests_mock.get(DOWNLOAD_URL, content=ARCHIVE)
    target = tmp_path / "out" / "node-logs.tgz"
    assert EdgeManagerHook().download_log_dump(str(target)) == target
    assert target.read_bytes() == ARCHIVE


def test_truncated_download_leaves_nothing(edge_env, requests_mock, tmp_path: Path):
    requests_mock.get(DOWNLOAD_URL, content=ARCHIVE[:100], headers={"Content-Length": str(len(ARCHIVE))})
    with pytest.raises(TransportError) as info:
        EdgeManagerHook().download_log_dump(tmp_path)
    assert info.value.service == "edge"
    assert requests_mock.call_count == 3
    assert os.listdir(tmp_path) == []


def test_download_without_an_archive(edge_env, requests_mock, tmp_path: Path):
    # download_server.go: ctx.AbortWithStatusJSON(http.StatusBadRequest, "file is abnormal")
    requests_mock.get(DOWNLOAD_URL, status_code=400, json="file is abnormal")
    with pytest.raises(ApiError) as info:
        EdgeManagerHook().download_log_dump(tmp_path)
    assert info.value.status == 400
    assert "file is abnormal" in str(info.value)
    assert os.listdir(tmp_path) == []


def test_download_refused_by_accept_writes_nothing(edge_env, requests_mock, tmp_path: Path):
    requests_mock.get(DOWNLOAD_URL, content=ARCHIVE, headers={"Last-Modified": "Mon, 01 Jan 2024 00:00:00 GMT"})
    seen: list[str] = []

    def accept(headers):
        seen.append(headers["Last-Modified"])
        raise HuaweiCloudError("not ours")

    with pytest.raises(HuaweiCloudError, match="not ours"):
        EdgeManagerHook().download_log_dump(tmp_path, accept=accept)
    assert seen == ["Mon, 01 Jan 2024 00:00:00 GMT"]
    assert os.listdir(tmp_path) == []
    assert requests_mock.call_count == 1  # a refusal is not retried


# --- mutual TLS -------------------------------------------------------------------------------


def test_inline_client_certificate_files_exist_only_until_close(set_edge_conn, requests_mock):
    set_edge_conn(client_cert=CERT, client_private_key=KEY, ca_cert=CA)
    requests_mock.get(TASK_URL, text=API_EXAMPLE_POLL)
    hook = EdgeManagerHook()
    hook.get_log_dump_task(EDGE_TASK_ID)
    request = requests_mock.last_request
    cert, key = request.cert
    verify = request.verify
    folder = os.path.dirname(cert)
    assert os.path.dirname(key) == folder == os.path.dirname(verify)
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
    for path, text in ((cert, CERT), (key, KEY), (verify, CA)):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        with open(path) as handle:
            assert handle.read() == text
    hook.close()
    assert not os.path.exists(folder)


def test_context_manager_removes_files_and_a_new_call_recreates_them(set_edge_conn, requests_mock):
    set_edge_conn(client_cert=CERT, client_private_key=KEY)
    requests_mock.get(TASK_URL, text=API_EXAMPLE_POLL)
    with EdgeManagerHook() as hook:
        hook.get_log_dump_task(EDGE_TASK_ID)
        first_folder = os.path.dirname(requests_mock.last_request.cert[0])
        assert os.path.isdir(first_folder)
    assert not os.path.exists(first_folder)
    hook.get_log_dump_task(EDGE_TASK_ID)
    second_folder = os.path.dirname(requests_mock.last_request.cert[0])
    assert os.path.isdir(second_folder)
    hook.close()
    assert not os.path.exists(second_folder)


def test_client_certificate_paths_are_used_as_given(set_edge_conn, requests_mock, tmp_path: Path):
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    cert.write_text(CERT)
    key.write_text(KEY)
    set_edge_conn(client_cert=str(cert), client_private_key=str(key), verify=False)
    requests_mock.get(TASK_URL, text=API_EXAMPLE_POLL)
    with EdgeManagerHook() as hook:
        hook.get_log_dump_task(EDGE_TASK_ID)
    assert requests_mock.last_request.cert == (str(cert), str(key))
    assert requests_mock.last_request.verify is False
    assert cert.exists()
    assert key.exists()


def test_key_without_certificate_fails_before_any_request(set_edge_conn, requests_mock):
    set_edge_conn(client_private_key=KEY)
    hook = EdgeManagerHook()
    with pytest.raises(Exception, match="must be given together") as info:
        hook.get_log_dump_task(EDGE_TASK_ID)
    assert KEY.splitlines()[1] not in str(info.value)
    hook.close()
    assert requests_mock.call_count == 0


# --- test_connection --------------------------------------------------------------------------


def test_test_connection_expects_the_unknown_task_error(edge_env, requests_mock):
    requests_mock.get(TASK_URL, **mef_error("40052002", "no such task"))
    hook = EdgeManagerHook()
    ok, message = hook.test_connection()
    assert ok is True
    assert "40052002" in message
    assert url_parts(requests_mock.last_request) == (TASK_PATH, [("taskId", "dumpMultiNodesLog.connectiontest")])
    assert "transport" not in hook.__dict__


def test_test_connection_ok_body(edge_env, requests_mock, monkeypatch):
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"):
        monkeypatch.delenv(name, raising=False)
    requests_mock.get(TASK_URL, text=API_EXAMPLE_POLL)
    assert EdgeManagerHook().test_connection() == (
        True,
        "Connected to https://mef.test:30035 over TLS (server certificate verified against the default CA store; "
        "no client certificate); MEF answered the test query",
    )


def test_test_connection_html_error_is_a_failure(edge_env, requests_mock):
    requests_mock.get(TASK_URL, status_code=403, text=HTML_BODY)
    ok, message = EdgeManagerHook().test_connection()
    assert ok is False
    assert "403" in message


def test_test_connection_cleans_up_inline_key(set_edge_conn, requests_mock):
    set_edge_conn(client_cert=CERT, client_private_key=KEY)
    requests_mock.get(TASK_URL, **mef_error("40052002", "no such task"))
    ok, _ = EdgeManagerHook().test_connection()
    assert ok is True
    folder = os.path.dirname(requests_mock.last_request.cert[0])
    assert not os.path.exists(folder)


def test_test_connection_reports_bad_configuration(set_edge_conn, requests_mock, tmp_path: Path):
    set_edge_conn(ca_cert=str(tmp_path / "missing.pem"))
    ok, message = EdgeManagerHook().test_connection()
    assert ok is False
    assert "extra.ca_cert" in message
    assert requests_mock.call_count == 0


# --- test_connection against real local servers ---------------------------------------------------


def mef_reply(status: int, envelope: dict[str, Any]) -> bytes:
    body = json.dumps(envelope).encode()
    reason = {200: "OK", 400: "Bad Request"}[status]
    head = f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


NOT_FOUND = mef_reply(400, mef(None, status="40052002", msg="no such task"))


def install_edge(monkeypatch: pytest.MonkeyPatch, host: str, port: int, **extra: Any) -> None:
    conn = {"conn_type": "huawei_edge_manager", "host": host, "port": port, "schema": "http", "extra": extra}
    monkeypatch.setenv("AIRFLOW_CONN_EDGE_MANAGER_DEFAULT", json.dumps(conn))


def test_test_connection_over_plain_http_says_so(monkeypatch: pytest.MonkeyPatch):
    server = RawHttpServer(NOT_FOUND).start()
    try:
        install_edge(monkeypatch, "127.0.0.1", server.port)
        ok, message = EdgeManagerHook().test_connection()
    finally:
        server.stop()
    assert ok is True
    assert message == (
        f"Connected to http://127.0.0.1:{server.port} over plain HTTP (no TLS: nothing is encrypted and the server "
        "is not authenticated); MEF answered the test query with 40052002 (unknown task), as expected"
    )
    assert "mTLS" not in message


def test_test_connection_to_a_closed_port_fails_at_once_in_one_line(monkeypatch: pytest.MonkeyPatch):
    """The connection's own retry policy (4 attempts with backoff) is for waits, not for the Test."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens here once the probe is closed
    install_edge(monkeypatch, "127.0.0.1", port, retry={"max_attempts": 4, "base_delay": 5, "max_elapsed": 60})

    ok, message = EdgeManagerHook().test_connection()

    assert (ok, message) == (False, f"Cannot connect to MEF Center at http://127.0.0.1:{port}: connection refused")


def test_test_connection_sends_its_request_once(monkeypatch: pytest.MonkeyPatch):
    """A server that accepts and hangs up: a poll would try again; the Test reports the first failure."""
    server = RawHttpServer(b"").start()  # answers nothing and closes
    try:
        install_edge(monkeypatch, "127.0.0.1", server.port, retry={"max_attempts": 4, "base_delay": 5})
        ok, message = EdgeManagerHook().test_connection()
    finally:
        server.stop()
    assert ok is False
    assert message.startswith(f"MEF Center at http://127.0.0.1:{server.port} accepted the connection but did not ")
    assert "\n" not in message
    assert len(server.requests) == 1


def test_test_connection_unresolvable_host(monkeypatch: pytest.MonkeyPatch):
    install_edge(monkeypatch, "no-such-host.invalid", 30035)
    ok, message = EdgeManagerHook().test_connection()
    assert ok is False
    assert message.startswith("Cannot connect to MEF Center at http://no-such-host.invalid:30035: the host name")


@pytest.mark.skipif(not socket.has_ipv6, reason="no IPv6 on this machine")
def test_an_ipv6_mef_host_works_sync_and_async(monkeypatch: pytest.MonkeyPatch):
    from airflow.sdk import Connection

    from airflow_provider.core.async_transport import AsyncTransport, close_shared_clients
    from airflow_provider.core.exchange import drive_async
    from airflow_provider.hooks.connection_config import edge_config
    from airflow_provider.services import edge

    try:
        server = RawHttpServer(mef_reply(200, json.loads(API_EXAMPLE_POLL)), host="::1").start()
    except OSError:
        pytest.skip("no IPv6 loopback on this machine")
    try:
        install_edge(monkeypatch, "::1", server.port)
        ok, message = EdgeManagerHook().test_connection()
        assert ok is True, message
        assert message.startswith(f"Connected to http://[::1]:{server.port} over plain HTTP")
        config = edge_config(Connection.from_json(os.environ["AIRFLOW_CONN_EDGE_MANAGER_DEFAULT"], conn_id="e"))

        async def poll() -> Any:
            try:
                transport = AsyncTransport(config.transport_settings(TlsSettings()))
                return await drive_async(edge.get_dump_task(EDGE_TASK_ID), transport)
            finally:
                await close_shared_clients()

        assert asyncio.run(poll()).status == json.loads(API_EXAMPLE_POLL)["data"]["status"]
        assert all(b"Host: [::1]:" in head for head in server.requests)
    finally:
        server.stop()
