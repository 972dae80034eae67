from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_provider.core.errors import BadResponseError, InvalidInputError
from airflow_provider.core.exchange import drive_sync
from airflow_provider.core.status import TaskState
from airflow_provider.services import clouddc
from airflow_provider.services._parsing import parse_model
from tests.api_examples import CLOUDDC_POLL as API_EXAMPLE_POLL
from tests.services._support import FakeSender, json_values, property_settings, response, shaped

PROJECT = "0123456789abcdef0123456789abcdef"
SERVER = "srv-1"


def _export(**fields: object) -> clouddc.ServerLogExport:
    return parse_model("clouddc", clouddc.ServerLogExport, {"export_id": "1", **fields})


def test_example_poll_response():
    sender = FakeSender(response("clouddc", API_EXAMPLE_POLL))
    status = drive_sync(clouddc.status_exchange(PROJECT, {"server_id": SERVER, "export_id": "1"}), sender)
    assert status.state is TaskState.RUNNING
    assert status.recognized
    assert status.progress == 30.0
    assert status.started_at == datetime(2024, 7, 1, 11, 32, 49, tzinfo=timezone.utc)
    assert status.result == {"export_id": "1", "server_id": SERVER, "created_at": "2024-07-01T11:32:49Z"}
    [request] = sender.requests
    assert (request.method, request.path) == ("GET", f"/v1/{PROJECT}/physicalservers/{SERVER}/logs/exports/1")


@pytest.mark.parametrize("percentage", ["30%", 30, "30", 30.0])
def test_percentage_forms_agree(percentage):
    assert _export(percentage=percentage).percentage == 30.0


@pytest.mark.parametrize("percentage", ["130%", -1, "101", "thirty"])
def test_percentage_out_of_range_names_the_field(percentage):
    with pytest.raises(BadResponseError) as info:
        drive_sync(
            clouddc.get_export(PROJECT, SERVER, "1"),
            FakeSender(response("clouddc", {"export_id": "1", "status": "Running", "percentage": percentage})),
        )
    assert info.value.field == "percentage"


def test_offset_form_of_created_at():
    assert _export(created_at="2025-03-20T02:48:06+00:00").created_at == datetime(
        2025, 3, 20, 2, 48, 6, tzinfo=timezone.utc
    )


@pytest.mark.parametrize(
    ("raw", "state"),
    [
        ("completed", TaskState.SUCCEEDED),
        ("Completed", TaskState.SUCCEEDED),
        ("COMPLETED", TaskState.SUCCEEDED),
        ("Running", TaskState.RUNNING),
        ("processing", TaskState.RUNNING),
        ("exporting", TaskState.RUNNING),
        ("failed", TaskState.FAILED),
        ("Error", TaskState.FAILED),
    ],
)
def test_state_mapping(raw, state):
    status = clouddc.to_status(_export(status=raw))
    assert status.state is state
    assert status.recognized


def test_completed_without_percentage_reports_full_progress():
    assert clouddc.to_status(_export(status="completed")).progress == 100.0


@pytest.mark.parametrize("raw", ["queued", None])
def test_unknown_state_keeps_waiting(raw):
    status = clouddc.to_status(_export(status=raw))
    assert status.state is TaskState.RUNNING
    assert not status.recognized


def test_start_export_request_and_result():
    body = {"export_id": "7", "status": "processing", "percentage": "0%", "created_at": "2024-07-01T11:32:49Z"}
    sender = FakeSender(response("clouddc", body, status=202))
    export = drive_sync(clouddc.start_export(PROJECT, SERVER), sender)
    assert export.export_id == "7"
    [request] = sender.requests
    assert (request.method, request.path) == ("POST", f"/v1/{PROJECT}/physicalservers/{SERVER}/logs/exports")
    assert request.body_bytes() == b""
    assert request.expected == (200, 202)
    assert not request.idempotent


def test_start_export_without_an_id_is_a_bad_response():
    with pytest.raises(BadResponseError) as info:
        drive_sync(clouddc.start_export(PROJECT, SERVER), FakeSender(response("clouddc", {"status": "processing"})))
    assert info.value.field == "export_id"


def test_numeric_export_id_is_accepted_as_text():
    assert _export(export_id=12).export_id == "12"


def test_download_request():
    request = clouddc.download_request(PROJECT, "srv 1", "9")
    assert request.path == f"/v1/{PROJECT}/physicalservers/srv%201/logs/exports/9/content"
    assert request.stream and request.method == "GET"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"server_id": "a/b"}, "server_id"),
        ({"server_id": ".."}, "server_id"),
        ({"server_id": "x" * 300}, "server_id"),
        ({"export_id": "1?x=2"}, "export_id"),
        ({"project_id": None}, "project_id"),
    ],
)
def test_bad_path_params(kwargs, field):
    args = {"project_id": PROJECT, "server_id": SERVER, "export_id": "1", **kwargs}
    with pytest.raises(InvalidInputError) as info:
        clouddc.get_export(args["project_id"], args["server_id"], args["export_id"])
    assert info.value.field == field


def test_status_exchange_needs_both_ids():
    with pytest.raises(InvalidInputError) as info:
        clouddc.status_exchange(PROJECT, {"server_id": SERVER})
    assert info.value.field == "export_id"


@property_settings
@given(
    st.one_of(
        json_values,
        shaped(
            {
                "export_id": json_values,
                "status": st.sampled_from(["Running", "completed", "failed", "x"]) | json_values,
                "percentage": st.sampled_from(["30%", "100", 101, "-1%"]) | json_values,
                "created_at": st.sampled_from(["2024-07-01T11:32:49Z", "2025-03-20T02:48:06+00:00"]) | json_values,
            }
        ),
    )
)
def test_any_body_parses_or_raises_bad_response(body):
    try:
        export = drive_sync(clouddc.get_export(PROJECT, SERVER, "1"), FakeSender(response("clouddc", json.dumps(body))))
    except BadResponseError as exc:
        assert exc.service == "clouddc"
        return
    status = clouddc.to_status(export, export_id="1", server_id=SERVER)
    assert status.progress is None or 0 <= status.progress <= 100


@pytest.mark.parametrize("raw", ["abnormal", "ABNORMAL", "export_failed", "Failure", "fail", "ERROR_TIMEOUT"])
def test_any_failure_word_fails(raw):
    """The docs list no failure value (only processing and completed): a word that says failure
    must fail the wait, not keep it running until its timeout."""
    status = clouddc.to_status(_export(status=raw, percentage="60%"))
    assert status.state is TaskState.FAILED
    assert status.recognized
    assert status.message == f"log export ended with status {raw!r} at 60%"
