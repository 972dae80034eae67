from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_provider.core.errors import (
    BadResponseError,
    DumpBusyError,
    EdgeManagerError,
    InvalidInputError,
    NotFoundError,
)
from airflow_provider.core.exchange import drive_sync
from airflow_provider.core.status import TaskState
from airflow_provider.services import edge
from airflow_provider.services._parsing import parse_model
from tests.api_examples import EDGE_POLL as API_EXAMPLE_POLL
from tests.services._support import FakeSender, json_values, property_settings, response, shaped

TASK_ID = "dumpMultiNodesLog.eca14a007f930e5689652a30"

# API_NOTES.md, start response.
NOTES_CREATE = '{"status":"00000000","msg":"success","data":{"taskId":"dumpMultiNodesLog.413f66d069888b135e976c57"}}'


def _poll_body(**task: object) -> str:
    data = {"taskId": TASK_ID, "status": "processing", "progress": 40, **task}
    return json.dumps({"status": "00000000", "msg": "success", "data": data})


def test_example_poll_response_parses_and_maps_to_succeeded():
    sender = FakeSender(response("edge", API_EXAMPLE_POLL))
    status = drive_sync(edge.status_exchange(None, {"dump_task_id": TASK_ID}), sender)
    assert status.state is TaskState.SUCCEEDED
    assert status.progress == 100
    assert status.task_id == TASK_ID
    assert status.result["file_name"] == "edgeNodes.tar.gz"
    assert status.result["failed_nodes"] == []
    assert status.started_at == datetime(2023, 8, 23, 17, 6, 56, 280956, tzinfo=timezone.utc)
    assert status.finished_at == datetime(2023, 8, 23, 17, 7, 5, 677862, tzinfo=timezone.utc)
    [request] = sender.requests
    assert (request.method, request.path) == ("GET", "/edgemanager/v1/logmgmt/dump/task")
    assert request.query == (("taskId", TASK_ID),)
    assert request.idempotent


def test_null_times_while_waiting():
    body = _poll_body(status="waiting", progress=0, createdAt="2023-08-23T17:06:56Z", startedAt=None, finishedAt=None)
    task = drive_sync(edge.get_dump_task(TASK_ID), FakeSender(response("edge", body)))
    assert task.started_at is None and task.finished_at is None
    status = edge.to_status(task)
    assert status.state is TaskState.WAITING
    assert status.finished_at is None
    assert status.started_at == task.created_at


@pytest.mark.parametrize(
    ("raw", "state"),
    [
        ("waiting", TaskState.WAITING),
        ("processing", TaskState.RUNNING),
        ("aborting", TaskState.ABORTING),
        ("succeed", TaskState.SUCCEEDED),
        ("failed", TaskState.FAILED),
        ("partiallyFailed", TaskState.PARTIALLY_FAILED),
    ],
)
def test_state_mapping(raw, state):
    task = parse_model("edge", edge.EdgeDumpTask, {"taskId": TASK_ID, "status": raw})
    status = edge.to_status(task)
    assert status.state is state
    assert status.recognized
    assert status.raw_status == raw


def test_unknown_state_keeps_waiting_and_is_flagged():
    status = edge.to_status(parse_model("edge", edge.EdgeDumpTask, {"taskId": TASK_ID, "status": "paused"}))
    assert status.state is TaskState.RUNNING
    assert not status.recognized
    assert "paused" in (status.message or "")


def test_failed_nodes_parsed_from_reason():
    reason = "failed to dump log for following nodes:(12)node offline;(4294967295)timeout (after 2h);"
    status = edge.to_status(
        parse_model("edge", edge.EdgeDumpTask, {"taskId": TASK_ID, "status": "partiallyFailed", "reason": reason})
    )
    assert status.state is TaskState.PARTIALLY_FAILED
    assert status.result["failed_nodes"] == [
        {"node_id": 12, "message": "node offline"},
        {"node_id": 4294967295, "message": "timeout (after 2h)"},
    ]
    assert status.message == reason


def test_failed_nodes_empty_for_other_reasons():
    assert edge.parse_failed_nodes("task succeeded") == []
    assert edge.parse_failed_nodes(None) == []


def test_create_dump_task_request_and_result():
    sender = FakeSender(response("edge", NOTES_CREATE))
    task_id = drive_sync(edge.create_dump_task([2, "3"]), sender)
    assert task_id == "dumpMultiNodesLog.413f66d069888b135e976c57"
    [request] = sender.requests
    assert (request.method, request.path) == ("POST", "/edgemanager/v1/logmgmt/dump/task")
    assert request.body_bytes() == b'{"module":"edgeNode","edgeNodes":[2,3]}'
    assert not request.idempotent


def test_create_rejects_a_malformed_task_id_from_the_server():
    body = '{"status":"00000000","msg":"success","data":{"taskId":"../other"}}'
    with pytest.raises(BadResponseError) as info:
        drive_sync(edge.create_dump_task([1]), FakeSender(response("edge", body)))
    assert info.value.field == "data.taskId"


@pytest.mark.parametrize(
    ("code", "error"), [("40052001", DumpBusyError), ("40051002", EdgeManagerError), ("00001005", EdgeManagerError)]
)
def test_error_envelope_in_a_200_raises_like_the_transport(code, error):
    body = json.dumps({"status": code, "msg": "node (x) not found", "data": None})
    with pytest.raises(error) as info:
        drive_sync(edge.create_dump_task([1]), FakeSender(response("edge", body)))
    assert info.value.error_code == code
    assert info.value.status == 400
    assert type(info.value) is error


def test_numeric_envelope_status_keeps_leading_zeros():
    body = json.dumps({"status": 0, "msg": "success", "data": {"taskId": TASK_ID, "status": "waiting"}})
    task = drive_sync(edge.get_dump_task(TASK_ID), FakeSender(response("edge", body)))
    assert task.status == "waiting"


def test_transport_errors_propagate_out_of_the_exchange():
    error = NotFoundError(service="edge", status=404, error_msg="gone")
    with pytest.raises(NotFoundError):
        drive_sync(edge.get_dump_task(TASK_ID), FakeSender(error))


@pytest.mark.parametrize("node_ids", [[], [0], [2**32], [1, 1], "12", [True], list(range(1, 102)), [1.5]])
def test_bad_node_ids_are_rejected_before_sending(node_ids):
    with pytest.raises(InvalidInputError) as info:
        edge.create_dump_task(node_ids)
    assert info.value.field == "node_ids"


@pytest.mark.parametrize(
    "task_id", ["", "dumpMultiNodesLog", "dumpMultiNodesLog/../x", "other.123", "dumpMultiNodesLog." + "a" * 128]
)
def test_bad_task_ids_are_rejected(task_id):
    with pytest.raises(InvalidInputError) as info:
        edge.get_dump_task(task_id)
    assert info.value.field == "dump_task_id"


def test_status_exchange_requires_the_task_id():
    with pytest.raises(InvalidInputError) as info:
        edge.status_exchange(None, {"task": TASK_ID})
    assert info.value.field == "dump_task_id"


def test_download_request_streams_the_fixed_archive():
    request = edge.download_request()
    assert (request.method, request.path, request.stream) == (
        "GET",
        "/edgemanager/v1/logmgmt/dump/download/edgeNodes.tar.gz",
        True,
    )


_TASK_KEYS = shaped(
    {
        "taskId": st.just(TASK_ID) | json_values,
        "status": st.sampled_from(list(edge.STATE_MAP)) | json_values,
        "reason": st.text() | json_values,
        "progress": st.integers(-5, 105) | json_values,
        "data": shaped(["fileName"]) | json_values,
        "createdAt": st.sampled_from(["2023-08-23T17:06:56.28075167Z", None]) | json_values,
        "startedAt": json_values,
        "finishedAt": json_values,
    }
)


@property_settings
@given(st.one_of(json_values, shaped({"status": json_values, "msg": json_values, "data": _TASK_KEYS})))
def test_any_body_parses_or_raises_a_provider_error(body):
    try:
        task = drive_sync(edge.get_dump_task(TASK_ID), FakeSender(response("edge", json.dumps(body))))
    except (BadResponseError, EdgeManagerError) as exc:
        assert exc.service == "edge"
        return
    status = edge.to_status(task)
    assert status.progress is None or 0 <= status.progress <= 100


def test_envelope_without_an_mef_code_is_a_bad_response():
    with pytest.raises(BadResponseError) as info:
        drive_sync(edge.get_dump_task(TASK_ID), FakeSender(response("edge", '{"status":"error","msg":"x"}')))
    assert info.value.field == "status"
