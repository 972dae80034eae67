"""CloudDCHook against requests_mock: start an export, poll it (the API example), download it atomically."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from typing import TYPE_CHECKING

import pytest

from airflow_provider.core.errors import (
    ApiError,
    AuthenticationError,
    BadResponseError,
    InvalidInputError,
    RateLimitedError,
    TransportError,
)
from airflow_provider.hooks.clouddc import CloudDCHook
from tests.hooks._support import ENDPOINT, HTML_BODY, PROJECT_ID, assert_signed, body_bytes, url_parts

if TYPE_CHECKING:
    from pathlib import Path

SERVER = "b5c3a3a0-3bd6-4d8a-9f44-3c2f0d5a1c10"
EXPORT = "1"
EXPORTS_PATH = f"/v1/{PROJECT_ID}/physicalservers/{SERVER}/logs/exports"
EXPORTS_URL = f"{ENDPOINT}{EXPORTS_PATH}"
EXPORT_URL = f"{EXPORTS_URL}/{EXPORT}"
CONTENT_URL = f"{EXPORT_URL}/content"
ARCHIVE = bytes(range(256)) * 1000 + b"\x1f\x8b tail"

# The API reference page's example response.
API_EXAMPLE_EXPORT = '{"export_id":"1","status":"Running","percentage":"30%","created_at":"2024-07-01T11:32:49Z"}'


def leftovers(folder: Path) -> list[str]:
    return sorted(os.listdir(folder))


# --- export_server_logs -----------------------------------------------------------------------


def test_export_posts_without_body_and_returns_export_id(cloud, requests_mock):
    requests_mock.post(
        EXPORTS_URL,
        status_code=202,
        json={"export_id": "7", "status": "processing", "percentage": "0%", "created_at": "2024-07-01T11:32:49+00:00"},
    )
    export = CloudDCHook().export_server_logs(SERVER)
    request = requests_mock.last_request
    assert request.method == "POST"
    assert url_parts(request) == (EXPORTS_PATH, [])
    assert body_bytes(request) == b""
    assert_signed(request)
    assert export.export_id == "7"
    assert export.percentage == 0
    assert export.created_at == datetime(2024, 7, 1, 11, 32, 49, tzinfo=timezone.utc)


def test_export_without_export_id_is_a_bad_response(cloud, requests_mock):
    requests_mock.post(EXPORTS_URL, status_code=202, json={"status": "processing"})
    with pytest.raises(BadResponseError) as info:
        CloudDCHook().export_server_logs(SERVER)
    assert (info.value.service, info.value.field) == ("clouddc", "export_id")


def test_export_malformed_json(cloud, requests_mock):
    requests_mock.post(EXPORTS_URL, status_code=202, text='{"export_id": "7"')
    with pytest.raises(BadResponseError) as info:
        CloudDCHook().export_server_logs(SERVER)
    assert info.value.service == "clouddc"
    assert str(info.value).startswith("clouddc: unexpected response")


def test_export_401(cloud, requests_mock):
    requests_mock.post(EXPORTS_URL, status_code=401, json={"error_code": "CLOUDDC.0401", "error_msg": "unauthorized"})
    with pytest.raises(AuthenticationError) as info:
        CloudDCHook().export_server_logs(SERVER)
    assert (info.value.status, info.value.error_code, info.value.error_msg) == (401, "CLOUDDC.0401", "unauthorized")


def test_export_500_is_not_retried(cloud, requests_mock):
    requests_mock.post(EXPORTS_URL, status_code=500, json={"error_code": "CLOUDDC.0500", "error_msg": "internal"})
    with pytest.raises(ApiError):
        CloudDCHook().export_server_logs(SERVER)
    assert requests_mock.call_count == 1


def test_export_429_is_retried_then_succeeds(cloud, requests_mock):
    requests_mock.post(
        EXPORTS_URL, [{"status_code": 429, "text": "-"}, {"status_code": 202, "json": {"export_id": "8"}}]
    )
    assert CloudDCHook().export_server_logs(SERVER).export_id == "8"
    assert requests_mock.call_count == 2


# --- get_server_log_export --------------------------------------------------------------------


def test_get_export_parses_seed(cloud, requests_mock):
    requests_mock.get(EXPORT_URL, text=API_EXAMPLE_EXPORT)
    export = CloudDCHook().get_server_log_export(SERVER, EXPORT)
    request = requests_mock.last_request
    assert request.method == "GET"
    assert url_parts(request) == (f"{EXPORTS_PATH}/{EXPORT}", [])
    assert_signed(request)
    assert (export.export_id, export.status, export.percentage) == ("1", "Running", 30.0)
    assert export.created_at == datetime(2024, 7, 1, 11, 32, 49, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("status", "kwargs", "error_class", "code", "msg", "calls"),
    [
        (
            401,
            {"json": {"error_code": "CLOUDDC.0401", "error_msg": "token"}},
            AuthenticationError,
            "CLOUDDC.0401",
            "token",
            1,
        ),
        (429, {"text": "-"}, RateLimitedError, None, "-", 3),
        (500, {"json": {"error_code": "CLOUDDC.0500", "error_msg": "oops"}}, ApiError, "CLOUDDC.0500", "oops", 3),
    ],
)
def test_get_export_documented_errors(cloud, requests_mock, status, kwargs, error_class, code, msg, calls):
    requests_mock.get(EXPORT_URL, status_code=status, **kwargs)
    with pytest.raises(error_class) as info:
        CloudDCHook().get_server_log_export(SERVER, EXPORT)
    assert type(info.value) is error_class
    assert (info.value.service, info.value.status, info.value.error_code, info.value.error_msg) == (
        "clouddc",
        status,
        code,
        msg,
    )
    assert requests_mock.call_count == calls


def test_get_export_html_error(cloud, requests_mock):
    requests_mock.get(EXPORT_URL, status_code=401, text=HTML_BODY)
    with pytest.raises(AuthenticationError) as info:
        CloudDCHook().get_server_log_export(SERVER, EXPORT)
    assert info.value.error_msg == "non-JSON (HTML) error body"


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("not json at all", "<body>"),
        ("[1, 2]", "<body>"),
        ('{"percentage": "130%"}', "percentage"),
        ('{"created_at": "tomorrow"}', "created_at"),
    ],
)
def test_get_export_malformed_200(cloud, requests_mock, text, field):
    requests_mock.get(EXPORT_URL, text=text)
    with pytest.raises(BadResponseError) as info:
        CloudDCHook().get_server_log_export(SERVER, EXPORT)
    assert (info.value.service, info.value.field) == ("clouddc", field)


@pytest.mark.parametrize(
    ("server_id", "export_id", "field"),
    [
        ("a/b", EXPORT, "server_id"),
        ("..", EXPORT, "server_id"),
        (SERVER, "1/../2", "export_id"),
        (SERVER, "", "export_id"),
    ],
)
def test_bad_ids_rejected_before_any_request(cloud, requests_mock, tmp_path, server_id, export_id, field):
    hook = CloudDCHook()
    with pytest.raises(InvalidInputError) as info:
        hook.get_server_log_export(server_id, export_id)
    assert info.value.field == field
    with pytest.raises(InvalidInputError):
        hook.download_server_logs(server_id, export_id, tmp_path)
    if field == "server_id":
        with pytest.raises(InvalidInputError):
            hook.export_server_logs(server_id)
    assert requests_mock.call_count == 0
    assert leftovers(tmp_path) == []


# --- download_server_logs ---------------------------------------------------------------------


def test_download_into_folder_writes_exact_bytes(cloud, requests_mock, tmp_path):
    requests_mock.get(
        CONTENT_URL,
        content=ARCHIVE,
        headers={
            "Content-Type": "application/octet-stream;charset=UTF-8",
            "Content-Disposition": f"attachment; filename={SERVER}-dump.tar.gz",
            "Content-Length": str(len(ARCHIVE)),
        },
    )
    path = CloudDCHook().download_server_logs(SERVER, EXPORT, tmp_path)
    assert path == tmp_path / f"{SERVER}-dump.tar.gz"
    assert path.read_bytes() == ARCHIVE
    assert leftovers(tmp_path) == [f"{SERVER}-dump.tar.gz"]
    request = requests_mock.last_request
    assert url_parts(request) == (f"{EXPORTS_PATH}/{EXPORT}/content", [])
    assert request.stream is True
    assert_signed(request)


def test_download_to_file_path_creates_parents_and_replaces(cloud, requests_mock, tmp_path):
    target = tmp_path / "nested" / "logs.tgz"
    target.parent.mkdir()
    target.write_bytes(b"old content")
    requests_mock.get(CONTENT_URL, content=ARCHIVE)
    assert CloudDCHook().download_server_logs(SERVER, EXPORT, str(target)) == target
    assert target.read_bytes() == ARCHIVE
    assert leftovers(target.parent) == ["logs.tgz"]


def test_truncated_download_leaves_no_file(cloud, requests_mock, tmp_path):
    requests_mock.get(CONTENT_URL, content=ARCHIVE[:1000], headers={"Content-Length": str(len(ARCHIVE))})
    with pytest.raises(TransportError) as info:
        CloudDCHook().download_server_logs(SERVER, EXPORT, tmp_path)
    assert info.value.service == "clouddc"
    assert requests_mock.call_count == 3
    assert leftovers(tmp_path) == []


def test_truncated_download_keeps_the_previous_file(cloud, requests_mock, tmp_path):
    target = tmp_path / "logs.tgz"
    target.write_bytes(b"previous archive")
    requests_mock.get(CONTENT_URL, content=ARCHIVE[:10], headers={"Content-Length": str(len(ARCHIVE))})
    with pytest.raises(TransportError):
        CloudDCHook().download_server_logs(SERVER, EXPORT, target)
    assert target.read_bytes() == b"previous archive"
    assert leftovers(tmp_path) == ["logs.tgz"]


def test_truncated_download_is_retried_from_the_start(cloud, requests_mock, tmp_path):
    requests_mock.get(
        CONTENT_URL,
        [
            {"content": ARCHIVE[:5000], "headers": {"Content-Length": str(len(ARCHIVE))}},
            {"content": ARCHIVE, "headers": {"Content-Length": str(len(ARCHIVE))}},
        ],
    )
    path = CloudDCHook().download_server_logs(SERVER, EXPORT, tmp_path)
    assert path.read_bytes() == ARCHIVE
    assert requests_mock.call_count == 2
    assert leftovers(tmp_path) == [path.name]


@pytest.mark.parametrize(
    ("status", "kwargs", "error_class", "calls"),
    [
        (401, {"json": {"error_code": "CLOUDDC.0401", "error_msg": "token"}}, AuthenticationError, 1),
        (429, {"text": "-"}, RateLimitedError, 3),
        (500, {"json": {"error_code": "CLOUDDC.0500", "error_msg": "oops"}}, ApiError, 3),
        (404, {"text": HTML_BODY}, ApiError, 1),
    ],
)
def test_download_errors_leave_no_file(cloud, requests_mock, tmp_path, status, kwargs, error_class, calls):
    requests_mock.get(CONTENT_URL, status_code=status, **kwargs)
    with pytest.raises(error_class) as info:
        CloudDCHook().download_server_logs(SERVER, EXPORT, tmp_path)
    assert info.value.status == status
    assert requests_mock.call_count == calls
    assert leftovers(tmp_path) == []
