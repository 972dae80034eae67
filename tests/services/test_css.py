from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_provider.core.errors import BadResponseError, InvalidInputError, NotFoundError
from airflow_provider.core.exchange import drive_sync
from airflow_provider.core.status import TaskState
from airflow_provider.services import css
from airflow_provider.services._parsing import parse_model
from tests.api_examples import CSS_RECORDS as API_EXAMPLE_RESPONSE
from tests.services._support import FakeSender, json_values, property_settings, response, shaped

PROJECT = "0123456789abcdef0123456789abcdef"
CLUSTER = "4213d908-f5dc-4633-8401-cfd7175fca0c"
UTC = timezone.utc


def _record(rid: str, **fields: Any) -> dict[str, Any]:
    return {"id": rid, "status": "SUCCESS", "jobTypes": "Manual", "createAt": 1_000, "jobId": f"job-{rid}", **fields}


def _model(rid: str, **fields: Any) -> css.ClusterLogRecord:
    return parse_model("css", css.ClusterLogRecord, _record(rid, **fields))


def test_example_response():
    sender = FakeSender(response("css", API_EXAMPLE_RESPONSE))
    page = drive_sync(css.get_log_backup_record_page(PROJECT, CLUSTER), sender)
    [record] = page.cluster_log_record
    assert record.create_at == datetime(2022, 6, 24, 3, 53, 57, tzinfo=UTC)
    assert record.create_at_ms == 1656042837000
    assert record.finished_at is None and record.failed_msg is None
    assert page.total_size is None
    status = css.to_status(record)
    assert status.state is TaskState.RUNNING
    assert status.result == {
        "record_id": "d455a541-597e-4846-a6be-baad0ea361b1",
        "job_id": "2c9080df7c171342017c5e0884f8011c",
        "cluster_id": CLUSTER,
        "log_path": "css-backup-1610678043608/css/log",
        "job_types": "Manual",
        "created_at": "2022-06-24T03:53:57Z",
    }
    [request] = sender.requests
    assert request.path == f"/v1.0/{PROJECT}/clusters/{CLUSTER}/logs/records"
    assert request.query == (("start", "1"), ("offset", "1"), ("limit", "10"))


@pytest.mark.parametrize("create_at", [1656042837000, "1656042837000", "2022-06-24T03:53:57Z"])
def test_create_at_forms_agree(create_at):
    assert _model("a", createAt=create_at).create_at_ms == 1656042837000


def test_sdk_total_size_and_extra_keys():
    page = parse_model("css", css.LogRecordPage, {"clusterLogRecord": [], "totalSize": 3, "extra": [1]})
    assert page.total_size == 3


@pytest.mark.parametrize(
    ("raw", "state"),
    [("RUNNING", TaskState.RUNNING), ("SUCCESS", TaskState.SUCCEEDED), ("FAIL", TaskState.FAILED)],
)
def test_state_mapping(raw, state):
    status = css.to_status(_model("a", status=raw, failedMsg="disk full" if raw == "FAIL" else None))
    assert status.state is state
    assert status.recognized
    if raw == "FAIL":
        assert status.message == "disk full"


def test_unknown_state():
    status = css.to_status(_model("a", status="QUEUED"))
    assert (status.state, status.recognized) == (TaskState.RUNNING, False)


def test_finished_at_ms():
    assert _model("a", finishedAt=1656042900000).finished_at == datetime(2022, 6, 24, 3, 55, tzinfo=UTC)


def test_create_log_backup_request():
    sender = FakeSender(response("css", raw=b""))
    assert drive_sync(css.create_log_backup(PROJECT, CLUSTER), sender) is None
    [request] = sender.requests
    assert (request.method, request.path) == ("POST", f"/v1.0/{PROJECT}/clusters/{CLUSTER}/logs/collect")
    assert request.body_bytes() == b""
    assert request.expected == (200, 201, 202, 204)
    assert not request.idempotent


def test_list_request_with_status_filter():
    request = css.log_backup_record_page_request(PROJECT, CLUSTER, status="NOT_FAIL", offset=11, limit=5)
    assert request.query == (("start", "11"), ("offset", "11"), ("limit", "5"), ("status", "NOT_FAIL"))


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"status": "DONE"}, "status"),
        ({"offset": 0}, "offset"),
        ({"limit": 1001}, "limit"),
        ({"cluster_id": "a/../b"}, "cluster_id"),
        ({"project_id": None}, "project_id"),
    ],
)
def test_list_bad_inputs(kwargs, field):
    args: dict[str, Any] = {"project_id": PROJECT, "cluster_id": CLUSTER, **kwargs}
    with pytest.raises(InvalidInputError) as info:
        css.get_log_backup_record_page(args.pop("project_id"), args.pop("cluster_id"), **args)
    assert info.value.field == field


def test_get_record_pages_until_found():
    page1 = {"clusterLogRecord": [_record("a"), _record("b")], "totalSize": 5}
    page2 = {"clusterLogRecord": [_record("c"), _record("d")], "totalSize": 5}
    sender = FakeSender(response("css", page1), response("css", page2))
    record = drive_sync(css.get_log_backup_record(PROJECT, CLUSTER, job_id="job-d", page_size=2), sender)
    assert record.id == "d"
    assert [dict(r.query)["start"] for r in sender.requests] == ["1", "3"]


def test_get_record_not_found_names_the_id():
    page = {"clusterLogRecord": [_record("a")], "totalSize": 1}
    with pytest.raises(NotFoundError) as info:
        drive_sync(css.get_log_backup_record(PROJECT, CLUSTER, record_id="zzz"), FakeSender(response("css", page)))
    assert info.value.status == 404 and info.value.service == "css"
    assert "zzz" in str(info.value)


def test_get_record_stops_at_max_pages():
    pages = [{"clusterLogRecord": [_record(f"{i}a"), _record(f"{i}b")]} for i in range(5)]
    sender = FakeSender(*(response("css", p) for p in pages))
    with pytest.raises(NotFoundError):
        drive_sync(css.get_log_backup_record(PROJECT, CLUSTER, record_id="x", page_size=2, max_pages=3), sender)
    assert len(sender.requests) == 3


@pytest.mark.parametrize(("record_id", "job_id"), [(None, None), ("a", "b")])
def test_get_record_needs_exactly_one_id(record_id, job_id):
    with pytest.raises(InvalidInputError):
        css.get_log_backup_record(PROJECT, CLUSTER, record_id=record_id, job_id=job_id)


def test_started_record_is_the_earliest_new_manual_record_whatever_the_list_order():
    records = [
        _model("old", createAt=5_000),
        _model("auto", createAt=9_000, jobTypes="Auto"),
        _model("new1", createAt=6_000),
        _model("new2", createAt=7_000),
        _model("early", createAt=100),
    ]

    def started(known: set[str], after: int | None, order: list[css.ClusterLogRecord]) -> str | None:
        found = css.started_record(order, known, after)
        return None if found is None else found.id

    for order in (records, records[::-1]):
        # CSS runs one backup at a time: a record created after ours can only be a later backup.
        assert started({"old", "job-x"}, 1_000, order) == "new1"
        assert started({"old", "new1"}, 1_000, order) == "new2"
        assert started({"job-new2", "job-new1", "old"}, 1_000, order) is None
        assert started(set(), None, order) == "early"
    assert css.started_record([], set(), None) is None


def test_running_record_is_found_whoever_started_it():
    records = [_model("done", status="SUCCESS"), _model("auto", status="RUNNING", jobTypes="Auto")]
    found = css.running_record(records)
    assert found is not None and found.id == "auto"
    assert css.running_record(records[:1]) is None


def test_page_starts_stay_within_the_documented_start_range():
    assert css.page_starts(1000) == [1, 1000]
    assert css.page_starts(100) == [1, 101, 201, 301, 401, 501, 601, 701, 801, 901, 1000]
    assert css.page_starts(500) == [1, 501, 1000]
    for size in (1, 7, 333, 999, 1000):
        starts = css.page_starts(size)
        assert all(1 <= start <= 1000 for start in starts)
        assert starts == sorted(set(starts))
    with pytest.raises(InvalidInputError):
        css.log_backup_record_page_request(PROJECT, CLUSTER, offset=1001)


def test_paging_for_a_record_never_asks_for_a_start_beyond_1000():
    full_page = json.dumps({"clusterLogRecord": [{"id": f"r{i}", "status": "SUCCESS"} for i in range(100)]})

    class Pages(FakeSender):
        def send(self, request):
            self.requests.append(request)
            start = int(dict(request.query)["start"])
            body = json.loads(full_page)
            for i, record in enumerate(body["clusterLogRecord"]):
                record["id"] = f"r{start + i}"
            return response("css", json.dumps(body))

    sender = Pages()
    with pytest.raises(NotFoundError):
        drive_sync(css.get_log_backup_record(PROJECT, CLUSTER, record_id="missing", max_pages=50), sender)
    starts = [int(dict(r.query)["start"]) for r in sender.requests]
    assert starts == css.page_starts(100)
    assert max(starts) == 1000


def test_status_exchange_by_record_id():
    sender = FakeSender(response("css", API_EXAMPLE_RESPONSE))
    ids = {"cluster_id": CLUSTER, "record_id": "d455a541-597e-4846-a6be-baad0ea361b1"}
    status = drive_sync(css.status_exchange(PROJECT, ids), sender)
    assert status.state is TaskState.RUNNING
    assert dict(sender.requests[0].query)["limit"] == "100"


@pytest.mark.parametrize(("ids", "field"), [({"record_id": "a"}, "cluster_id"), ({"cluster_id": CLUSTER}, "record_id")])
def test_status_exchange_missing_ids(ids, field):
    with pytest.raises(InvalidInputError) as info:
        css.status_exchange(PROJECT, ids)
    assert info.value.field == field


def test_record_without_id_is_a_bad_response():
    with pytest.raises(BadResponseError) as info:
        parse_model("css", css.LogRecordPage, {"clusterLogRecord": [{"status": "RUNNING"}]})
    assert info.value.field == "clusterLogRecord[0].id"


_RECORD = shaped(
    {
        "id": st.text(max_size=5) | json_values,
        "status": st.sampled_from(["RUNNING", "SUCCESS", "FAIL"]) | json_values,
        "createAt": st.integers(-(10**16), 10**16) | json_values,
        "finishedAt": json_values,
        "jobTypes": st.sampled_from(["Manual", "Auto"]) | json_values,
        "jobId": json_values,
        "failedMsg": json_values,
        "logPath": json_values,
    }
)


@property_settings
@given(
    st.one_of(
        json_values, shaped({"clusterLogRecord": st.lists(_RECORD, max_size=3) | json_values, "totalSize": json_values})
    )
)
def test_any_page_parses_or_raises_bad_response(body):
    try:
        page = drive_sync(
            css.get_log_backup_record_page(PROJECT, CLUSTER), FakeSender(response("css", json.dumps(body)))
        )
    except BadResponseError as exc:
        assert exc.service == "css"
        return
    for record in page.cluster_log_record:
        assert css.to_status(record).task_id
    css.started_record(page.cluster_log_record, set(), 0)


@pytest.mark.parametrize("create_at", [1656042837000, "1656042837000"])
def test_create_at_is_epoch_milliseconds_in_either_type(create_at):
    """The doc example's integer 1656042837000, or the String the doc and SDK type it as: both
    milliseconds, as terraform-provider-huaweicloud reads it (createAt / 1000, in
    resource_huaweicloud_css_manual_log_backup.go and data_source_huaweicloud_css_log_backup_records.go)."""
    record = parse_model("css", css.ClusterLogRecord, {"id": "r", "status": "SUCCESS", "createAt": create_at})
    assert record.create_at == datetime(2022, 6, 24, 3, 53, 57, tzinfo=timezone.utc)
    assert record.create_at_ms == 1656042837000
