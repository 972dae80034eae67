"""The official SDK is a real client of the emulator, signing with its own signer.

Differential tests: every endpoint the SDK has for the emulated APIs is called through the SDK
client, and the raw body the emulator sent is compared with the SDK's response model: no key
the model does not know (unless a cited source shows the real service sends it), and no model
field left out (unless the test says why). The DIS transfer-task log is not in the SDK: it goes
through ``DisClient.call_api`` and is compared with the Showtransfertasklog doc page's fields.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

pytest.importorskip("huaweicloudsdkcore")

from huaweicloudsdkclouddc.v1 import (
    CloudDCClient,
    DownloadServerLogsRequest,
    DownloadServerLogsResponse,
    ExportServerLogsRequest,
    ExportServerLogsResponse,
    ShowLogsExportStatusRequest,
    ShowLogsExportStatusResponse,
)
from huaweicloudsdkcore.auth.credentials import BasicCredentials, GlobalCredentials
from huaweicloudsdkcore.exceptions import exceptions
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkcore.region.region import Region
from huaweicloudsdkcore.sdk_response import SdkResponse
from huaweicloudsdkcss.v1 import (
    CreateLogBackupRequest,
    CssClient,
    GetLogBackupReq,
    ListLogsJobRequest,
    ListLogsJobResponse,
    ShowGetLogSettingRequest,
    ShowGetLogSettingResponse,
    ShowLogBackupRequest,
    StartLogAutoBackupPolicyReq,
    StartLogAutoBackupPolicyRequest,
    StartLogsReq,
    StartLogsRequest,
    StartTargetClusterConnectivityTestReq,
    StartTargetClusterConnectivityTestRequest,
    StopLogAutoBackupPolicyRequest,
    StopLogsRequest,
    UpdateLogSettingReq,
    UpdateLogSettingRequest,
)
from huaweicloudsdkdcs.v2 import (
    CreateRedislogDownloadLinkRequest,
    CreateRedislogDownloadLinkResponse,
    CreateRedislogRequest,
    DcsClient,
    DeleteBackgroundTaskRequest,
    DeleteBackgroundTaskResponse,
    ListBackgroundTaskRequest,
    ListBackgroundTaskResponse,
    ListRedislogRequest,
    ListRedislogResponse,
    ShowBackgroundTaskProgressRequest,
    ShowBackgroundTaskProgressResponse,
)
from huaweicloudsdkdis.v2 import (
    BatchStartTransferTaskReq,
    BatchStartTransferTaskRequest,
    BatchStopTransferTaskReq,
    BatchStopTransferTaskRequest,
    BatchTransferTask,
    CreateObsTransferTaskRequest,
    CreateTransferTaskReq,
    DeleteTransferTaskRequest,
    DisClient,
    ListTransferTasksRequest,
    ListTransferTasksResponse,
    OBSDestinationDescriptorRequest,
    ShowTransferTaskRequest,
    ShowTransferTaskResponse,
)
from huaweicloudsdkiam.v3 import (
    AgencyAuth,
    AgencyAuthIdentity,
    AgencyTokenAssumerole,
    AgencyTokenAuth,
    AgencyTokenIdentity,
    AgencyTokenScope,
    AgencyTokenScopeProject,
    AuthScope,
    AuthScopeProject,
    CreateTemporaryAccessKeyByAgencyRequest,
    CreateTemporaryAccessKeyByAgencyRequestBody,
    CreateTemporaryAccessKeyByTokenRequest,
    CreateTemporaryAccessKeyByTokenRequestBody,
    CreateTemporaryAccessKeyByTokenResponse,
    IamClient,
    IdentityAssumerole,
    IdentityToken,
    KeystoneCreateAgencyTokenRequest,
    KeystoneCreateAgencyTokenRequestBody,
    KeystoneCreateScopedTokenRequest,
    KeystoneCreateScopedTokenRequestBody,
    KeystoneCreateUserTokenByPasswordAndMfaRequest,
    KeystoneCreateUserTokenByPasswordAndMfaRequestBody,
    KeystoneCreateUserTokenByPasswordRequest,
    KeystoneCreateUserTokenByPasswordRequestBody,
    KeystoneCreateUserTokenByPasswordResponse,
    KeystoneListAuthProjectsRequest,
    KeystoneListAuthProjectsResponse,
    KeystoneListProjectsRequest,
    KeystoneListProjectsResponse,
    KeystoneValidateTokenRequest,
    MfaAuth,
    MfaIdentity,
    MfaTotp,
    MfaTotpUser,
    PwdAuth,
    PwdIdentity,
    PwdPassword,
    PwdPasswordUser,
    PwdPasswordUserDomain,
    ScopedToken,
    ScopedTokenAuth,
    ScopedTokenIdentity,
    ScopeProjectOption,
    TokenAuth,
    TokenAuthIdentity,
    TokenSocpeOption,
)

from tests.emulator.helpers import (
    CLOUDDC_SERVER,
    CSS_CLUSTER,
    DCS_INSTANCE,
    DIS_STREAM,
    DIS_TASK,
    css_path,
    signed_request,
)
from tests.emulator.sdk_models import assert_body_matches, compare, header_fields

if TYPE_CHECKING:
    from airflow_provider.testing.emulator_runner import EmulatorHandle


class RawResponse(SdkResponse):  # type: ignore[misc]
    openapi_types: dict[str, str] = {}
    attribute_map: dict[str, str] = {}


def _config() -> Any:
    config = HttpConfig.get_default_config()
    config.retry_times = 0
    config.timeout = (3, 10)
    return config


def _client(cls: Any, emulator: EmulatorHandle, sk: str | None = None) -> Any:
    ids = emulator.identities
    creds = BasicCredentials(ids.access_key, sk or ids.secret_key, ids.project_id)
    return cls.new_builder().with_credentials(creds).with_endpoints([emulator.url]).with_http_config(_config()).build()


def _iam(emulator: EmulatorHandle) -> Any:
    ids = emulator.identities
    creds = GlobalCredentials(ids.access_key, ids.secret_key, ids.domain_id)
    builder = IamClient.new_builder().with_credentials(creds).with_endpoints([emulator.url])
    return builder.with_http_config(_config()).build()


def _body(response: Any) -> Any:
    return json.loads(response.raw_content) if response.raw_content else None


def test_the_model_comparison_reports_unknown_and_missing_keys() -> None:
    body = {"clusterLogRecord": [{"id": "r", "surprise": 1}], "totalSize": 1, "extra": None}
    unknown, missing = compare(ListLogsJobResponse, body)
    assert unknown == ["extra", "clusterLogRecord[].surprise"]
    assert "clusterLogRecord[].jobId" in missing
    with pytest.raises(AssertionError, match=r"does not know: \['extra', 'clusterLogRecord\[\].surprise'\]"):
        assert_body_matches(ListLogsJobResponse, body)


# ---------------------------------------------------------------------------------------------- CSS


@pytest.mark.parametrize("create_at", ["int", "string"])
def test_css_list_logs_job(huaweicloud_emulator: EmulatorHandle, create_at: str) -> None:
    admin = huaweicloud_emulator.admin
    admin.set_quirks(css_create_at=create_at)
    admin.create_task("css", cluster_id=CSS_CLUSTER, duration=30)
    admin.create_task("css", cluster_id=CSS_CLUSTER, outcome="fail", duration=0, started_ago=10)
    response = _client(CssClient, huaweicloud_emulator).list_logs_job(
        ListLogsJobRequest(cluster_id=CSS_CLUSTER, offset=1, limit=10)
    )
    assert response.total_size == 3
    assert [r.status for r in response.cluster_log_record] == ["RUNNING", "FAIL", "SUCCESS"]
    assert all(r.create_at.isdigit() for r in response.cluster_log_record)  # the SDK types it str
    assert_body_matches(ListLogsJobResponse, _body(response))


def test_css_create_log_backup_has_no_body(huaweicloud_emulator: EmulatorHandle) -> None:
    css = _client(CssClient, huaweicloud_emulator)
    response = css.create_log_backup(CreateLogBackupRequest(cluster_id=CSS_CLUSTER))
    assert response.status_code == 200
    assert not response.raw_content  # CreateLogBackupResponse has no fields: no id comes back
    records = css.list_logs_job(ListLogsJobRequest(cluster_id=CSS_CLUSTER, offset=1, limit=10))
    assert [r.job_types for r in records.cluster_log_record] == ["Manual", "Auto"]


def test_css_log_settings_and_policy_round_trip(huaweicloud_emulator: EmulatorHandle) -> None:
    css = _client(CssClient, huaweicloud_emulator)

    def settings() -> Any:
        response = css.show_get_log_setting(ShowGetLogSettingRequest(cluster_id=CSS_CLUSTER))
        assert_body_matches(ShowGetLogSettingResponse, _body(response))
        return response

    assert settings().log_configuration.log_switch is True
    # StopLogs is a PUT, as the SDK and terraform (closeLogBackup) call it
    assert css.stop_logs(StopLogsRequest(cluster_id=CSS_CLUSTER)).status_code == 200
    closed = settings().log_configuration
    assert (closed.log_switch, closed.auto_enable) == (False, False)
    with pytest.raises(exceptions.ClientRequestException) as info:
        css.create_log_backup(CreateLogBackupRequest(cluster_id=CSS_CLUSTER))
    assert info.value.status_code == 412

    opened = StartLogsReq(agency="my_agency", log_base_path="css/logs", log_bucket="my-bucket")
    css.start_logs(StartLogsRequest(cluster_id=CSS_CLUSTER, action="base_log_collect", body=opened))
    conf = settings().log_configuration
    assert (conf.log_switch, conf.agency, conf.base_path, conf.obs_bucket) == (
        True,
        "my_agency",
        "css/logs",
        "my-bucket",
    )
    assert conf.period is None  # "null when autoEnable is false" (SDK LogConfiguration)

    css.update_log_setting(
        UpdateLogSettingRequest(cluster_id=CSS_CLUSTER, body=UpdateLogSettingReq(log_base_path="css/other"))
    )
    css.start_log_auto_backup_policy(
        StartLogAutoBackupPolicyRequest(
            cluster_id=CSS_CLUSTER, body=StartLogAutoBackupPolicyReq(period="00:00 GMT+08:00")
        )
    )
    conf = settings().log_configuration
    assert (conf.base_path, conf.auto_enable, conf.period) == ("css/other", True, "00:00 GMT+08:00")
    css.stop_log_auto_backup_policy(StopLogAutoBackupPolicyRequest(cluster_id=CSS_CLUSTER))
    assert settings().log_configuration.auto_enable is False


def test_css_real_time_log_collect(huaweicloud_emulator: EmulatorHandle) -> None:
    css = _client(CssClient, huaweicloud_emulator)
    body = StartLogsReq(index_prefix="logs-", keep_days=3, target_cluster_id=CSS_CLUSTER)
    css.start_logs(StartLogsRequest(cluster_id=CSS_CLUSTER, action="real_time_log_collect", body=body))
    response = css.show_get_log_setting(ShowGetLogSettingRequest(cluster_id=CSS_CLUSTER))
    assert_body_matches(ShowGetLogSettingResponse, _body(response))
    record = response.real_time_log_collect_record
    assert (record.index_prefix, record.keep_days, record.status) == ("logs-", 3, "200")


def test_css_missing_cluster_is_403_css0015_with_errcode_only(huaweicloud_emulator: EmulatorHandle) -> None:
    with pytest.raises(exceptions.ClientRequestException) as info:
        _client(CssClient, huaweicloud_emulator).list_logs_job(ListLogsJobRequest(cluster_id="no-such-cluster"))
    assert info.value.status_code == 403
    # terraform resource_huaweicloud_css_log_setting.go: {"errCode": "CSS.0015", "externalMessage": ...}
    assert json.loads(info.value.error_msg) == {
        "errCode": "CSS.0015",
        "externalMessage": "No resources are found or the access is denied.",
    }


def test_css_real_time_log_collection_is_closed_with_the_action_the_sdk_lacks(
    huaweicloud_emulator: EmulatorHandle,
) -> None:
    """StopLogsRequest has no action; the API reference's StopLogs has ?action=real_time_log_collect
    (default base_log_collect) and terraform's closeLogIngestion sends it: through call_api."""
    css = _client(CssClient, huaweicloud_emulator)
    body = StartLogsReq(index_prefix="logs-", keep_days=3, target_cluster_id=CSS_CLUSTER)
    css.start_logs(StartLogsRequest(cluster_id=CSS_CLUSTER, action="real_time_log_collect", body=body))

    def close(action: str) -> Any:
        return css.call_api(
            "/v1.0/{project_id}/clusters/{cluster_id}/logs/close",
            "PUT",
            path_params={"cluster_id": CSS_CLUSTER},
            query_params=[("action", action)],
            header_params={"Content-Type": "application/json"},
            response_type=RawResponse,
        )

    assert close("real_time_log_collect").status_code == 200
    settings = css.show_get_log_setting(ShowGetLogSettingRequest(cluster_id=CSS_CLUSTER))
    assert settings.real_time_log_collect_record is None
    assert settings.log_configuration.log_switch is True  # base log backup untouched
    with pytest.raises(exceptions.ClientRequestException) as again:
        close("real_time_log_collect")  # closing what is closed: terraform's quoted 415
    assert (again.value.status_code, json.loads(again.value.error_msg)["errCode"]) == (415, "CSS.0004")
    with pytest.raises(exceptions.ClientRequestException) as bad:
        close("everything")
    assert (bad.value.status_code, json.loads(bad.value.error_msg)["errCode"]) == (400, "CSS.0001")


@pytest.mark.parametrize(
    "query",
    [{"offset": 0}, {"offset": 1001}, {"limit": 0}, {"limit": 1001}, {"status": "RUNNING"}, {"offset": "one"}],
)
def test_css_records_arguments_outside_the_documented_ranges_are_css_0001(
    huaweicloud_emulator: EmulatorHandle, query: dict[str, Any]
) -> None:
    """ListLogsJob: offset and limit 1-1000, status FAIL or NOT_FAIL; CSS.0001 "Incorrect parameters." (400)."""
    response = signed_request(
        huaweicloud_emulator,
        "GET",
        css_path(huaweicloud_emulator, "records"),
        query=[(k, str(v)) for k, v in query.items()],
    )
    assert response.status_code == 400
    assert response.json()["errCode"] == "CSS.0001"
    assert response.json()["externalMessage"].startswith("CSS.0001 : Incorrect parameters. (")


def test_css_records_take_the_whole_documented_range(huaweicloud_emulator: EmulatorHandle) -> None:
    records = _client(CssClient, huaweicloud_emulator).list_logs_job(
        ListLogsJobRequest(cluster_id=CSS_CLUSTER, offset=1000, limit=1000)
    )
    assert (records.total_size, records.cluster_log_record) == (1, [])


@pytest.mark.parametrize("form", ["ok", "refused"])
def test_css_closing_a_closed_auto_backup_policy_in_either_form(
    huaweicloud_emulator: EmulatorHandle, form: str
) -> None:
    huaweicloud_emulator.admin.set_quirks(css_close_closed_policy=form)
    css = _client(CssClient, huaweicloud_emulator)
    request = StopLogAutoBackupPolicyRequest(cluster_id=CSS_CLUSTER)
    if form == "ok":
        assert css.stop_log_auto_backup_policy(request).status_code == 200
        return
    with pytest.raises(exceptions.ClientRequestException) as info:
        css.stop_log_auto_backup_policy(request)
    assert (info.value.status_code, json.loads(info.value.error_msg)["errCode"]) == (415, "CSS.0004")


@pytest.mark.parametrize("code", ["CSS.0004", "CSS.5090"])
def test_css_auto_backup_policy_of_a_cluster_without_log_backup_is_412(
    huaweicloud_emulator: EmulatorHandle, code: str
) -> None:
    huaweicloud_emulator.admin.set_quirks(css_log_off_code=code)
    css = _client(CssClient, huaweicloud_emulator)
    css.stop_logs(StopLogsRequest(cluster_id=CSS_CLUSTER))
    with pytest.raises(exceptions.ClientRequestException) as info:
        css.start_log_auto_backup_policy(
            StartLogAutoBackupPolicyRequest(
                cluster_id=CSS_CLUSTER, body=StartLogAutoBackupPolicyReq(period="00:00 GMT+08:00")
            )
        )
    assert (info.value.status_code, json.loads(info.value.error_msg)["errCode"]) == (412, code)


def test_css_log_search_is_not_emulated(huaweicloud_emulator: EmulatorHandle) -> None:
    with pytest.raises(exceptions.ClientRequestException) as info:
        _client(CssClient, huaweicloud_emulator).show_log_backup(
            ShowLogBackupRequest(
                cluster_id=CSS_CLUSTER, body=GetLogBackupReq(instance_name="node-1", log_type="instance")
            )
        )
    assert (info.value.status_code, info.value.error_code) == (404, "APIGW.0101")


def test_css_connectivity_test_is_not_emulated(huaweicloud_emulator: EmulatorHandle) -> None:
    with pytest.raises(exceptions.ClientRequestException) as info:
        _client(CssClient, huaweicloud_emulator).start_target_cluster_connectivity_test(
            StartTargetClusterConnectivityTestRequest(
                cluster_id=CSS_CLUSTER, body=StartTargetClusterConnectivityTestReq(target_cluster_id="other")
            )
        )
    assert (info.value.status_code, info.value.error_code) == (404, "APIGW.0101")


# ---------------------------------------------------------------------------------------------- DCS


@pytest.mark.parametrize("form", ["seed", "iso"])
def test_dcs_list_and_progress(huaweicloud_emulator: EmulatorHandle, form: str) -> None:
    admin = huaweicloud_emulator.admin
    admin.set_quirks(dcs_time=form)
    task_id = admin.create_task("dcs", instance_id=DCS_INSTANCE, duration=50)
    dcs = _client(DcsClient, huaweicloud_emulator)
    listed = dcs.list_background_task(ListBackgroundTaskRequest(instance_id=DCS_INSTANCE, offset=0, limit=10))
    assert listed.task_count == "3"
    assert [t.status for t in listed.tasks] == ["EXECUTING", "EXECUTING", "SUCCESS"]
    assert_body_matches(
        ListBackgroundTaskResponse,
        _body(listed),
        omitted={
            f"tasks[].details.{key}": "the emulated tasks change nothing that DetailsBody describes" for key in DETAILS
        },
    )
    progress = dcs.show_background_task_progress(
        ShowBackgroundTaskProgressRequest(instance_id=DCS_INSTANCE, task_id=task_id)
    )
    assert progress.step_details[0].step_status == "EXECUTING"
    assert_body_matches(ShowBackgroundTaskProgressResponse, _body(progress))


@pytest.mark.parametrize("order", ["newest_first", "oldest_first"])
def test_dcs_task_list_filters_by_start_and_end_time_in_either_order(
    huaweicloud_emulator: EmulatorHandle, order: str
) -> None:
    """start_time/end_time are yyyyMMddHHmmss UTC (ListBackgroundTask); the order is not documented."""
    from datetime import datetime, timezone

    admin = huaweicloud_emulator.admin
    admin.set_quirks(dcs_task_order=order)
    old = admin.create_task("dcs", instance_id=DCS_INSTANCE, duration=5, started_ago=7200)
    new = admin.create_task("dcs", instance_id=DCS_INSTANCE, duration=5, started_ago=60)

    def stamp(seconds_ago: float) -> str:
        return datetime.fromtimestamp(admin.now() - seconds_ago, tz=timezone.utc).strftime("%Y%m%d%H%M%S")

    dcs = _client(DcsClient, huaweicloud_emulator)
    recent = dcs.list_background_task(
        ListBackgroundTaskRequest(instance_id=DCS_INSTANCE, start_time=stamp(600), end_time=stamp(0))
    )
    assert new in [t.id for t in recent.tasks] and old not in [t.id for t in recent.tasks]
    both = dcs.list_background_task(ListBackgroundTaskRequest(instance_id=DCS_INSTANCE, start_time=stamp(9000)))
    ids = [t.id for t in both.tasks if t.id in (old, new)]
    assert ids == ([new, old] if order == "newest_first" else [old, new])
    assert_body_matches(
        ListBackgroundTaskResponse,
        _body(both),
        omitted={
            f"tasks[].details.{key}": "the emulated tasks change nothing that DetailsBody describes" for key in DETAILS
        },
    )


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ({"offset": -1}, "offset"),
        ({"limit": 0}, "limit"),
        ({"start_time": "2024-01-01"}, "start_time"),
        ({"end_time": "x"}, "end_time"),
    ],
)
def test_dcs_task_list_bad_arguments_are_dcs_4800(
    huaweicloud_emulator: EmulatorHandle, query: dict[str, Any], name: str
) -> None:
    """offset >= 0 (ListBackgroundTask); DCS.4800 "Invalid {0} in the request." (DCS error code table)."""
    with pytest.raises(exceptions.ClientRequestException) as info:
        _client(DcsClient, huaweicloud_emulator).list_background_task(
            ListBackgroundTaskRequest(instance_id=DCS_INSTANCE, **query)
        )
    assert (info.value.status_code, info.value.error_code) == (400, "DCS.4800")
    assert info.value.error_msg == f"Invalid {name} in the request."


@pytest.mark.parametrize(
    ("words", "running", "failed"), [("dms", "EXECUTING", "FAILED"), ("other", "RUNNING", "ERROR")]
)
def test_dcs_task_list_status_words_in_either_form(
    huaweicloud_emulator: EmulatorHandle, words: str, running: str, failed: str
) -> None:
    admin = huaweicloud_emulator.admin
    admin.set_quirks(dcs_list_status=words)
    admin.set_outcome("dcs", "fail", duration=5)
    broken = admin.create_task("dcs", instance_id=DCS_INSTANCE, started_ago=10)
    admin.set_outcome("dcs", "succeed", duration=1000)
    going = admin.create_task("dcs", instance_id=DCS_INSTANCE)
    listed = _client(DcsClient, huaweicloud_emulator).list_background_task(
        ListBackgroundTaskRequest(instance_id=DCS_INSTANCE, limit=100)
    )
    by_id = {t.id: t.status for t in listed.tasks}
    assert (by_id[going], by_id[broken]) == (running, failed)


@pytest.mark.parametrize("code", ["DCS.5091", "empty"])
def test_dcs_failed_step_in_either_code_form(huaweicloud_emulator: EmulatorHandle, code: str) -> None:
    admin = huaweicloud_emulator.admin
    admin.set_quirks(dcs_failed_step_code=code, dcs_final_remain_time="missing")
    admin.set_outcome("dcs", "fail", duration=5)
    task_id = admin.create_task("dcs", instance_id=DCS_INSTANCE, started_ago=10)
    response = _client(DcsClient, huaweicloud_emulator).show_background_task_progress(
        ShowBackgroundTaskProgressRequest(instance_id=DCS_INSTANCE, task_id=task_id)
    )
    (failed,) = [s for s in response.step_details if s.step_status == "FAILED"]
    assert failed.error_code == ("" if code == "empty" else code)
    (sub,) = [s for s in failed.sub_step_details if s.sub_step_status == "FAILED"]
    assert sub.detail.startswith("{node_id:") and "full_migration:failed" in sub.detail
    assert response.remain_time is None
    assert_body_matches(
        ShowBackgroundTaskProgressResponse,
        _body(response),
        omitted={"remain_time": "the dcs_final_remain_time quirk's 'missing' form"},
    )


DETAILS = [
    "old_capacity",
    "new_capacity",
    "enable_public_ip",
    "public_ip_id",
    "public_ip_address",
    "enable_ssl",
    "old_cache_mode",
    "new_cache_mode",
    "old_resource_spec_code",
    "new_resource_spec_code",
    "old_replica_num",
    "new_replica_num",
    "old_cache_type",
    "new_cache_type",
    "replica_ip",
    "replica_az",
    "group_name",
    "old_port",
    "new_port",
    "is_only_adjust_charging",
    "account_name",
    "source_ip",
    "target_ip",
    "node_name",
    "rename_commands",
    "updated_config_length",
]


@pytest.mark.parametrize("final", ["100", "99", "missing"])
def test_dcs_finished_progress_forms(huaweicloud_emulator: EmulatorHandle, final: str) -> None:
    admin = huaweicloud_emulator.admin
    admin.set_quirks(dcs_final_progress=final)
    task_id = admin.create_task("dcs", instance_id=DCS_INSTANCE, duration=10, started_ago=20)
    response = _client(DcsClient, huaweicloud_emulator).show_background_task_progress(
        ShowBackgroundTaskProgressRequest(instance_id=DCS_INSTANCE, task_id=task_id)
    )
    assert [s.step_status for s in response.step_details] == ["FINISH"] * 3
    assert response.progress == {"100": 100, "99": 99, "missing": None}[final]
    omitted = {"progress": "the dcs_final_progress quirk's 'missing' form"} if final == "missing" else {}
    assert_body_matches(ShowBackgroundTaskProgressResponse, _body(response), omitted=omitted)


def test_dcs_delete_background_task(huaweicloud_emulator: EmulatorHandle) -> None:
    admin = huaweicloud_emulator.admin
    task_id = admin.create_task("dcs", instance_id=DCS_INSTANCE, duration=5, started_ago=10)
    running = admin.create_task("dcs", instance_id=DCS_INSTANCE, duration=1000)
    dcs = _client(DcsClient, huaweicloud_emulator)
    deleted = dcs.delete_background_task(DeleteBackgroundTaskRequest(instance_id=DCS_INSTANCE, task_id=task_id))
    assert deleted.status_code == 200
    assert_body_matches(DeleteBackgroundTaskResponse, _body(deleted))
    with pytest.raises(exceptions.ClientRequestException) as info:
        dcs.delete_background_task(DeleteBackgroundTaskRequest(instance_id=DCS_INSTANCE, task_id=running))
    assert (info.value.status_code, info.value.error_code) == (400, "DCS.4017")
    with pytest.raises(exceptions.ClientRequestException) as gone:
        dcs.show_background_task_progress(ShowBackgroundTaskProgressRequest(instance_id=DCS_INSTANCE, task_id=task_id))
    assert (gone.value.status_code, gone.value.error_code) == (404, "DCS.4001")


@pytest.mark.parametrize("task", ["listed", "unlisted"])
def test_dcs_redislog_collect_list_and_link(huaweicloud_emulator: EmulatorHandle, task: str) -> None:
    admin = huaweicloud_emulator.admin
    admin.set_quirks(dcs_redislog_task=task)
    admin.set_outcome("dcs", "succeed", duration=5)
    dcs = _client(DcsClient, huaweicloud_emulator)
    empty = dcs.list_redislog(ListRedislogRequest(instance_id=DCS_INSTANCE, log_type="run"))
    assert empty.status_code == 204  # "Queried successfully and no log is found."
    created = dcs.create_redislog(CreateRedislogRequest(instance_id=DCS_INSTANCE, query_time=0, log_type="run"))
    assert created.status_code == 204 and not created.raw_content
    tasks = dcs.list_background_task(ListBackgroundTaskRequest(instance_id=DCS_INSTANCE, offset=0, limit=10)).tasks
    collecting = [t for t in tasks if t.name == "CollectRedisRunLog"]
    assert len(collecting) == (1 if task == "listed" else 0)
    admin.advance(10)
    listed = dcs.list_redislog(ListRedislogRequest(instance_id=DCS_INSTANCE, offset=0, limit=10, log_type="run"))
    assert listed.total_num == 1
    assert_body_matches(ListRedislogResponse, _body(listed))
    item = listed.file_list[0]
    if task == "listed":
        assert item.backup_id == collecting[0].id
    link = dcs.create_redislog_download_link(CreateRedislogDownloadLinkRequest(instance_id=DCS_INSTANCE, id=item.id))
    assert_body_matches(CreateRedislogDownloadLinkResponse, _body(link))
    assert link.id == item.id and link.link.startswith(huaweicloud_emulator.url)
    with pytest.raises(exceptions.ClientRequestException) as bad:
        dcs.create_redislog(CreateRedislogRequest(instance_id=DCS_INSTANCE, query_time=2, log_type="run"))
    assert bad.value.status_code == 400


# ------------------------------------------------------------------------------------------ CloudDC


@pytest.mark.parametrize(
    ("status", "percentage", "export_id"), [("Running", "string", "sequential"), ("processing", "int", "uuid")]
)
def test_clouddc_export_status_and_download(
    huaweicloud_emulator: EmulatorHandle, status: str, percentage: str, export_id: str
) -> None:
    admin = huaweicloud_emulator.admin
    admin.set_quirks(clouddc_status=status, clouddc_percentage=percentage, clouddc_export_id=export_id)
    admin.set_outcome("clouddc", "succeed", duration=40)
    client = _client(CloudDCClient, huaweicloud_emulator)
    started = client.export_server_logs(ExportServerLogsRequest(id=CLOUDDC_SERVER))
    assert started.status_code == 202
    headers = {"content_disposition": "a response header only of the download", "content_transfer_encoding": "same"}
    assert_body_matches(ExportServerLogsResponse, _body(started), omitted=headers)
    admin.advance(20)
    shown = client.show_logs_export_status(ShowLogsExportStatusRequest(id=CLOUDDC_SERVER, export_id=started.export_id))
    assert shown.status == status
    assert 45 <= int(str(shown.percentage).rstrip("%")) <= 60
    assert_body_matches(ShowLogsExportStatusResponse, _body(shown))
    admin.advance(30)
    download = client.download_server_logs(DownloadServerLogsRequest(id=CLOUDDC_SERVER, export_id=started.export_id))
    chunks: list[bytes] = []
    download.consume_download_stream(lambda stream: chunks.extend(stream.iter_content(1024)))
    assert b"".join(chunks)[:2] == b"\x1f\x8b"  # a gzip archive
    # DownloadServerLogsResponse is read from headers only: the emulator sends each one it declares.
    assert set(header_fields(DownloadServerLogsResponse)) == {
        "content_disposition",
        "content_transfer_encoding",
        "content_type",
    }
    assert download.content_disposition == f"attachment; filename={CLOUDDC_SERVER}-dump.tar.gz"
    assert download.content_transfer_encoding == "binary"
    assert download.content_type == "application/octet-stream;charset=UTF-8"  # DownloadServerLogs doc


# ---------------------------------------------------------------------------------------------- DIS

#: The ListTransferTasks/ShowTransferTask doc examples carry "task_id" (e.g. "As805BudhcH1lDs6gbn");
#: the SDK's TransferTask and ShowTransferTaskResponse have no such field.
TASK_ID_IN_DOCS = {"tasks[].task_id": "ListTransferTasks doc example", "task_id": "ShowTransferTask doc example"}


def test_dis_transfer_task_lifecycle(huaweicloud_emulator: EmulatorHandle) -> None:
    dis = _client(DisClient, huaweicloud_emulator)
    descriptor = OBSDestinationDescriptorRequest(
        task_name="sdk-task",
        agency_name="dis_admin_agency",
        deliver_time_interval=300,
        consumer_strategy="LATEST",
        obs_bucket_path="my-bucket",
        destination_file_type="text",
    )
    created = dis.create_obs_transfer_task(
        CreateObsTransferTaskRequest(
            stream_name=DIS_STREAM,
            body=CreateTransferTaskReq(destination_type="OBS", obs_destination_descriptor=descriptor),
        )
    )
    assert created.status_code == 201  # "201 Normal response" (Adding OBS Dump Tasks doc)
    huaweicloud_emulator.admin.advance(301)  # one deliver_time_interval: one dump period
    task_log = _transfer_task_log(
        huaweicloud_emulator,
        {"pageIndex": 1, "pageTotal": 10},
        _body(dis.list_transfer_tasks(ListTransferTasksRequest(stream_name=DIS_STREAM)))["tasks"][1]["task_id"],
    )
    assert task_log["totalNum"] == 1
    listed = dis.list_transfer_tasks(ListTransferTasksRequest(stream_name=DIS_STREAM))
    assert [t.task_name for t in listed.tasks] == ["emulator-obs-task", "sdk-task"]
    assert_body_matches(ListTransferTasksResponse, _body(listed), extra=TASK_ID_IN_DOCS)
    task_id = _body(listed)["tasks"][1]["task_id"]

    shown = dis.show_transfer_task(ShowTransferTaskRequest(stream_name=DIS_STREAM, task_name="sdk-task"))
    assert shown.obs_destination_description.obs_bucket_path == "my-bucket"
    assert_body_matches(
        ShowTransferTaskResponse,
        _body(shown),
        extra=TASK_ID_IN_DOCS,
        omitted={
            "partitions": "per-partition dump details are not emulated",
            "dws_destination_descripton": "an OBS task has no DWS destination",
            "mrs_destination_description": "an OBS task has no MRS destination",
            "dli_destination_description": "an OBS task has no DLI destination",
            "cloudtable_destination_descripton": "an OBS task has no CloudTable destination",
            "obs_destination_description.processing_schema": "not given at creation",
            "obs_destination_description.file_prefix": "not given at creation",
            "obs_destination_description.partition_format": "not given at creation",
            "obs_destination_description.record_delimiter": "not given at creation",
        },
    )
    stop = BatchStopTransferTaskReq(action="stop", tasks=[BatchTransferTask(id=task_id)])
    assert (
        dis.batch_stop_transfer_task(BatchStopTransferTaskRequest(stream_name=DIS_STREAM, body=stop)).status_code == 200
    )
    assert _state(dis, "sdk-task") == "PAUSED"
    start = BatchStartTransferTaskReq(action="start", tasks=[BatchTransferTask(id=task_id)])
    started = dis.batch_start_transfer_task(BatchStartTransferTaskRequest(stream_name=DIS_STREAM, body=start))
    # "Response Parameters: None", no example response (Starting Dump Tasks doc): the SDK's one
    # field, body (the raw text), stays empty.
    assert (started.status_code, started.raw_content, started.body) == (200, b"", None)
    assert _state(dis, "sdk-task") == "RUNNING"
    deleted = dis.delete_transfer_task(DeleteTransferTaskRequest(stream_name=DIS_STREAM, task_name="sdk-task"))
    assert deleted.status_code == 204  # "204 Normal response" (Deleting a Dump Task doc)
    with pytest.raises(exceptions.ClientRequestException) as info:
        dis.show_transfer_task(ShowTransferTaskRequest(stream_name=DIS_STREAM, task_name="sdk-task"))
    assert (info.value.status_code, info.value.error_code) == (400, "DIS.4354")


def _state(dis: Any, name: str) -> str:
    tasks = dis.list_transfer_tasks(ListTransferTasksRequest(stream_name=DIS_STREAM)).tasks
    return str(next(t.state for t in tasks if t.task_name == name))


#: Showtransfertasklog doc page, response fields (the API is not in the SDK).
LOG_PAGE_FIELDS = {"totalNum", "message", "errorCode", "transferTaskLogList"}
#: Undocumented keys the doc's own example response carries.
LOG_PAGE_EXAMPLE_EXTRAS = {"isStreamFound", "streamData", "streamDataList", "transferTaskList", "monitorData"}
LOG_ENTRY_FIELDS = {
    "transferTaskId",
    "destinationType",
    "startTime",
    "endTime",
    "transferBytes",
    "transferRecordsNum",
    "streamId",
    "projectId",
    "transferFileName",
}
LOG_ENTRY_EXAMPLE_EXTRAS = {"state", "transformRecordsNum", "num"}


@pytest.mark.parametrize("listing", ["object_when_single", "array"])
def test_dis_transfer_task_log_through_call_api(huaweicloud_emulator: EmulatorHandle, listing: str) -> None:
    huaweicloud_emulator.admin.set_quirks(dis_log_list=listing)
    data = _transfer_task_log(huaweicloud_emulator, {"pageIndex": 1, "pageTotal": 1})
    assert set(data) == LOG_PAGE_FIELDS | LOG_PAGE_EXAMPLE_EXTRAS
    assert data["totalNum"] >= 3
    entries = data["transferTaskLogList"]
    entries = [entries] if isinstance(entries, dict) else entries
    assert isinstance(data["transferTaskLogList"], dict if listing == "object_when_single" else list)
    assert {key for entry in entries for key in entry} == LOG_ENTRY_FIELDS | LOG_ENTRY_EXAMPLE_EXTRAS


def _transfer_task_log(emulator: EmulatorHandle, page_info: Any, task_id: str = DIS_TASK) -> Any:
    response = _client(DisClient, emulator).call_api(
        "/v1/transfertasklog/{task_id}",
        "POST",
        path_params={"task_id": task_id},
        header_params={"Content-Type": "application/json"},
        body={"order": "desc", "sortBy": "createTimeStr", "pageInfo": page_info},
        response_type=RawResponse,
    )
    return json.loads(response.raw_content)


def test_dis_transfer_task_log_defaults_and_refusals(huaweicloud_emulator: EmulatorHandle) -> None:
    """Showtransfertasklog's table: order defaults to desc, sortBy to createTimeStr, pageTotal to 10,
    pageIndex is mandatory in pageInfo; other values are DIS.4200 "Invalid request. %s"."""
    huaweicloud_emulator.admin.advance(12 * 60)  # 15 periods in all
    dis = _client(DisClient, huaweicloud_emulator)

    def log(body: dict[str, Any]) -> Any:
        return dis.call_api(
            "/v1/transfertasklog/{task_id}",
            "POST",
            path_params={"task_id": DIS_TASK},
            header_params={"Content-Type": "application/json"},
            body=body,
            response_type=RawResponse,
        )

    bare = json.loads(log({}).raw_content)
    entries = bare["transferTaskLogList"]
    assert (bare["totalNum"], len(entries)) == (15, 10)
    assert [e["startTime"] for e in entries] == sorted((e["startTime"] for e in entries), reverse=True)
    for body, wrong in (
        ({"order": "up"}, "order 'up'"),
        ({"sortBy": "size"}, "sortBy 'size'"),
        ({"pageInfo": {"pageTotal": 5}}, "pageInfo"),
    ):
        with pytest.raises(exceptions.ClientRequestException) as info:
            log(body)
        assert (info.value.status_code, info.value.error_code) == (400, "DIS.4200")
        assert info.value.error_msg == f"Invalid request. {wrong}"


def test_dis_stream_and_project_errors_fill_the_code_table_s_placeholder(huaweicloud_emulator: EmulatorHandle) -> None:
    """DIS code table: "The stream does not exist. %s", "Invalid Project Id. %s"."""
    with pytest.raises(exceptions.ClientRequestException) as info:
        _client(DisClient, huaweicloud_emulator).list_transfer_tasks(ListTransferTasksRequest(stream_name="nostream"))
    assert (info.value.error_code, info.value.error_msg) == ("DIS.4301", "The stream does not exist. nostream")
    other = "f" * 32
    response = signed_request(huaweicloud_emulator, "GET", f"/v2/{other}/streams/{DIS_STREAM}/transfer-tasks")
    assert (response.status_code, response.json()) == (
        400,
        {"error_code": "DIS.4117", "error_msg": f"Invalid Project Id. {other}"},
    )


def test_dis_transfer_task_log_errors_in_either_form(huaweicloud_emulator: EmulatorHandle) -> None:
    admin = huaweicloud_emulator.admin
    admin.set_quirks(dis_log_errors="body")
    assert _transfer_task_log(huaweicloud_emulator, {"pageIndex": 1, "pageTotal": 1}, "A" * 19) == {
        "errorCode": "DIS.4354",
        "totalNum": 0,
        "message": "The transfer task does not exist.",
        "transferTaskLogList": None,
    }
    admin.set_quirks(dis_log_errors="status")
    with pytest.raises(exceptions.ClientRequestException) as info:
        _transfer_task_log(huaweicloud_emulator, {"pageIndex": 1, "pageTotal": 1}, "A" * 19)
    assert (info.value.status_code, info.value.error_code) == (400, "DIS.4354")


# ---------------------------------------------------------------------------------------------- IAM


def test_iam_password_token_temporary_key_and_projects(huaweicloud_emulator: EmulatorHandle) -> None:
    ids = huaweicloud_emulator.identities
    iam = _iam(huaweicloud_emulator)
    auth = _pwd_auth(huaweicloud_emulator)
    token = iam.keystone_create_user_token_by_password(
        KeystoneCreateUserTokenByPasswordRequest(
            nocatalog="true", body=KeystoneCreateUserTokenByPasswordRequestBody(auth=auth)
        )
    )
    assert token.status_code == 201
    assert token.x_subject_token  # from the X-Subject-Token header
    assert token.token.project.id == ids.project_id
    assert_body_matches(
        KeystoneCreateUserTokenByPasswordResponse,
        _body(token),
        omitted={"token.domain": "only a domain-scoped token has one (this one is project-scoped)"},
    )

    body = CreateTemporaryAccessKeyByTokenRequestBody(
        auth=TokenAuth(
            identity=TokenAuthIdentity(
                methods=["token"], token=IdentityToken(id=token.x_subject_token, duration_seconds=900)
            )
        )
    )
    temporary = iam.create_temporary_access_key_by_token(CreateTemporaryAccessKeyByTokenRequest(body=body))
    assert temporary.status_code == 201
    assert temporary.credential.access.startswith("TMP")
    assert_body_matches(CreateTemporaryAccessKeyByTokenResponse, _body(temporary))

    projects = iam.keystone_list_auth_projects(KeystoneListAuthProjectsRequest())
    assert [p.id for p in projects.projects] == [ids.project_id]
    assert_body_matches(KeystoneListAuthProjectsResponse, _body(projects))


def test_iam_password_token_with_its_catalog(huaweicloud_emulator: EmulatorHandle) -> None:
    """Without nocatalog the token carries the password-token page's example catalog: one
    identity entry with its id, and an endpoint with region_id and id (TokenCatalog,
    TokenCatalogEndpoint)."""
    token = _iam(huaweicloud_emulator).keystone_create_user_token_by_password(
        KeystoneCreateUserTokenByPasswordRequest(
            body=KeystoneCreateUserTokenByPasswordRequestBody(auth=_pwd_auth(huaweicloud_emulator))
        )
    )
    (entry,) = token.token.catalog
    assert (entry.type, entry.name) == ("identity", "iam")
    (endpoint,) = entry.endpoints
    assert (endpoint.region, endpoint.region_id, endpoint.interface) == ("*", "*", "public")
    assert endpoint.url == f"{huaweicloud_emulator.url}/v3"
    assert len(entry.id) == len(endpoint.id) == 32
    assert_body_matches(
        KeystoneCreateUserTokenByPasswordResponse,
        _body(token),
        omitted={"token.domain": "only a domain-scoped token has one (this one is project-scoped)"},
    )


def _pwd_auth(emulator: EmulatorHandle, methods: list[str] | None = None) -> Any:
    ids = emulator.identities
    user = PwdPasswordUser(
        domain=PwdPasswordUserDomain(name=ids.domain_name), name=ids.user_name, password=ids.password
    )
    return PwdAuth(
        identity=PwdIdentity(methods=methods or ["password"], password=PwdPassword(user=user)),
        scope=AuthScope(project=AuthScopeProject(id=ids.project_id)),
    )


def _iam_methods_not_emulated(emulator: EmulatorHandle) -> dict[str, Any]:
    """The other SDK methods on the token and security-token paths, each a thunk calling it."""
    ids = emulator.identities
    iam = _iam(emulator)
    mfa = MfaAuth(
        identity=MfaIdentity(
            methods=["password", "totp"],
            password=_pwd_auth(emulator).identity.password,
            totp=MfaTotp(user=MfaTotpUser(id=ids.user_id, passcode="123456")),
        ),
        scope=AuthScope(project=AuthScopeProject(id=ids.project_id)),
    )
    scoped = ScopedTokenAuth(
        identity=ScopedTokenIdentity(methods=["token"], token=ScopedToken(id="an-unscoped-token")),
        scope=TokenSocpeOption(project=ScopeProjectOption(id=ids.project_id)),
    )
    agency = AgencyTokenAuth(
        identity=AgencyTokenIdentity(
            methods=["assume_role"],
            assume_role=AgencyTokenAssumerole(domain_id=ids.domain_id, agency_name="an-agency"),
        ),
        scope=AgencyTokenScope(project=AgencyTokenScopeProject(id=ids.project_id)),
    )
    agency_key = AgencyAuth(
        identity=AgencyAuthIdentity(
            methods=["assume_role"], assume_role=IdentityAssumerole(agency_name="an-agency", domain_id=ids.domain_id)
        )
    )
    return {
        "keystone_create_user_token_by_password_and_mfa": lambda: iam.keystone_create_user_token_by_password_and_mfa(
            KeystoneCreateUserTokenByPasswordAndMfaRequest(
                body=KeystoneCreateUserTokenByPasswordAndMfaRequestBody(auth=mfa)
            )
        ),
        "keystone_create_scoped_token": lambda: iam.keystone_create_scoped_token(
            KeystoneCreateScopedTokenRequest(body=KeystoneCreateScopedTokenRequestBody(auth=scoped))
        ),
        "keystone_create_agency_token": lambda: iam.keystone_create_agency_token(
            KeystoneCreateAgencyTokenRequest(body=KeystoneCreateAgencyTokenRequestBody(auth=agency))
        ),
        "create_temporary_access_key_by_agency": lambda: iam.create_temporary_access_key_by_agency(
            CreateTemporaryAccessKeyByAgencyRequest(body=CreateTemporaryAccessKeyByAgencyRequestBody(auth=agency_key))
        ),
    }


@pytest.mark.parametrize(
    ("method", "methods"),
    [
        ("keystone_create_user_token_by_password_and_mfa", "['password', 'totp']"),
        ("keystone_create_scoped_token", "['token']"),
        ("keystone_create_agency_token", "['assume_role']"),
        ("create_temporary_access_key_by_agency", "['assume_role']"),
    ],
)
def test_iam_methods_the_emulator_does_not_emulate_get_a_documented_400(
    huaweicloud_emulator: EmulatorHandle, method: str, methods: str
) -> None:
    """400 is a status each of these pages lists; the body is IAM's error object, its message the
    emulator's own, naming what is not emulated."""
    with pytest.raises(exceptions.ClientRequestException) as info:
        _iam_methods_not_emulated(huaweicloud_emulator)[method]()
    assert info.value.status_code == 400
    # The SDK reads IAM's {"error": {"code", "message", "title"}} into error_code and error_msg.
    assert info.value.error_code == 400
    assert info.value.error_msg.startswith(f"auth.identity.methods {methods} is not emulated: ")


def test_iam_validate_token_is_not_emulated(huaweicloud_emulator: EmulatorHandle) -> None:
    with pytest.raises(exceptions.ClientRequestException) as info:
        _iam(huaweicloud_emulator).keystone_validate_token(KeystoneValidateTokenRequest(x_subject_token="MIIx"))
    assert (info.value.status_code, info.value.error_code) == (404, "APIGW.0101")


@pytest.mark.parametrize("name", ["cn-north-4", "eu-west-0"])
def test_iam_list_projects_by_name(huaweicloud_emulator: EmulatorHandle, name: str) -> None:
    """GET /v3/projects, the call the SDK makes for the project id of a region."""
    ids = huaweicloud_emulator.identities
    listed = _iam(huaweicloud_emulator).keystone_list_projects(KeystoneListProjectsRequest(name=name))
    assert [p.id for p in listed.projects] == ([ids.project_id] if name == ids.region else [])
    assert_body_matches(KeystoneListProjectsResponse, _body(listed))


def test_sdk_credentials_without_a_project_id_find_it_by_region(huaweicloud_emulator: EmulatorHandle) -> None:
    """BasicCredentials.process_auth_params asks IAM for the region's project (KeystoneListProjects)
    and signs it as X-Project-Id from then on."""
    ids = huaweicloud_emulator.identities
    creds = BasicCredentials(ids.access_key, ids.secret_key).with_iam_endpoint(huaweicloud_emulator.url)
    dcs = (
        DcsClient.new_builder()
        .with_credentials(creds)
        .with_region(Region(ids.region, huaweicloud_emulator.url))
        .with_http_config(_config())
        .build()
    )
    assert creds.project_id == ids.project_id
    assert dcs.list_background_task(ListBackgroundTaskRequest(instance_id=DCS_INSTANCE)).status_code == 200


# ------------------------------------------------------------------------------------ the gateway


def test_sdk_with_wrong_secret_gets_401(huaweicloud_emulator: EmulatorHandle) -> None:
    client = _client(DcsClient, huaweicloud_emulator, sk="definitely-wrong")
    task_id = huaweicloud_emulator.admin.create_task("dcs", instance_id=DCS_INSTANCE)
    with pytest.raises(exceptions.ClientRequestException) as info:
        client.show_background_task_progress(
            ShowBackgroundTaskProgressRequest(instance_id=DCS_INSTANCE, task_id=task_id)
        )
    assert info.value.status_code == 401
    assert info.value.error_code == "APIGW.0301"
    css = _client(CssClient, huaweicloud_emulator, sk="definitely-wrong")
    with pytest.raises(exceptions.ClientRequestException) as css_info:
        css.list_logs_job(ListLogsJobRequest(cluster_id=CSS_CLUSTER))
    assert css_info.value.status_code == 401


def test_sdk_sends_x_project_id(huaweicloud_emulator: EmulatorHandle) -> None:
    """BasicCredentials.sign_request adds it before signing; the call passing means the emulator
    verified the signature over it."""
    huaweicloud_emulator.admin.clear_requests()
    _client(DcsClient, huaweicloud_emulator).list_background_task(ListBackgroundTaskRequest(instance_id=DCS_INSTANCE))
    (logged,) = huaweicloud_emulator.admin.requests(service="dcs")
    headers = {k.lower(): v for k, v in logged["headers"].items()}
    assert headers["x-project-id"] == huaweicloud_emulator.identities.project_id
