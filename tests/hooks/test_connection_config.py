"""Connection parsing: auth types, endpoints, TLS, timeouts, proxies, retries and secret masking.

Auth behaviour is checked end to end (the hook sends a request, requests_mock receives it);
pure parsing is checked on ``cloud_config``/``edge_config`` with real ``airflow.sdk.Connection``s.
"""

from __future__ import annotations

import json
import logging
import secrets
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest
from airflow.exceptions import AirflowProviderDeprecationWarning
from airflow.sdk import Connection

from airflow_provider.core.auth import TOKEN_CACHE, AkSkAuth, IamTokenAuth, StaticTokenAuth
from airflow_provider.core.endpoints import GLOBAL_IAM_ENDPOINT
from airflow_provider.core.errors import ConfigurationError
from airflow_provider.core.retry import RetryPolicy
from airflow_provider.core.signing import parse_authorization
from airflow_provider.hooks.connection_config import (
    DEFAULT_TIMEOUT,
    cloud_config,
    edge_config,
    extras,
    parse_proxies,
    parse_retry,
    parse_timeout,
    parse_verify,
)
from airflow_provider.hooks.dcs import DcsHook
from airflow_provider.hooks.dis import DisHook
from tests.hooks._support import (
    AK,
    DIS_TASK_ID,
    ENDPOINT,
    IAM_TOKEN,
    PASSWORD,
    PROJECT_ID,
    SECURITY_TOKEN,
    SK,
    STATIC_TOKEN,
    assert_signed,
    body_bytes,
    iam_token_response,
    url_parts,
)

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

PROGRESS_PATH = f"/v2/{PROJECT_ID}/instances/inst-1/tasks/task-1/progress"
PROGRESS_URL = f"{ENDPOINT}{PROGRESS_PATH}"
PROGRESS_BODY = {"progress": 30, "remain_time": 100, "step_details": []}


def conn(
    extra: dict[str, Any] | None = None, *, login: str | None = AK, password: str | None = SK, conn_id: str = "hwc"
) -> Connection:
    return Connection(
        conn_id=conn_id, conn_type="huaweicloud", login=login, password=password, extra=json.dumps(extra or {})
    )


def edge(extra: dict[str, Any] | None = None, **fields: Any) -> Connection:
    values: dict[str, Any] = {"host": "mef.test", "port": 30035, "schema": "https", **fields}
    return Connection(conn_id="mef", conn_type="huawei_edge_manager", extra=json.dumps(extra or {}), **values)


# --- auth types -------------------------------------------------------------------------------


def test_default_auth_type_is_aksk_and_requests_are_signed(cloud, requests_mock):
    requests_mock.get(PROGRESS_URL, json=PROGRESS_BODY)
    hook = DcsHook()
    assert hook.config.auth_type == "aksk"
    assert isinstance(hook.config.auth, AkSkAuth)
    hook.get_background_task_progress("inst-1", "task-1")
    request = requests_mock.last_request
    assert_signed(request)
    assert "X-Auth-Token" not in request.headers
    assert "X-Security-Token" not in request.headers


def test_aksk_security_token_is_sent_and_signed(set_cloud_conn, requests_mock):
    set_cloud_conn(security_token=SECURITY_TOKEN)
    requests_mock.get(PROGRESS_URL, json=PROGRESS_BODY)
    DcsHook().get_background_task_progress("inst-1", "task-1")
    request = requests_mock.last_request
    assert request.headers["X-Security-Token"] == SECURITY_TOKEN
    signed = parse_authorization(request.headers["Authorization"])
    assert signed is not None
    assert "x-security-token" in signed.signed_headers
    assert_signed(request)


def test_password_auth_fetches_token_from_iam_and_sends_it(set_cloud_conn, requests_mock):
    set_cloud_conn(login="iam-user", password=PASSWORD, auth_type="password", domain_name="my-account")
    iam = requests_mock.post(f"{ENDPOINT}/v3/auth/tokens", **iam_token_response())
    service = requests_mock.get(PROGRESS_URL, json=PROGRESS_BODY)
    DcsHook().get_background_task_progress("inst-1", "task-1")

    assert iam.call_count == 1
    iam_request = iam.last_request
    assert url_parts(iam_request) == ("/v3/auth/tokens", [("nocatalog", "true")])
    assert json.loads(body_bytes(iam_request)) == {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {"user": {"domain": {"name": "my-account"}, "name": "iam-user", "password": PASSWORD}},
            },
            "scope": {"project": {"id": PROJECT_ID}},
        }
    }
    assert "Authorization" not in iam_request.headers
    sent = service.last_request
    assert sent.headers["X-Auth-Token"] == IAM_TOKEN
    assert "Authorization" not in sent.headers


def test_password_token_is_cached_across_hook_instances(set_cloud_conn, requests_mock):
    set_cloud_conn(login="iam-user", password=PASSWORD, auth_type="password", domain_name="my-account")
    iam = requests_mock.post(f"{ENDPOINT}/v3/auth/tokens", **iam_token_response())
    service = requests_mock.get(PROGRESS_URL, json=PROGRESS_BODY)
    first, second = DcsHook(), DcsHook()
    first.get_background_task_progress("inst-1", "task-1")
    second.get_background_task_progress("inst-1", "task-1")
    assert first.transport is not second.transport
    assert iam.call_count == 1
    assert service.call_count == 2
    assert [r.headers["X-Auth-Token"] for r in service.request_history] == [IAM_TOKEN, IAM_TOKEN]
    assert TOKEN_CACHE.fetches == 1


def test_password_token_is_refreshed_once_after_a_401(set_cloud_conn, requests_mock):
    set_cloud_conn(login="iam-user", password=PASSWORD, auth_type="password", domain_name="my-account")
    iam = requests_mock.post(
        f"{ENDPOINT}/v3/auth/tokens", [iam_token_response("MIIold-token-1"), iam_token_response("MIInew-token-2")]
    )
    service = requests_mock.get(
        PROGRESS_URL,
        [{"status_code": 401, "json": {"error_code": "APIGW.0301", "error_msg": "bad token"}}, {"json": PROGRESS_BODY}],
    )
    DcsHook().get_background_task_progress("inst-1", "task-1")
    assert iam.call_count == 2
    assert [r.headers["X-Auth-Token"] for r in service.request_history] == ["MIIold-token-1", "MIInew-token-2"]


def test_password_scope_uses_region_name_without_project_id_and_iam_endpoint_override(set_cloud_conn, requests_mock):
    set_cloud_conn(
        login="iam-user",
        password=PASSWORD,
        auth_type="password",
        domain_name="my-account",
        project_id=None,
        iam_endpoint="https://iam.example.test/",
    )
    iam = requests_mock.post("https://iam.example.test/v3/auth/tokens", **iam_token_response())
    requests_mock.get("https://iam.example.test/v3/auth/projects", json={"projects": [{"name": "cn-north-4"}]})
    ok, message = DcsHook().test_connection()
    assert ok, message
    assert json.loads(body_bytes(iam.last_request))["auth"]["scope"] == {"project": {"name": "cn-north-4"}}
    assert requests_mock.last_request.headers["X-Auth-Token"] == IAM_TOKEN


def test_token_auth_sends_password_as_x_auth_token(set_cloud_conn, requests_mock):
    set_cloud_conn(login=None, password=STATIC_TOKEN, auth_type="token")
    requests_mock.get(PROGRESS_URL, json=PROGRESS_BODY)
    hook = DcsHook()
    hook.get_background_task_progress("inst-1", "task-1")
    assert isinstance(hook.config.auth, StaticTokenAuth)
    request = requests_mock.last_request
    assert request.headers["X-Auth-Token"] == STATIC_TOKEN
    assert "Authorization" not in request.headers
    assert requests_mock.call_count == 1


def test_static_token_401_is_final(set_cloud_conn, requests_mock):
    set_cloud_conn(login=None, password=STATIC_TOKEN, auth_type="token")
    requests_mock.get(PROGRESS_URL, status_code=401, json={"error_code": "DCS.0401", "error_msg": "expired"})
    from airflow_provider.core.errors import AuthenticationError

    with pytest.raises(AuthenticationError):
        DcsHook().get_background_task_progress("inst-1", "task-1")
    assert requests_mock.call_count == 1


def test_auth_type_is_case_insensitive():
    assert cloud_config(conn({"auth_type": "AKSK"})).auth_type == "aksk"


def test_bad_auth_type_names_conn_and_choices():
    with pytest.raises(ConfigurationError) as info:
        cloud_config(conn({"auth_type": "oauth"}))
    text = str(info.value)
    assert "'hwc'" in text
    assert "auth_type" in text
    assert "'oauth'" in text
    assert "aksk, password, token" in text


@pytest.mark.parametrize(
    ("extra", "login", "password", "field"),
    [
        ({}, None, SK, "login"),
        ({}, AK, None, "password"),
        ({"auth_type": "token"}, None, None, "password"),
        ({"auth_type": "password", "domain_name": "acct"}, None, PASSWORD, "login"),
        ({"auth_type": "password", "domain_name": "acct"}, "user", None, "password"),
        ({"auth_type": "password"}, "user", PASSWORD, "domain_name"),
    ],
)
def test_missing_credentials_name_conn_and_field_without_secrets(extra, login, password, field):
    with pytest.raises(ConfigurationError) as info:
        cloud_config(conn(extra, login=login, password=password))
    text = str(info.value)
    assert "'hwc'" in text
    assert field in text
    for secret in (SK, PASSWORD, AK):
        assert secret not in text
    assert SK not in repr(info.value)


def test_password_auth_needs_project_or_region():
    with pytest.raises(ConfigurationError, match=r"'hwc'.*project_id or extra\.region"):
        cloud_config(conn({"auth_type": "password", "domain_name": "acct"}, login="u", password=PASSWORD))


def test_bad_token_refresh_margin():
    with pytest.raises(ConfigurationError, match=r"token_refresh_margin"):
        cloud_config(
            conn(
                {"auth_type": "password", "domain_name": "acct", "region": "cn-north-4", "token_refresh_margin": "x"},
                login="u",
                password=PASSWORD,
            )
        )


def test_config_repr_never_shows_secrets():
    config = cloud_config(conn({"security_token": SECURITY_TOKEN, "region": "cn-north-4"}))
    text = repr(config) + repr(config.auth)
    assert SK not in text
    assert SECURITY_TOKEN not in text
    password_config = cloud_config(
        conn({"auth_type": "password", "domain_name": "acct", "region": "cn-north-4"}, login="u", password=PASSWORD)
    )
    assert isinstance(password_config.auth, IamTokenAuth)
    assert PASSWORD not in repr(password_config) + repr(password_config.auth)


def test_proxy_password_is_masked_and_hidden_from_repr():
    proxy_password = "proxy-Passw0rd-secret"
    seen, mask = _collect()
    proxies = f"http://proxyuser:{proxy_password}@proxy.test:3128"
    config = cloud_config(conn({"region": "cn-north-4", "proxies": proxies}), mask=mask)
    edge_conf = edge_config(edge({"proxies": proxies}), mask=mask)
    assert proxy_password not in repr(config)
    assert proxy_password not in repr(edge_conf)
    assert proxy_password in seen


# --- extra keys -------------------------------------------------------------------------------


def test_prefixed_extra_keys_are_accepted():
    config = cloud_config(
        conn(
            {
                "extra__huaweicloud__region": "cn-north-1",
                "extra__huaweicloud__project_id": PROJECT_ID,
                "extra__huaweicloud__auth_type": "aksk",
            }
        )
    )
    assert config.region == "cn-north-1"
    assert config.project_id == PROJECT_ID
    assert config.resolver("css") == "https://es.cn-north-1.myhuaweicloud.com"


def test_blank_extra_values_count_as_missing():
    assert extras(conn({"region": "", "project_id": None, "verify": "false"})) == {"verify": "false"}


def test_extra_that_is_not_an_object_is_rejected():
    with pytest.raises(ConfigurationError, match=r"'hwc'.*JSON object"):
        cloud_config(Connection(conn_id="hwc", conn_type="huaweicloud", login=AK, password=SK, extra="[1, 2]"))


def test_invalid_extra_json_is_a_configuration_error():
    broken = Connection(conn_id="hwc", conn_type="huaweicloud", login=AK, password=SK, extra='{"region": cn-north-4}')
    with pytest.raises(ConfigurationError, match=r"'hwc'.*not valid JSON"):
        cloud_config(broken)


# --- endpoints --------------------------------------------------------------------------------


def test_regional_default_endpoint():
    config = cloud_config(conn({"region": "cn-north-4", "project_id": PROJECT_ID}))
    assert config.resolver("css") == "https://css.cn-north-4.myhuaweicloud.com"
    assert config.resolver("dcs") == "https://dcs.cn-north-4.myhuaweicloud.com"
    assert config.resolver("iam") == "https://iam.cn-north-4.myhuaweicloud.com"


def test_regional_endpoint_is_where_the_hook_sends(set_cloud_conn, requests_mock):
    set_cloud_conn(endpoint_url=None)
    requests_mock.get(f"https://dcs.cn-north-4.myhuaweicloud.com{PROGRESS_PATH}", json=PROGRESS_BODY)
    DcsHook().get_background_task_progress("inst-1", "task-1")
    assert requests_mock.last_request.headers["Host"] == "dcs.cn-north-4.myhuaweicloud.com"
    assert_signed(requests_mock.last_request)


@pytest.mark.parametrize("region", ["cn-north-1", "cn-east-2"])
def test_css_uses_es_host_in_old_regions(region):
    assert cloud_config(conn({"region": region})).resolver("css") == f"https://es.{region}.myhuaweicloud.com"


def test_dis_in_a_region_without_dis_is_a_clear_error_before_any_request(set_cloud_conn, requests_mock):
    set_cloud_conn(endpoint_url=None, region="eu-west-0")
    with pytest.raises(ConfigurationError) as info:
        DisHook().get_transfer_task_log_page(DIS_TASK_ID)
    text = str(info.value)
    assert "'eu-west-0'" in text
    assert "extra.endpoints.dis" in text
    assert requests_mock.call_count == 0


def test_endpoint_url_override_applies_to_every_service():
    config = cloud_config(conn({"region": "eu-west-0", "endpoint_url": "http://127.0.0.1:8080/"}))
    for service in ("css", "dcs", "dis", "clouddc", "iam"):
        assert config.resolver(service) == "http://127.0.0.1:8080"


def test_per_service_endpoint_overrides_win():
    config = cloud_config(
        conn(
            {
                "region": "eu-west-0",
                "endpoint_url": "https://all.test",
                "endpoints": {"dis": "https://dis.custom.test/", "iam": "https://iam.custom.test"},
            }
        )
    )
    assert config.resolver("dis") == "https://dis.custom.test"
    assert config.resolver("iam") == "https://iam.custom.test"
    assert config.resolver("css") == "https://all.test"


def test_endpoints_may_be_a_json_string():
    config = cloud_config(conn({"region": "eu-west-0", "endpoints": json.dumps({"dis": "https://dis.x.test"})}))
    assert config.resolver("dis") == "https://dis.x.test"


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        ({"endpoints": "not json"}, "extra.endpoints"),
        ({"endpoints": ["https://x.test"]}, "extra.endpoints"),
        ({"endpoints": {"dis": "ftp://x"}}, "extra.endpoints.dis"),
        ({"endpoint_url": "hwc.test"}, "extra.endpoint_url"),
        ({"iam_endpoint": "iam.test"}, "extra.iam_endpoint"),
    ],
)
def test_bad_endpoint_settings(extra, needle):
    with pytest.raises(ConfigurationError) as info:
        cloud_config(conn({"region": "cn-north-4", **extra}))
    assert needle in str(info.value)
    assert "'hwc'" in str(info.value)


def test_iam_endpoint_override_beats_endpoint_url():
    config = cloud_config(conn({"endpoint_url": "https://all.test", "iam_endpoint": "https://iam.only.test"}))
    assert config.resolver("iam") == "https://iam.only.test"
    assert config.resolver("dcs") == "https://all.test"


def test_global_iam_without_region():
    config = cloud_config(conn({}))
    assert config.resolver("iam") == GLOBAL_IAM_ENDPOINT == "https://iam.myhuaweicloud.com"
    with pytest.raises(ConfigurationError, match=r"extra.region"):
        config.resolver("css")


def test_password_auth_with_global_iam(requests_mock):
    config = cloud_config(
        conn({"auth_type": "password", "domain_name": "acct", "project_id": PROJECT_ID}, login="u", password=PASSWORD)
    )
    requests_mock.post(f"{GLOBAL_IAM_ENDPOINT}/v3/auth/tokens", **iam_token_response())
    assert isinstance(config.auth, IamTokenAuth)
    assert config.auth.fetcher.fetch().value == IAM_TOKEN
    assert requests_mock.last_request.url.startswith("https://iam.myhuaweicloud.com/v3/auth/tokens?")


def test_project_id_required_only_when_used():
    config = cloud_config(conn({"region": "cn-north-4"}))
    with pytest.raises(ConfigurationError, match=r"'hwc'.*project_id"):
        config.require_project_id()


# --- TLS, timeouts, proxies, retry ------------------------------------------------------------


def test_verify_defaults_to_true(cloud, requests_mock, monkeypatch):
    """True is the default store, given to requests by path (certifi's, as requests' own default)."""
    import certifi

    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"):
        monkeypatch.delenv(name, raising=False)
    requests_mock.get(PROGRESS_URL, json=PROGRESS_BODY)
    hook = DcsHook()
    hook.get_background_task_progress("inst-1", "task-1")
    assert hook.config.tls.verify is True
    assert requests_mock.last_request.verify == certifi.where()


@pytest.mark.parametrize("value", [False, "false", "0", "off"])
def test_verify_false_warns(value, caplog):
    with caplog.at_level(logging.WARNING, logger="airflow_provider.hooks.connection_config"):
        config = cloud_config(conn({"verify": value}))
    assert config.tls.verify is False
    assert any("'hwc'" in r.getMessage() and "DISABLED" in r.getMessage() for r in caplog.records)


def test_verify_true_does_not_warn(caplog):
    with caplog.at_level(logging.WARNING, logger="airflow_provider.hooks.connection_config"):
        assert cloud_config(conn({"verify": "true"})).tls.verify is True
    assert not caplog.records


def test_verify_false_is_passed_to_requests(set_cloud_conn, requests_mock):
    set_cloud_conn(verify=False)
    requests_mock.get(PROGRESS_URL, json=PROGRESS_BODY)
    DcsHook().get_background_task_progress("inst-1", "task-1")
    assert requests_mock.last_request.verify is False


def test_verify_ca_path_must_exist(tmp_path: Path, set_cloud_conn, requests_mock):
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    assert parse_verify("hwc", str(bundle)) == str(bundle)
    set_cloud_conn(verify=str(bundle))
    requests_mock.get(PROGRESS_URL, json=PROGRESS_BODY)
    DcsHook().get_background_task_progress("inst-1", "task-1")
    assert requests_mock.last_request.verify == str(bundle)
    with pytest.raises(ConfigurationError, match=r"'hwc'.*CA bundle file not found"):
        parse_verify("hwc", str(tmp_path / "missing.pem"))


def test_verify_rejects_non_boolean():
    with pytest.raises(ConfigurationError, match=r"not a boolean"):
        parse_verify("hwc", 3)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, DEFAULT_TIMEOUT),
        (30, (30.0, 30.0)),
        ("12.5", (12.5, 12.5)),
        ([5, 20], (5.0, 20.0)),
        ({"connect": 3}, (3.0, DEFAULT_TIMEOUT[1])),
        ({"connect": 2, "read": 7}, (2.0, 7.0)),
    ],
)
def test_timeout_forms(value, expected):
    assert parse_timeout("hwc", value) == expected


@pytest.mark.parametrize("value", ["soon", [1, 2, 3], True, 0, -1, {"read": 0}, {"connect": "x"}])
def test_bad_timeouts(value):
    with pytest.raises(ConfigurationError, match=r"'hwc'.*extra\.timeout"):
        parse_timeout("hwc", value)


def test_timeout_reaches_requests(set_cloud_conn, requests_mock):
    set_cloud_conn(timeout=[4, 9])
    requests_mock.get(PROGRESS_URL, json=PROGRESS_BODY)
    DcsHook().get_background_task_progress("inst-1", "task-1")
    assert requests_mock.last_request.timeout == (4.0, 9.0)


def test_proxy_forms():
    assert parse_proxies("hwc", None) is None
    assert parse_proxies("hwc", "http://proxy:3128") == {"http": "http://proxy:3128", "https": "http://proxy:3128"}
    assert parse_proxies("hwc", {"https": "http://p:1"}) == {"https": "http://p:1"}
    with pytest.raises(ConfigurationError, match=r"extra.proxies"):
        parse_proxies("hwc", {"https": 1})
    with pytest.raises(ConfigurationError, match=r"extra.proxies"):
        parse_proxies("hwc", ["http://p:1"])


def test_proxies_reach_requests_and_disable_env(set_cloud_conn, requests_mock, monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://env-proxy.test:9")
    set_cloud_conn(proxies="http://proxy.test:3128")
    requests_mock.get(PROGRESS_URL, json=PROGRESS_BODY)
    hook = DcsHook()
    hook.get_background_task_progress("inst-1", "task-1")
    assert hook.transport.session.trust_env is False
    assert requests_mock.last_request.proxies == {"http": "http://proxy.test:3128", "https": "http://proxy.test:3128"}


def test_retry_policy_parsing():
    assert parse_retry("hwc", None) == RetryPolicy()
    policy = parse_retry("hwc", {"max_attempts": "2", "base_delay": 0.5, "jitter": 0})
    assert policy == RetryPolicy(max_attempts=2, base_delay=0.5, jitter=0.0)
    with pytest.raises(ConfigurationError, match=r"unknown keys \['tries'\]"):
        parse_retry("hwc", {"tries": 3})
    with pytest.raises(ConfigurationError, match=r"must be an object"):
        parse_retry("hwc", 3)
    with pytest.raises(ConfigurationError, match=r"is invalid"):
        parse_retry("hwc", {"base_delay": "fast"})


def test_retry_policy_from_connection_is_used(cloud, requests_mock):
    requests_mock.get(PROGRESS_URL, [{"status_code": 503, "text": "busy"}, {"json": PROGRESS_BODY}])
    hook = DcsHook()
    assert hook.config.retry.max_attempts == 3
    assert hook.get_background_task_progress("inst-1", "task-1").progress == 30
    assert requests_mock.call_count == 2


# --- secret masking ---------------------------------------------------------------------------


def _collect() -> tuple[list[str], Callable[[str], None]]:
    seen: list[str] = []
    return seen, seen.append


def test_mask_receives_secret_key_and_security_token():
    seen, mask = _collect()
    cloud_config(conn({"security_token": SECURITY_TOKEN, "region": "cn-north-4"}), mask=mask)
    assert SK in seen
    assert SECURITY_TOKEN in seen
    assert AK not in seen


def test_mask_receives_iam_password_and_static_token():
    seen, mask = _collect()
    cloud_config(
        conn({"auth_type": "password", "domain_name": "a", "region": "cn-north-4"}, login="u", password=PASSWORD),
        mask=mask,
    )
    cloud_config(conn({"auth_type": "token"}, login=None, password=STATIC_TOKEN), mask=mask)
    assert seen == [PASSWORD, STATIC_TOKEN]


def test_mask_runs_even_when_the_config_is_rejected():
    seen, mask = _collect()
    with pytest.raises(ConfigurationError):
        cloud_config(conn({"auth_type": "password", "region": "cn-north-4"}, login="u", password=PASSWORD), mask=mask)
    assert seen == [PASSWORD]


def test_edge_mask_receives_inline_private_key_only():
    key = "-----BEGIN PRIVATE KEY-----\nMIIEsecret\n-----END PRIVATE KEY-----\n"
    seen, mask = _collect()
    edge_config(edge({"client_private_key": key, "client_cert": "/etc/cert.pem"}), mask=mask)
    assert seen == [key]
    seen.clear()
    edge_config(edge({"client_private_key": "/etc/key.pem"}), mask=mask)
    assert seen == []


# --- edge manager connection ------------------------------------------------------------------


def test_edge_config_defaults():
    config = edge_config(edge(port=None, schema=None))
    assert config.base_url == "https://mef.test:30035"
    assert config.verify is True
    assert config.timeout == DEFAULT_TIMEOUT


def test_edge_config_needs_host():
    with pytest.raises(ConfigurationError, match=r"'mef'.*host"):
        edge_config(edge(host=None))


def test_edge_config_rejects_unknown_scheme():
    with pytest.raises(ConfigurationError, match=r"'mef'.*schema='ftp'"):
        edge_config(edge(schema="ftp"))


def test_edge_config_plain_http_warns(caplog):
    with caplog.at_level(logging.WARNING, logger="airflow_provider.hooks.connection_config"):
        config = edge_config(edge(schema="http", port=8080))
    assert config.base_url == "http://mef.test:8080"
    assert any("plain HTTP" in r.getMessage() for r in caplog.records)


def test_edge_config_parses_verify_timeout_proxies_retry():
    config = edge_config(
        edge({"verify": "false", "timeout": 5, "proxies": "http://p.test:1", "retry": {"max_attempts": 1}})
    )
    assert config.verify is False
    assert config.timeout == (5.0, 5.0)
    assert config.proxies == {"http": "http://p.test:1", "https": "http://p.test:1"}
    assert config.retry.max_attempts == 1


def test_edge_config_repr_hides_key():
    key = "-----BEGIN PRIVATE KEY-----\nMIIEsecret\n-----END PRIVATE KEY-----"
    assert "MIIEsecret" not in repr(edge_config(edge({"client_private_key": key})))


# --- the client key's extra name, IPv6 hosts, secrets without a mask argument ----------------


def test_the_client_private_key_extra_is_read():
    config = edge_config(edge({"client_private_key": "/etc/key.pem", "client_cert": "/etc/cert.pem"}))
    assert config.client_key == "/etc/key.pem"


@pytest.mark.parametrize("key", ["client_key", "extra__huawei_edge_manager__client_key"])
def test_the_deprecated_client_key_extra_still_works_with_a_warning(key: str):
    with pytest.warns(AirflowProviderDeprecationWarning, match=r"'mef'.*extra\.client_key.*client_private_key"):
        config = edge_config(edge({key: "/etc/key.pem", "client_cert": "/etc/cert.pem"}))
    assert config.client_key == "/etc/key.pem"


def test_both_key_names_with_one_value_warn_and_with_two_values_are_refused():
    with pytest.warns(AirflowProviderDeprecationWarning):
        config = edge_config(edge({"client_key": "/etc/key.pem", "client_private_key": "/etc/key.pem"}))
    assert config.client_key == "/etc/key.pem"
    with pytest.raises(ConfigurationError, match=r"'mef'.*client_private_key.*client_key.*differ") as info:
        edge_config(edge({"client_key": "/etc/a.pem", "client_private_key": "/etc/b.pem"}))
    assert "/etc/a.pem" not in str(info.value)


@pytest.mark.parametrize(
    ("host", "base_url"),
    [
        ("fd00::10", "https://[fd00::10]:30035"),
        ("[fd00::10]", "https://[fd00::10]:30035"),
        ("::1", "https://[::1]:30035"),
        ("10.10.10.10", "https://10.10.10.10:30035"),
        (" mef.example.com ", "https://mef.example.com:30035"),
    ],
)
def test_the_edge_base_url_brackets_an_ipv6_host(host: str, base_url: str):
    config = edge_config(edge(host=host))
    assert config.base_url == base_url
    parts = urlsplit(config.base_url)
    assert (parts.hostname, parts.port) == (host.strip().strip("[]"), 30035)


def test_every_secret_reaches_airflows_masker_without_a_mask_argument():
    """The triggerer imports no hook, so the masker cannot depend on one being imported first."""
    from airflow.sdk.log import redact  # type: ignore[attr-defined]

    sk, token, proxy_password, body = (secrets.token_hex(12) for _ in range(4))  # masked by no earlier test
    key = f"-----BEGIN PRIVATE KEY-----\nMIIE{body}\n-----END PRIVATE KEY-----\n"
    cloud_config(
        conn(
            {"region": "cn-north-4", "security_token": token, "proxies": f"http://u:{proxy_password}@p:1"}, password=sk
        )
    )
    edge_config(edge({"client_private_key": key, "client_cert": "/etc/cert.pem"}))
    for secret in (sk, token, proxy_password, key):
        assert redact(f"a {secret} b") == "a *** b", secret[:6]
