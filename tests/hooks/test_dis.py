"""DisHook against requests_mock: transfer-task logs (the API example), paging, errors in 200 bodies."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import pytest

from airflow_provider.core.errors import ApiError, AuthenticationError, BadResponseError, InvalidInputError
from airflow_provider.hooks.dis import DisHook
from tests.api_examples import DIS_LOG as API_EXAMPLE_LOG
from tests.hooks._support import DIS_TASK_ID, ENDPOINT, HTML_BODY, PROJECT_ID, assert_signed, body_bytes, url_parts

LOG_PATH = f"/v1/transfertasklog/{DIS_TASK_ID}"
LOG_URL = f"{ENDPOINT}{LOG_PATH}"
STREAM = "disMonitorTest"
TASKS_PATH = f"/v2/{PROJECT_ID}/streams/{STREAM}/transfer-tasks"
TASKS_URL = f"{ENDPOINT}{TASKS_PATH}"
ACTION_URL = f"{TASKS_URL}/action"
OTHER_TASK_ID = "As805BudhcH1lDs6gbn"


def entry(n: int) -> dict[str, Any]:
    start = 1756539753280 + n * 300_000
    return {
        "transferTaskId": DIS_TASK_ID,
        "state": 0,
        "destinationType": "OBS",
        "startTime": start,
        "endTime": start + 290_000,
        "transferBytes": 1000 * n,
        "transferRecordsNum": n,
        "transferFileName": f"{DIS_TASK_ID}.{STREAM}.{n}",
    }


def log_page(*numbers: int, total: int | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"errorCode": -1, "message": None, "transferTaskLogList": [entry(n) for n in numbers]}
    if total is not None:
        body["totalNum"] = total
    return {"json": body}


def sent_body(request: Any) -> Any:
    return json.loads(body_bytes(request))


def test_log_page_request_and_example_parsing(cloud, requests_mock):
    requests_mock.post(LOG_URL, text=API_EXAMPLE_LOG)
    page = DisHook().get_transfer_task_log_page(DIS_TASK_ID)
    request = requests_mock.last_request
    assert request.method == "POST"
    assert url_parts(request) == (LOG_PATH, [])
    assert sent_body(request) == {
        "order": "desc",
        "sortBy": "createTimeStr",
        "pageInfo": {"pageIndex": 1, "pageTotal": 10},
    }
    assert request.headers["Content-Type"] == "application/json"
    assert_signed(request)
    assert page.total_num == 100
    assert page.error_code == "-1"
    [log] = page.transfer_task_log_list
    assert log.transfer_task_id == DIS_TASK_ID
    assert log.start_time == datetime(2025, 8, 30, 7, 42, 33, 280000, tzinfo=timezone.utc)
    assert log.transfer_records_num == 32943
    assert log.transfer_file_name == "CDaRPdvKUfZrAhzTaYs.disMonitorTest.0.1756539753290"
    assert log.state == 0


def test_log_page_options_are_sent(cloud, requests_mock):
    requests_mock.post(LOG_URL, json={"errorCode": -1, "totalNum": 0, "transferTaskLogList": []})
    DisHook().get_transfer_task_log_page(DIS_TASK_ID, order="asc", sort_by="endTime", page_index=3, page_size=50)
    assert sent_body(requests_mock.last_request) == {
        "order": "asc",
        "sortBy": "endTime",
        "pageInfo": {"pageIndex": 3, "pageTotal": 50},
    }


def test_log_list_as_array_and_as_null(cloud, requests_mock):
    requests_mock.post(LOG_URL, [log_page(1, 2), {"json": {"errorCode": "-1", "transferTaskLogList": None}}])
    hook = DisHook()
    assert [e.transfer_records_num for e in hook.get_transfer_task_log_page(DIS_TASK_ID).transfer_task_log_list] == [
        1,
        2,
    ]
    assert hook.get_transfer_task_log_page(DIS_TASK_ID).transfer_task_log_list == []


@pytest.mark.parametrize(
    "body",
    [
        {"errorCode": "DIS.4301", "message": "Stream not found"},
        {"errorCode": 4301, "message": "Stream not found", "transferTaskLogList": [entry(1)]},
        {"errorCode": "DIS.4301"},
    ],
)
def test_error_code_inside_http_200(cloud, requests_mock, body):
    requests_mock.post(LOG_URL, json=body)
    with pytest.raises(ApiError) as info:
        DisHook().get_transfer_task_log_page(DIS_TASK_ID)
    error = info.value
    assert (error.service, error.status) == ("dis", 200)
    assert error.error_code in ("DIS.4301", "4301")
    assert error.error_msg == body.get("message")
    assert requests_mock.call_count == 1


def test_error_code_alone_next_to_entries_is_not_an_error(cloud, requests_mock):
    requests_mock.post(LOG_URL, json={"errorCode": "0", "transferTaskLogList": [entry(1)], "totalNum": 1})
    assert len(DisHook().get_transfer_task_log_page(DIS_TASK_ID).transfer_task_log_list) == 1


@pytest.mark.parametrize(
    ("status", "error_class", "calls"),
    # 400 "Invalid request." may be the pageInfo form: the other form is tried once (2 calls)
    [(400, ApiError, 2), (401, AuthenticationError, 1), (403, AuthenticationError, 1), (500, ApiError, 3)],
)
def test_http_errors(cloud, requests_mock, status, error_class, calls):
    requests_mock.post(LOG_URL, status_code=status, json={"errorCode": "DIS.4200", "message": "Invalid request"})
    with pytest.raises(error_class) as info:
        DisHook().get_transfer_task_log_page(DIS_TASK_ID)
    assert (info.value.service, info.value.status, info.value.error_code) == ("dis", status, "DIS.4200")
    assert requests_mock.call_count == calls


def test_http_error_keeps_the_dis_message(cloud, requests_mock):
    requests_mock.post(LOG_URL, status_code=400, json={"errorCode": "DIS.4200", "message": "Invalid request"})
    with pytest.raises(ApiError) as info:
        DisHook().get_transfer_task_log_page(DIS_TASK_ID)
    assert info.value.error_msg == "Invalid request"
    assert "Invalid request" in str(info.value)


def test_html_error(cloud, requests_mock):
    requests_mock.post(LOG_URL, status_code=502, text=HTML_BODY)
    with pytest.raises(ApiError) as info:
        DisHook().get_transfer_task_log_page(DIS_TASK_ID)
    assert info.value.status == 502
    assert info.value.error_msg == "non-JSON (HTML) error body"
    assert requests_mock.call_count == 3


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ('{"errorCode": -1, "transferTaskLogList": [', "<body>"),
        ('{"errorCode": -1, "totalNum": "lots"}', "totalNum"),
        ('{"errorCode": -1, "transferTaskLogList": [{"startTime": "noon"}]}', "transferTaskLogList[0].startTime"),
        ('{"errorCode": -1, "transferTaskLogList": "x"}', "transferTaskLogList"),
    ],
)
def test_malformed_200(cloud, requests_mock, text, field):
    requests_mock.post(LOG_URL, text=text)
    with pytest.raises(BadResponseError) as info:
        DisHook().get_transfer_task_log_page(DIS_TASK_ID)
    assert (info.value.service, info.value.field) == ("dis", field)


@pytest.mark.parametrize(
    "task_id", ["short", DIS_TASK_ID + "x", "CDaRPdvKUfZrAhz/aYs", "CDaRPdvKUfZrAhz..Ys", "../../../../../../x"]
)
def test_bad_task_ids_rejected_before_any_request(cloud, requests_mock, task_id):
    hook = DisHook()
    with pytest.raises(InvalidInputError) as info:
        hook.get_transfer_task_log_page(task_id)
    assert info.value.field == "transfer_task_id"
    with pytest.raises(InvalidInputError):
        list(hook.iter_transfer_task_logs(task_id))
    with pytest.raises(InvalidInputError):
        hook.list_transfer_task_logs(task_id)
    assert requests_mock.call_count == 0


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"order": "up"}, "order"),
        ({"sort_by": "name"}, "sort_by"),
        ({"page_index": 0}, "page_index"),
        ({"page_size": 101}, "page_size"),
    ],
)
def test_bad_options_rejected_before_any_request(cloud, requests_mock, kwargs, field):
    with pytest.raises(InvalidInputError) as info:
        DisHook().get_transfer_task_log_page(DIS_TASK_ID, **kwargs)
    assert info.value.field == field
    assert requests_mock.call_count == 0


# --- paging -----------------------------------------------------------------------------------


def test_iter_logs_over_several_pages_until_total_num(cloud, requests_mock):
    requests_mock.post(LOG_URL, [log_page(1, 2, total=6), log_page(3, 4, total=6), log_page(5, 6, total=6)])
    entries = list(DisHook().iter_transfer_task_logs(DIS_TASK_ID, page_size=2))
    assert [e.transfer_records_num for e in entries] == [1, 2, 3, 4, 5, 6]
    assert requests_mock.call_count == 3
    assert [sent_body(r)["pageInfo"] for r in requests_mock.request_history] == [
        {"pageIndex": 1, "pageTotal": 2},
        {"pageIndex": 2, "pageTotal": 2},
        {"pageIndex": 3, "pageTotal": 2},
    ]
    for request in requests_mock.request_history:
        assert_signed(request)


def test_iter_logs_is_lazy(cloud, requests_mock):
    requests_mock.post(LOG_URL, [log_page(1, 2, total=6), log_page(3, 4, total=6)])
    iterator = DisHook().iter_transfer_task_logs(DIS_TASK_ID, page_size=2)
    assert next(iterator).transfer_records_num == 1
    assert requests_mock.call_count == 1


def test_iter_logs_stops_on_short_page_and_on_repeated_page(cloud, requests_mock):
    requests_mock.post(LOG_URL, [log_page(1, 2), log_page(3)])
    assert [e.transfer_records_num for e in DisHook().iter_transfer_task_logs(DIS_TASK_ID, page_size=2)] == [1, 2, 3]
    requests_mock.reset_mock()
    requests_mock.post(LOG_URL, json=log_page(1, 2)["json"])
    assert [e.transfer_records_num for e in DisHook().iter_transfer_task_logs(DIS_TASK_ID, page_size=2)] == [1, 2]
    assert requests_mock.call_count == 2


def test_iter_logs_respects_max_pages(cloud, requests_mock):
    requests_mock.post(LOG_URL, [log_page(1), log_page(2), log_page(3)])
    entries = list(DisHook().iter_transfer_task_logs(DIS_TASK_ID, page_size=1, max_pages=2))
    assert [e.transfer_records_num for e in entries] == [1, 2]
    assert requests_mock.call_count == 2


def test_iter_logs_raises_a_mid_way_error(cloud, requests_mock):
    requests_mock.post(LOG_URL, [log_page(1, 2, total=4), {"json": {"errorCode": "DIS.4301", "message": "gone"}}])
    iterator = DisHook().iter_transfer_task_logs(DIS_TASK_ID, page_size=2)
    assert [next(iterator).transfer_records_num, next(iterator).transfer_records_num] == [1, 2]
    with pytest.raises(ApiError, match="gone"):
        next(iterator)


def test_list_transfer_task_logs(cloud, requests_mock):
    requests_mock.post(LOG_URL, [log_page(1, 2, total=3), log_page(3, total=3)])
    entries = DisHook().list_transfer_task_logs(DIS_TASK_ID, page_size=2)
    assert [e.transfer_records_num for e in entries] == [1, 2, 3]
    assert [sent_body(r)["pageInfo"]["pageIndex"] for r in requests_mock.request_history] == [1, 2]


# --- transfer tasks ---------------------------------------------------------------------------


def test_list_transfer_tasks(cloud, requests_mock):
    requests_mock.get(
        TASKS_URL,
        json={
            "total_number": 1,
            "tasks": [
                {
                    "task_id": OTHER_TASK_ID,
                    "task_name": "dump-1",
                    "state": "RUNNING",
                    "destination_type": "OBS",
                    "create_time": 1756539753280,
                }
            ],
        },
    )
    [task] = DisHook().list_transfer_tasks(STREAM)
    request = requests_mock.last_request
    assert request.method == "GET"
    assert url_parts(request) == (TASKS_PATH, [])
    assert_signed(request)
    assert (task.task_id, task.task_name, task.state) == (OTHER_TASK_ID, "dump-1", "RUNNING")


def test_list_transfer_tasks_without_a_list_is_a_bad_response(cloud, requests_mock):
    requests_mock.get(TASKS_URL, json={"total_number": 3})
    with pytest.raises(BadResponseError) as info:
        DisHook().list_transfer_tasks(STREAM)
    assert (info.value.service, info.value.field) == ("dis", "tasks")


@pytest.mark.parametrize(("method", "action"), [("start_transfer_tasks", "start"), ("stop_transfer_tasks", "stop")])
def test_start_and_stop_actions(cloud, requests_mock, method, action):
    requests_mock.post(ACTION_URL, status_code=200, text="")
    getattr(DisHook(), method)(STREAM, [DIS_TASK_ID, OTHER_TASK_ID])
    request = requests_mock.last_request
    assert url_parts(request) == (f"{TASKS_PATH}/action", [])
    assert sent_body(request) == {"action": action, "tasks": [{"id": DIS_TASK_ID}, {"id": OTHER_TASK_ID}]}
    assert_signed(request)


def test_action_is_not_retried_on_500(cloud, requests_mock):
    requests_mock.post(ACTION_URL, status_code=500, json={"errorCode": "DIS.5000", "message": "internal"})
    with pytest.raises(ApiError):
        DisHook().start_transfer_tasks(STREAM, [DIS_TASK_ID])
    assert requests_mock.call_count == 1


def test_action_error_inside_200(cloud, requests_mock):
    requests_mock.post(ACTION_URL, json={"errorCode": "DIS.4336", "message": "task already running"})
    with pytest.raises(ApiError, match="task already running"):
        DisHook().start_transfer_tasks(STREAM, [DIS_TASK_ID])


def test_action_plain_text_body_is_accepted(cloud, requests_mock):
    requests_mock.post(ACTION_URL, text="success")
    DisHook().stop_transfer_tasks(STREAM, [DIS_TASK_ID])


@pytest.mark.parametrize(
    ("stream", "ids", "field"),
    [
        ("a/b", [DIS_TASK_ID], "stream_name"),
        ("..", [DIS_TASK_ID], "stream_name"),
        (STREAM, [], "task_ids"),
        (STREAM, DIS_TASK_ID, "task_ids"),
        (STREAM, [DIS_TASK_ID, DIS_TASK_ID], "task_ids"),
        (STREAM, ["nope"], "task_ids"),
    ],
)
def test_action_bad_input(cloud, requests_mock, stream, ids, field):
    with pytest.raises(InvalidInputError) as info:
        DisHook().start_transfer_tasks(stream, ids)
    assert info.value.field == field
    assert requests_mock.call_count == 0


def test_get_all_transfer_task_logs_is_a_deprecated_name(cloud, requests_mock):
    from airflow.exceptions import AirflowProviderDeprecationWarning

    requests_mock.post(LOG_URL, [log_page(1, total=1)])
    with pytest.warns(AirflowProviderDeprecationWarning, match="list_transfer_task_logs"):
        entries = DisHook().get_all_transfer_task_logs(DIS_TASK_ID, page_size=2)
    assert [e.transfer_records_num for e in entries] == [1]
