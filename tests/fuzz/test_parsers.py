"""Every response parser against random bodies: a parsed result or ``BadResponseError`` naming the
field, never another exception.

The per-service files in ``tests/services`` fuzz each model; here every read *exchange* (what the
hook and the trigger actually run, paging included) is driven with random bodies and random bytes.
Error envelopes (DIS ``errorCode`` in a 200 body, a non-success MEF status) are answers the
services document, so an ``ApiError`` from them is allowed too.
"""

from __future__ import annotations

import json
from functools import partial
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider.core.errors import ApiError, BadResponseError
from airflow_provider.core.exchange import Exchange, drive_sync
from airflow_provider.core.response import ApiResponse
from airflow_provider.core.status import TaskStatus
from airflow_provider.services import clouddc, css, dcs, dis, edge
from airflow_provider.services.registry import status_exchange
from tests.services._support import json_values, property_settings, shaped

if TYPE_CHECKING:
    from collections.abc import Callable

PID = "0123456789abcdef0123456789abcdef"
DIS_ID = "CDaRPdvKUfZrAhzTaYs"
MAX_REQUESTS = 200
fewer = settings(property_settings, max_examples=100)

STATUS_IDS: dict[str, dict[str, str]] = {
    "edge": {"dump_task_id": "dumpMultiNodesLog.413f66d069888b135e976c57"},
    "clouddc": {"server_id": "srv-1", "export_id": "1"},
    "dis": {"transfer_task_id": DIS_ID, "stream_name": "s1"},
    "css": {"cluster_id": "c-1", "record_id": "r-1"},
    "dcs": {"instance_id": "i-1", "dcs_task_id": "t-1"},
}

#: Every read that parses a body, by name: what the hooks and the trigger run.
READS: dict[str, Callable[[], Exchange[Any]]] = {
    **{f"status:{svc}": partial(status_exchange, svc, PID, STATUS_IDS[svc]) for svc in STATUS_IDS},
    "status:dis-no-stream": lambda: status_exchange("dis", PID, {"transfer_task_id": DIS_ID}, min_records=5),
    "status:css-job": lambda: status_exchange("css", PID, {"cluster_id": "c-1", "job_id": "j-1"}),
    "clouddc.get_export": lambda: clouddc.get_export(PID, "srv-1", "1"),
    "clouddc.start_export": lambda: clouddc.start_export(PID, "srv-1"),
    "css.get_log_backup_record_page": lambda: css.get_log_backup_record_page(PID, "c-1"),
    "css.get_log_backup_record": lambda: css.get_log_backup_record(PID, "c-1", record_id="r-1"),
    "dcs.get_background_task_progress": lambda: dcs.get_background_task_progress(PID, "i-1", "t-1"),
    "dcs.get_background_task_page": lambda: dcs.get_background_task_page(PID, "i-1"),
    "dis.get_transfer_task_log_page": lambda: dis.get_transfer_task_log_page(DIS_ID),
    "dis.list_transfer_task_logs": lambda: dis.list_transfer_task_logs(DIS_ID),
    "dis.list_transfer_tasks": lambda: dis.list_transfer_tasks(PID, "s1"),
    "edge.get_dump_task": lambda: edge.get_dump_task("dumpMultiNodesLog.abc"),
    "edge.create_dump_task": lambda: edge.create_dump_task([1, 2]),
}


class Replay:
    """Answers every request with the same body (a bounded number of times: paging must end)."""

    def __init__(self, service_body: bytes, status: int = 200) -> None:
        self.content = service_body
        self.status = status
        self.sent = 0

    def send(self, request: Any) -> ApiResponse:
        self.sent += 1
        assert self.sent <= MAX_REQUESTS, f"{request.describe()}: paging did not stop after {MAX_REQUESTS} requests"
        if self.status not in request.expected:
            from airflow_provider.core.transport import check_response

            return check_response(request, ApiResponse(request.service, self.status, {}, self.content))
        return ApiResponse(request.service, self.status, {}, self.content)


def outcome(read: str, content: bytes, status: int = 200) -> object:
    try:
        return drive_sync(READS[read](), Replay(content, status))
    except BadResponseError as exc:
        assert exc.field, "a bad response names the field"
        assert repr(exc.field) in str(exc)
        return exc
    except ApiError as exc:  # a documented error envelope, or a record not in the list (CSS)
        assert exc.service in str(exc)
        return exc


#: Shapes near the documented ones, so the fuzzing reaches past the first missing key.
near_bodies = st.one_of(
    json_values,
    shaped(["progress", "remain_time", "step_details", "status", "percentage", "export_id", "created_at"]),
    shaped(
        {
            "cluster_log_record": st.lists(
                shaped(["id", "jobId", "job_id", "status", "createAt", "finishedAt", "logPath", "jobTypes"]),
                max_size=3,
            )
            | json_values,
            "totalSize": json_values,
        }
    ),
    shaped(
        {
            "status": st.sampled_from(["00000000", "40052002", 0, None]) | json_values,
            "msg": json_values,
            "data": shaped(["taskId", "status", "progress", "reason", "data", "createdAt", "finishedAt"]) | json_values,
        }
    ),
    shaped(
        {
            "transferTaskLogList": st.lists(
                shaped(["startTime", "endTime", "state", "transferRecordsNum", "message"]), max_size=3
            )
            | shaped(["startTime", "endTime"])
            | json_values,
            "totalNum": json_values,
            "errorCode": json_values,
            "tasks": st.lists(shaped(["task_id", "task_name", "state"]), max_size=3) | json_values,
        }
    ),
    shaped(
        {
            "step_details": st.lists(
                shaped(
                    {
                        "step_status": st.sampled_from(["FINISH", "FAILED", "EXECUTING", "WAITING", "?"]) | json_values,
                        "sub_step_details": st.lists(shaped(["sub_step_status", "error_code"]), max_size=2)
                        | json_values,
                        "begin_time": json_values,
                        "end_time": json_values,
                    }
                ),
                max_size=3,
            ),
            "progress": json_values,
            "remain_time": json_values,
        }
    ),
)


@pytest.mark.parametrize("read", sorted(READS))
@property_settings
@given(body=near_bodies)
def test_random_json_bodies(read: str, body: Any) -> None:
    result = outcome(read, json.dumps(body).encode())
    if read.startswith("status:") and not isinstance(result, Exception):
        assert isinstance(result, TaskStatus)


@pytest.mark.parametrize("read", sorted(READS))
@fewer
@given(
    content=st.one_of(
        st.binary(max_size=64),
        st.text(max_size=64).map(lambda text: text.encode("utf-8", "surrogatepass")),
        st.sampled_from(
            [
                b"",
                b"null",
                b"[]",
                b"{}",
                b"1e999",
                b"-" * 3,
                b"<html>502</html>",
                b"\xff\xfe",
                b"[" * 5000 + b"]" * 5000,
            ]
        ),
    )
)
def test_random_bytes(read: str, content: bytes) -> None:
    outcome(read, content)


@pytest.mark.parametrize("read", sorted(READS))
@fewer
@given(status=st.sampled_from([400, 401, 403, 404, 409, 429, 500, 503]), body=json_values)
def test_error_statuses_are_api_errors(read: str, status: int, body: Any) -> None:
    try:
        drive_sync(READS[read](), Replay(json.dumps(body).encode(), status))
    except ApiError as exc:
        assert exc.status == status or exc.error_code is not None
    else:
        pytest.fail("an error status was taken for an answer")
