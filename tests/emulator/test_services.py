"""Each service's lifecycle, driven by the admin clock and outcome controls."""

from __future__ import annotations

import io
import tarfile
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from airflow_provider.services._parsing import parse_iso_datetime as parse_iso
from tests.emulator.helpers import (
    CLOUDDC_SERVER,
    CSS_CLUSTER,
    DCS_INSTANCE,
    DIS_STREAM,
    DIS_TASK,
    css_path,
    dcs_progress_path,
    signed_request,
)

if TYPE_CHECKING:
    from airflow_provider.testing.emulator_runner import EmulatorHandle

MEF = "/edgemanager/v1/logmgmt/dump"


def _mef_create(emulator: EmulatorHandle, nodes: list[int]) -> httpx.Response:
    return httpx.post(emulator.url + MEF + "/task", json={"module": "edgeNode", "edgeNodes": nodes})


def _mef_query(emulator: EmulatorHandle, task_id: str) -> httpx.Response:
    return httpx.get(emulator.url + MEF + "/task", params={"taskId": task_id})


def test_mef_dump_lifecycle_busy_and_download(huaweicloud_emulator):
    admin = huaweicloud_emulator.admin
    created = _mef_create(huaweicloud_emulator, [1, 2, 3])
    assert created.status_code == 200
    task_id = created.json()["data"]["taskId"]
    assert task_id.startswith("dumpMultiNodesLog.")
    first = _mef_query(huaweicloud_emulator, task_id).json()
    assert first["status"] == "00000000"
    assert first["data"]["status"] in ("waiting", "processing")
    assert first["data"]["finishedAt"] is None

    busy = _mef_create(huaweicloud_emulator, [4])
    assert busy.status_code == 400
    # The dump pool has one worker and no queue: SubmitTask fails, create_task_handler.go answers 40052002.
    assert busy.json() == {"status": "40052002", "msg": "task queue is full", "data": None}
    early = httpx.get(huaweicloud_emulator.url + MEF + "/download/edgeNodes.tar.gz")
    assert early.status_code == 400
    assert early.json() == "file is abnormal"  # download_server.go: AbortWithStatusJSON(400, "file is abnormal")

    admin.advance(60)
    done = _mef_query(huaweicloud_emulator, task_id).json()["data"]
    assert done["status"] == "succeed"
    assert done["progress"] == 100
    assert done["data"] == {"fileName": "edgeNodes.tar.gz"}
    assert done["finishedAt"].endswith("Z")

    download = httpx.get(huaweicloud_emulator.url + MEF + "/download/edgeNodes.tar.gz")
    assert download.status_code == 200
    with tarfile.open(fileobj=io.BytesIO(download.content), mode="r:gz") as archive:
        assert sorted(archive.getnames()) == ["edge-node-1.log", "edge-node-2.log", "edge-node-3.log"]
    # http.ServeFile: Last-Modified is when the archive was written, within the dump's run.
    written = parsedate_to_datetime(download.headers["Last-Modified"])
    assert parse_iso(first["data"]["createdAt"]).replace(microsecond=0) <= written
    assert written <= parse_iso(done["finishedAt"])


def test_mef_progress_and_reason_follow_the_dump_task(huaweicloud_emulator):
    """dump_multi_nodes_log.go: waiting until the worker takes it, then "receiving (k/n) files" at
    50*k/n, "start to create tar gz" at 50, "task succeeded" at 100."""
    admin = huaweicloud_emulator.admin
    admin.set_speed(1e-9)  # hold the clock: the dump is waiting only until it moves
    admin.set_outcome("edge", "succeed", duration=100)
    task_id = _mef_create(huaweicloud_emulator, [1, 2, 3, 4]).json()["data"]["taskId"]
    seen = []
    for step in (0, 1, 20, 20, 20, 20, 30):
        admin.advance(step)
        data = _mef_query(huaweicloud_emulator, task_id).json()["data"]
        seen.append((data["status"], data["progress"], data["reason"], data["startedAt"] is None))
    assert seen == [
        ("waiting", 0, "", True),
        ("processing", 0, "", False),
        ("processing", 12, "receiving (1/4) files", False),
        ("processing", 25, "receiving (2/4) files", False),
        ("processing", 37, "receiving (3/4) files", False),
        ("processing", 50, "start to create tar gz", False),
        ("succeed", 100, "task succeeded", False),
    ]


def test_a_failed_mef_dump_keeps_its_last_progress(huaweicloud_emulator):
    """GORM Updates skips zero fields: a failed end keeps the progress reached; the reason lists
    each failed node with its sub-task message (query_progress_handler.go, dump_single_node_log.go)."""
    admin = huaweicloud_emulator.admin
    admin.set_outcome("edge", "fail", duration=10)
    task_id = _mef_create(huaweicloud_emulator, [1, 2]).json()["data"]["taskId"]
    admin.advance(10)
    data = _mef_query(huaweicloud_emulator, task_id).json()["data"]
    assert (data["status"], data["progress"]) == ("failed", 50)
    reason = (
        "failed to dump log for following nodes:(1)failed to send message to edge;(2)failed to send message to edge"
    )
    assert data["reason"] == reason


def test_mef_query_with_a_trailing_slash_is_redirected_as_gin_does(huaweicloud_emulator):
    """Only .../task is routed; gin.New() has RedirectTrailingSlash: GET answers 301 to the path without it."""
    task_id = _mef_create(huaweicloud_emulator, [1]).json()["data"]["taskId"]
    slashed = httpx.get(huaweicloud_emulator.url + MEF + "/task/", params={"taskId": task_id})
    assert slashed.status_code == 301
    assert slashed.headers["location"] == f"{MEF}/task?taskId={task_id}"
    followed = httpx.get(huaweicloud_emulator.url + MEF + "/task/", params={"taskId": task_id}, follow_redirects=True)
    assert followed.json()["data"]["taskId"] == task_id


def test_mef_unrouted_paths_and_methods_are_gin_s_404_and_nginx_s_403(huaweicloud_emulator):
    """gin.New() answers an unrouted path (or method: HandleMethodNotAllowed is off) with its plain
    404 body; nginx denies methods other than GET, POST and PATCH before the edge manager sees them."""
    for response in (
        httpx.get(huaweicloud_emulator.url + "/edgemanager/v1/logmgmt/nothing"),
        httpx.post(huaweicloud_emulator.url + MEF + "/download/edgeNodes.tar.gz"),
        httpx.patch(huaweicloud_emulator.url + MEF + "/task"),
    ):
        assert (response.status_code, response.text) == (404, "404 page not found")
        assert response.headers["content-type"] == "text/plain"
    denied = httpx.delete(huaweicloud_emulator.url + MEF + "/task")
    assert (denied.status_code, denied.headers["content-type"]) == (403, "text/html")


def _finished_archive(emulator: EmulatorHandle) -> httpx.Response:
    emulator.admin.set_outcome("edge", "succeed", duration=5)
    _mef_create(emulator, [1, 2])
    emulator.admin.advance(6)
    full = httpx.get(emulator.url + MEF + "/download/edgeNodes.tar.gz")
    assert full.status_code == 200
    assert full.headers["accept-ranges"] == "bytes"
    return full


def test_mef_download_serves_byte_ranges_as_go_serve_content_does(huaweicloud_emulator):
    """net/http fs.go serveContent: one range -> 206 with Content-Range; several -> multipart/byteranges;
    none overlapping -> 416 "invalid range: failed to overlap" with bytes */size."""
    full = _finished_archive(huaweicloud_emulator)
    url, body, size = huaweicloud_emulator.url + MEF + "/download/edgeNodes.tar.gz", full.content, len(full.content)

    part = httpx.get(url, headers={"Range": "bytes=10-"})
    assert (part.status_code, part.content) == (206, body[10:])
    assert part.headers["content-range"] == f"bytes 10-{size - 1}/{size}"
    assert part.headers["content-length"] == str(size - 10)
    suffix = httpx.get(url, headers={"Range": "bytes=-5"})
    assert (suffix.status_code, suffix.content) == (206, body[-5:])
    clipped = httpx.get(url, headers={"Range": f"bytes=0-{size + 100}"})
    assert (clipped.status_code, clipped.headers["content-range"]) == (206, f"bytes 0-{size - 1}/{size}")

    several = httpx.get(url, headers={"Range": "bytes=0-1,4-5"})
    assert several.status_code == 206
    assert several.headers["content-type"].startswith("multipart/byteranges; boundary=")
    assert f"Content-Range: bytes 0-1/{size}".encode() in several.content and body[4:6] in several.content

    beyond = httpx.get(url, headers={"Range": f"bytes={size}-"})
    assert (beyond.status_code, beyond.text) == (416, "invalid range: failed to overlap\n")
    assert beyond.headers["content-range"] == f"bytes */{size}"
    garbled = httpx.get(url, headers={"Range": "items=0-1"})
    assert (garbled.status_code, garbled.text) == (416, "invalid range\n")
    assert "content-range" not in garbled.headers
    greedy = httpx.get(url, headers={"Range": f"bytes=0-,0-{size}"})
    assert (greedy.status_code, greedy.content) == (200, body)  # more bytes than the file: range ignored


def test_mef_download_answers_conditional_requests_as_go_serve_content_does(huaweicloud_emulator):
    """If-Modified-Since at or after Last-Modified -> 304 without a body; If-Range with the date
    resumes (206), with another date or an ETag (the file has none) sends the whole file."""
    full = _finished_archive(huaweicloud_emulator)
    url, modified = huaweicloud_emulator.url + MEF + "/download/edgeNodes.tar.gz", full.headers["last-modified"]

    fresh = httpx.get(url, headers={"If-Modified-Since": modified})
    assert (fresh.status_code, fresh.content) == (304, b"")
    assert "content-type" not in fresh.headers and fresh.headers["last-modified"] == modified
    stale = httpx.get(url, headers={"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"})
    assert (stale.status_code, stale.content) == (200, full.content)

    resumed = httpx.get(url, headers={"Range": "bytes=3-", "If-Range": modified})
    assert (resumed.status_code, resumed.content) == (206, full.content[3:])
    changed = httpx.get(url, headers={"Range": "bytes=3-", "If-Range": "Mon, 01 Jan 2001 00:00:00 GMT"})
    assert (changed.status_code, changed.content) == (200, full.content)
    etag = httpx.get(url, headers={"Range": "bytes=3-", "If-Range": '"abc"'})
    assert etag.status_code == 200

    assert httpx.get(url, headers={"If-Unmodified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"}).status_code == 412
    assert httpx.get(url, headers={"If-Match": '"abc"'}).status_code == 412
    assert httpx.get(url, headers={"If-None-Match": "*"}).status_code == 304


def test_mef_unknown_task_and_restart(huaweicloud_emulator):
    admin = huaweicloud_emulator.admin
    unknown = _mef_query(huaweicloud_emulator, "dumpMultiNodesLog.nosuchtask")
    assert unknown.status_code == 400
    assert unknown.json() == {"status": "40052002", "msg": "no such task", "data": None}  # taskschedule.ErrTaskNotFound
    admin.set_outcome("edge", "succeed", duration=1)
    task_id = _mef_create(huaweicloud_emulator, [1]).json()["data"]["taskId"]
    admin.advance(2)
    assert httpx.get(huaweicloud_emulator.url + MEF + "/download/edgeNodes.tar.gz").status_code == 200
    assert admin.restart_edge_manager() == 1  # a restart deletes every task and the archive (mefapiref_0040)
    assert _mef_query(huaweicloud_emulator, task_id).json()["msg"] == "no such task"
    assert httpx.get(huaweicloud_emulator.url + MEF + "/download/edgeNodes.tar.gz").status_code == 400


def test_mef_dump_past_its_execute_timeout_aborts_then_fails(huaweicloud_emulator):
    admin = huaweicloud_emulator.admin
    admin.set_outcome("edge", "abort", duration=10)
    task_id = _mef_create(huaweicloud_emulator, [1, 2]).json()["data"]["taskId"]
    admin.advance(11)
    aborting = _mef_query(huaweicloud_emulator, task_id).json()["data"]
    assert aborting["status"] == "aborting" and aborting["finishedAt"] is None
    # gracefulShutdownReq sets the phase only: no node answered, so progress and message stay as they were
    assert (aborting["progress"], aborting["reason"]) == (0, "")
    assert _mef_create(huaweicloud_emulator, [3]).json()["msg"] == "task queue is full"  # still holds MEF
    admin.advance(300)  # the graceful-shutdown period of tasks/tasks.go
    failed = _mef_query(huaweicloud_emulator, task_id).json()["data"]
    assert failed["status"] == "failed" and failed["finishedAt"] is not None
    assert (failed["reason"], failed["progress"]) == ("failed to dump edge logs", 0)
    assert httpx.get(huaweicloud_emulator.url + MEF + "/download/edgeNodes.tar.gz").status_code == 400
    with pytest.raises(RuntimeError, match="exists only for edge"):
        admin.set_outcome("css", "abort")  # MEF alone models an execute timeout


def test_mef_partial_failure_and_validation(huaweicloud_emulator):
    admin = huaweicloud_emulator.admin
    admin.set_outcome("edge", "partial", duration=5)
    task_id = _mef_create(huaweicloud_emulator, [1, 2, 3, 4]).json()["data"]["taskId"]
    admin.advance(6)
    data = _mef_query(huaweicloud_emulator, task_id).json()["data"]
    assert data["status"] == "partiallyFailed"
    assert (
        data["reason"]
        == "failed to dump log for following nodes:(3)failed to send message to edge;(4)failed to send message to edge"
    )
    download = httpx.get(huaweicloud_emulator.url + MEF + "/download/edgeNodes.tar.gz")
    with tarfile.open(fileobj=io.BytesIO(download.content), mode="r:gz") as archive:
        assert sorted(archive.getnames()) == ["edge-node-1.log", "edge-node-2.log"]

    assert _mef_create(huaweicloud_emulator, [99]).json() == {
        "status": "40051002",
        "msg": "node (99) not found",
        "data": None,
    }
    # create_task_handler.go answers refused arguments with ErrorParamConvert, 00001006.
    duplicate = _mef_create(huaweicloud_emulator, [1, 1]).json()
    assert duplicate["status"] == "00001006" and duplicate["msg"].startswith("check request failed, ")
    bad_module = httpx.post(huaweicloud_emulator.url + MEF + "/task", json={"module": "x", "edgeNodes": [1]})
    assert (bad_module.status_code, bad_module.json()["status"]) == (400, "00001006")
    not_an_object = httpx.post(huaweicloud_emulator.url + MEF + "/task", json=[1])
    assert not_an_object.json()["msg"] == "parse content failed"
    bad_id = _mef_query(huaweicloud_emulator, "nope")
    assert (bad_id.status_code, bad_id.json()["status"]) == (400, "00001006")


def test_clouddc_export_status_and_download(huaweicloud_emulator):
    admin = huaweicloud_emulator.admin
    base = f"/v1/{huaweicloud_emulator.project_id}/physicalservers/{CLOUDDC_SERVER}/logs/exports"
    started = signed_request(huaweicloud_emulator, "POST", base)
    assert started.status_code == 202
    export = started.json()
    assert export["percentage"] == "0%" and export["created_at"].endswith("Z")
    early = signed_request(huaweicloud_emulator, "GET", f"{base}/{export['export_id']}/content")
    assert early.status_code == 400
    admin.advance(15)
    mid = signed_request(huaweicloud_emulator, "GET", f"{base}/{export['export_id']}").json()
    assert mid["status"] == "Running"
    assert 40 <= int(mid["percentage"].rstrip("%")) <= 60
    admin.set_quirks(clouddc_status="processing", clouddc_created_at="+00:00")
    mid2 = signed_request(huaweicloud_emulator, "GET", f"{base}/{export['export_id']}").json()
    assert mid2["status"] == "processing" and mid2["created_at"].endswith("+00:00")
    admin.advance(30)
    done = signed_request(huaweicloud_emulator, "GET", f"{base}/{export['export_id']}").json()
    assert (done["status"], done["percentage"]) == ("completed", "100%")
    content = signed_request(huaweicloud_emulator, "GET", f"{base}/{export['export_id']}/content")
    assert content.status_code == 200
    with tarfile.open(fileobj=io.BytesIO(content.content), mode="r:gz") as archive:
        assert archive.getnames() == [f"{CLOUDDC_SERVER}-bmc.log"]


def _dis_log(emulator: EmulatorHandle, body: dict[str, Any]) -> httpx.Response:
    return signed_request(emulator, "POST", f"/v1/transfertasklog/{DIS_TASK}", body=body)


def test_dis_periods_accumulate_and_stop(huaweicloud_emulator):
    admin = huaweicloud_emulator.admin
    first = _dis_log(huaweicloud_emulator, {"order": "desc", "pageInfo": {"pageIndex": 1, "pageTotal": 10}}).json()
    assert first["totalNum"] == 3
    assert first["errorCode"] == -1
    entries = first["transferTaskLogList"]
    assert entries[0]["startTime"] > entries[1]["startTime"]
    assert entries[0]["endTime"] - entries[0]["startTime"] == 60_000

    admin.advance(120)
    assert _dis_log(huaweicloud_emulator, {}).json()["totalNum"] == 5
    single = _dis_log(huaweicloud_emulator, {"pageInfo": [{"pageIndex": 1}, {"pageIndex": 1}]}).json()
    assert isinstance(single["transferTaskLogList"], dict)
    assert single["transferTaskLogList"]["transferTaskId"] == DIS_TASK
    admin.set_quirks(dis_log_list="array")
    as_array = _dis_log(huaweicloud_emulator, {"pageInfo": {"pageIndex": 1, "pageTotal": 1}}).json()
    assert isinstance(as_array["transferTaskLogList"], list)

    action = f"/v2/{huaweicloud_emulator.project_id}/streams/{DIS_STREAM}/transfer-tasks/action"
    stop = signed_request(huaweicloud_emulator, "POST", action, body={"action": "stop", "tasks": [{"id": DIS_TASK}]})
    assert stop.status_code == 200
    admin.advance(300)
    assert _dis_log(huaweicloud_emulator, {}).json()["totalNum"] == 5
    listing = signed_request(
        huaweicloud_emulator, "GET", f"/v2/{huaweicloud_emulator.project_id}/streams/{DIS_STREAM}/transfer-tasks"
    ).json()
    assert listing["tasks"][0]["task_id"] == DIS_TASK and listing["tasks"][0]["state"] == "PAUSED"
    signed_request(huaweicloud_emulator, "POST", action, body={"action": "start", "tasks": [{"id": DIS_TASK}]})
    admin.advance(61)
    assert _dis_log(huaweicloud_emulator, {}).json()["totalNum"] == 6


def test_css_backup_runs_then_succeeds_or_fails(huaweicloud_emulator):
    admin = huaweicloud_emulator.admin
    collect = signed_request(huaweicloud_emulator, "POST", css_path(huaweicloud_emulator, "collect"))
    assert (collect.status_code, collect.content) == (200, b"")
    conflict = signed_request(huaweicloud_emulator, "POST", css_path(huaweicloud_emulator, "collect"))
    assert conflict.status_code == 409
    records = signed_request(huaweicloud_emulator, "GET", css_path(huaweicloud_emulator, "records")).json()
    assert records["totalSize"] == 2
    newest = records["clusterLogRecord"][0]
    assert (newest["status"], newest["jobTypes"], newest["finishedAt"]) == ("RUNNING", "Manual", None)
    assert isinstance(newest["createAt"], int)
    admin.advance(25)
    admin.set_outcome("css", "fail", duration=10)
    signed_request(huaweicloud_emulator, "POST", css_path(huaweicloud_emulator, "collect"))
    admin.advance(11)
    admin.set_quirks(css_create_at="string")
    listed = signed_request(huaweicloud_emulator, "GET", css_path(huaweicloud_emulator, "records")).json()
    statuses = [r["status"] for r in listed["clusterLogRecord"]]
    assert statuses == ["FAIL", "SUCCESS", "SUCCESS"]
    assert listed["clusterLogRecord"][0]["failedMsg"]
    assert isinstance(listed["clusterLogRecord"][0]["createAt"], str)
    failed = signed_request(
        huaweicloud_emulator, "GET", css_path(huaweicloud_emulator, "records"), query=[("status", "FAIL")]
    ).json()
    assert [r["status"] for r in failed["clusterLogRecord"]] == ["FAIL"]
    for name in ("start", "offset"):
        page = signed_request(
            huaweicloud_emulator,
            "GET",
            css_path(huaweicloud_emulator, "records"),
            query=[(name, "2"), ("limit", "1")],
        ).json()
        assert [r["status"] for r in page["clusterLogRecord"]] == ["SUCCESS"]
        assert page["totalSize"] == 3


def test_dcs_progress_advances_and_fails_with_error_code(huaweicloud_emulator):
    admin = huaweicloud_emulator.admin
    task_id = admin.create_task("dcs", instance_id=DCS_INSTANCE, duration=100)
    path = dcs_progress_path(huaweicloud_emulator, task_id)
    start = signed_request(huaweicloud_emulator, "GET", path).json()
    admin.advance(50)
    mid = signed_request(huaweicloud_emulator, "GET", path).json()
    assert mid["progress"] > start["progress"]
    assert mid["remain_time"] < start["remain_time"]
    assert [s["step_status"] for s in mid["step_details"]] == ["FINISH", "EXECUTING", "WAITING"]
    begin = mid["step_details"][0]["begin_time"]
    assert len(begin) == 19 and begin[10] == " "
    admin.advance(60)
    done = signed_request(huaweicloud_emulator, "GET", path).json()
    assert (done["progress"], done["remain_time"]) == (100, 0)
    assert all(s["step_status"] == "FINISH" for s in done["step_details"])

    admin.set_quirks(dcs_time="iso")
    failing = admin.create_task("dcs", instance_id=DCS_INSTANCE, outcome="fail", duration=40)
    admin.advance(41)
    failed = signed_request(huaweicloud_emulator, "GET", dcs_progress_path(huaweicloud_emulator, failing)).json()
    bad = [s for s in failed["step_details"] if s["step_status"] == "FAILED"]
    assert len(bad) == 1 and bad[0]["error_code"]
    assert failed["progress"] < 100
    assert bad[0]["begin_time"].endswith("Z") and "T" in bad[0]["begin_time"]
    tasks = signed_request(
        huaweicloud_emulator, "GET", f"/v2/{huaweicloud_emulator.project_id}/instances/{DCS_INSTANCE}/tasks"
    ).json()
    assert isinstance(tasks["task_count"], str)
    assert {t["id"]: t["status"] for t in tasks["tasks"]}[failing] == "FAILED"


def test_reset_restores_the_seeded_state(huaweicloud_emulator):
    admin = huaweicloud_emulator.admin
    admin.create_resource("css_clusters", id="extra-cluster")
    admin.create_resource("edge_nodes", ids=[42])
    assert "extra-cluster" in admin.info()["resources"]["css_clusters"]
    admin.reset()
    resources = admin.info()["resources"]
    assert resources["css_clusters"] == [CSS_CLUSTER]
    assert resources["edge_nodes"] == [1, 2, 3, 4, 5]


# --- fidelity ----------------------------------------------------------------------------------


def test_dcs_remain_time_is_in_the_clients_seconds_at_any_speed(huaweicloud_emulator):
    """At --speed 10 a task with 45 emulated seconds left ends 4.5 s later for the client: that
    is what remain_time must say, or an adaptive poller waits 10 times too long."""
    admin = huaweicloud_emulator.admin
    admin.set_speed(10.0)
    task_id = admin.create_task("dcs", instance_id=DCS_INSTANCE, duration=45)
    remain = signed_request(huaweicloud_emulator, "GET", dcs_progress_path(huaweicloud_emulator, task_id)).json()
    assert 3 <= remain["remain_time"] <= 5


def test_css_errors_carry_errcode_and_external_message_only(huaweicloud_emulator):
    gone = signed_request(huaweicloud_emulator, "GET", css_path(huaweicloud_emulator, "records", cluster="nope"))
    assert gone.status_code == 403
    assert gone.json() == {"errCode": "CSS.0015", "externalMessage": "No resources are found or the access is denied."}
    closed = signed_request(huaweicloud_emulator, "PUT", css_path(huaweicloud_emulator, "close"))
    assert closed.status_code == 200
    again = signed_request(huaweicloud_emulator, "PUT", css_path(huaweicloud_emulator, "close"))
    # terraform: {"errCode":"CSS.0004","externalMessage":"CSS.0004 : Invalid operation. (Illegal operation)"}, 415
    assert (again.status_code, again.json()) == (
        415,
        {"errCode": "CSS.0004", "externalMessage": "CSS.0004 : Invalid operation. (Illegal operation)"},
    )


def test_dis_log_of_another_project_is_not_found(huaweicloud_emulator):
    """The transfer-task log path has no project: the signed X-Project-Id names it."""
    path = f"/v1/transfertasklog/{DIS_TASK}"
    mine = signed_request(
        huaweicloud_emulator, "POST", path, body={}, extra_headers={"X-Project-Id": huaweicloud_emulator.project_id}
    )
    assert mine.status_code == 200 and mine.json()["totalNum"] >= 3
    other = signed_request(huaweicloud_emulator, "POST", path, body={}, extra_headers={"X-Project-Id": "f" * 32})
    assert (other.status_code, other.json()["error_code"]) == (400, "DIS.4354")


@pytest.mark.parametrize(("accepted", "refused"), [("object", "array"), ("array", "object")])
def test_dis_page_info_forms(huaweicloud_emulator, accepted, refused):
    huaweicloud_emulator.admin.set_quirks(dis_page_info=accepted)
    forms = {"object": {"pageIndex": 1, "pageTotal": 2}, "array": [{"pageIndex": 1}, {"pageIndex": 2}]}
    path = f"/v1/transfertasklog/{DIS_TASK}"
    taken = signed_request(huaweicloud_emulator, "POST", path, body={"pageInfo": forms[accepted]})
    assert taken.status_code == 200 and len(taken.json()["transferTaskLogList"]) == 2
    rejected = signed_request(huaweicloud_emulator, "POST", path, body={"pageInfo": forms[refused]})
    assert (rejected.status_code, rejected.json()["error_code"]) == (400, "DIS.4200")


def test_dcs_task_list_takes_begin_time_as_the_doc_example_sends_it(huaweicloud_emulator):
    path = f"/v2/{huaweicloud_emulator.project_id}/instances/{DCS_INSTANCE}/tasks"
    future = [("begin_time", "29990101000000")]
    assert signed_request(huaweicloud_emulator, "GET", path, query=future).json()["task_count"] == "0"
    assert signed_request(huaweicloud_emulator, "GET", path).json()["task_count"] == "2"


def test_a_method_the_api_does_not_publish_is_apigw_0101(huaweicloud_emulator):
    """CSS /logs/close is a PUT (SDK StopLogs, terraform closeLogBackup): a POST names no API."""
    wrong = signed_request(huaweicloud_emulator, "POST", css_path(huaweicloud_emulator, "close"))
    assert wrong.status_code == 404
    body = wrong.json()
    assert (body["error_code"], body["error_msg"]) == ("APIGW.0101", "The API does not exist or has not been published")
    assert wrong.headers["X-Request-Id"] == body["request_id"]


async def test_a_gateway_error_the_emulated_apis_never_raise_keeps_the_gateway_envelope() -> None:
    """No emulated route raises an HTTP error other than 404/405; if one did, it would get the
    gateway's envelope and a request id, with the emulator's own code APIGW.<status>."""
    import json

    from starlette.exceptions import HTTPException
    from starlette.requests import Request

    from airflow_provider.emulator.app import create_app

    gateway, _state = create_app()
    handler = gateway.app.exception_handlers[HTTPException]  # type: ignore[attr-defined]
    request = Request({"type": "http", "method": "GET", "path": "/v2/p/instances/i/tasks", "headers": []})
    response = await handler(request, HTTPException(418, "teapot"))
    body = json.loads(response.body)
    assert (response.status_code, body["error_code"], body["error_msg"]) == (418, "APIGW.0418", "teapot")
    assert body["request_id"] == response.headers["x-request-id"]


def test_the_earlier_service_name_mef_still_names_the_edge_manager(huaweicloud_emulator):
    """The emulator names services as the provider does (``edge``); ``mef`` stays an alias."""
    admin = huaweicloud_emulator.admin
    admin.set_outcome("mef", "succeed", duration=5)
    dump = admin.create_task("mef", nodes=[1])
    assert dump.startswith("dumpMultiNodesLog.")
    assert admin.create_resource("mef_nodes", ids=[77])["ids"][-1] == 77
    _mef_query(huaweicloud_emulator, dump)
    assert [r["service"] for r in admin.requests("mef")] == ["edge"]
    assert admin.restart_mef() == 1  # the dump is deleted
