"""DisTransferTaskLogOperator: every page of the transfer log, summed (requests_mock and the emulator)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from airflow_provider.core.errors import ApiError, InvalidInputError
from airflow_provider.operators.dis import DisTransferTaskLogOperator
from tests.operators._support import FAST_RETRY

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider.testing.emulator_runner import EmulatorHandle

TASK = "CDaRPdvKUfZrAhzTaYs"
ENDPOINT = "https://hwc.test"
LOG_URL = f"{ENDPOINT}/v1/transfertasklog/{TASK}"
HOUR_MS = 3_600_000
BASE_MS = 1_714_550_400_000  # 2024-05-01T08:00:00Z


def entry(i: int, *, records: int, size: int) -> dict[str, Any]:
    start = BASE_MS + i * HOUR_MS
    return {
        "transferTaskId": TASK,
        "state": 0,
        "destinationType": "OBS",
        "startTime": start,
        "endTime": start + HOUR_MS,
        "transferBytes": size,
        "transferRecordsNum": records,
        "transformRecordsNum": 0,
        "streamId": "hFKqKEhCZgNayyIS8Zv",
        "projectId": "0123456789abcdef0123456789abcdef",
        "transferFileName": f"{TASK}.disMonitorTest.0.{start + 10}",
        "num": 0,
    }


def page(entries: list[dict[str, Any]] | dict[str, Any], total: int) -> dict[str, Any]:
    return {"errorCode": -1, "totalNum": total, "message": None, "transferTaskLogList": entries}


ENTRIES = [entry(i, records=100 * (i + 1), size=1000 * (i + 1) + 7) for i in range(5)]


@pytest.fixture
def cloud_mock(monkeypatch: pytest.MonkeyPatch) -> None:
    extra = {"region": "cn-north-4", "project_id": "0123456789abcdef0123456789abcdef", "endpoint_url": ENDPOINT}
    conn: dict[str, Any] = {
        "conn_type": "huaweicloud",
        "login": "AKTESTACCESSKEY00001",
        "password": "SKtest-secret-0123456789",
    }
    conn["extra"] = {**extra, "retry": FAST_RETRY}
    monkeypatch.setenv("AIRFLOW_CONN_HUAWEICLOUD_DEFAULT", json.dumps(conn))


def log_op(**kwargs: Any) -> DisTransferTaskLogOperator:
    return DisTransferTaskLogOperator(**{"task_id": "transfer_log", "transfer_task_id": TASK, **kwargs})


def test_summary_sums_every_page(cloud_mock: None, requests_mock: Any, context: Context) -> None:
    desc = list(reversed(ENTRIES))
    route = requests_mock.post(
        LOG_URL,
        [
            {"json": page(desc[0:2], 5)},
            {"json": page(desc[2:4], 5)},
            {"json": page(desc[4], 5)},  # a single entry comes as an object, as the API example shows
        ],
    )
    result = log_op(page_size=2).execute(context)

    assert [call.json()["pageInfo"] for call in route.request_history] == [
        {"pageIndex": 1, "pageTotal": 2},
        {"pageIndex": 2, "pageTotal": 2},
        {"pageIndex": 3, "pageTotal": 2},
    ]
    assert all(call.json()["order"] == "desc" for call in route.request_history)
    assert all(call.json()["sortBy"] == "createTimeStr" for call in route.request_history)
    summary = result["summary"]
    assert summary == {
        "transfer_task_id": TASK,
        "periods": 5,
        "transfer_bytes": sum(e["transferBytes"] for e in ENTRIES),
        "transfer_records": sum(e["transferRecordsNum"] for e in ENTRIES),
        "first_start": "2024-05-01T08:00:00Z",
        "last_end": "2024-05-01T13:00:00Z",
    }
    assert summary["transfer_records"] == 1500
    hours = [e["startTime"][11:13] for e in result["entries"]]  # times come back as ISO 8601
    assert hours == ["12", "11", "10", "09", "08"]
    assert [e["transferRecordsNum"] for e in result["entries"]] == [e["transferRecordsNum"] for e in desc]
    json.dumps(result)


def test_max_entries_truncates_the_list_but_not_the_summary(
    cloud_mock: None, requests_mock: Any, context: Context
) -> None:
    requests_mock.post(LOG_URL, [{"json": page(ENTRIES[:3], 5)}, {"json": page(ENTRIES[3:], 5)}])
    result = log_op(page_size=3, max_entries=2, order="asc").execute(context)
    assert len(result["entries"]) == 2
    assert result["summary"]["periods"] == 5
    assert result["summary"]["transfer_bytes"] == sum(e["transferBytes"] for e in ENTRIES)


def test_a_server_that_ignores_paging_is_not_double_counted(
    cloud_mock: None, requests_mock: Any, context: Context
) -> None:
    route = requests_mock.post(LOG_URL, json=page(ENTRIES[:2], 5))  # always the same page
    result = log_op(page_size=2).execute(context)
    assert route.call_count == 2
    assert result["summary"]["periods"] == 2
    assert result["summary"]["transfer_records"] == ENTRIES[0]["transferRecordsNum"] + ENTRIES[1]["transferRecordsNum"]


def test_dis_error_in_a_200_body_fails(cloud_mock: None, requests_mock: Any, context: Context) -> None:
    requests_mock.post(
        LOG_URL, json={"errorCode": "DIS.4303", "message": "Transfer task does not exist", "transferTaskLogList": []}
    )
    with pytest.raises(ApiError, match=r"DIS\.4303"):
        log_op().execute(context)


def test_invalid_task_id_is_rejected_before_any_request(cloud_mock: None, requests_mock: Any, context: Context) -> None:
    with pytest.raises(InvalidInputError):
        log_op(transfer_task_id="../streams").execute(context)
    assert requests_mock.call_count == 0


def test_against_the_emulator_many_pages(emulator: EmulatorHandle, context: Context) -> None:
    emulator.admin.advance(3600)  # about 63 closed dump periods
    route_calls_before = len(emulator.admin.requests(service="dis"))
    result = log_op(page_size=7).execute(context)

    entries, summary = result["entries"], result["summary"]
    assert summary["periods"] == len(entries) >= 60
    assert summary["transfer_bytes"] == sum(e["transferBytes"] for e in entries)
    assert summary["transfer_records"] == sum(e["transferRecordsNum"] for e in entries)
    assert len({(e["startTime"], e["endTime"]) for e in entries}) == len(entries)
    starts = [e["startTime"] for e in entries]
    assert starts == sorted(starts, reverse=True)
    pages = len(emulator.admin.requests(service="dis")) - route_calls_before
    assert pages >= summary["periods"] // 7


def test_unknown_task_on_the_emulator(emulator: EmulatorHandle, context: Context) -> None:
    with pytest.raises(ApiError, match=r"DIS\.4354"):
        log_op(transfer_task_id="NoSuchTask000000000").execute(context)
