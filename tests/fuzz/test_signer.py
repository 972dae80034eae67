"""The signer against random requests: every method, path, query, header set and body signs without
error, and the Authorization equals the official SDK signer's (the oracle) and verifies."""

from __future__ import annotations

from typing import Any

from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer
from hypothesis import assume, given
from hypothesis import strategies as st

from airflow_provider.core import signing
from tests.services._support import property_settings

SDK_DATE = "20240701T113249Z"
RESERVED = {"authorization", "host", "x-sdk-date", "content-type", "x-sdk-content-sha256", "x-security-token"}

utf8_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=12)
header_names = st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,15}", fullmatch=True).filter(lambda n: n.lower() not in RESERVED)
# what an HTTP client can send as a header value: visible ASCII and inner spaces
header_values = st.from_regex(r"[!-~]([ !-~]{0,20}[!-~])?", fullmatch=True) | st.just("")

requests = st.fixed_dictionaries(
    {
        "method": st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"])
        | st.from_regex(r"[A-Z]{1,8}", fullmatch=True),
        "host": st.sampled_from(["css.cn-north-4.myhuaweicloud.com", "127.0.0.1:18080", "[::1]:8443", "h"]),
        "path": st.lists(utf8_text, max_size=5).map(lambda parts: "/" + "/".join(parts)),
        "query": st.lists(st.tuples(utf8_text, utf8_text), max_size=5),
        "headers": st.dictionaries(header_names, header_values, max_size=5),
        "content_type": st.sampled_from(["application/json", "application/json;charset=UTF-8", "text/plain", None]),
        "body": st.binary(max_size=64) | utf8_text.map(str.encode),
        "ak": st.from_regex(r"[A-Z0-9]{1,40}", fullmatch=True),
        "sk": st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=40),
    }
)


def headers_of(case: dict[str, Any]) -> dict[str, str]:
    headers = dict(case["headers"])
    if len({name.lower() for name in headers}) != len(headers):
        assume(False)  # one header twice in different case: not something a dict-based client sends
    if case["content_type"] is not None:
        headers["Content-Type"] = case["content_type"]
    headers["X-Sdk-Date"] = SDK_DATE
    return headers


def sdk_authorization(case: dict[str, Any], headers: dict[str, str]) -> str:
    request = SdkRequest(
        method=case["method"],
        schema="https",
        host=case["host"],
        resource_path=case["path"],
        query_params=list(case["query"]),
        header_params=dict(headers),
        body=case["body"],
    )
    signed = Signer(BasicCredentials(case["ak"], case["sk"])).sign(request)
    return str(signed.header_params["Authorization"])


@property_settings
@given(case=requests)
def test_random_requests_sign_like_the_sdk_and_verify(case: dict[str, Any]) -> None:
    headers = headers_of(case)
    ours = signing.sign_headers(
        method=case["method"],
        host=case["host"],
        path=case["path"],
        query=case["query"],
        headers=headers,
        body=case["body"],
        access_key=case["ak"],
        secret_key=case["sk"],
    )
    assert ours["Authorization"] == sdk_authorization(case, headers)
    parsed = signing.parse_authorization(ours["Authorization"])
    assert parsed is not None
    assert signing.verify_signature(
        method=case["method"],
        path=case["path"],
        query=case["query"],
        headers=ours,
        body=case["body"],
        secret_key=case["sk"],
        authorization=parsed,
    )


@property_settings
@given(case=requests, token=st.from_regex(r"[A-Za-z0-9+/=]{1,200}", fullmatch=True))
def test_temporary_credentials_sign_the_security_token(case: dict[str, Any], token: str) -> None:
    headers = headers_of(case)
    ours = signing.sign_headers(
        method=case["method"],
        host=case["host"],
        path=case["path"],
        query=case["query"],
        headers=headers,
        body=case["body"],
        access_key=case["ak"],
        secret_key=case["sk"],
        security_token=token,
    )
    assert ours["X-Security-Token"] == token
    parsed = signing.parse_authorization(ours["Authorization"])
    assert parsed is not None
    assert "x-security-token" in parsed.signed_headers
    assert ours["Authorization"] == sdk_authorization(case, {**headers, "X-Security-Token": token})
