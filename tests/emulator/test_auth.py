from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

import httpx

from tests.emulator.helpers import DCS_INSTANCE, dcs_progress_path, get_token, signed_request

if TYPE_CHECKING:
    from airflow_provider.testing.emulator_runner import EmulatorHandle


def _running_dcs_task(emulator: EmulatorHandle) -> str:
    return str(emulator.admin.create_task("dcs", instance_id=DCS_INSTANCE, duration=60))


def test_password_token_grants_access_and_carries_expiry(huaweicloud_emulator):
    resp = get_token(huaweicloud_emulator)
    assert resp.status_code == 201
    token = resp.headers["X-Subject-Token"]
    body = resp.json()["token"]
    assert body["expires_at"].endswith("Z")
    assert body["project"]["id"] == huaweicloud_emulator.project_id
    path = dcs_progress_path(huaweicloud_emulator, _running_dcs_task(huaweicloud_emulator))
    ok = httpx.get(huaweicloud_emulator.url + path, headers={"X-Auth-Token": token})
    assert ok.status_code == 200
    assert "step_details" in ok.json()


def test_wrong_password_is_iam_style_401(huaweicloud_emulator):
    resp = get_token(huaweicloud_emulator, password="wrong")
    assert resp.status_code == 401
    # the keystone error object of the IAM API docs' examples, and nothing else
    assert resp.json() == {
        "error": {"code": 401, "message": "The username or password is wrong.", "title": "Unauthorized"}
    }
    assert "X-Subject-Token" not in resp.headers


def test_any_nocatalog_value_leaves_the_catalog_out(huaweicloud_emulator):
    """ "Any non-empty string for this parameter will be interpreted as true" (IAM token API doc)."""
    ids = huaweicloud_emulator.identities
    user = {"domain": {"name": ids.domain_name}, "name": ids.user_name, "password": ids.password}
    body = {
        "auth": {
            "identity": {"methods": ["password"], "password": {"user": user}},
            "scope": {"project": {"id": ids.project_id}},
        }
    }
    for value, catalog in (("1", []), ("yes", []), ("", ["identity"])):
        resp = httpx.post(f"{huaweicloud_emulator.url}/v3/auth/tokens", json=body, params={"nocatalog": value})
        assert [entry["type"] for entry in resp.json()["token"]["catalog"]] == catalog


def test_unknown_and_missing_token_are_rejected(huaweicloud_emulator):
    path = dcs_progress_path(huaweicloud_emulator, _running_dcs_task(huaweicloud_emulator))
    bad = httpx.get(huaweicloud_emulator.url + path, headers={"X-Auth-Token": "MIInotatoken"})
    assert bad.status_code == 401
    assert bad.json()["error_code"] == "APIGW.0301"
    missing = httpx.get(huaweicloud_emulator.url + path)
    assert missing.status_code == 401
    assert "x-auth-token not found" in missing.json()["error_msg"]


def test_expire_all_tokens_and_short_lifetime(huaweicloud_emulator):
    token = get_token(huaweicloud_emulator).headers["X-Subject-Token"]
    path = dcs_progress_path(huaweicloud_emulator, _running_dcs_task(huaweicloud_emulator))
    assert httpx.get(huaweicloud_emulator.url + path, headers={"X-Auth-Token": token}).status_code == 200
    assert huaweicloud_emulator.admin.expire_tokens() >= 1
    expired = httpx.get(huaweicloud_emulator.url + path, headers={"X-Auth-Token": token})
    assert expired.status_code == 401
    assert "token expires" in expired.json()["error_msg"]

    huaweicloud_emulator.admin.set_token_lifetime(0)
    born_dead = get_token(huaweicloud_emulator)
    assert born_dead.status_code == 201
    resp = httpx.get(huaweicloud_emulator.url + path, headers={"X-Auth-Token": born_dead.headers["X-Subject-Token"]})
    assert resp.status_code == 401


def test_aksk_signature_accepted_and_wrong_secret_rejected(huaweicloud_emulator):
    path = dcs_progress_path(huaweicloud_emulator, _running_dcs_task(huaweicloud_emulator))
    assert signed_request(huaweicloud_emulator, "GET", path).status_code == 200
    wrong = signed_request(huaweicloud_emulator, "GET", path, secret_key="not-the-secret")
    assert wrong.status_code == 401
    assert "verify aksk signature fail" in wrong.json()["error_msg"]
    unknown = signed_request(huaweicloud_emulator, "GET", path, access_key="UNKNOWNAK")
    assert unknown.status_code == 401


def test_signature_covers_the_query(huaweicloud_emulator):
    ids = huaweicloud_emulator.identities
    from airflow_provider.core.signing import sign_headers

    path = f"/v1.0/{ids.project_id}/clusters/4213d908-f5dc-4633-8401-cfd7175fca0c/logs/records"
    host = huaweicloud_emulator.url.split("://", 1)[1]
    headers = sign_headers(
        method="GET",
        host=host,
        path=path,
        query=[("limit", "5")],
        headers={"Content-Type": "application/json"},
        body=b"",
        access_key=ids.access_key,
        secret_key=ids.secret_key,
    )
    good = httpx.get(huaweicloud_emulator.url + path, params={"limit": "5"}, headers=headers)
    tampered = httpx.get(huaweicloud_emulator.url + path, params={"limit": "6"}, headers=headers)
    assert good.status_code == 200
    assert tampered.status_code == 401


def test_clock_skew_beyond_15_minutes_is_apigw_0303(huaweicloud_emulator):
    path = dcs_progress_path(huaweicloud_emulator, _running_dcs_task(huaweicloud_emulator))
    now = datetime.now(timezone.utc)
    near = signed_request(huaweicloud_emulator, "GET", path, now=now - timedelta(minutes=10))
    assert near.status_code == 200
    far = signed_request(huaweicloud_emulator, "GET", path, now=now - timedelta(minutes=20))
    assert far.status_code == 401
    assert far.json()["error_code"] == "APIGW.0303"
    assert "X-Sdk-Date" in far.json()["error_msg"]


def _temporary_credentials(emulator: EmulatorHandle) -> dict[str, str]:
    token = get_token(emulator).headers["X-Subject-Token"]
    body = {"auth": {"identity": {"methods": ["token"], "token": {"id": token, "duration_seconds": 900}}}}
    resp = httpx.post(f"{emulator.url}/v3.0/OS-CREDENTIAL/securitytokens", json=body, headers={"X-Auth-Token": token})
    assert resp.status_code == 201
    credential: dict[str, str] = resp.json()["credential"]
    return credential


def test_temporary_credentials_need_the_security_token(huaweicloud_emulator):
    cred = _temporary_credentials(huaweicloud_emulator)
    assert set(cred) == {"access", "secret", "securitytoken", "expires_at"}
    path = dcs_progress_path(huaweicloud_emulator, _running_dcs_task(huaweicloud_emulator))
    ok = signed_request(
        huaweicloud_emulator,
        "GET",
        path,
        access_key=cred["access"],
        secret_key=cred["secret"],
        security_token=cred["securitytoken"],
    )
    assert ok.status_code == 200
    without = signed_request(huaweicloud_emulator, "GET", path, access_key=cred["access"], secret_key=cred["secret"])
    assert without.status_code == 401
    assert "security token" in without.json()["error_msg"]
    huaweicloud_emulator.admin.expire_tokens(temporary_keys=True)
    expired = signed_request(
        huaweicloud_emulator,
        "GET",
        path,
        access_key=cred["access"],
        secret_key=cred["secret"],
        security_token=cred["securitytoken"],
    )
    assert expired.status_code == 401


def test_security_token_endpoint_requires_auth(huaweicloud_emulator):
    body = {"auth": {"identity": {"methods": ["token"], "token": {"duration_seconds": 900}}}}
    resp = httpx.post(f"{huaweicloud_emulator.url}/v3.0/OS-CREDENTIAL/securitytokens", json=body)
    assert resp.status_code == 401
    signed = signed_request(huaweicloud_emulator, "POST", "/v3.0/OS-CREDENTIAL/securitytokens", body=body)
    assert signed.status_code == 201


def test_request_log_redacts_credentials(huaweicloud_emulator):
    token = get_token(huaweicloud_emulator).headers["X-Subject-Token"]
    path = dcs_progress_path(huaweicloud_emulator, _running_dcs_task(huaweicloud_emulator))
    httpx.get(huaweicloud_emulator.url + path, headers={"X-Auth-Token": token})
    signed_request(huaweicloud_emulator, "GET", path)
    entries = huaweicloud_emulator.admin.requests(service="dcs")
    assert [e["status"] for e in entries] == [200, 200]
    assert entries[0]["path"] == path and entries[0]["method"] == "GET"
    dumped = json.dumps(huaweicloud_emulator.admin.requests())
    assert token not in dumped
    assert huaweicloud_emulator.identities.secret_key not in dumped
    assert entries[0]["headers"]["x-auth-token"] == "***"
    assert entries[1]["headers"]["authorization"] == "***"
