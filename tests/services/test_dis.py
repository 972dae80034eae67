from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_provider.core.errors import ApiError, BadResponseError, InvalidInputError, NotFoundError, error_for_status
from airflow_provider.core.exchange import drive_sync
from airflow_provider.core.status import TaskState
from airflow_provider.services import dis
from airflow_provider.services._parsing import parse_model, to_ms
from tests.api_examples import DIS_LOG as API_EXAMPLE_RESPONSE
from tests.services._support import FakeSender, json_values, property_settings, response, shaped

TASK = "CDaRPdvKUfZrAhzTaYs"
PROJECT = "575ae927fc644f22b5c5af5209b7cf51"
UTC = timezone.utc


# ListTransferTasks doc example shape (API_NOTES.md: task_id is only in the raw JSON).
LIST_TASKS: dict[str, Any] = {
    "total_number": 2,
    "tasks": [
        {
            "task_id": "As805BudhcH1lDs6gbn",
            "task_name": "newtask",
            "destination_type": "OBS",
            "state": "RUNNING",
            "create_time": 1606554932552,
            "last_transfer_timestamp": 1606984428612,
        },
        {"task_id": TASK, "task_name": "broken", "state": "ERROR"},
    ],
}


def _entry(start_ms: int, end_ms: int, records: int = 10, name: str | None = None) -> dict[str, Any]:
    return {
        "transferTaskId": TASK,
        "startTime": start_ms,
        "endTime": end_ms,
        "transferBytes": records * 100,
        "transferRecordsNum": records,
        "transferFileName": name or f"{TASK}.s.0.{start_ms}",
    }


def _page(entries: list[dict[str, Any]], total: int | None = None) -> dict[str, Any]:
    return {"errorCode": -1, "message": None, "totalNum": total, "transferTaskLogList": entries}


def test_example_response_single_object_list_and_integer_error_code():
    sender = FakeSender(response("dis", API_EXAMPLE_RESPONSE))
    page = drive_sync(dis.get_transfer_task_log_page(TASK), sender)
    assert page.total_num == 100
    assert page.error_code == "-1"
    [entry] = page.transfer_task_log_list
    assert entry.transfer_task_id == TASK
    assert entry.start_time == datetime(2025, 8, 30, 7, 42, 33, 280000, tzinfo=UTC)
    assert entry.end_time == datetime(2025, 8, 30, 7, 47, 36, 70000, tzinfo=UTC)
    assert (entry.transfer_bytes, entry.transfer_records_num) == (30718683, 32943)
    assert entry.transfer_file_name == "CDaRPdvKUfZrAhzTaYs.disMonitorTest.0.1756539753290"
    assert entry.state == 0
    [request] = sender.requests
    assert (request.method, request.path) == ("POST", f"/v1/transfertasklog/{TASK}")
    assert request.body_bytes() == (
        b'{"order":"desc","sortBy":"createTimeStr","pageInfo":{"pageIndex":1,"pageTotal":10}}'
    )
    assert request.idempotent


@pytest.mark.parametrize("listing", [None, [], "absent"])
def test_empty_list_forms(listing):
    body: dict[str, Any] = {"errorCode": "0", "totalNum": 0}
    if listing != "absent":
        body["transferTaskLogList"] = listing
    assert dis.parse_log_page(body).transfer_task_log_list == []


@pytest.mark.parametrize("code", ["DIS.4301", 4301])
def test_error_code_in_a_200_body_raises_api_error(code):
    body = {"errorCode": code, "message": "Stream not found", "transferTaskLogList": None}
    with pytest.raises(ApiError) as info:
        drive_sync(dis.get_transfer_task_log_page(TASK), FakeSender(response("dis", body)))
    assert (info.value.status, info.value.error_code, info.value.error_msg) == (200, str(code), "Stream not found")
    assert info.value.service == "dis"


@pytest.mark.parametrize("code", [None, -1, "-1", 0, "0", ""])
def test_benign_error_codes_are_not_errors(code):
    page = dis.parse_log_page({"errorCode": code, "message": "ok", "transferTaskLogList": [_entry(1, 2)]})
    assert len(page.transfer_task_log_list) == 1


def test_negative_counts_are_bad_responses():
    with pytest.raises(BadResponseError) as info:
        dis.parse_log_page({"transferTaskLogList": [{"transferRecordsNum": -3}]})
    assert info.value.field == "transferTaskLogList[0].transferRecordsNum"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"transfer_task_id": "short"}, "transfer_task_id"),
        ({"transfer_task_id": "CDaRPdvKUfZrAhzTa/s"}, "transfer_task_id"),
        ({"transfer_task_id": "CDaRPdvKUfZrAhzTaYs1"}, "transfer_task_id"),
        ({"order": "up"}, "order"),
        ({"sort_by": "name"}, "sort_by"),
        ({"page_size": 0}, "page_size"),
        ({"page_size": 101}, "page_size"),
        ({"page_index": 0}, "page_index"),
    ],
)
def test_bad_log_request_inputs(kwargs, field):
    args: dict[str, Any] = {"transfer_task_id": TASK, **kwargs}
    with pytest.raises(InvalidInputError) as info:
        dis.get_transfer_task_log_page(**args)
    assert info.value.field == field


def test_all_logs_pages_until_total_reached():
    pages = [
        _page([_entry(1, 2), _entry(3, 4)], total=5),
        _page([_entry(5, 6), _entry(7, 8)], total=5),
        _page([_entry(9, 10)], total=5),
    ]
    sender = FakeSender(*(response("dis", p) for p in pages))
    entries = drive_sync(dis.list_transfer_task_logs(TASK, page_size=2), sender)
    assert [to_ms(e.start_time) for e in entries if e.start_time] == [1, 3, 5, 7, 9]
    assert [json.loads(r.body_bytes())["pageInfo"]["pageIndex"] for r in sender.requests] == [1, 2, 3]


def test_all_logs_stops_when_a_server_ignores_paging():
    same = _page([_entry(1, 2), _entry(3, 4)], total=None)
    sender = FakeSender(response("dis", same), response("dis", same))
    entries = drive_sync(dis.list_transfer_task_logs(TASK, page_size=2, max_pages=50), sender)
    assert len(entries) == 2
    assert len(sender.requests) == 2


def test_all_logs_respects_max_pages():
    pages = [_page([_entry(i, i + 1), _entry(i + 2, i + 3)], total=100) for i in range(0, 40, 4)]
    sender = FakeSender(*(response("dis", p) for p in pages))
    entries = drive_sync(dis.list_transfer_task_logs(TASK, page_size=2, max_pages=3), sender)
    assert len(entries) == 6
    assert len(sender.items) == len(pages) - 3


@pytest.mark.parametrize("key", ["tasks", "transfer_tasks"])
def test_list_transfer_tasks_reads_raw_task_ids(key):
    body = {key: LIST_TASKS["tasks"], "total_number": 2}
    sender = FakeSender(response("dis", body))
    tasks = drive_sync(dis.list_transfer_tasks(PROJECT, "my-stream"), sender)
    assert [t.task_id for t in tasks] == ["As805BudhcH1lDs6gbn", TASK]
    assert tasks[0].create_time == datetime(2020, 11, 28, 9, 15, 32, 552000, tzinfo=UTC)
    assert sender.requests[0].path == f"/v2/{PROJECT}/streams/my-stream/transfer-tasks"


def test_list_without_tasks_key_is_an_error_unless_empty():
    assert dis.parse_transfer_tasks({"total_number": 0}) == []
    with pytest.raises(BadResponseError) as info:
        dis.parse_transfer_tasks({"total_number": 3})
    assert info.value.field == "tasks"


@pytest.mark.parametrize(("call", "action"), [(dis.start_transfer_tasks, "start"), (dis.stop_transfer_tasks, "stop")])
def test_start_stop_requests(call, action):
    sender = FakeSender(response("dis", raw=b""))
    assert drive_sync(call(PROJECT, "my-stream", [TASK, "As805BudhcH1lDs6gbn"]), sender) is None
    [request] = sender.requests
    assert request.path == f"/v2/{PROJECT}/streams/my-stream/transfer-tasks/action"
    assert request.body_bytes() == (
        b'{"action":"%s","tasks":[{"id":"CDaRPdvKUfZrAhzTaYs"},{"id":"As805BudhcH1lDs6gbn"}]}' % action.encode()
    )
    assert not request.idempotent


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ((PROJECT, "s", []), "task_ids"),
        ((PROJECT, "s", TASK), "task_ids"),
        ((PROJECT, "s", [TASK, TASK]), "task_ids"),
        ((PROJECT, "s", ["nope"]), "task_ids"),
        ((PROJECT, "../s", [TASK]), "stream_name"),
        ((None, "s", [TASK]), "project_id"),
    ],
)
def test_bad_action_inputs(args, field):
    with pytest.raises(InvalidInputError) as info:
        dis.start_transfer_tasks(*args)
    assert info.value.field == field


def test_action_error_body_raises():
    body = {"errorCode": "DIS.4350", "message": "task is running"}
    with pytest.raises(ApiError) as info:
        drive_sync(dis.start_transfer_tasks(PROJECT, "s", [TASK]), FakeSender(response("dis", body)))
    assert info.value.error_code == "DIS.4350"


def _entries(*items: dict[str, Any]) -> list[dis.TransferTaskLogEntry]:
    return dis.parse_log_page(_page(list(items))).transfer_task_log_list


T0 = datetime(2025, 8, 30, 7, 0, tzinfo=UTC)


def _ms(moment: datetime) -> int:
    return to_ms(moment)


def test_periods_status_succeeds_on_a_period_ending_after_the_mark():
    old = _entry(_ms(T0 - timedelta(minutes=10)), _ms(T0 - timedelta(minutes=5)), records=7)
    new = _entry(_ms(T0 - timedelta(minutes=1)), _ms(T0 + timedelta(minutes=4)), records=30, name="f1")
    status = dis.periods_status(TASK, _entries(old, new), T0, min_records=1)
    assert status.state is TaskState.SUCCEEDED
    assert status.result["total_records"] == 30
    assert status.result["total_bytes"] == 3000
    assert status.result["file_names"] == ["f1"]
    assert status.result["periods"] == [
        {
            "start": "2025-08-30T06:59:00Z",
            "end": "2025-08-30T07:04:00Z",
            "bytes": 3000,
            "records": 30,
            "file_name": "f1",
        }
    ]
    assert status.finished_at == T0 + timedelta(minutes=4)


def test_periods_status_waits_before_any_new_period():
    old = _entry(_ms(T0 - timedelta(minutes=10)), _ms(T0 - timedelta(minutes=5)))
    status = dis.periods_status(TASK, _entries(old), T0, min_records=0)
    assert status.state is TaskState.WAITING
    assert status.result["periods"] == []


def test_periods_status_runs_until_enough_records():
    a = _entry(_ms(T0), _ms(T0 + timedelta(minutes=5)), records=40)
    b = _entry(_ms(T0 + timedelta(minutes=5)), _ms(T0 + timedelta(minutes=10)), records=50)
    running = dis.periods_status(TASK, _entries(a), T0, min_records=80)
    assert running.state is TaskState.RUNNING
    assert running.progress == 50.0
    done = dis.periods_status(TASK, _entries(a, b), T0, min_records=80)
    assert done.state is TaskState.SUCCEEDED
    assert done.result["total_records"] == 90


def test_periods_status_naive_mark_is_utc():
    entry = _entry(_ms(T0), _ms(T0 + timedelta(seconds=1)))
    naive = T0.replace(tzinfo=None)
    assert dis.periods_status(TASK, _entries(entry), naive, 0).state is TaskState.SUCCEEDED


def test_status_exchange_pages_newest_first_until_older_than_the_mark():
    page1 = _page([_entry(_ms(T0 + timedelta(minutes=i)), _ms(T0 + timedelta(minutes=i + 1))) for i in (9, 8)], 50)
    page2 = _page([_entry(_ms(T0 - timedelta(minutes=i + 1)), _ms(T0 - timedelta(minutes=i))) for i in (3, 4)], 50)
    sender = FakeSender(response("dis", page1), response("dis", page2))
    exchange = dis.status_exchange(
        None,
        {"transfer_task_id": TASK},
        completed_after=T0.isoformat(),
        min_records="15",
        page_size=2,
    )
    status = drive_sync(exchange, sender)
    assert status.state is TaskState.SUCCEEDED
    assert status.result["total_records"] == 20
    bodies = [json.loads(r.body_bytes()) for r in sender.requests]
    assert [b["pageInfo"]["pageIndex"] for b in bodies] == [1, 2]
    assert {(b["order"], b["sortBy"]) for b in bodies} == {("desc", "endTime")}


def test_status_exchange_fails_on_an_error_state_task_whose_log_does_not_satisfy_the_wait():
    sender = FakeSender(response("dis", LIST_TASKS), response("dis", _page([])))
    exchange = dis.status_exchange(PROJECT, {"transfer_task_id": TASK, "stream_name": "my-stream"})
    status = drive_sync(exchange, sender)
    assert status.state is TaskState.FAILED
    assert status.raw_status == "ERROR"
    assert len(sender.requests) == 2  # the list, then the log, which has no period yet


def test_status_exchange_with_healthy_task_reads_logs():
    healthy = {"tasks": [{**LIST_TASKS["tasks"][1], "state": "RUNNING"}]}
    sender = FakeSender(response("dis", healthy), response("dis", API_EXAMPLE_RESPONSE))
    exchange = dis.status_exchange(
        PROJECT, {"transfer_task_id": TASK, "stream_name": "my-stream"}, completed_after="2025-08-30T07:45:00Z"
    )
    status = drive_sync(exchange, sender)
    assert status.state is TaskState.SUCCEEDED
    assert status.result["total_records"] == 32943


@pytest.mark.parametrize(
    ("ids", "options", "field"),
    [
        ({}, {}, "transfer_task_id"),
        ({"transfer_task_id": "x"}, {}, "transfer_task_id"),
        ({"transfer_task_id": TASK}, {"completed_after": "yesterday"}, "completed_after"),
        ({"transfer_task_id": TASK}, {"min_records": -1}, "min_records"),
        ({"transfer_task_id": TASK}, {"min_records": "many"}, "min_records"),
    ],
)
def test_status_exchange_bad_inputs(ids, options, field):
    with pytest.raises(InvalidInputError) as info:
        dis.status_exchange(None, ids, **options)
    assert info.value.field == field


_ENTRY = shaped(
    {
        "transferTaskId": json_values,
        "startTime": st.integers(-(10**16), 10**16) | json_values,
        "endTime": st.integers(0, 2 * 10**12) | json_values,
        "transferBytes": st.integers(-5, 10**20) | json_values,
        "transferRecordsNum": st.integers(-5, 10**20) | json_values,
        "transferFileName": json_values,
        "state": json_values,
    }
)
_PAGE = shaped(
    {
        "errorCode": st.sampled_from([-1, "-1", 0, "DIS.1", None, 5]) | json_values,
        "message": json_values,
        "totalNum": json_values,
        "transferTaskLogList": st.lists(_ENTRY, max_size=3) | _ENTRY | json_values,
    }
)


@property_settings
@given(st.one_of(json_values, _PAGE))
def test_any_log_page_parses_or_raises_a_provider_error(body):
    try:
        page = drive_sync(dis.get_transfer_task_log_page(TASK), FakeSender(response("dis", json.dumps(body))))
    except BadResponseError as exc:
        assert exc.field
        return
    except ApiError as exc:
        assert exc.status == 200 and exc.service == "dis"
        return
    status = dis.periods_status(TASK, page.transfer_task_log_list, T0, 0)
    assert status.state in (TaskState.SUCCEEDED, TaskState.WAITING)


@property_settings
@given(st.one_of(json_values, shaped({"tasks": st.lists(shaped(list(dis.TransferTask.model_fields))) | json_values})))
def test_any_task_list_parses_or_raises_bad_response(body):
    try:
        tasks = dis.parse_transfer_tasks(body)
    except BadResponseError:
        return
    assert isinstance(tasks, list)


def test_entry_model_accepts_snake_case_names():
    entry = parse_model("dis", dis.TransferTaskLogEntry, {"transfer_records_num": 3, "end_time": 0})
    assert entry.transfer_records_num == 3


# --- failed periods, tasks that cannot dump, errors in a 200 body, the pageInfo form ------------------


@pytest.mark.parametrize("state", [1, 2, -1, "FAILED"])
def test_a_failed_period_does_not_count_as_dumped(state):
    """The doc example's normal period has state 0; any other state is not a dumped period."""
    failed = {**_entry(_ms(T0), _ms(T0 + timedelta(minutes=5)), records=40, name="bad"), "state": state}
    status = dis.periods_status(TASK, _entries(failed), T0, min_records=0)
    assert status.state is TaskState.WAITING
    assert status.result["periods"] == []
    assert status.result["file_names"] == []
    assert [p["file_name"] for p in status.result["failed_periods"]] == ["bad"]
    assert status.message == (
        "no dump period has ended since 2025-08-30T07:00:00Z; "
        f"1 period(s) failed (state {state}) and do not count as dumped"
    )
    good = {**_entry(_ms(T0 + timedelta(minutes=5)), _ms(T0 + timedelta(minutes=10)), records=7), "state": 0}
    both = dis.periods_status(TASK, _entries(failed, good), T0, min_records=10)
    assert both.state is TaskState.RUNNING
    assert both.result["total_records"] == 7


@pytest.mark.parametrize("state", ["PAUSED", "ABNORMAL", "DELETE", "ERROR"])
def test_a_task_that_cannot_dump_fails_the_wait(state):
    listing = {"tasks": [{**LIST_TASKS["tasks"][1], "state": state}]}
    status = drive_sync(
        dis.status_exchange(PROJECT, {"transfer_task_id": TASK, "stream_name": "my-stream"}),
        FakeSender(response("dis", listing), response("dis", _page([]))),
    )
    assert status.state is TaskState.FAILED
    assert status.raw_status == state
    assert status.message is not None and status.message.startswith(f"transfer task broken is in state {state}")
    if state == "PAUSED":
        assert "started again" in status.message


def test_a_task_missing_from_the_list_fails_the_wait():
    listing = {"tasks": [LIST_TASKS["tasks"][0]]}
    status = drive_sync(
        dis.status_exchange(PROJECT, {"transfer_task_id": TASK, "stream_name": "my-stream"}),
        FakeSender(response("dis", listing)),
    )
    assert status.state is TaskState.FAILED
    assert (
        status.message
        == f"transfer task {TASK} is not in stream 'my-stream''s transfer task list (deleted, or another stream)"
    )


NO_IDS = {"tasks": [{k: v for k, v in task.items() if k != "task_id"} for task in LIST_TASKS["tasks"]]}


@pytest.mark.parametrize("state", ["PAUSED", "ERROR"])
@pytest.mark.parametrize("form", ["task_id", "task_name"])
def test_a_task_that_cannot_dump_fails_whether_the_list_names_it_by_id_or_by_name(state, form):
    """The doc examples list task_id, the SDK's TransferTask only task_name: either finds the task."""
    tasks = LIST_TASKS if form == "task_id" else NO_IDS
    listing = {
        "tasks": [{**task, "state": state} if task["task_name"] == "broken" else task for task in tasks["tasks"]]
    }
    ids = {"transfer_task_id": TASK, "stream_name": "my-stream", "task_name": "broken"}
    status = drive_sync(
        dis.status_exchange(PROJECT, ids), FakeSender(response("dis", listing), response("dis", _page([])))
    )
    assert status.state is TaskState.FAILED
    assert status.raw_status == state
    assert status.message is not None and status.message.startswith(f"transfer task broken is in state {state}")
    assert status.warning is None


@pytest.mark.parametrize("state", ["PAUSED", "ERROR"])
@pytest.mark.parametrize("form", ["task_id", "task_name"])
def test_periods_dumped_before_the_task_stopped_satisfy_the_wait(state, form):
    """The wait asks whether periods after the mark were dumped: they were, whatever the task does now."""
    tasks = LIST_TASKS if form == "task_id" else NO_IDS
    listing = {"tasks": [{**task, "state": state} for task in tasks["tasks"]]}
    ids = {"transfer_task_id": TASK, "stream_name": "my-stream", "task_name": "broken"}
    mark = datetime(2025, 8, 30, tzinfo=UTC)
    dumped = _page([_entry(to_ms(mark) + 1000, to_ms(mark) + 61_000, records=5)], total=1)
    status = drive_sync(
        dis.status_exchange(PROJECT, ids, completed_after=mark.isoformat()),
        FakeSender(response("dis", listing), response("dis", dumped)),
    )
    assert status.state is TaskState.SUCCEEDED
    assert status.result["total_records"] == 5
    assert status.message is not None and status.message.endswith(f"; the task is now in state {state}")


def test_a_task_missing_from_a_list_without_ids_is_found_missing_by_its_name():
    ids = {"transfer_task_id": TASK, "stream_name": "my-stream", "task_name": "no-such-task"}
    status = drive_sync(dis.status_exchange(PROJECT, ids), FakeSender(response("dis", NO_IDS)))
    assert status.state is TaskState.FAILED
    assert "is not in stream 'my-stream''s transfer task list" in (status.message or "")


def test_a_deleted_task_whose_log_is_gone_reports_its_state():
    listing = {"tasks": [{**LIST_TASKS["tasks"][1], "state": "DELETE"}]}
    gone = error_for_status("dis", 400, b'{"error_code": "DIS.4354", "error_msg": "The transfer task does not exist."}')
    status = drive_sync(
        dis.status_exchange(PROJECT, {"transfer_task_id": TASK, "stream_name": "my-stream"}),
        FakeSender(response("dis", listing), gone),
    )
    assert (status.state, status.raw_status) == (TaskState.FAILED, "DELETE")


def test_task_name_without_stream_name_is_refused():
    with pytest.raises(InvalidInputError, match="needs stream_name") as info:
        dis.status_exchange(PROJECT, {"transfer_task_id": TASK, "task_name": "broken"})
    assert (info.value.field, info.value.value) == ("task_name", "broken")


def test_a_list_without_task_ids_cannot_say_the_task_is_missing():
    """The SDK model has no task_id: where the list carries none, the log is read as before."""
    sender = FakeSender(response("dis", NO_IDS), response("dis", API_EXAMPLE_RESPONSE))
    status = drive_sync(dis.status_exchange(PROJECT, {"transfer_task_id": TASK, "stream_name": "my-stream"}), sender)
    assert status.state is TaskState.SUCCEEDED
    assert len(sender.requests) == 2
    # ... and says so: without task_name the state could not be checked
    assert status.warning is not None and "pass task_name" in status.warning


def test_a_missing_task_in_a_200_body_is_not_found():
    body = {
        "errorCode": "DIS.4354",
        "totalNum": 0,
        "message": "The transfer task does not exist.",
        "transferTaskLogList": None,
    }
    with pytest.raises(NotFoundError) as info:
        drive_sync(dis.get_transfer_task_log_page(TASK), FakeSender(response("dis", body)))
    assert (info.value.status, info.value.error_code) == (200, "DIS.4354")


@pytest.mark.parametrize(
    "refusal",
    [
        (400, {"error_code": "DIS.4200", "error_msg": "Invalid request."}),
        (200, {"errorCode": "DIS.4200", "message": "Invalid request."}),
    ],
)
def test_page_info_falls_back_to_the_array_form_and_keeps_it(monkeypatch, refusal):
    monkeypatch.setattr(dis._PageInfoForm, "current", "object")
    status, body = refusal
    sender = FakeSender(
        response("dis", body, status=status) if status == 200 else _http_error(status, body),
        response("dis", _page([], 0)),
        response("dis", _page([], 0)),
    )
    drive_sync(dis.get_transfer_task_log_page(TASK, page_index=2, page_size=5), sender)
    drive_sync(dis.get_transfer_task_log_page(TASK), sender)
    sent = [json.loads(r.body_bytes())["pageInfo"] for r in sender.requests]
    assert sent == [
        {"pageIndex": 2, "pageTotal": 5},
        [{"pageIndex": 2}, {"pageIndex": 5}],
        [{"pageIndex": 1}, {"pageIndex": 10}],
    ]


def test_page_info_refused_in_both_forms_raises_the_first_refusal(monkeypatch):
    monkeypatch.setattr(dis._PageInfoForm, "current", "object")
    refusal = {"error_code": "DIS.4200", "error_msg": "Invalid request."}
    sender = FakeSender(_http_error(400, refusal), _http_error(400, {**refusal, "error_msg": "again"}))
    with pytest.raises(ApiError) as info:
        drive_sync(dis.get_transfer_task_log_page(TASK), sender)
    assert info.value.error_msg == "Invalid request."
    assert dis._PageInfoForm.current == "object"


def _http_error(status: int, body: dict[str, Any]) -> ApiError:
    """What the transport raises for an error status."""
    return error_for_status("dis", status, json.dumps(body).encode())
