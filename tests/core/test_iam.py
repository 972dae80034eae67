"""The IAM password-token fetcher, sync (requests-mock) and async (a real local HTTP server)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import httpx
import pytest

from airflow_provider.core.async_transport import close_shared_clients
from airflow_provider.core.errors import ApiError, AuthenticationError, BadResponseError
from airflow_provider.core.iam import PasswordTokenFetcher
from airflow_provider.core.retry import NO_RETRY
from tests.local_http import LocalHttpServer, serving

IAM = "https://iam.example.com"
URL = f"{IAM}/v3/auth/tokens?nocatalog=true"
PASSWORD = "pa55-w0rd-SECRET"
TOKEN = "MIIEXAMPLETOKEN" + "x" * 200
EXPIRES = "2030-08-24T08:22:40.178000Z"
GOOD_BODY = {"token": {"expires_at": EXPIRES, "issued_at": "2030-08-23T08:22:40.178000Z", "methods": ["password"]}}


def _fetcher(**kwargs: Any) -> PasswordTokenFetcher:
    params: dict[str, Any] = {
        "iam_endpoint": IAM,
        "domain_name": "acme-account",
        "user_name": "etl-user",
        "password": PASSWORD,
        "project_id": "0123456789abcdef0123456789abcdef",
        "retry": NO_RETRY,
    }
    params.update(kwargs)
    return PasswordTokenFetcher(**params)


def _expected_body(scope: dict[str, Any]) -> dict[str, Any]:
    return {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {"user": {"domain": {"name": "acme-account"}, "name": "etl-user", "password": PASSWORD}},
            },
            "scope": scope,
        }
    }


def test_fetch_by_project_id(requests_mock):
    requests_mock.post(URL, status_code=201, headers={"X-Subject-Token": TOKEN}, json=GOOD_BODY)
    token = _fetcher().fetch()
    assert token.value == TOKEN
    assert token.expires_at == datetime(2030, 8, 24, 8, 22, 40, 178000, tzinfo=timezone.utc)
    sent = requests_mock.last_request
    assert sent.method == "POST"
    assert sent.url == URL
    assert sent.headers["Content-Type"] == "application/json"
    assert "Authorization" not in sent.headers and "X-Auth-Token" not in sent.headers
    assert json.loads(sent.body) == _expected_body({"project": {"id": "0123456789abcdef0123456789abcdef"}})


def test_fetch_by_project_name(requests_mock):
    requests_mock.post(URL, status_code=200, headers={"X-Subject-Token": TOKEN}, json=GOOD_BODY)
    token = _fetcher(project_id=None, project_name="cn-north-4").fetch()
    assert token.value == TOKEN
    assert json.loads(requests_mock.last_request.body) == _expected_body({"project": {"name": "cn-north-4"}})


def test_cache_key_identifies_user_and_project():
    assert _fetcher().cache_key[:4] == (IAM, "acme-account", "etl-user", "0123456789abcdef0123456789abcdef")
    assert _fetcher(project_id=None, project_name="cn-north-4").cache_key[3] == "cn-north-4"
    assert _fetcher(user_name="other").cache_key != _fetcher().cache_key
    # a changed password must not be hidden by a token cached with the old one
    assert _fetcher(password="another-Pass1").cache_key != _fetcher().cache_key
    assert PASSWORD not in repr(_fetcher().cache_key)


def test_expires_at_offset_and_naive_forms(requests_mock):
    requests_mock.post(
        URL, headers={"X-Subject-Token": TOKEN}, json={"token": {"expires_at": "2030-01-01T10:00:00+02:00"}}
    )
    assert _fetcher().fetch().expires_at == datetime(2030, 1, 1, 8, 0, tzinfo=timezone.utc)
    requests_mock.post(URL, headers={"X-Subject-Token": TOKEN}, json={"token": {"expires_at": "2030-01-01T10:00:00"}})
    assert _fetcher().fetch().expires_at == datetime(2030, 1, 1, 10, 0, tzinfo=timezone.utc)


def test_401_names_user_and_domain_not_password(requests_mock):
    requests_mock.post(
        URL,
        status_code=401,
        json={"error": {"code": 401, "message": "The username or password is wrong.", "title": "Unauthorized"}},
        headers={"X-Request-Id": "req-iam-1"},
    )
    with pytest.raises(AuthenticationError) as info:
        _fetcher().fetch()
    message = str(info.value)
    assert "etl-user" in message and "acme-account" in message
    assert "The username or password is wrong." in message
    assert PASSWORD not in message
    assert info.value.status == 401
    assert info.value.request_id == "req-iam-1"
    assert requests_mock.call_count == 1  # a wrong password is not retried


def test_server_error_stays_a_server_error_without_password(requests_mock):
    """An IAM outage is not a credentials problem: it keeps its class (retryable by Airflow)."""
    requests_mock.post(URL, status_code=500, json={"error_code": "IAM.0001", "error_msg": "internal"})
    with pytest.raises(ApiError) as info:
        _fetcher().fetch()
    assert not isinstance(info.value, AuthenticationError)
    assert info.value.status == 500
    assert PASSWORD not in str(info.value)


def test_missing_subject_token_header(requests_mock):
    requests_mock.post(URL, status_code=201, json=GOOD_BODY)
    with pytest.raises(BadResponseError, match="X-Subject-Token") as info:
        _fetcher().fetch()
    assert info.value.field == "X-Subject-Token"


@pytest.mark.parametrize(
    "body",
    [
        {"token": {"expires_at": "tomorrow"}},
        {"token": {"expires_at": 1893456000}},
        {"token": {}},
        {"token": "not an object"},
        {},
    ],
)
def test_bad_expires_at(requests_mock, body: dict[str, Any]):
    requests_mock.post(URL, status_code=201, headers={"X-Subject-Token": TOKEN}, json=body)
    with pytest.raises(BadResponseError, match=r"token\.expires_at") as info:
        _fetcher().fetch()
    assert info.value.field == "token.expires_at"
    assert TOKEN not in str(info.value)


def test_non_json_body(requests_mock):
    requests_mock.post(URL, status_code=201, headers={"X-Subject-Token": TOKEN}, text="<html>ok</html>")
    with pytest.raises(BadResponseError, match="not JSON"):
        _fetcher().fetch()


# --------------------------------------------------------------------------- async


@pytest.fixture
async def iam_server() -> Any:
    """The async fetch goes through the transport's own pool: a real server on 127.0.0.1."""
    for server in serving():
        yield server
    await close_shared_clients()


async def test_afetch_success(iam_server: LocalHttpServer):
    route = iam_server.route(
        "POST", "/v3/auth/tokens", httpx.Response(201, headers={"X-Subject-Token": TOKEN}, json=GOOD_BODY)
    )
    token = await _fetcher(iam_endpoint=iam_server.url, project_id=None, project_name="cn-north-4").afetch()
    assert token.value == TOKEN
    assert token.expires_at == datetime(2030, 8, 24, 8, 22, 40, 178000, tzinfo=timezone.utc)
    sent = route.last
    assert str(sent.url) == f"{iam_server.url}/v3/auth/tokens?nocatalog=true"
    assert sent.headers["Content-Type"] == "application/json"
    assert json.loads(sent.content) == _expected_body({"project": {"name": "cn-north-4"}})


async def test_afetch_401(iam_server: LocalHttpServer):
    iam_server.route("POST", "/v3/auth/tokens", httpx.Response(401, json={"error_code": "x", "error_msg": "bad creds"}))
    with pytest.raises(AuthenticationError) as info:
        await _fetcher(iam_endpoint=iam_server.url).afetch()
    assert "etl-user" in str(info.value) and "acme-account" in str(info.value)
    assert PASSWORD not in str(info.value)


async def test_afetch_missing_header(iam_server: LocalHttpServer):
    iam_server.route("POST", "/v3/auth/tokens", httpx.Response(201, json=GOOD_BODY))
    with pytest.raises(BadResponseError, match="X-Subject-Token"):
        await _fetcher(iam_endpoint=iam_server.url).afetch()


async def test_afetch_bad_expires_at(iam_server: LocalHttpServer):
    iam_server.route(
        "POST",
        "/v3/auth/tokens",
        httpx.Response(201, headers={"X-Subject-Token": TOKEN}, json={"token": {"expires_at": "x"}}),
    )
    with pytest.raises(BadResponseError, match=r"token\.expires_at"):
        await _fetcher(iam_endpoint=iam_server.url).afetch()
