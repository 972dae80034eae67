"""DcsHook against requests_mock: background task progress (the API example) and the task list."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from airflow_provider.core.errors import (
    ApiError,
    AuthenticationError,
    BadResponseError,
    InvalidInputError,
    NotFoundError,
)
from airflow_provider.hooks.dcs import DcsHook
from tests.api_examples import DCS_PROGRESS
from tests.hooks._support import ENDPOINT, HTML_BODY, PROJECT_ID, assert_signed, body_bytes, url_parts

INSTANCE = "5560df16-cebf-4473-95c4-d1b573c16e79"
TASK = "8abf6e1e72c12e7c0172c15b508500aa"
PROGRESS_PATH = f"/v2/{PROJECT_ID}/instances/{INSTANCE}/tasks/{TASK}/progress"
PROGRESS_URL = f"{ENDPOINT}{PROGRESS_PATH}"
TASKS_PATH = f"/v2/{PROJECT_ID}/instances/{INSTANCE}/tasks"
TASKS_URL = f"{ENDPOINT}{TASKS_PATH}"


def _progress_variant() -> str:
    """The API example with a non-empty first sub-step ``detail`` and an ISO time with milliseconds
    in the second step, so both documented forms are parsed in one body."""
    body = json.loads(DCS_PROGRESS)
    body["step_details"][0]["sub_step_details"][0]["detail"] = (
        "{node_id:9996c3376318417281fb5e611f3fb1a0,slot_range:[0 5460],full_migration:in progress}"
    )
    body["step_details"][1]["begin_time"] = "2022-09-01T11:52:30.503Z"
    return json.dumps(body)


API_EXAMPLE_PROGRESS = _progress_variant()


def dcs_error(status: int, code: str, msg: str) -> dict[str, Any]:
    return {"status_code": status, "json": {"error_msg": msg, "error_code": code, "error_ext_msg": None}}


def test_progress_request_and_example_parsing(cloud, requests_mock):
    requests_mock.get(PROGRESS_URL, text=API_EXAMPLE_PROGRESS)
    progress = DcsHook().get_background_task_progress(INSTANCE, TASK)
    request = requests_mock.last_request
    assert request.method == "GET"
    assert url_parts(request) == (PROGRESS_PATH, [])
    assert body_bytes(request) == b""
    assert_signed(request)
    assert progress.progress == 30
    assert progress.remain_time == 100
    first, second = progress.step_details
    assert first.state == "FINISH"
    assert first.begin_time == datetime(2022, 9, 1, 11, 52, 24, tzinfo=timezone.utc)
    assert first.sub_step_details[0].detail is not None
    assert first.sub_step_details[0].detail.startswith("{node_id:")
    assert second.state == "EXECUTING"
    assert second.begin_time == datetime(2022, 9, 1, 11, 52, 30, 503000, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("status", "error_class", "calls"),
    [
        (400, ApiError, 1),
        (401, AuthenticationError, 1),
        (403, AuthenticationError, 1),
        (404, NotFoundError, 1),
        (500, ApiError, 3),
    ],
)
def test_progress_documented_errors(cloud, requests_mock, status, error_class, calls):
    requests_mock.get(
        PROGRESS_URL, headers={"X-Request-Id": "req-123"}, **dcs_error(status, "DCS.4065", f"failure {status}")
    )
    with pytest.raises(error_class) as info:
        DcsHook().get_background_task_progress(INSTANCE, TASK)
    error = info.value
    assert type(error) is error_class
    assert (error.service, error.status, error.error_code, error.error_msg) == (
        "dcs",
        status,
        "DCS.4065",
        f"failure {status}",
    )
    assert error.request_id == "req-123"
    assert "request id req-123" in str(error)
    assert requests_mock.call_count == calls


def test_progress_500_then_success_is_retried(cloud, requests_mock):
    requests_mock.get(PROGRESS_URL, [dcs_error(500, "DCS.5000", "busy"), {"text": API_EXAMPLE_PROGRESS}])
    assert DcsHook().get_background_task_progress(INSTANCE, TASK).progress == 30
    assert requests_mock.call_count == 2


def test_progress_html_error(cloud, requests_mock):
    requests_mock.get(PROGRESS_URL, status_code=404, text=HTML_BODY)
    with pytest.raises(NotFoundError) as info:
        DcsHook().get_background_task_progress(INSTANCE, TASK)
    assert info.value.error_msg == "non-JSON (HTML) error body"
    assert info.value.error_code is None


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("<html>ok</html>", "<body>"),
        ('{"progress": "130%"}', "progress"),
        ('{"progress": 10, "step_details": [{"step_status": ["x"]}]}', "step_details[0].step_status"),
        ('{"progress": 10, "step_details": [{"begin_time": "yesterday"}]}', "step_details[0].begin_time"),
    ],
)
def test_progress_malformed_200(cloud, requests_mock, text, field):
    requests_mock.get(PROGRESS_URL, text=text)
    with pytest.raises(BadResponseError) as info:
        DcsHook().get_background_task_progress(INSTANCE, TASK)
    assert info.value.service == "dcs"
    assert info.value.field == field


@pytest.mark.parametrize(
    ("instance_id", "task_id", "field"),
    [
        ("a/b", TASK, "instance_id"),
        ("..", TASK, "instance_id"),
        (INSTANCE, "../x", "task_id"),
        (INSTANCE, "t#1", "task_id"),
        (INSTANCE, "", "task_id"),
        (INSTANCE, "t\n", "task_id"),
    ],
)
def test_bad_ids_rejected_before_any_request(cloud, requests_mock, instance_id, task_id, field):
    with pytest.raises(InvalidInputError) as info:
        DcsHook().get_background_task_progress(instance_id, task_id)
    assert info.value.field == field
    assert requests_mock.call_count == 0


def test_path_parameters_are_percent_encoded(cloud, requests_mock):
    requests_mock.get(
        f"{ENDPOINT}/v2/{PROJECT_ID}/instances/inst%20one/tasks/{TASK}/progress", text=API_EXAMPLE_PROGRESS
    )
    DcsHook().get_background_task_progress("inst one", TASK)
    assert "/instances/inst%20one/" in requests_mock.last_request.url
    assert_signed(requests_mock.last_request)


# --- get_background_task_page ------------------------------------------------------------------


def test_list_tasks_query_and_parsing(cloud, requests_mock):
    requests_mock.get(
        TASKS_URL,
        json={
            "task_count": "2",
            "tasks": [
                {
                    "id": "t1",
                    "name": "ChangeInstanceSpec",
                    "status": "SUCCESS",
                    "created_at": "2022-09-01T11:52:24.000Z",
                    "params": {"spec": "x"},
                    "enable_show": True,
                },
                {"id": "t2", "name": "BindEip", "status": "EXECUTING", "created_at": None},
            ],
        },
    )
    start = datetime(2024, 7, 1, 13, 30, 0, tzinfo=timezone(timedelta(hours=8)))
    result = DcsHook().get_background_task_page(
        INSTANCE, offset=10, limit=50, start_time=start, end_time="20240702000000"
    )
    request = requests_mock.last_request
    path, query = url_parts(request)
    assert path == TASKS_PATH
    assert sorted(query) == [
        ("end_time", "20240702000000"),
        ("limit", "50"),
        ("offset", "10"),
        ("start_time", "20240701053000"),
    ]
    assert_signed(request)
    assert result.task_count == 2
    assert [t.id for t in result.tasks] == ["t1", "t2"]
    assert result.tasks[0].created_at == datetime(2022, 9, 1, 11, 52, 24, tzinfo=timezone.utc)


def test_list_tasks_defaults(cloud, requests_mock):
    requests_mock.get(TASKS_URL, json={"task_count": 0, "tasks": []})
    assert DcsHook().get_background_task_page(INSTANCE).tasks == []
    assert sorted(url_parts(requests_mock.last_request)[1]) == [("limit", "10"), ("offset", "0")]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"start_time": "2024-07-01"}, "start_time"),
        ({"end_time": "20241340000000"}, "end_time"),
        ({"limit": 0}, "limit"),
        ({"offset": -1}, "offset"),
    ],
)
def test_list_tasks_bad_options(cloud, requests_mock, kwargs, field):
    with pytest.raises(InvalidInputError) as info:
        DcsHook().get_background_task_page(INSTANCE, **kwargs)
    assert info.value.field == field
    assert requests_mock.call_count == 0


@pytest.mark.parametrize("status", [400, 401, 403, 404, 500])
def test_list_tasks_errors(cloud, requests_mock, status):
    requests_mock.get(TASKS_URL, **dcs_error(status, "DCS.4001", "nope"))
    with pytest.raises(ApiError) as info:
        DcsHook().get_background_task_page(INSTANCE)
    assert info.value.status == status
    assert info.value.error_code == "DCS.4001"


def test_list_tasks_malformed(cloud, requests_mock):
    requests_mock.get(TASKS_URL, json={"task_count": "many", "tasks": []})
    with pytest.raises(BadResponseError) as info:
        DcsHook().get_background_task_page(INSTANCE)
    assert (info.value.service, info.value.field) == ("dcs", "task_count")


# --- list_background_tasks: tasks, not a page -------------------------------------------------


def test_list_tasks_returns_the_tasks_of_every_page(cloud, requests_mock):
    """Before, it returned the page object: ``list()`` of it yielded (field, value) tuples."""
    tasks = [{"id": f"t{i}", "name": "BindEip", "status": "SUCCESS"} for i in range(101)]
    requests_mock.get(
        TASKS_URL,
        [{"json": {"task_count": 101, "tasks": tasks[:100]}}, {"json": {"task_count": 101, "tasks": tasks[100:]}}],
    )
    result = DcsHook().list_background_tasks(INSTANCE, start_time="20240701000000")
    assert isinstance(result, list)
    assert [t.id for t in result] == [f"t{i}" for i in range(101)]
    queries = [dict(url_parts(r)[1]) for r in requests_mock.request_history]
    assert [(q["offset"], q["limit"], q["start_time"]) for q in queries] == [
        ("0", "100", "20240701000000"),
        ("100", "100", "20240701000000"),
    ]


def test_list_tasks_with_paging_arguments_is_deprecated_and_returns_that_page(cloud, requests_mock):
    from airflow.exceptions import AirflowProviderDeprecationWarning

    requests_mock.get(TASKS_URL, json={"task_count": 30, "tasks": [{"id": "t20", "status": "SUCCESS"}]})
    with pytest.warns(AirflowProviderDeprecationWarning, match="get_background_task_page"):
        result = DcsHook().list_background_tasks(INSTANCE, offset=20, limit=1)
    assert [t.id for t in result] == ["t20"]
    assert sorted(url_parts(requests_mock.last_request)[1]) == [("limit", "1"), ("offset", "20")]
