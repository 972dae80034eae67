"""The official SDK is a real client of the emulator, signing with its own signer."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

pytest.importorskip("huaweicloudsdkcore")

from huaweicloudsdkclouddc.v1 import CloudDCClient, ShowLogsExportStatusRequest
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions import exceptions
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkcore.sdk_response import SdkResponse
from huaweicloudsdkcss.v1 import CssClient, ListLogsJobRequest
from huaweicloudsdkdcs.v2 import DcsClient, ShowBackgroundTaskProgressRequest
from huaweicloudsdkdis.v2 import DisClient

from tests.emulator.helpers import CLOUDDC_SERVER, CSS_CLUSTER, DCS_INSTANCE, DIS_TASK

if TYPE_CHECKING:
    from airflow_provider.testing.emulator_runner import EmulatorHandle


class RawResponse(SdkResponse):  # type: ignore[misc]
    openapi_types: dict[str, str] = {}
    attribute_map: dict[str, str] = {}


def _client(cls: Any, emulator: EmulatorHandle, sk: str | None = None) -> Any:
    ids = emulator.identities
    creds = BasicCredentials(ids.access_key, sk or ids.secret_key, ids.project_id)
    config = HttpConfig.get_default_config()
    config.retry_times = 0
    config.timeout = (3, 10)
    return cls.new_builder().with_credentials(creds).with_endpoints([emulator.url]).with_http_config(config).build()


def test_sdk_clients_succeed(huaweicloud_emulator):
    admin = huaweicloud_emulator.admin
    admin.create_task("css", cluster_id=CSS_CLUSTER, duration=30)
    records = _client(CssClient, huaweicloud_emulator).list_logs_job(
        ListLogsJobRequest(cluster_id=CSS_CLUSTER, offset=1, limit=10)
    )
    assert records.total_size == 2
    assert records.cluster_log_record[0].status == "RUNNING"
    assert records.cluster_log_record[0].create_at.isdigit()

    task_id = admin.create_task("dcs", instance_id=DCS_INSTANCE, duration=50)
    progress = _client(DcsClient, huaweicloud_emulator).show_background_task_progress(
        ShowBackgroundTaskProgressRequest(instance_id=DCS_INSTANCE, task_id=task_id)
    )
    assert progress.step_details[0].step_status == "EXECUTING"

    export_id = admin.create_task("clouddc", server_id=CLOUDDC_SERVER, duration=40)
    admin.advance(20)
    status = _client(CloudDCClient, huaweicloud_emulator).show_logs_export_status(
        ShowLogsExportStatusRequest(id=CLOUDDC_SERVER, export_id=export_id)
    )
    assert status.status == "Running"
    assert status.percentage.endswith("%")
    assert 45 <= int(status.percentage[:-1]) <= 60

    dis = _client(DisClient, huaweicloud_emulator)
    resp = dis.call_api(
        "/v1/transfertasklog/{task_id}",
        "POST",
        path_params={"task_id": DIS_TASK},
        header_params={"Content-Type": "application/json"},
        body={"order": "desc", "sortBy": "createTimeStr", "pageInfo": {"pageIndex": 1, "pageTotal": 10}},
        response_type=RawResponse,
    )
    data = json.loads(resp.raw_content)
    assert data["totalNum"] >= 3
    assert isinstance(data["transferTaskLogList"], list)


def test_sdk_with_wrong_secret_gets_401(huaweicloud_emulator):
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
