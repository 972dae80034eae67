"""CssHook against requests_mock: log backup start, records listing, paging and correlation."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any

import pytest

import airflow_provider.hooks.css as css_hook_module
from airflow_provider.core.errors import (
    ApiError,
    BadResponseError,
    ConfigurationError,
    HuaweiCloudError,
    InvalidInputError,
    NotAccessibleError,
    NotFoundError,
)
from airflow_provider.hooks.css import CssHook, LogBackupNotEnabledError, LogBackupRunningError
from tests.api_examples import CSS_RECORDS as API_EXAMPLE_RECORDS
from tests.hooks._support import BASE, HTML_BODY, PROJECT_ID, assert_signed, body_bytes, url_parts

CLUSTER = "4213d908-f5dc-4633-8401-cfd7175fca0c"
COLLECT_URL = f"{BASE}/clusters/{CLUSTER}/logs/collect"
RECORDS_URL = f"{BASE}/clusters/{CLUSTER}/logs/records"
RECORDS_PATH = f"/v1.0/{PROJECT_ID}/clusters/{CLUSTER}/logs/records"


def now_ms() -> int:
    return int(time.time() * 1000)


def record(rid: str, *, job_types: str = "Manual", created: int | str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "id": rid,
        "clusterId": CLUSTER,
        "createAt": now_ms() if created is None else created,
        "logPath": "bucket/css/log",
        "status": "RUNNING",
        "finishedAt": None,
        "jobTypes": job_types,
        "failedMsg": None,
        "jobId": f"job-{rid}",
        **extra,
    }


def page(*records: dict[str, Any], total: int | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"json": {"clusterLogRecord": list(records)}}
    if total is not None:
        body["json"]["totalSize"] = total
    return body


def error(status: int, code: str, msg: str) -> dict[str, Any]:
    return {"status_code": status, "json": {"error_code": code, "error_msg": msg}}


# --- create_log_backup ------------------------------------------------------------------------


def test_create_log_backup_posts_without_body(cloud, requests_mock):
    requests_mock.post(COLLECT_URL, status_code=200)
    CssHook().create_log_backup(CLUSTER)
    request = requests_mock.last_request
    assert request.method == "POST"
    assert url_parts(request) == (f"/v1.0/{PROJECT_ID}/clusters/{CLUSTER}/logs/collect", [])
    assert body_bytes(request) == b""
    assert_signed(request)


@pytest.mark.parametrize(
    ("status", "code", "msg"),
    [
        (400, "CSS.0001", "Invalid request"),
        (409, "CSS.0015", "A log backup task is already running"),
        (412, "CSS.0064", "Log backup is not enabled for the cluster"),
    ],
)
def test_create_log_backup_documented_errors(cloud, requests_mock, status, code, msg):
    requests_mock.post(COLLECT_URL, **error(status, code, msg))
    with pytest.raises(ApiError) as info:
        CssHook().create_log_backup(CLUSTER)
    assert (info.value.service, info.value.status, info.value.error_code, info.value.error_msg) == (
        "css",
        status,
        code,
        msg,
    )
    assert requests_mock.call_count == 1


def test_create_log_backup_is_not_retried_on_500(cloud, requests_mock):
    requests_mock.post(COLLECT_URL, **error(500, "CSS.9999", "internal"))
    with pytest.raises(ApiError, match="HTTP 500"):
        CssHook().create_log_backup(CLUSTER)
    assert requests_mock.call_count == 1


def test_create_log_backup_is_retried_on_429(cloud, requests_mock):
    requests_mock.post(COLLECT_URL, [{"status_code": 429, "text": "-"}, {"status_code": 200}])
    CssHook().create_log_backup(CLUSTER)
    assert requests_mock.call_count == 2


def test_create_log_backup_html_error(cloud, requests_mock):
    requests_mock.post(COLLECT_URL, status_code=409, text=HTML_BODY)
    with pytest.raises(ApiError) as info:
        CssHook().create_log_backup(CLUSTER)
    assert info.value.status == 409
    assert info.value.error_msg == "non-JSON (HTML) error body"


@pytest.mark.parametrize("cluster_id", ["a/b", "..", "x..y", "id?x=1", "", " padded", "a%2Fb"])
def test_bad_cluster_ids_are_rejected_before_any_request(cloud, requests_mock, cluster_id):
    hook = CssHook()
    with pytest.raises(InvalidInputError) as info:
        hook.create_log_backup(cluster_id)
    assert info.value.field == "cluster_id"
    with pytest.raises(InvalidInputError):
        hook.get_log_backup_record_page(cluster_id)
    with pytest.raises(InvalidInputError):
        hook.start_log_backup(cluster_id, sleep=lambda _s: None)
    assert requests_mock.call_count == 0


def test_missing_project_id_fails_before_any_request(set_cloud_conn, requests_mock):
    set_cloud_conn(project_id=None, region=None)  # nothing to look the project up by
    with pytest.raises(ConfigurationError, match="project_id"):
        CssHook().create_log_backup(CLUSTER)
    assert requests_mock.call_count == 0


# --- get_log_backup_record_page ----------------------------------------------------------------


def test_list_records_sends_both_paging_names_and_parses_seed(cloud, requests_mock):
    requests_mock.get(RECORDS_URL, text=API_EXAMPLE_RECORDS)
    result = CssHook().get_log_backup_record_page(CLUSTER, status="FAIL", offset=11, limit=5)
    request = requests_mock.last_request
    assert request.method == "GET"
    path, query = url_parts(request)
    assert path == RECORDS_PATH
    assert sorted(query) == [("limit", "5"), ("offset", "11"), ("start", "11"), ("status", "FAIL")]
    assert_signed(request)
    [entry] = result.cluster_log_record
    assert entry.id == "d455a541-597e-4846-a6be-baad0ea361b1"
    assert entry.create_at == datetime(2022, 6, 24, 3, 53, 57, tzinfo=timezone.utc)
    assert entry.create_at_ms == 1656042837000
    assert entry.finished_at is None
    assert entry.job_types == "Manual"
    assert entry.job_id == "2c9080df7c171342017c5e0884f8011c"
    assert result.total_size is None


def test_list_records_default_query(cloud, requests_mock):
    requests_mock.get(RECORDS_URL, json={"clusterLogRecord": [], "totalSize": 0})
    assert CssHook().get_log_backup_record_page(CLUSTER).total_size == 0
    assert sorted(url_parts(requests_mock.last_request)[1]) == [("limit", "10"), ("offset", "1"), ("start", "1")]


def test_list_records_accepts_string_create_at(cloud, requests_mock):
    requests_mock.get(RECORDS_URL, json={"clusterLogRecord": [record("r1", created="1656042837000")]})
    [entry] = CssHook().get_log_backup_record_page(CLUSTER).cluster_log_record
    assert entry.create_at_ms == 1656042837000


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"status": "DONE"}, "status"),
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"offset": 0}, "offset"),
    ],
)
def test_list_records_bad_options(cloud, requests_mock, kwargs, field):
    with pytest.raises(InvalidInputError) as info:
        CssHook().get_log_backup_record_page(CLUSTER, **kwargs)
    assert info.value.field == field
    assert requests_mock.call_count == 0


@pytest.mark.parametrize(
    ("status", "code", "msg"),
    [(400, "CSS.0001", "bad"), (409, "CSS.0002", "conflict"), (412, "CSS.0003", "precondition")],
)
def test_list_records_documented_errors(cloud, requests_mock, status, code, msg):
    requests_mock.get(RECORDS_URL, **error(status, code, msg))
    with pytest.raises(ApiError) as info:
        CssHook().get_log_backup_record_page(CLUSTER)
    assert (info.value.status, info.value.error_code, info.value.error_msg) == (status, code, msg)
    assert requests_mock.call_count == 1


def test_list_records_500_is_retried_then_raised(cloud, requests_mock):
    requests_mock.get(RECORDS_URL, **error(500, "CSS.9999", "internal"))
    with pytest.raises(ApiError, match="HTTP 500"):
        CssHook().get_log_backup_record_page(CLUSTER)
    assert requests_mock.call_count == 3


def test_list_records_html_error(cloud, requests_mock):
    requests_mock.get(RECORDS_URL, status_code=400, text=HTML_BODY)
    with pytest.raises(ApiError) as info:
        CssHook().get_log_backup_record_page(CLUSTER)
    assert info.value.error_msg == "non-JSON (HTML) error body"


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("{not json", "<body>"),
        ("", "<body>"),
        ('{"clusterLogRecord": [{"id": "x"}]}', "clusterLogRecord[0].status"),
        ('{"clusterLogRecord": 5}', "clusterLogRecord"),
        ('{"clusterLogRecord": [], "totalSize": -1}', "totalSize"),
    ],
)
def test_list_records_malformed_200(cloud, requests_mock, text, field):
    requests_mock.get(RECORDS_URL, text=text)
    with pytest.raises(BadResponseError) as info:
        CssHook().get_log_backup_record_page(CLUSTER)
    assert info.value.service == "css"
    assert info.value.field == field
    assert str(info.value).startswith("css: unexpected response")


# --- iter / get -------------------------------------------------------------------------------


def test_iter_records_over_several_pages(cloud, requests_mock):
    requests_mock.get(
        RECORDS_URL,
        [
            page(record("r1"), record("r2"), total=5),
            page(record("r3"), record("r4"), total=5),
            page(record("r5"), total=5),
        ],
    )
    ids = [r.id for r in CssHook().iter_log_backup_records(CLUSTER, page_size=2)]
    assert ids == ["r1", "r2", "r3", "r4", "r5"]
    starts = [dict(url_parts(r)[1]) for r in requests_mock.request_history]
    assert [(q["start"], q["offset"], q["limit"]) for q in starts] == [
        ("1", "1", "2"),
        ("3", "3", "2"),
        ("5", "5", "2"),
    ]


def test_iter_records_stops_at_total_size(cloud, requests_mock):
    requests_mock.get(
        RECORDS_URL, [page(record("r1"), record("r2"), total=4), page(record("r3"), record("r4"), total=4)]
    )
    assert [r.id for r in CssHook().iter_log_backup_records(CLUSTER, page_size=2)] == ["r1", "r2", "r3", "r4"]
    assert requests_mock.call_count == 2


def test_iter_records_stops_when_server_ignores_paging(cloud, requests_mock):
    requests_mock.get(RECORDS_URL, json=page(record("r1"), record("r2"))["json"])
    assert [r.id for r in CssHook().iter_log_backup_records(CLUSTER, page_size=2)] == ["r1", "r2"]
    assert requests_mock.call_count == 2


def test_iter_records_passes_status_filter(cloud, requests_mock):
    requests_mock.get(RECORDS_URL, json={"clusterLogRecord": []})
    assert list(CssHook().iter_log_backup_records(CLUSTER, status="NOT_FAIL")) == []
    assert ("status", "NOT_FAIL") in url_parts(requests_mock.last_request)[1]


def test_get_record_by_job_id_pages_until_found(cloud, requests_mock):
    first = [record(f"r{i}") for i in range(100)]
    requests_mock.get(RECORDS_URL, [page(*first), page(record("wanted", jobId="J-42"))])
    found = CssHook().get_log_backup_record(CLUSTER, job_id="J-42")
    assert found.id == "wanted"
    assert [dict(url_parts(r)[1])["start"] for r in requests_mock.request_history] == ["1", "101"]


def test_get_record_not_found(cloud, requests_mock):
    requests_mock.get(RECORDS_URL, json={"clusterLogRecord": [record("r1")]})
    with pytest.raises(NotFoundError, match="record_id='nope'"):
        CssHook().get_log_backup_record(CLUSTER, record_id="nope")


def test_get_record_needs_exactly_one_id(cloud, requests_mock):
    with pytest.raises(InvalidInputError):
        CssHook().get_log_backup_record(CLUSTER)
    with pytest.raises(InvalidInputError):
        CssHook().get_log_backup_record(CLUSTER, record_id="a", job_id="b")
    assert requests_mock.call_count == 0


# --- start_log_backup -------------------------------------------------------------------------


def test_start_log_backup_finds_the_new_manual_record(cloud, requests_mock):
    old_manual = record("old-manual", created=now_ms() - 3_600_000)
    auto = record("auto-new", job_types="Auto")
    listing = requests_mock.get(
        RECORDS_URL,
        [
            page(old_manual),
            page(old_manual),
            page(auto, record("new-manual"), old_manual),
        ],
    )
    collect = requests_mock.post(COLLECT_URL, status_code=200)
    started: list[str] = []
    sleeps: list[float] = []
    found = CssHook().start_log_backup(
        CLUSTER, poll_interval=2.5, sleep=sleeps.append, on_started=lambda: started.append("x")
    )
    assert found.id == "new-manual"
    assert found.job_id == "job-new-manual"
    assert started == ["x"]
    assert sleeps == [2.5]
    assert collect.call_count == 1
    assert listing.call_count == 3
    assert [r.method for r in requests_mock.request_history] == ["GET", "POST", "GET", "GET"]
    for request in requests_mock.request_history:
        assert_signed(request)
    assert dict(url_parts(listing.last_request)[1])["limit"] == "1000"


def test_start_log_backup_ignores_records_whose_job_id_was_in_the_snapshot(cloud, requests_mock):
    before = record("rec-a", jobId="J-1")
    same_job = record("rec-b", jobId="J-1")
    requests_mock.get(RECORDS_URL, [page(before), page(same_job, before), page(record("rec-c"), same_job, before)])
    requests_mock.post(COLLECT_URL, status_code=204)
    assert CssHook().start_log_backup(CLUSTER, sleep=lambda _s: None).id == "rec-c"


def test_start_log_backup_picks_the_earliest_new_manual_record_in_either_list_order(cloud, requests_mock):
    # CSS runs one backup at a time, so a later new record can only be a backup started after ours ended.
    now = now_ms()
    ours, later = record("ours", created=now, status="SUCCESS"), record("later", created=now + 5)
    requests_mock.get(RECORDS_URL, [page(), page(ours, later), page(), page(later, ours)])
    requests_mock.post(COLLECT_URL, status_code=200)
    assert CssHook().start_log_backup(CLUSTER, sleep=lambda _s: None).id == "ours"
    assert CssHook().start_log_backup(CLUSTER, sleep=lambda _s: None).id == "ours"


def test_a_running_backup_is_attached_to_by_default(cloud, requests_mock):
    done = record("done", created=now_ms() - 7_200_000, status="SUCCESS")
    running = record("auto-running", job_types="Auto", created=now_ms() - 60_000)
    requests_mock.get(RECORDS_URL, json=page(done, running)["json"])
    collect = requests_mock.post(COLLECT_URL, **error(409, "CSS.0033", "a log backup task is running"))
    found = CssHook().start_log_backup(CLUSTER, sleep=lambda _s: pytest.fail("nothing to look for"))
    assert found.id == "auto-running"
    assert collect.call_count == 1  # never a second start call


def test_a_running_backup_fails_clearly_with_if_running_fail(cloud, requests_mock):
    running = record("manual-running", created=now_ms() - 60_000)
    requests_mock.get(RECORDS_URL, json=page(running)["json"])
    requests_mock.post(COLLECT_URL, **error(409, "CSS.0033", "a log backup task is running"))
    with pytest.raises(LogBackupRunningError) as info:
        CssHook().start_log_backup(CLUSTER, if_running="fail")
    text = str(info.value)
    assert "already running a log backup" in text
    assert "manual-running" in text and "job-manual-running" in text
    assert "HTTP 409" in text and "CSS.0033" in text
    assert repr(CLUSTER) in text


def test_a_running_backup_not_listed_yet_is_looked_for_until_it_appears(cloud, requests_mock, monkeypatch):
    # The 409 can come before the running backup's record is listed (CSS lists it a moment later).
    clock = FakeClock()
    monkeypatch.setattr(css_hook_module, "time", clock)
    done = record("done", created=now_ms() - 7_200_000, status="SUCCESS")
    running = record("just-started", job_types="Auto")
    listing = requests_mock.get(RECORDS_URL, [page(done), page(done), page(done), page(running, done)])
    collect = requests_mock.post(COLLECT_URL, **error(409, "CSS.0011", "The cluster is busy."))
    found = CssHook().start_log_backup(CLUSTER, find_timeout=30, poll_interval=2, sleep=clock.sleep)
    assert found.id == "just-started"
    assert clock.sleeps == [2, 2]
    assert listing.call_count == 1 + 3  # the baseline, then three looks
    assert collect.call_count == 1  # never a second start call


def test_a_running_backup_never_listed_fails_after_find_timeout_naming_the_wait(cloud, requests_mock, monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(css_hook_module, "time", clock)
    listing = requests_mock.get(RECORDS_URL, json=page()["json"])
    requests_mock.post(COLLECT_URL, **error(409, "CSS.0011", "The cluster is busy."))
    with pytest.raises(LogBackupRunningError) as info:
        CssHook().start_log_backup(CLUSTER, find_timeout=10, poll_interval=3, sleep=clock.sleep)
    text = str(info.value)
    assert "not listed as RUNNING within 10 s" in text and "HTTP 409" in text and repr(CLUSTER) in text
    assert clock.sleeps == [3, 3, 3, 3]
    assert listing.call_count == 1 + 5


def test_if_running_is_checked_before_any_request(cloud, requests_mock):
    with pytest.raises(InvalidInputError, match="if_running"):
        CssHook().start_log_backup(CLUSTER, if_running="wait")  # type: ignore[arg-type]
    assert requests_mock.call_count == 0


class FakeClock:
    """Stands in for the ``time`` module inside hooks/css.py: ``sleep`` advances ``monotonic``."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_start_log_backup_gives_up_when_the_record_never_appears(cloud, requests_mock, monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(css_hook_module, "time", clock)
    stale = record("stale-manual", created=now_ms() - 3_600_000)  # new id, but created long before the start
    listing = requests_mock.get(RECORDS_URL, [page(), page(stale)])
    requests_mock.post(COLLECT_URL, status_code=200)
    with pytest.raises(HuaweiCloudError) as info:
        CssHook().start_log_backup(CLUSTER, find_timeout=10, poll_interval=3, sleep=clock.sleep)
    text = str(info.value)
    assert "css" in text
    assert repr(CLUSTER) in text
    assert "10 s" in text
    assert clock.sleeps == [3, 3, 3, 3]
    assert listing.call_count == 1 + 5


def test_log_backup_not_enabled_names_the_setting_and_how_to_enable_it(cloud, requests_mock):
    listing = requests_mock.get(RECORDS_URL, json={"clusterLogRecord": []})
    requests_mock.post(COLLECT_URL, **error(412, "CSS.0064", "log backup not enabled"))
    with pytest.raises(LogBackupNotEnabledError) as info:
        CssHook().start_log_backup(CLUSTER, sleep=lambda _s: pytest.fail("must not poll"))
    text = str(info.value)
    assert "log backup is not enabled" in text and repr(CLUSTER) in text
    assert "HTTP 412" in text and "CSS.0064" in text
    assert "logs/open" in text and "console" in text
    assert listing.call_count == 1


# --- CSS's own error envelope -------------------------------------------------------------------


def css_error(status: int, code: str, msg: str) -> dict[str, Any]:
    """CSS errors as terraform-provider-huaweicloud's CSS resources quote them."""
    return {"status_code": status, "json": {"errCode": code, "externalMessage": msg}}


@pytest.mark.parametrize("call", ["create", "list", "find"])
def test_missing_cluster_is_named_not_an_authentication_error(cloud, requests_mock, call):
    """403 CSS.0015 "No resources are found or the access is denied." is the cluster being gone
    (or not this project's), not bad credentials."""
    gone = css_error(403, "CSS.0015", "No resources are found or the access is denied.")
    requests_mock.post(COLLECT_URL, **gone)
    requests_mock.get(RECORDS_URL, **gone)
    hook = CssHook()
    with pytest.raises(NotFoundError) as info:
        if call == "create":
            hook.create_log_backup(CLUSTER)
        elif call == "list":
            hook.get_log_backup_record_page(CLUSTER)
        else:
            hook.get_log_backup_record(CLUSTER, job_id="j")
    assert type(info.value) is NotAccessibleError
    assert (info.value.status, info.value.error_code) == (403, "CSS.0015")
    assert str(info.value) == (
        f"css API error: HTTP 403, code CSS.0015, cluster '{CLUSTER}' not found or not accessible: "
        "No resources are found or the access is denied."
    )


def test_css_error_code_and_message_are_read(cloud, requests_mock):
    requests_mock.post(COLLECT_URL, **css_error(412, "CSS.0004", "CSS.0004 : Invalid operation. (log backup off)"))
    with pytest.raises(ApiError) as info:
        CssHook().create_log_backup(CLUSTER)
    assert (info.value.error_code, info.value.error_msg) == (
        "CSS.0004",
        "CSS.0004 : Invalid operation. (log backup off)",
    )


# --- list_log_backup_records: records, not a page ---------------------------------------------


def test_list_records_returns_the_records_of_every_page(cloud, requests_mock):
    """Before, it returned the page object: ``list()`` of it yielded (field, value) tuples."""
    first = [record(f"r{i}") for i in range(100)]
    requests_mock.get(
        RECORDS_URL,
        [{"json": {"clusterLogRecord": first, "totalSize": 101}}, {"json": {"clusterLogRecord": [record("r100")]}}],
    )
    records = CssHook().list_log_backup_records(CLUSTER, status="NOT_FAIL")
    assert isinstance(records, list)
    assert [r.id for r in records] == [f"r{i}" for i in range(101)]
    assert [dict(url_parts(r)[1])["start"] for r in requests_mock.request_history] == ["1", "101"]
    assert all(dict(url_parts(r)[1])["status"] == "NOT_FAIL" for r in requests_mock.request_history)


def test_list_records_with_paging_arguments_is_deprecated_and_returns_that_page(cloud, requests_mock):
    from airflow.exceptions import AirflowProviderDeprecationWarning

    requests_mock.get(RECORDS_URL, json={"clusterLogRecord": [record("r7")], "totalSize": 9})
    with pytest.warns(AirflowProviderDeprecationWarning, match="get_log_backup_record_page"):
        records = CssHook().list_log_backup_records(CLUSTER, offset=7, limit=1)
    assert [r.id for r in records] == ["r7"]
    assert sorted(url_parts(requests_mock.last_request)[1]) == [("limit", "1"), ("offset", "7"), ("start", "7")]
    with pytest.raises(TypeError, match="page_size"):
        CssHook().list_log_backup_records(CLUSTER, page_size=5)
