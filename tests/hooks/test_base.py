"""HuaweiCloudHook: connection lookup, one session per hook, test_connection, secret masking."""

from __future__ import annotations

import json
import socket

import pytest
from airflow.sdk.log import redact  # type: ignore[attr-defined]

from airflow_provider.core.errors import ApiError, ConfigurationError
from airflow_provider.core.request import ApiRequest
from airflow_provider.get_provider_info import HUAWEICLOUD_UI_FIELD_BEHAVIOUR
from airflow_provider.hooks.base import HuaweiCloudHook
from tests.hooks._support import (
    AK,
    ENDPOINT,
    HTML_BODY,
    IAM_TOKEN,
    PASSWORD,
    PROJECT_ID,
    SECURITY_TOKEN,
    SK,
    assert_signed,
    iam_token_response,
    url_parts,
)

PROJECTS_URL = f"{ENDPOINT}/v3/auth/projects"
PROJECTS_LOOKUP_URL = f"{ENDPOINT}/v3/projects"


def test_class_attributes_match_provider_info():
    assert HuaweiCloudHook.conn_type == "huaweicloud"
    assert HuaweiCloudHook.default_conn_name == "huaweicloud_default"
    assert HuaweiCloudHook.conn_name_attr == "huaweicloud_conn_id"
    assert HuaweiCloudHook.get_ui_field_behaviour() == HUAWEICLOUD_UI_FIELD_BEHAVIOUR


def test_reads_the_named_connection(set_cloud_conn):
    set_cloud_conn("other_cloud", region="cn-east-3", project_id="f" * 32)
    hook = HuaweiCloudHook(huaweicloud_conn_id="other_cloud")
    assert hook.config.conn_id == "other_cloud"
    assert hook.config.region == "cn-east-3"
    assert hook.project_id == "f" * 32
    assert hook.config is hook.config


def test_project_id_is_required_for_project_calls(set_cloud_conn):
    set_cloud_conn(project_id=None, region=None)  # no region: nothing to look the project up by
    with pytest.raises(ConfigurationError, match=r"'huaweicloud_default'.*project_id"):
        _ = HuaweiCloudHook().project_id


def test_an_aksk_connection_with_a_region_gets_its_project_id_from_iam(set_cloud_conn, requests_mock):
    """As the SDK's BasicCredentials: GET /v3/projects?name=<region>, signed, before the first call."""
    from airflow_provider.hooks.project_lookup import clear_cache

    clear_cache()
    set_cloud_conn(project_id=None)
    lookup = requests_mock.get(PROJECTS_LOOKUP_URL, json={"projects": [{"id": "e" * 32, "name": "cn-north-4"}]})
    assert HuaweiCloudHook().project_id == "e" * 32
    assert HuaweiCloudHook().project_id == "e" * 32
    assert lookup.call_count == 1
    assert lookup.last_request.qs == {"name": ["cn-north-4"]}
    assert "x-project-id" not in {k.lower() for k in lookup.last_request.headers}
    assert lookup.last_request.headers["Authorization"].startswith("SDK-HMAC-SHA256 ")
    clear_cache()


def test_one_session_per_hook_until_close(cloud, requests_mock):
    requests_mock.get(PROJECTS_URL, json={"projects": []})
    hook = HuaweiCloudHook()
    first = hook.transport
    hook.send(ApiRequest(service="iam", method="GET", path="/v3/auth/projects"))
    hook.send(ApiRequest(service="iam", method="GET", path="/v3/auth/projects"))
    assert hook.transport is first
    hook.close()
    assert hook.transport is not first
    hook.close()
    hook.close()


def test_send_raises_api_error_for_error_status(cloud, requests_mock):
    requests_mock.get(PROJECTS_URL, status_code=400, json={"error_code": "IAM.0001", "error_msg": "bad"})
    with pytest.raises(ApiError) as info:
        HuaweiCloudHook().send(ApiRequest(service="iam", method="GET", path="/v3/auth/projects"))
    assert (info.value.status, info.value.error_code, info.value.error_msg) == (400, "IAM.0001", "bad")


def test_test_connection_success_lists_projects(cloud, requests_mock):
    names = ["cn-north-4", "cn-east-3", "ap-southeast-1", "cn-south-1", "la-south-2", "af-south-1"]
    requests_mock.get(PROJECTS_URL, json={"projects": [{"name": n, "id": "x"} for n in names] + ["junk"]})
    ok, message = HuaweiCloudHook().test_connection()
    assert ok is True
    assert "aksk" in message
    assert "6 project(s)" in message
    assert message.endswith(" ...")
    assert "af-south-1, ap-southeast-1" in message
    request = requests_mock.last_request
    assert request.method == "GET"
    assert url_parts(request) == ("/v3/auth/projects", [])
    assert_signed(request)


def test_test_connection_uses_iam_endpoint(set_cloud_conn, requests_mock):
    set_cloud_conn(endpoint_url=None, iam_endpoint="https://iam.custom.test")
    requests_mock.get("https://iam.custom.test/v3/auth/projects", json={"projects": [{"name": "cn-north-4"}]})
    ok, message = HuaweiCloudHook().test_connection()
    assert (ok, message) == (True, "Authenticated (aksk); 1 project(s) visible: cn-north-4")


def test_test_connection_regional_iam_without_endpoint_url(set_cloud_conn, requests_mock):
    set_cloud_conn(endpoint_url=None)
    requests_mock.get("https://iam.cn-north-4.myhuaweicloud.com/v3/auth/projects", json={"projects": []})
    assert HuaweiCloudHook().test_connection() == (True, "Authenticated (aksk); 0 project(s) visible: ")


def test_test_connection_401_reports_failure_without_secrets(set_cloud_conn, requests_mock):
    set_cloud_conn(security_token=SECURITY_TOKEN)
    requests_mock.get(
        PROJECTS_URL,
        status_code=401,
        json={"error_code": "APIGW.0301", "error_msg": "Incorrect IAM authentication information"},
    )
    ok, message = HuaweiCloudHook().test_connection()
    assert ok is False
    assert "401" in message
    assert "APIGW.0301" in message
    for secret in (SK, SECURITY_TOKEN):
        assert secret not in message
    assert requests_mock.call_count == 1


def test_test_connection_password_401_refreshes_once_then_fails(set_cloud_conn, requests_mock):
    set_cloud_conn(login="iam-user", password=PASSWORD, auth_type="password", domain_name="acct")
    iam = requests_mock.post(f"{ENDPOINT}/v3/auth/tokens", **iam_token_response())
    requests_mock.get(PROJECTS_URL, status_code=401, json={"error_code": "APIGW.0307", "error_msg": "token expired"})
    ok, message = HuaweiCloudHook().test_connection()
    assert ok is False
    assert iam.call_count == 2
    assert PASSWORD not in message
    assert IAM_TOKEN not in message


def test_test_connection_iam_rejects_password(set_cloud_conn, requests_mock):
    set_cloud_conn(login="iam-user", password=PASSWORD, auth_type="password", domain_name="acct")
    requests_mock.post(
        f"{ENDPOINT}/v3/auth/tokens",
        status_code=401,
        json={"error": {"code": 401, "message": "The username or password is wrong."}},
    )
    ok, message = HuaweiCloudHook().test_connection()
    assert ok is False
    assert "'iam-user'" in message
    assert "'acct'" in message
    assert PASSWORD not in message
    assert requests_mock.call_count == 1


def test_test_connection_html_error_page(cloud, requests_mock):
    requests_mock.get(PROJECTS_URL, status_code=403, text=HTML_BODY, headers={"Content-Type": "text/html"})
    ok, message = HuaweiCloudHook().test_connection()
    assert ok is False
    assert "403" in message
    assert "<html>" not in message


def test_test_connection_malformed_json(cloud, requests_mock):
    requests_mock.get(PROJECTS_URL, text="{not json")
    ok, message = HuaweiCloudHook().test_connection()
    assert ok is False
    assert message.startswith("iam: unexpected response")


def test_test_connection_bad_configuration(set_cloud_conn):
    set_cloud_conn(auth_type="kerberos")
    ok, message = HuaweiCloudHook().test_connection()
    assert ok is False
    assert "auth_type" in message


def test_secrets_are_registered_with_airflow_masker(set_cloud_conn):
    set_cloud_conn(security_token=SECURITY_TOKEN)
    HuaweiCloudHook().config  # noqa: B018 - building the config registers the secrets
    assert SK not in redact(f"sk={SK}")
    assert SECURITY_TOKEN not in redact(f"token={SECURITY_TOKEN}")
    assert AK in redact(f"ak={AK}")


def test_iam_token_is_registered_with_airflow_masker(set_cloud_conn, requests_mock):
    token = "MIItoken-fetched-at-run-time-777"
    set_cloud_conn(login="iam-user", password=PASSWORD, auth_type="password", domain_name="acct")
    requests_mock.post(f"{ENDPOINT}/v3/auth/tokens", **iam_token_response(token))
    requests_mock.get(PROJECTS_URL, json={"projects": []})
    assert HuaweiCloudHook().test_connection()[0]
    assert token not in redact(f"header={token}")
    assert PASSWORD not in redact(json.dumps({"password": PASSWORD}))


def test_project_id_in_path_is_sent(cloud, requests_mock):
    requests_mock.get(f"{ENDPOINT}/v1/{PROJECT_ID}/anything", json={})
    hook = HuaweiCloudHook()
    hook.send(ApiRequest(service="dcs", method="GET", path=f"/v1/{hook.project_id}/anything"))
    assert_signed(requests_mock.last_request)


@pytest.mark.parametrize("auth", ["aksk", "password"])
def test_test_connection_to_a_closed_port_fails_at_once_in_one_line(set_cloud_conn, auth: str):
    """No retries for a Test (the connection's policy, 4 attempts with backoff, is for polls), and
    with password auth none for its IAM token request either."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens here once the probe is closed
    endpoint = f"http://127.0.0.1:{port}"
    retry = {"max_attempts": 4, "base_delay": 5, "max_elapsed": 60}
    if auth == "password":
        set_cloud_conn(endpoint_url=endpoint, retry=retry, auth_type="password", domain_name="acct", login="u")
    else:
        set_cloud_conn(endpoint_url=endpoint, retry=retry)

    ok, message = HuaweiCloudHook().test_connection()

    assert (ok, message) == (False, f"Cannot connect to {endpoint}: connection refused")
