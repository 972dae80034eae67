"""The same exchanges the hooks run, driven through the async transport, as triggers do.

Service calls go to an ``httpx.MockTransport`` client; the IAM token request of the password
flow goes through the transport's own connection pool, so a real local server answers it.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import httpx
import pytest
from airflow.sdk import Connection

from airflow_provider.core.async_transport import AsyncTransport, close_shared_clients
from airflow_provider.core.auth import TOKEN_CACHE
from airflow_provider.core.errors import (
    ApiError,
    AuthenticationError,
    BadResponseError,
    DumpBusyError,
    EdgeManagerError,
    InvalidInputError,
    NotFoundError,
    RateLimitedError,
)
from airflow_provider.core.exchange import drive_async
from airflow_provider.core.signing import parse_authorization, verify_signature
from airflow_provider.hooks.connection_config import cloud_config, edge_config
from airflow_provider.hooks.pem_files import PemFiles
from airflow_provider.services import clouddc, css, dcs, dis, edge
from tests.hooks._support import (
    AK,
    DIS_TASK_ID,
    EDGE_TASK_ID,
    ENDPOINT,
    FAST_RETRY,
    HTML_BODY,
    IAM_EXPIRES,
    IAM_TOKEN,
    PASSWORD,
    PROJECT_ID,
    SECURITY_TOKEN,
    SK,
    STATIC_TOKEN,
)
from tests.local_http import LocalHttpServer, serving

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from airflow_provider.core.exchange import Exchange
    from airflow_provider.hooks.connection_config import CloudConfig

CLUSTER = "4213d908-f5dc-4633-8401-cfd7175fca0c"
INSTANCE = "5560df16-cebf-4473-95c4-d1b573c16e79"
DCS_TASK = "8abf6e1e72c12e7c0172c15b508500aa"
SERVER = "b5c3a3a0-3bd6-4d8a-9f44-3c2f0d5a1c10"
RECORDS_PATH = f"/v1.0/{PROJECT_ID}/clusters/{CLUSTER}/logs/records"
COLLECT_PATH = f"/v1.0/{PROJECT_ID}/clusters/{CLUSTER}/logs/collect"
PROGRESS_PATH = f"/v2/{PROJECT_ID}/instances/{INSTANCE}/tasks/{DCS_TASK}/progress"
DIS_PATH = f"/v1/transfertasklog/{DIS_TASK_ID}"
EXPORTS_PATH = f"/v1/{PROJECT_ID}/physicalservers/{SERVER}/logs/exports"
EXPORT_PATH = f"{EXPORTS_PATH}/1"
EDGE_TASK_PATH = "/edgemanager/v1/logmgmt/dump/task"

Reply = httpx.Response | Callable[[httpx.Request], httpx.Response]


class Server:
    """An httpx MockTransport handler that records requests and plays queued replies (the last repeats)."""

    def __init__(self, *replies: Reply) -> None:
        self.replies = list(replies)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        return reply(request) if callable(reply) else reply

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]


def conn(extra: dict[str, Any] | None = None, *, login: str | None = AK, password: str | None = SK) -> Connection:
    base = {"region": "cn-north-4", "project_id": PROJECT_ID, "endpoint_url": ENDPOINT, "retry": FAST_RETRY}
    return Connection(
        conn_id="hwc_async",
        conn_type="huaweicloud",
        login=login,
        password=password,
        extra=json.dumps({**base, **(extra or {})}),
    )


def transport(config: CloudConfig, server: Server) -> AsyncTransport:
    client = httpx.AsyncClient(transport=httpx.MockTransport(server))
    return AsyncTransport(config.transport_settings(), client=client)


async def run(exchange: Exchange[Any], server: Server, config: CloudConfig | None = None) -> Any:
    return await drive_async(exchange, transport(config or cloud_config(conn()), server))


def split(request: httpx.Request) -> tuple[str, list[tuple[str, str]]]:
    return request.url.path, parse_qsl(request.url.query.decode(), keep_blank_values=True)


def signed_ok(request: httpx.Request, secret_key: str = SK) -> bool:
    authorization = parse_authorization(request.headers.get("Authorization", ""))
    if authorization is None or authorization.access_key != AK:
        return False
    raw_path = request.url.raw_path.decode().split("?", 1)[0]
    return verify_signature(
        method=request.method,
        path=raw_path,
        query=split(request)[1],
        headers=dict(request.headers),
        body=request.content,
        secret_key=secret_key,
        authorization=authorization,
    )


def assert_signed(request: httpx.Request) -> None:
    assert signed_ok(request), request.headers.get("Authorization")
    assert not signed_ok(request, secret_key="wrong-secret-key")


def ok_json(body: Any, status: int = 200) -> httpx.Response:
    return httpx.Response(status, json=body)


def err(status: int, code: str | None = "X.0001", msg: str = "failure") -> httpx.Response:
    return httpx.Response(status, json={"error_code": code, "error_msg": msg})


@pytest.fixture(autouse=True)
async def _close_clients() -> AsyncIterator[None]:
    yield
    await close_shared_clients()


# --- success: method, path, query, body, signature ---------------------------------------------


async def test_css_list_records():
    server = Server(
        ok_json(
            {"clusterLogRecord": [{"id": "r1", "status": "SUCCESS", "createAt": 1656042837000, "jobTypes": "Manual"}]}
        )
    )
    page = await run(css.get_log_backup_record_page(PROJECT_ID, CLUSTER, status="NOT_FAIL", offset=1, limit=20), server)
    request = server.last
    assert request.method == "GET"
    path, query = split(request)
    assert path == RECORDS_PATH
    assert sorted(query) == [("limit", "20"), ("offset", "1"), ("start", "1"), ("status", "NOT_FAIL")]
    assert request.content == b""
    assert_signed(request)
    assert [r.id for r in page.cluster_log_record] == ["r1"]


async def test_css_create_backup():
    server = Server(httpx.Response(200))
    assert await run(css.create_log_backup(PROJECT_ID, CLUSTER), server) is None
    assert (server.last.method, split(server.last)) == ("POST", (COLLECT_PATH, []))
    assert_signed(server.last)


async def test_css_get_record_pages_until_found():
    first = {"clusterLogRecord": [{"id": f"r{i}", "status": "RUNNING"} for i in range(2)]}
    second = {"clusterLogRecord": [{"id": "r9", "status": "FAIL", "jobId": "J9", "failedMsg": "disk full"}]}
    server = Server(ok_json(first), ok_json(second))
    found = await run(css.get_log_backup_record(PROJECT_ID, CLUSTER, job_id="J9", page_size=2), server)
    assert (found.id, found.failed_msg) == ("r9", "disk full")
    assert [dict(split(r)[1])["start"] for r in server.requests] == ["1", "3"]


async def test_dcs_progress():
    server = Server(ok_json({"progress": "100", "remain_time": 0, "step_details": [{"step_status": "FINISH"}]}))
    progress = await run(dcs.get_background_task_progress(PROJECT_ID, INSTANCE, DCS_TASK), server)
    assert (server.last.method, split(server.last)) == ("GET", (PROGRESS_PATH, []))
    assert_signed(server.last)
    assert progress.progress == 100
    assert dcs.derive_state(progress).value == "SUCCEEDED"


async def test_dis_log_page_with_list_as_object():
    body = {
        "errorCode": -1,
        "totalNum": 1,
        "message": None,
        "transferTaskLogList": {"transferTaskId": DIS_TASK_ID, "startTime": 1756539753280, "endTime": 1756540056070},
    }
    server = Server(ok_json(body))
    page = await run(dis.get_transfer_task_log_page(DIS_TASK_ID, order="asc", page_size=5), server)
    request = server.last
    assert (request.method, split(request)) == ("POST", (DIS_PATH, []))
    assert json.loads(request.content) == {
        "order": "asc",
        "sortBy": "createTimeStr",
        "pageInfo": {"pageIndex": 1, "pageTotal": 5},
    }
    assert_signed(request)
    assert len(page.transfer_task_log_list) == 1
    assert page.total_num == 1


async def test_dis_all_pages():
    def entries(*ns: int) -> httpx.Response:
        rows = [{"transferFileName": f"f{n}", "endTime": 1756540056070 + n} for n in ns]
        return ok_json({"errorCode": -1, "totalNum": 3, "transferTaskLogList": rows})

    server = Server(entries(1, 2), entries(3))
    logs = await run(dis.list_transfer_task_logs(DIS_TASK_ID, page_size=2), server)
    assert [e.transfer_file_name for e in logs] == ["f1", "f2", "f3"]
    assert [json.loads(r.content)["pageInfo"]["pageIndex"] for r in server.requests] == [1, 2]


async def test_clouddc_start_and_get():
    server = Server(
        ok_json({"export_id": "1", "status": "processing", "percentage": "0%"}, status=202),
        ok_json({"export_id": "1", "status": "Running", "percentage": "30%", "created_at": "2024-07-01T11:32:49Z"}),
    )
    config = cloud_config(conn())
    sender = transport(config, server)
    started = await drive_async(clouddc.start_export(PROJECT_ID, SERVER), sender)
    assert started.export_id == "1"
    polled = await drive_async(clouddc.get_export(PROJECT_ID, SERVER, started.export_id), sender)
    assert [(r.method, split(r)[0]) for r in server.requests] == [("POST", EXPORTS_PATH), ("GET", EXPORT_PATH)]
    for request in server.requests:
        assert_signed(request)
    assert polled.percentage == 30.0


async def test_security_token_is_signed():
    server = Server(ok_json({"progress": 5}))
    await run(
        dcs.get_background_task_progress(PROJECT_ID, INSTANCE, DCS_TASK),
        server,
        cloud_config(conn({"security_token": SECURITY_TOKEN})),
    )
    assert server.last.headers["X-Security-Token"] == SECURITY_TOKEN
    authorization = parse_authorization(server.last.headers["Authorization"])
    assert authorization is not None
    assert "x-security-token" in authorization.signed_headers
    assert_signed(server.last)


async def test_static_token():
    server = Server(ok_json({"progress": 5}))
    config = cloud_config(conn({"auth_type": "token"}, login=None, password=STATIC_TOKEN))
    await run(dcs.get_background_task_progress(PROJECT_ID, INSTANCE, DCS_TASK), server, config)
    assert server.last.headers["X-Auth-Token"] == STATIC_TOKEN
    assert "Authorization" not in server.last.headers


# --- documented error statuses ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "reply", "error_class", "status", "code", "calls"),
    [
        pytest.param(
            lambda: css.create_log_backup(PROJECT_ID, CLUSTER),
            err(400, "CSS.0001"),
            ApiError,
            400,
            "CSS.0001",
            1,
            id="css-create-400",
        ),
        pytest.param(
            lambda: css.create_log_backup(PROJECT_ID, CLUSTER),
            err(409, "CSS.0015"),
            ApiError,
            409,
            "CSS.0015",
            1,
            id="css-create-409",
        ),
        pytest.param(
            lambda: css.create_log_backup(PROJECT_ID, CLUSTER),
            err(412, "CSS.0064"),
            ApiError,
            412,
            "CSS.0064",
            1,
            id="css-create-412",
        ),
        pytest.param(
            lambda: css.get_log_backup_record_page(PROJECT_ID, CLUSTER),
            err(412, "CSS.0064"),
            ApiError,
            412,
            "CSS.0064",
            1,
            id="css-list-412",
        ),
        pytest.param(
            lambda: dcs.get_background_task_progress(PROJECT_ID, INSTANCE, DCS_TASK),
            err(400, "DCS.4000"),
            ApiError,
            400,
            "DCS.4000",
            1,
            id="dcs-400",
        ),
        pytest.param(
            lambda: dcs.get_background_task_progress(PROJECT_ID, INSTANCE, DCS_TASK),
            err(401, "DCS.4010"),
            AuthenticationError,
            401,
            "DCS.4010",
            1,
            id="dcs-401",
        ),
        pytest.param(
            lambda: dcs.get_background_task_progress(PROJECT_ID, INSTANCE, DCS_TASK),
            err(403, "DCS.4030"),
            AuthenticationError,
            403,
            "DCS.4030",
            1,
            id="dcs-403",
        ),
        pytest.param(
            lambda: dcs.get_background_task_progress(PROJECT_ID, INSTANCE, DCS_TASK),
            err(404, "DCS.4040"),
            NotFoundError,
            404,
            "DCS.4040",
            1,
            id="dcs-404",
        ),
        pytest.param(
            lambda: dcs.get_background_task_progress(PROJECT_ID, INSTANCE, DCS_TASK),
            err(500, "DCS.5000"),
            ApiError,
            500,
            "DCS.5000",
            3,
            id="dcs-500",
        ),
        pytest.param(
            lambda: clouddc.get_export(PROJECT_ID, SERVER, "1"),
            err(401, "CLOUDDC.0401"),
            AuthenticationError,
            401,
            "CLOUDDC.0401",
            1,
            id="clouddc-401",
        ),
        pytest.param(
            lambda: clouddc.get_export(PROJECT_ID, SERVER, "1"),
            httpx.Response(429, text="-"),
            RateLimitedError,
            429,
            None,
            3,
            id="clouddc-429",
        ),
        pytest.param(
            lambda: clouddc.get_export(PROJECT_ID, SERVER, "1"),
            err(500, "CLOUDDC.0500"),
            ApiError,
            500,
            "CLOUDDC.0500",
            3,
            id="clouddc-500",
        ),
        pytest.param(
            lambda: clouddc.start_export(PROJECT_ID, SERVER),
            err(500, "CLOUDDC.0500"),
            ApiError,
            500,
            "CLOUDDC.0500",
            1,
            id="clouddc-start-500-not-retried",
        ),
        pytest.param(
            lambda: dis.get_transfer_task_log_page(DIS_TASK_ID),
            ok_json({"errorCode": "DIS.4301", "message": "Stream not found"}),
            NotFoundError,
            200,
            "DIS.4301",
            1,
            id="dis-200-errorCode",
        ),
    ],
)
async def test_error_statuses(make, reply, error_class, status, code, calls):
    server = Server(reply)
    with pytest.raises(error_class) as info:
        await run(make(), server)
    assert type(info.value) is error_class
    assert (info.value.status, info.value.error_code) == (status, code)
    assert len(server.requests) == calls
    for secret in (SK, PASSWORD):
        assert secret not in str(info.value)


async def test_clouddc_429_dash_body_message():
    server = Server(httpx.Response(429, text="-"))
    with pytest.raises(RateLimitedError) as info:
        await run(clouddc.get_export(PROJECT_ID, SERVER, "1"), server)
    assert info.value.error_msg == "-"


async def test_retry_then_success():
    server = Server(err(503), ok_json({"progress": 50}))
    progress = await run(dcs.get_background_task_progress(PROJECT_ID, INSTANCE, DCS_TASK), server)
    assert progress.progress == 50
    assert len(server.requests) == 2


@pytest.mark.parametrize(
    ("status", "reply"),
    [(400, HTML_BODY), (502, HTML_BODY)],
)
async def test_html_error_bodies(status, reply):
    server = Server(httpx.Response(status, text=reply, headers={"Content-Type": "text/html"}))
    with pytest.raises(ApiError) as info:
        await run(css.get_log_backup_record_page(PROJECT_ID, CLUSTER), server)
    assert info.value.status == status
    assert info.value.error_msg == "non-JSON (HTML) error body"


@pytest.mark.parametrize(
    ("make", "service"),
    [
        (lambda: css.get_log_backup_record_page(PROJECT_ID, CLUSTER), "css"),
        (lambda: dcs.get_background_task_progress(PROJECT_ID, INSTANCE, DCS_TASK), "dcs"),
        (lambda: dis.get_transfer_task_log_page(DIS_TASK_ID), "dis"),
        (lambda: clouddc.get_export(PROJECT_ID, SERVER, "1"), "clouddc"),
    ],
)
async def test_malformed_json_200(make, service):
    server = Server(httpx.Response(200, text="<html>maintenance</html>"))
    with pytest.raises(BadResponseError) as info:
        await run(make(), server)
    assert info.value.service == service
    assert str(info.value).startswith(f"{service}: unexpected response")


@pytest.mark.parametrize(
    "make",
    [
        lambda: css.get_log_backup_record_page(PROJECT_ID, "a/b"),
        lambda: css.create_log_backup(PROJECT_ID, ".."),
        lambda: dcs.get_background_task_progress(PROJECT_ID, INSTANCE, "../x"),
        lambda: dis.get_transfer_task_log_page("not-a-dis-id"),
        lambda: dis.get_transfer_task_log_page(DIS_TASK_ID, page_size=0),
        lambda: clouddc.get_export(PROJECT_ID, SERVER, "1?x=2"),
        lambda: edge.create_dump_task([0]),
        lambda: edge.create_dump_task([2**32]),
        lambda: edge.get_dump_task("dumpMultiNodesLog/../x"),
    ],
)
async def test_bad_input_is_rejected_before_any_request(make):
    server = Server(ok_json({}))
    with pytest.raises(InvalidInputError):
        await run(make(), server)
    assert server.requests == []


# --- edge manager over the async transport ----------------------------------------------------


def edge_transport(server: Server, extra: dict[str, Any] | None = None) -> tuple[AsyncTransport, PemFiles]:
    connection = Connection(
        conn_id="mef_async",
        conn_type="huawei_edge_manager",
        host="mef.test",
        port=30035,
        schema="https",
        extra=json.dumps({"retry": FAST_RETRY, **(extra or {})}),
    )
    config = edge_config(connection)
    pem = PemFiles(config)
    client = httpx.AsyncClient(transport=httpx.MockTransport(server))
    return AsyncTransport(config.transport_settings(pem.tls_settings()), client=client), pem


async def test_edge_create_and_poll():
    server = Server(
        ok_json({"status": "00000000", "msg": "success", "data": {"taskId": EDGE_TASK_ID}}),
        ok_json({"status": "00000000", "msg": "success", "data": {"taskId": EDGE_TASK_ID, "status": "processing"}}),
    )
    sender, pem = edge_transport(server)
    with pem:
        task_id = await drive_async(edge.create_dump_task([2]), sender)
        task = await drive_async(edge.get_dump_task(task_id), sender)
    assert task.status == "processing"
    create, poll = server.requests
    assert (create.method, split(create)) == ("POST", (EDGE_TASK_PATH, []))
    assert json.loads(create.content) == {"module": "edgeNode", "edgeNodes": [2]}
    assert (poll.method, split(poll)) == ("GET", (EDGE_TASK_PATH, [("taskId", EDGE_TASK_ID)]))
    assert str(create.url).startswith("https://mef.test:30035/")
    assert "Authorization" not in create.headers


@pytest.mark.parametrize(
    ("code", "error_class"),
    [("40052001", DumpBusyError), ("00001005", EdgeManagerError), ("40051002", EdgeManagerError)],
)
async def test_edge_error_envelopes(code, error_class):
    server = Server(httpx.Response(400, json={"status": code, "msg": "nope", "data": None}))
    sender, pem = edge_transport(server)
    with pem, pytest.raises(error_class) as info:
        await drive_async(edge.create_dump_task([2]), sender)
    assert type(info.value) is error_class
    assert (info.value.status, info.value.error_code, info.value.error_msg) == (400, code, "nope")
    assert len(server.requests) == 1


async def test_edge_html_and_malformed():
    sender, pem = edge_transport(Server(httpx.Response(400, text=HTML_BODY)))
    with pem, pytest.raises(ApiError) as info:
        await drive_async(edge.get_dump_task(EDGE_TASK_ID), sender)
    assert info.value.error_msg == "non-JSON (HTML) error body"
    sender, pem = edge_transport(Server(httpx.Response(200, text='{"status": "00000000", "data": ')))
    with pem, pytest.raises(BadResponseError) as bad:
        await drive_async(edge.get_dump_task(EDGE_TASK_ID), sender)
    assert bad.value.service == "edge"


# --- password auth: the token comes through the async path ------------------------------------
# The service calls go to the MockTransport client; the IAM token request goes through the
# transport's own connection pool, so a real local server answers it.


def iam_reply(token: str = IAM_TOKEN) -> httpx.Response:
    return httpx.Response(201, headers={"X-Subject-Token": token}, json={"token": {"expires_at": IAM_EXPIRES}})


@pytest.fixture
def iam() -> Iterator[LocalHttpServer]:
    yield from serving()


def password_conn(iam: LocalHttpServer, **extra: Any) -> Connection:
    return conn(
        {"auth_type": "password", "domain_name": "my-account", "iam_endpoint": iam.url, **extra},
        login="iam-user",
        password=PASSWORD,
    )


async def test_password_token_fetched_via_async_path(iam: LocalHttpServer):
    server = Server(ok_json({"progress": 10}))
    route = iam.route("POST", "/v3/auth/tokens", iam_reply())
    await run(
        dcs.get_background_task_progress(PROJECT_ID, INSTANCE, DCS_TASK), server, cloud_config(password_conn(iam))
    )
    assert route.call_count == 1
    iam_request = route.last
    assert split(iam_request) == ("/v3/auth/tokens", [("nocatalog", "true")])
    sent = json.loads(iam_request.content)
    assert sent["auth"]["identity"]["password"]["user"] == {
        "domain": {"name": "my-account"},
        "name": "iam-user",
        "password": PASSWORD,
    }
    assert sent["auth"]["scope"] == {"project": {"id": PROJECT_ID}}
    assert server.last.headers["X-Auth-Token"] == IAM_TOKEN
    assert "Authorization" not in server.last.headers


async def test_hundred_concurrent_tasks_share_one_iam_request(iam: LocalHttpServer):
    server = Server(ok_json({"progress": 10}))

    async def one() -> Any:
        config = cloud_config(password_conn(iam))
        return await run(dcs.get_background_task_progress(PROJECT_ID, INSTANCE, DCS_TASK), server, config)

    def slow_iam(request: httpx.Request) -> httpx.Response:
        time.sleep(0.05)  # the other tasks pile up on the single-flight lock meanwhile
        return iam_reply()

    route = iam.route("POST", "/v3/auth/tokens", slow_iam)
    results = await asyncio.gather(*(one() for _ in range(100)))
    assert len(results) == 100
    assert route.call_count == 1
    assert TOKEN_CACHE.fetches == 1
    assert len(server.requests) == 100
    assert {r.headers["X-Auth-Token"] for r in server.requests} == {IAM_TOKEN}


async def test_async_401_refreshes_the_token_once(iam: LocalHttpServer):
    server = Server(err(401, "APIGW.0307", "token expired"), ok_json({"progress": 10}))
    route = iam.route("POST", "/v3/auth/tokens", iam_reply("MIIold-1"), iam_reply("MIInew-2"))
    await run(
        dcs.get_background_task_progress(PROJECT_ID, INSTANCE, DCS_TASK), server, cloud_config(password_conn(iam))
    )
    assert route.call_count == 2
    assert [r.headers["X-Auth-Token"] for r in server.requests] == ["MIIold-1", "MIInew-2"]


async def test_async_iam_rejection_is_an_authentication_error_without_password(iam: LocalHttpServer):
    server = Server(ok_json({"progress": 10}))
    iam.route(
        "POST", "/v3/auth/tokens", httpx.Response(401, json={"error": {"code": "401", "message": "wrong password"}})
    )
    with pytest.raises(AuthenticationError) as info:
        await run(
            dcs.get_background_task_progress(PROJECT_ID, INSTANCE, DCS_TASK), server, cloud_config(password_conn(iam))
        )
    assert info.value.service == "iam"
    assert "'iam-user'" in str(info.value)
    assert PASSWORD not in str(info.value)
    assert server.requests == []


async def test_async_iam_response_without_token_header(iam: LocalHttpServer):
    server = Server(ok_json({"progress": 10}))
    iam.route("POST", "/v3/auth/tokens", httpx.Response(201, json={"token": {"expires_at": IAM_EXPIRES}}))
    with pytest.raises(BadResponseError) as info:
        await run(
            dcs.get_background_task_progress(PROJECT_ID, INSTANCE, DCS_TASK), server, cloud_config(password_conn(iam))
        )
    assert (info.value.service, info.value.field) == ("iam", "X-Subject-Token")
    assert server.requests == []
