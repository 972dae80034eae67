"""Every public hook method against the real emulator, over both forms of every response quirk
and every auth type. The emulator's clock is frozen; tests move it with ``admin.advance``."""

from __future__ import annotations

import re
import tarfile
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import pytest

from airflow_provider.core.auth import TOKEN_CACHE
from airflow_provider.core.errors import DumpBusyError, HuaweiCloudError, NotAccessibleError, NotFoundError
from airflow_provider.core.request import ApiRequest
from airflow_provider.core.status import TaskState
from airflow_provider.emulator.state import (
    DEFAULT_CLOUDDC_SERVER,
    DEFAULT_CSS_CLUSTER,
    DEFAULT_DCS_INSTANCE,
    DEFAULT_DIS_STREAM,
    DEFAULT_DIS_TASK_ID,
    DEFAULT_DIS_TASK_NAME,
)
from airflow_provider.hooks.base import HuaweiCloudHook
from airflow_provider.hooks.clouddc import CloudDCHook
from airflow_provider.hooks.css import CssHook
from airflow_provider.hooks.dcs import DcsHook
from airflow_provider.hooks.dis import DisHook
from airflow_provider.hooks.edge import EdgeManagerHook
from airflow_provider.services import clouddc, dcs
from tests.integration.conftest import (
    cloud_conn,
    iam_token,
    iam_token_requests,
    install,
    password_conn,
    service_requests,
)

if TYPE_CHECKING:
    from pathlib import Path

    from airflow_provider.testing.emulator_runner import EmulatorHandle

pytestmark = pytest.mark.integration

SEED_FORMS = {
    "dis_log_list": "object_when_single",
    "css_create_at": "int",
    "dcs_time": "seed",
    "clouddc_status": "Running",
    "clouddc_created_at": "Z",
}
DOC_FORMS = {
    "dis_log_list": "array",
    "css_create_at": "string",
    "dcs_time": "iso",
    "clouddc_status": "processing",
    "clouddc_created_at": "+00:00",
}
FORMS = {"seed": SEED_FORMS, "doc": DOC_FORMS}
AUTH_TYPES = ("aksk", "temporary", "password", "token")


@pytest.fixture(params=sorted(FORMS))
def form(request: pytest.FixtureRequest, emulator: EmulatorHandle) -> str:
    """Sets one form of every quirk; ``other_form`` names the other one."""
    name: str = request.param
    emulator.admin.set_quirks(**FORMS[name])
    return name


def other(name: str) -> dict[str, str]:
    return FORMS["doc" if name == "seed" else "seed"]


def utc_from_epoch(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=timezone.utc)


def close_to(moment: datetime | None, expected: datetime, slack: float = 2.0) -> bool:
    """Same instant within ``slack`` seconds (the API example's DCS form has whole seconds only)."""
    return moment is not None and moment.tzinfo is not None and abs((moment - expected).total_seconds()) <= slack


def truncated(value: Any) -> Any:
    """``value`` with every datetime cut to whole seconds (the API example's DCS time form has no fraction)."""
    if isinstance(value, datetime):
        return value.replace(microsecond=0)
    if isinstance(value, dict):
        return {k: truncated(v) for k, v in value.items()}
    if isinstance(value, list):
        return [truncated(v) for v in value]
    return value


def tar_members(path: Path) -> dict[str, bytes]:
    with tarfile.open(path, mode="r:gz") as archive:
        out: dict[str, bytes] = {}
        for member in archive.getmembers():
            extracted = archive.extractfile(member)
            assert extracted is not None
            out[member.name] = extracted.read()
        return out


# --------------------------------------------------------------------------------------------- auth


def _temporary_credentials(emulator: EmulatorHandle) -> dict[str, str]:
    """Temporary AK/SK + security token from IAM, asked for with the permanent AK/SK (signed)."""
    hook = HuaweiCloudHook()
    try:
        response = hook.send(
            ApiRequest(
                service="iam",
                method="POST",
                path="/v3.0/OS-CREDENTIAL/securitytokens",
                body={"auth": {"identity": {"methods": ["token"], "token": {"duration_seconds": 900}}}},
                expected=(201,),
            )
        )
    finally:
        hook.close()
    credential: dict[str, str] = response.json_object()["credential"]
    assert credential["access"] != emulator.identities.access_key
    return credential


def install_auth(emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch, auth: str) -> None:
    TOKEN_CACHE.clear()
    if auth == "aksk":
        conn = cloud_conn(emulator)
    elif auth == "temporary":
        cred = _temporary_credentials(emulator)
        conn = cloud_conn(emulator, login=cred["access"], password=cred["secret"], security_token=cred["securitytoken"])
    elif auth == "password":
        conn = password_conn(emulator)
    else:
        conn = cloud_conn(emulator, login=None, password=iam_token(emulator), auth_type="token")
    install(monkeypatch, conn)
    emulator.admin.clear_requests()


@pytest.fixture(params=AUTH_TYPES)
def auth(request: pytest.FixtureRequest, emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch) -> str:
    name: str = request.param
    install_auth(emulator, monkeypatch, name)
    return name


def test_test_connection_with_each_auth_type(emulator: EmulatorHandle, auth: str) -> None:
    ok, message = HuaweiCloudHook().test_connection()
    assert ok, message
    assert "1 project(s) visible" in message
    expected_type = "aksk" if auth == "temporary" else auth
    assert f"({expected_type})" in message


def test_test_connection_with_a_wrong_secret_key(emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch) -> None:
    install(monkeypatch, cloud_conn(emulator, password="WrongSecretKey000000000000000000000000000"))
    ok, message = HuaweiCloudHook().test_connection()
    assert not ok
    assert "401" in message
    assert "APIGW.0301" in message
    assert "WrongSecretKey" not in message
    # A 401 with AK/SK cannot be cured by a refresh: exactly one request reached the gateway.
    assert len(service_requests(emulator, "iam")) == 1


def test_every_service_with_each_auth_type(emulator: EmulatorHandle, auth: str) -> None:
    """One read of each regional service per auth type: all are authenticated by the gateway."""
    css_page = CssHook().get_log_backup_record_page(DEFAULT_CSS_CLUSTER)
    assert [r.job_types for r in css_page.cluster_log_record] == ["Auto"]
    progress = DcsHook().get_background_task_progress(DEFAULT_DCS_INSTANCE, _dcs_tasks(emulator)[0])
    assert progress.step_details
    page = DisHook().get_transfer_task_log_page(DEFAULT_DIS_TASK_ID)
    assert page.total_num == 3
    cdc = CloudDCHook()
    export = cdc.export_server_logs(DEFAULT_CLOUDDC_SERVER)
    assert export.export_id
    assert cdc.get_server_log_export(DEFAULT_CLOUDDC_SERVER, export.export_id).export_id == export.export_id
    for service in ("css", "dcs", "dis", "clouddc"):
        statuses = [r["status"] for r in service_requests(emulator, service)]
        assert statuses, service
        assert all(s in (200, 202) for s in statuses), (service, statuses)


def test_password_auth_fetches_one_token_for_many_calls_and_two_hooks(
    emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_auth(emulator, monkeypatch, "password")
    first, second = CssHook(), DcsHook()
    try:
        first.get_log_backup_record_page(DEFAULT_CSS_CLUSTER)
        first.get_log_backup_record_page(DEFAULT_CSS_CLUSTER, status="NOT_FAIL")
        second.get_background_task_progress(DEFAULT_DCS_INSTANCE, _dcs_tasks(emulator)[0])
        third = CssHook()
        third.get_log_backup_record_page(DEFAULT_CSS_CLUSTER)
        third.close()
    finally:
        first.close()
        second.close()
    assert len(iam_token_requests(emulator)) == 1
    assert len(service_requests(emulator, "css")) == 3
    assert all(r["headers"].get("x-auth-token") == "***" for r in service_requests(emulator, "css"))


# ---------------------------------------------------------------------------------------------- CSS


def test_css_list_records_same_in_both_forms(emulator: EmulatorHandle, form: str) -> None:
    hook = CssHook()
    page = hook.get_log_backup_record_page(DEFAULT_CSS_CLUSTER)
    assert page.total_size == 1
    (record,) = page.cluster_log_record
    assert record.status == "SUCCESS"
    assert record.job_types == "Auto"
    assert record.cluster_id == DEFAULT_CSS_CLUSTER
    # Seeded 3620 s before the emulator's start, an int or a string of epoch ms: the same instant.
    assert close_to(record.create_at, utc_from_epoch(emulator.admin.now() - 3620), slack=5)
    assert isinstance(record.create_at_ms, int)
    emulator.admin.set_quirks(**other(form))
    assert hook.get_log_backup_record_page(DEFAULT_CSS_CLUSTER) == page


def test_css_create_and_list_with_status_filters(emulator: EmulatorHandle, form: str) -> None:
    admin = emulator.admin
    hook = CssHook()
    admin.set_outcome("css", "fail", duration=5)
    hook.create_log_backup(DEFAULT_CSS_CLUSTER)
    collect = [r for r in service_requests(emulator, "css") if r["method"] == "POST"]
    assert [r["path"] for r in collect] == [f"/v1.0/{emulator.project_id}/clusters/{DEFAULT_CSS_CLUSTER}/logs/collect"]
    running = hook.get_log_backup_record_page(DEFAULT_CSS_CLUSTER, status="NOT_FAIL")
    assert sorted(r.status for r in running.cluster_log_record) == ["RUNNING", "SUCCESS"]
    assert hook.get_log_backup_record_page(DEFAULT_CSS_CLUSTER, status="FAIL").cluster_log_record == []
    admin.advance(10)
    failed = hook.get_log_backup_record_page(DEFAULT_CSS_CLUSTER, status="FAIL")
    assert failed.total_size == 1
    (record,) = failed.cluster_log_record
    assert record.status == "FAIL"
    assert record.job_types == "Manual"
    assert record.failed_msg and "OBS" in record.failed_msg
    not_failed = hook.get_log_backup_record_page(DEFAULT_CSS_CLUSTER, status="NOT_FAIL")
    assert [r.status for r in not_failed.cluster_log_record] == ["SUCCESS"]
    emulator.admin.set_quirks(**other(form))
    assert hook.get_log_backup_record_page(DEFAULT_CSS_CLUSTER, status="FAIL") == failed


def test_css_iter_records_pages_through_everything(emulator: EmulatorHandle, form: str) -> None:
    created = [
        emulator.admin.create_task("css", cluster_id=DEFAULT_CSS_CLUSTER, duration=0, started_ago=100 - i)
        for i in range(4)
    ]
    hook = CssHook()
    records = list(hook.iter_log_backup_records(DEFAULT_CSS_CLUSTER, page_size=2))
    assert len(records) == 5
    assert len({r.id for r in records}) == 5
    assert {r.id for r in records} >= set(created)
    times = [r.create_at_ms or 0 for r in records]
    assert 0 not in times
    assert times == sorted(times, reverse=True)  # newest first
    pages = [r for r in service_requests(emulator, "css") if r["path"].endswith("/records")]
    assert len(pages) == 3
    emulator.admin.set_quirks(**other(form))
    assert list(hook.iter_log_backup_records(DEFAULT_CSS_CLUSTER, page_size=2)) == records
    failed = list(hook.iter_log_backup_records(DEFAULT_CSS_CLUSTER, status="FAIL"))
    assert failed == []


def test_css_start_log_backup_and_get_record_by_record_and_job_id(emulator: EmulatorHandle, form: str) -> None:
    hook = CssHook()
    started: list[bool] = []
    record = hook.start_log_backup(DEFAULT_CSS_CLUSTER, sleep=lambda _s: None, on_started=lambda: started.append(True))
    assert started == [True]
    assert record.job_types == "Manual"
    assert record.status == "RUNNING"
    assert record.job_id
    by_id = hook.get_log_backup_record(DEFAULT_CSS_CLUSTER, record_id=record.id)
    by_job = hook.get_log_backup_record(DEFAULT_CSS_CLUSTER, job_id=record.job_id)
    assert by_id == by_job == record
    emulator.admin.advance(30)
    done = hook.get_log_backup_record(DEFAULT_CSS_CLUSTER, job_id=record.job_id)
    assert done.status == "SUCCESS"
    assert done.finished_at is not None
    assert done.create_at == record.create_at
    emulator.admin.set_quirks(**other(form))
    assert hook.get_log_backup_record(DEFAULT_CSS_CLUSTER, record_id=record.id) == done
    with pytest.raises(NotFoundError, match="not found"):
        hook.get_log_backup_record(DEFAULT_CSS_CLUSTER, job_id="f" * 32)


def test_css_start_log_backup_twice_while_running_is_a_conflict(emulator: EmulatorHandle) -> None:
    hook = CssHook()
    hook.start_log_backup(DEFAULT_CSS_CLUSTER, sleep=lambda _s: None)
    with pytest.raises(HuaweiCloudError, match="409"):
        hook.create_log_backup(DEFAULT_CSS_CLUSTER)
    # A 409 on a start call is not retried.
    assert len([r for r in service_requests(emulator, "css") if r["method"] == "POST"]) == 2


# ---------------------------------------------------------------------------------------------- DCS


def test_css_missing_cluster_is_named_by_every_call(emulator: EmulatorHandle) -> None:
    hook = CssHook()
    for call in (
        lambda: hook.get_log_backup_record_page("no-such-cluster"),
        lambda: hook.create_log_backup("no-such-cluster"),
        lambda: hook.get_log_backup_record("no-such-cluster", job_id="j"),
    ):
        with pytest.raises(NotAccessibleError, match=r"HTTP 403, code CSS\.0015, cluster 'no-such-cluster' not found"):
            call()


def _dcs_tasks(emulator: EmulatorHandle) -> list[str]:
    return list(emulator.admin.info()["resources"]["dcs_instances"][DEFAULT_DCS_INSTANCE])


def test_dcs_list_background_tasks_same_in_both_forms(emulator: EmulatorHandle, form: str) -> None:
    """Regression: ``details`` is an object (SDK DetailsBody); it was typed as a string (fixed in 81ecee4)."""
    hook = DcsHook()
    listed = hook.get_background_task_page(DEFAULT_DCS_INSTANCE)
    assert listed.task_count == 2
    assert [t.id for t in hook.list_background_tasks(DEFAULT_DCS_INSTANCE)] == [t.id for t in listed.tasks]
    by_name = {t.name: t for t in listed.tasks}
    assert set(by_name) == {"ChangeInstanceSpec", "AddReplica"}
    assert by_name["ChangeInstanceSpec"].status == "SUCCESS"
    assert by_name["AddReplica"].status == "EXECUTING"
    now = emulator.admin.now()
    # "2022-09-01 11:52:24" has no zone: it is UTC, like the ISO form, not local time.
    assert close_to(by_name["ChangeInstanceSpec"].created_at, utc_from_epoch(now - 720))
    assert close_to(by_name["AddReplica"].created_at, utc_from_epoch(now - 30))
    emulator.admin.set_quirks(**other(form))
    again = hook.get_background_task_page(DEFAULT_DCS_INSTANCE)
    assert truncated(again.model_dump()) == truncated(listed.model_dump())


def test_dcs_list_background_tasks_paging_and_time_filter(emulator: EmulatorHandle) -> None:
    hook = DcsHook()
    first = hook.get_background_task_page(DEFAULT_DCS_INSTANCE, offset=0, limit=1)
    second = hook.get_background_task_page(DEFAULT_DCS_INSTANCE, offset=1, limit=1)
    assert first.task_count == second.task_count == 2
    assert [t.name for t in first.tasks + second.tasks] == ["AddReplica", "ChangeInstanceSpec"]
    now = utc_from_epoch(emulator.admin.now())
    recent = hook.list_background_tasks(DEFAULT_DCS_INSTANCE, start_time=now - timedelta(minutes=5), end_time=now)
    assert [t.name for t in recent] == ["AddReplica"]


def test_dcs_background_task_progress_same_in_both_forms(emulator: EmulatorHandle, form: str) -> None:
    hook = DcsHook()
    # Seeded in this order: ChangeInstanceSpec (finished long ago), then AddReplica (a quarter done).
    change_spec, add_replica = _dcs_tasks(emulator)
    done = hook.get_background_task_progress(DEFAULT_DCS_INSTANCE, change_spec)
    assert done.progress == 100
    assert [s.state for s in done.step_details] == ["FINISH"] * 3
    assert dcs.to_status(done, "x").state is TaskState.SUCCEEDED
    running = hook.get_background_task_progress(DEFAULT_DCS_INSTANCE, add_replica)
    assert running.progress == 25
    # remain_time is in the client's seconds: the clock stands still here, so the task never
    # ends and the emulator reports the largest remain_time it can (a Java int).
    assert running.remain_time == 2**31 - 1
    assert dcs.to_status(running, "x").state is TaskState.RUNNING
    begin = running.step_details[0].begin_time
    assert close_to(begin, utc_from_epoch(emulator.admin.now() - 30))
    emulator.admin.set_quirks(**other(form))
    again = hook.get_background_task_progress(DEFAULT_DCS_INSTANCE, add_replica)
    assert truncated(again.model_dump()) == truncated(running.model_dump())
    with pytest.raises(NotFoundError):
        hook.get_background_task_progress(DEFAULT_DCS_INSTANCE, "0" * 32)


# ---------------------------------------------------------------------------------------------- DIS


def test_dis_log_page_same_in_both_forms(emulator: EmulatorHandle, form: str) -> None:
    hook = DisHook()
    single = hook.get_transfer_task_log_page(DEFAULT_DIS_TASK_ID, page_size=1)
    assert single.total_num == 3
    assert len(single.transfer_task_log_list) == 1  # an object in the API example's form, a list in the doc form
    entry = single.transfer_task_log_list[0]
    assert entry.transfer_task_id == DEFAULT_DIS_TASK_ID
    assert entry.start_time is not None and entry.end_time is not None
    assert entry.end_time - entry.start_time == timedelta(seconds=60)
    full = hook.get_transfer_task_log_page(DEFAULT_DIS_TASK_ID, page_size=10, order="asc", sort_by="startTime")
    starts = [e.start_time for e in full.transfer_task_log_list]
    assert len(starts) == 3 and starts == sorted(starts)  # type: ignore[type-var]
    emulator.admin.set_quirks(**other(form))
    assert hook.get_transfer_task_log_page(DEFAULT_DIS_TASK_ID, page_size=1) == single
    assert hook.get_transfer_task_log_page(DEFAULT_DIS_TASK_ID, page_size=10, order="asc", sort_by="startTime") == full


def test_dis_iter_and_get_all_logs(emulator: EmulatorHandle, form: str) -> None:
    hook = DisHook()
    iterated = list(hook.iter_transfer_task_logs(DEFAULT_DIS_TASK_ID, page_size=2))
    everything = hook.get_all_transfer_task_logs(DEFAULT_DIS_TASK_ID, page_size=1)
    assert len(iterated) == 3
    assert {e.key() for e in iterated} == {e.key() for e in everything}
    assert len(everything) == 3
    emulator.admin.advance(120)
    assert len(hook.get_all_transfer_task_logs(DEFAULT_DIS_TASK_ID, page_size=2)) == 5
    emulator.admin.set_quirks(**other(form))
    assert len(list(hook.iter_transfer_task_logs(DEFAULT_DIS_TASK_ID, page_size=1))) == 5


def test_dis_log_is_read_in_the_connection_s_project(emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch) -> None:
    """The transfertasklog path names no project: the SDK signs X-Project-Id (BasicCredentials), so does the hook."""
    assert DisHook().get_transfer_task_log_page(DEFAULT_DIS_TASK_ID, page_size=1).total_num == 3
    [sent] = [r["headers"] for r in emulator.admin.requests() if r["path"].startswith("/v1/transfertasklog/")]
    assert sent["x-project-id"] == emulator.project_id  # signed: tests/core/test_signing.py checks it against the SDK
    install(monkeypatch, cloud_conn(emulator, project_id="f" * 32))
    with pytest.raises(NotFoundError):
        DisHook().get_transfer_task_log_page(DEFAULT_DIS_TASK_ID, page_size=1)


def _projects_lookups(emulator: EmulatorHandle) -> list[dict[str, Any]]:
    return [r for r in emulator.admin.requests(service="iam") if r["path"] == "/v3/projects"]


@pytest.mark.parametrize("form", ["default_project", "refused"])
def test_an_aksk_connection_with_a_region_and_no_project_id_looks_it_up_once(
    emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch, form: str
) -> None:
    """As the SDK's BasicCredentials.process_auth_params: GET /v3/projects?name=<region>, once per
    access key and region, then X-Project-Id on every request, whatever the gateway does without it."""
    from airflow_provider.hooks.project_lookup import clear_cache

    clear_cache()
    emulator.admin.set_quirks(dis_log_without_project=form)
    install(monkeypatch, cloud_conn(emulator, project_id=None))
    emulator.admin.clear_requests()
    assert DisHook().get_transfer_task_log_page(DEFAULT_DIS_TASK_ID, page_size=1).total_num == 3
    assert [r["query"] for r in _projects_lookups(emulator)] == [f"name={emulator.identities.region}"]
    [sent] = [r["headers"] for r in emulator.admin.requests() if r["path"].startswith("/v1/transfertasklog/")]
    assert sent["x-project-id"] == emulator.project_id
    assert [r.job_types for r in CssHook().list_log_backup_records(DEFAULT_CSS_CLUSTER)]
    assert len(_projects_lookups(emulator)) == 1  # cached: a second hook asks no more
    clear_cache()


@pytest.mark.parametrize("form", ["default_project", "refused"])
def test_an_aksk_connection_without_project_id_or_region_cannot_read_the_dis_log(
    emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch, form: str
) -> None:
    """Nothing to look up: the log, whose only project is the signed header, is refused before any
    request, naming the field (the gateway's answer to an unsigned project is not documented)."""
    emulator.admin.set_quirks(dis_log_without_project=form)
    install(monkeypatch, cloud_conn(emulator, project_id=None, region=None))
    emulator.admin.clear_requests()
    with pytest.raises(HuaweiCloudError, match=r"neither extra\.project_id nor extra\.region.*set extra\.project_id"):
        DisHook().get_transfer_task_log_page(DEFAULT_DIS_TASK_ID, page_size=1)
    with pytest.raises(HuaweiCloudError, match=r"extra\.project_id"):
        DisHook().get_all_transfer_task_logs(DEFAULT_DIS_TASK_ID)
    assert emulator.admin.requests(service="dis") == []


def test_the_emulator_answers_an_aksk_log_read_without_a_project_in_either_form(emulator: EmulatorHandle) -> None:
    """The quirk itself, with a request the provider never sends: signed, no X-Project-Id."""
    from tests.emulator.helpers import signed_request

    body = {"order": "desc", "sortBy": "createTimeStr", "pageInfo": {"pageIndex": 1, "pageTotal": 1}}
    emulator.admin.set_quirks(dis_log_without_project="default_project")
    served = signed_request(emulator, "POST", f"/v1/transfertasklog/{DEFAULT_DIS_TASK_ID}", body=body)
    assert (served.status_code, served.json()["totalNum"]) == (200, 3)
    emulator.admin.set_quirks(dis_log_without_project="refused")
    refused = signed_request(emulator, "POST", f"/v1/transfertasklog/{DEFAULT_DIS_TASK_ID}", body=body)
    assert (refused.status_code, refused.json()) == (
        400,
        {"error_code": "DIS.4117", "error_msg": "Invalid Project Id."},
    )


def test_a_region_iam_knows_no_project_of_is_a_clear_error(
    emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    install(monkeypatch, cloud_conn(emulator, project_id=None, region="eu-west-0"))
    with pytest.raises(
        HuaweiCloudError, match=r"extra\.project_id is not set and IAM lists no project named 'eu-west-0'"
    ):
        DisHook().get_transfer_task_log_page(DEFAULT_DIS_TASK_ID, page_size=1)


def test_dis_list_stop_and_start_transfer_tasks(emulator: EmulatorHandle) -> None:
    hook = DisHook()
    (task,) = hook.list_transfer_tasks(DEFAULT_DIS_STREAM)
    assert task.task_id == DEFAULT_DIS_TASK_ID
    assert task.task_name == DEFAULT_DIS_TASK_NAME
    assert task.state == "RUNNING"
    hook.stop_transfer_tasks(DEFAULT_DIS_STREAM, [DEFAULT_DIS_TASK_ID])
    assert hook.list_transfer_tasks(DEFAULT_DIS_STREAM)[0].state == "PAUSED"
    emulator.admin.advance(180)
    assert len(hook.get_all_transfer_task_logs(DEFAULT_DIS_TASK_ID)) == 3  # no period while paused
    hook.start_transfer_tasks(DEFAULT_DIS_STREAM, [DEFAULT_DIS_TASK_ID])
    assert hook.list_transfer_tasks(DEFAULT_DIS_STREAM)[0].state == "RUNNING"
    emulator.admin.advance(61)
    assert len(hook.get_all_transfer_task_logs(DEFAULT_DIS_TASK_ID)) == 4
    with pytest.raises(HuaweiCloudError, match=r"DIS\.4354"):
        hook.start_transfer_tasks(DEFAULT_DIS_STREAM, ["AAAAAAAAAAAAAAAAAAA"])


# ------------------------------------------------------------------------------------------ CloudDC


def test_clouddc_export_poll_download(emulator: EmulatorHandle, form: str, tmp_path: Path) -> None:
    hook = CloudDCHook()
    started = hook.export_server_logs(DEFAULT_CLOUDDC_SERVER)
    assert started.export_id == "1"
    assert started.percentage == 0
    assert started.status == FORMS[form]["clouddc_status"]
    assert close_to(started.created_at, utc_from_epoch(emulator.admin.now()))
    polled = hook.get_server_log_export(DEFAULT_CLOUDDC_SERVER, "1")
    assert clouddc.to_status(polled).state is TaskState.RUNNING
    emulator.admin.set_quirks(**other(form))
    other_form = hook.get_server_log_export(DEFAULT_CLOUDDC_SERVER, "1")
    assert other_form.created_at == polled.created_at
    assert other_form.status == other(form)["clouddc_status"]
    one, two = clouddc.to_status(polled), clouddc.to_status(other_form)
    assert (one.state, one.progress, one.started_at, one.recognized) == (
        two.state,
        two.progress,
        two.started_at,
        two.recognized,
    )
    assert one.recognized
    emulator.admin.advance(31)
    done = hook.get_server_log_export(DEFAULT_CLOUDDC_SERVER, "1")
    assert done.status == "completed"
    assert done.percentage == 100
    assert clouddc.to_status(done).state is TaskState.SUCCEEDED
    path = hook.download_server_logs(DEFAULT_CLOUDDC_SERVER, "1", tmp_path)
    assert path == tmp_path / f"{DEFAULT_CLOUDDC_SERVER}-dump.tar.gz"
    members = tar_members(path)
    assert list(members) == [f"{DEFAULT_CLOUDDC_SERVER}-bmc.log"]
    assert members[f"{DEFAULT_CLOUDDC_SERVER}-bmc.log"].count(b"\n") == 50
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # no .part left over


@pytest.mark.parametrize(("errors", "code"), [("404", "CLOUDDC.0400"), ("500", "CLOUDDC.0500")])
def test_clouddc_download_before_completion_fails_and_leaves_no_file(
    emulator: EmulatorHandle, tmp_path: Path, errors: str, code: str
) -> None:
    emulator.admin.set_quirks(clouddc_errors=errors)  # undocumented: a 400, or the documented 500
    hook = CloudDCHook()
    export = hook.export_server_logs(DEFAULT_CLOUDDC_SERVER)
    assert export.export_id
    with pytest.raises(HuaweiCloudError, match=re.escape(code)):
        hook.download_server_logs(DEFAULT_CLOUDDC_SERVER, export.export_id, tmp_path / "out.tar.gz")
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------------------------- Edge


def test_edge_dump_create_poll_download(emulator: EmulatorHandle, tmp_path: Path) -> None:
    with EdgeManagerHook() as hook:
        task_id = hook.create_log_dump_task([1, 2, 3])
        assert task_id.startswith("dumpMultiNodesLog.")
        waiting = hook.get_log_dump_task(task_id)
        assert waiting.task_id == task_id
        assert waiting.status == "waiting"
        assert waiting.started_at is None
        assert waiting.finished_at is None
        emulator.admin.advance(5)
        assert hook.get_log_dump_task(task_id).status == "processing"
        emulator.admin.advance(6)
        done = hook.get_log_dump_task(task_id)
        assert done.status == "succeed"
        assert done.progress == 100
        assert done.data is not None and done.data.file_name == "edgeNodes.tar.gz"
        assert done.finished_at is not None and done.created_at is not None
        assert done.finished_at - done.created_at == timedelta(seconds=10)
        path = hook.download_log_dump(tmp_path)
    assert path == tmp_path / "edgeNodes.tar.gz"
    members = tar_members(path)
    assert sorted(members) == ["edge-node-1.log", "edge-node-2.log", "edge-node-3.log"]
    assert all(b"edge-node-" in content for content in members.values())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["edgeNodes.tar.gz"]


def test_edge_partially_failed_dump_downloads_only_good_nodes(emulator: EmulatorHandle, tmp_path: Path) -> None:
    emulator.admin.set_outcome("edge", "partial", duration=1)
    with EdgeManagerHook() as hook:
        task_id = hook.create_log_dump_task([1, 2, 3, 4])
        emulator.admin.advance(2)
        task = hook.get_log_dump_task(task_id)
        assert task.status == "partiallyFailed"
        assert task.reason is not None and "(3)" in task.reason and "(4)" in task.reason
        path = hook.download_log_dump(tmp_path / "sub" / "logs.tar.gz")
    assert sorted(tar_members(path)) == ["edge-node-1.log", "edge-node-2.log"]


def test_edge_dump_busy_while_another_runs(emulator: EmulatorHandle) -> None:
    with EdgeManagerHook() as hook:
        first = hook.create_log_dump_task([1])
        with pytest.raises(DumpBusyError) as caught:
            hook.create_log_dump_task([2])
        assert (caught.value.error_code, caught.value.error_msg) == ("40052002", "task queue is full")
        assert caught.value.status == 400
        emulator.admin.advance(11)
        second = hook.create_log_dump_task([2])
    assert second != first
    posts = [r for r in service_requests(emulator, "edge") if r["method"] == "POST"]
    assert [r["status"] for r in posts] == [200, 400, 200]


def test_edge_unknown_node_and_unknown_task(emulator: EmulatorHandle) -> None:
    from airflow_provider.core.errors import EdgeManagerError

    with EdgeManagerHook() as hook:
        with pytest.raises(EdgeManagerError) as node_error:
            hook.create_log_dump_task([99])
        assert node_error.value.error_code == "40051002"
        assert not isinstance(node_error.value, DumpBusyError)
        with pytest.raises(EdgeManagerError) as task_error:
            hook.get_log_dump_task("dumpMultiNodesLog.doesnotexist")
        assert task_error.value.error_code == "40052002"
        ok, message = hook.test_connection()
    assert ok, message
    assert "40052002" in message


def test_edge_hook_test_connection_on_a_closed_port(monkeypatch: pytest.MonkeyPatch, emulator: EmulatorHandle) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    install(
        monkeypatch,
        {
            "conn_type": "huawei_edge_manager",
            "host": "127.0.0.1",
            "port": port,
            "schema": "http",
            "extra": {"retry": {"max_attempts": 2, "base_delay": 0.01, "max_delay": 0.02}},
        },
        "edge_manager_default",
    )
    ok, message = EdgeManagerHook().test_connection()
    assert not ok
    assert "refused" in message
