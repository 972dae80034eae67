"""SDK-HMAC-SHA256 signing, checked byte for byte against the official SDK signer."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import datetime, timezone

import pytest
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer

from airflow_provider.core import signing

AK = "QTWAOYTTINDUT2QVKYUC"
SK = "MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc"
SDK_DATE = "20191115T033655Z"


@dataclass
class Case:
    method: str
    host: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes
    security_token: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
    project_id: str | None = None


def sdk_sign(case: Case, ak: str = AK, sk: str = SK) -> SdkRequest:
    request = SdkRequest(
        method=case.method,
        schema="https",
        host=case.host,
        resource_path=case.path,
        query_params=list(case.query),
        header_params=dict(case.headers),
        body=case.body,
    )
    credentials = BasicCredentials(ak, sk, case.project_id)
    if case.security_token is not None:
        credentials = credentials.with_security_token(case.security_token)
    return credentials.sign_request(request)


def our_sign(case: Case, ak: str = AK, sk: str = SK) -> dict[str, str]:
    return signing.sign_headers(
        method=case.method,
        host=case.host,
        path=case.path,
        query=case.query,
        headers=case.headers,
        body=case.body,
        access_key=ak,
        secret_key=sk,
        security_token=case.security_token,
        project_id=case.project_id,
    )


# --------------------------------------------------------------------------- the official vector


OFFICIAL = Case(
    method="GET",
    host="service.region.example.com",
    path="/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs",
    query=[("marker", "13551d6b-755d-4757-b956-536f674975c0"), ("limit", "2")],
    headers={"Content-Type": "application/json", "X-Sdk-Date": SDK_DATE},
    body=b"",
)
OFFICIAL_AUTH = (
    "SDK-HMAC-SHA256 Access=QTWAOYTTINDUT2QVKYUC, SignedHeaders=content-type;host;x-sdk-date, "
    "Signature=7be6668032f70418fcc22abc52071e57aff61b84a1d2381bb430d6870f4f6ebe"
)


def test_official_vector_authorization():
    headers = our_sign(OFFICIAL)
    assert headers["Authorization"] == OFFICIAL_AUTH
    assert headers["Authorization"].endswith(
        "Signature=7be6668032f70418fcc22abc52071e57aff61b84a1d2381bb430d6870f4f6ebe"
    )
    assert headers["Host"] == "service.region.example.com"
    assert headers["X-Sdk-Date"] == SDK_DATE


def test_official_vector_canonical_parts():
    assert signing.canonical_query(OFFICIAL.query) == "limit=2&marker=13551d6b-755d-4757-b956-536f674975c0"
    assert signing.canonical_uri(OFFICIAL.path) == "/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs/"
    headers = our_sign(OFFICIAL)
    names = signing.signed_header_names({k: v for k, v in headers.items() if k != "Authorization"})
    canonical = signing.canonical_request("GET", OFFICIAL.path, OFFICIAL.query, headers, names, b"")
    to_sign = signing.string_to_sign(canonical, SDK_DATE)
    assert to_sign.split("\n")[2] == "b25362e603ee30f4f25e7858e8a7160fd36e803bb2dfe206278659d71a9bcd7a"


def test_official_vector_matches_sdk_uri():
    signed = sdk_sign(OFFICIAL)
    assert signed.header_params["Authorization"] == OFFICIAL_AUTH
    assert signed.uri == OFFICIAL.path + "?" + signing.canonical_query(OFFICIAL.query)


# --------------------------------------------------------------------------- generated oracle cases

_SEGMENTS = ["v1", "v2", "edgemanager", "a b", "ünïcödé", "日志", "x~y", "a+b", "semi;colon", "dot.ted", "x-_y"]
_KEYS = ["limit", "offset", "marker", "status", "taskId", "a b", "ключ", "k~", "empty"]
_VALUES = ["", "1", "10", "a b", "x/y", "ünï", "a+b", "a=b&c", "~tilde", "100%", "dumpMultiNodesLog.1"]
_HOSTS = ["svc.example.com", "svc.example.com:8443", "127.0.0.1:18080", "css.cn-north-4.myhuaweicloud.com"]
_METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH"]


def _random_path(rng: random.Random, encoded: bool) -> str:
    from urllib.parse import quote

    segments = [rng.choice(_SEGMENTS) for _ in range(rng.randint(1, 4))]
    if encoded:
        segments = [quote(s, safe="-_.~") for s in segments]
    return "/" + "/".join(segments)


def _random_case(rng: random.Random, index: int) -> Case:
    method = _METHODS[index % len(_METHODS)]
    query = [(rng.choice(_KEYS), rng.choice(_VALUES)) for _ in range(rng.randint(0, 5))]
    if rng.random() < 0.4 and query:  # a repeated key with a different value
        query.append((query[0][0], rng.choice(_VALUES)))
    headers: dict[str, str] = {"X-Sdk-Date": SDK_DATE}
    body_kind = rng.choice(["empty", "json", "binary"])
    body = b""
    if body_kind == "json":
        headers["Content-Type"] = rng.choice(["application/json", "application/json;charset=UTF-8"])
        body = json.dumps({"module": "edgeNode", "edgeNodes": [rng.randint(1, 99)], "note": "ü x"}).encode()
    elif body_kind == "binary":
        headers["Content-Type"] = rng.choice(["application/octet-stream", "text/plain"])
        body = bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
    elif rng.random() < 0.5:
        headers["Content-Type"] = "application/json"
    if rng.random() < 0.6:
        headers["User-Agent"] = "airflow-provider-huaweicloud-logs/0.1 (test)"
    if rng.random() < 0.5:
        headers["X-Project-Id"] = "0123456789abcdef0123456789abcdef"
    if rng.random() < 0.3:
        headers["X-Custom-Trace"] = f"  trace-{rng.randint(0, 999)}  "  # surrounding blanks are stripped
    if rng.random() < 0.3:
        headers["X_Not_Signed"] = "underscore headers are never signed"
    token = f"tok-{index}-" + "x" * rng.randint(1, 40) if rng.random() < 0.3 else None
    return Case(
        method=method,
        host=rng.choice(_HOSTS),
        path=_random_path(rng, encoded=index % 2 == 0),
        query=query,
        headers=headers,
        body=body,
        security_token=token,
    )


GENERATED = [_random_case(random.Random(20240601 + i), i) for i in range(80)]


def test_generated_cases_cover_the_matrix():
    """Guard the generator itself: the oracle comparison is only as good as its inputs."""
    assert {c.method for c in GENERATED} == set(_METHODS)
    assert any("%" in c.path for c in GENERATED) and any(" " in c.path for c in GENERATED)
    assert any(len({k for k, _ in c.query}) < len(c.query) for c in GENERATED)
    assert any(v == "" for c in GENERATED for _, v in c.query)
    assert any(c.headers.get("Content-Type") == "application/octet-stream" for c in GENERATED)
    assert any(c.security_token for c in GENERATED)
    assert any(":" in c.host for c in GENERATED) and any(":" not in c.host for c in GENERATED)
    assert any("X_Not_Signed" in c.headers for c in GENERATED)


@pytest.mark.parametrize("case", GENERATED, ids=[f"{c.method}-{i}" for i, c in enumerate(GENERATED)])
def test_authorization_matches_sdk(case: Case):
    ours = our_sign(case)
    sdk = sdk_sign(case)
    assert ours["Authorization"] == sdk.header_params["Authorization"]
    unsigned = sdk.header_params.get("X-Sdk-Content-Sha256")
    assert ours.get("X-Sdk-Content-Sha256") == unsigned
    if case.body and case.headers.get("Content-Type") in ("application/octet-stream", "text/plain"):
        assert unsigned == "UNSIGNED-PAYLOAD"
    # the query we send is the SDK's query
    sent_query = sdk.uri.split("?", 1)[1] if "?" in sdk.uri else ""
    assert signing.canonical_query(case.query) == sent_query
    # the URI in the canonical request is the SDK's
    assert signing.canonical_uri(case.path) == Signer(BasicCredentials(AK, SK))._process_canonical_uri(sdk)
    assert "x_not_signed" not in ours["Authorization"]


@pytest.mark.parametrize("raw", ["/v1/a b/ünï/日志", "/v1/x~y/a+b", "/edgemanager/v1/logmgmt/dump/task"])
def test_encoded_and_unencoded_path_sign_identically(raw: str):
    from urllib.parse import quote

    encoded = "/".join(quote(s, safe="-_.~") for s in raw.split("/"))
    base = Case("GET", "svc.example.com", raw, [("k", "v")], {"X-Sdk-Date": SDK_DATE}, b"")
    other = Case("GET", "svc.example.com", encoded, [("k", "v")], {"X-Sdk-Date": SDK_DATE}, b"")
    assert our_sign(base)["Authorization"] == our_sign(other)["Authorization"]
    assert our_sign(other)["Authorization"] == sdk_sign(other).header_params["Authorization"]


# --------------------------------------------------------------------------- header handling


def test_security_token_is_a_signed_header():
    case = Case("GET", "svc.example.com", "/v1/x", [], {"X-Sdk-Date": SDK_DATE}, b"", security_token="sts-token")
    headers = our_sign(case)
    assert headers["X-Security-Token"] == "sts-token"
    parsed = signing.parse_authorization(headers["Authorization"])
    assert parsed is not None
    assert "x-security-token" in parsed.signed_headers
    assert headers["Authorization"] == sdk_sign(case).header_params["Authorization"]


@pytest.mark.parametrize("security_token", [None, "sts-token"])
def test_project_id_is_signed_as_the_sdk_does(security_token: str | None):
    """``BasicCredentials(ak, sk, project_id).sign_request`` adds X-Project-Id before signing
    (huaweicloudsdkcore/auth/credentials.py); so must we, with the same signature."""
    project = "0123456789abcdef0123456789abcdef"
    case = Case(
        "POST",
        "dis.cn-north-4.myhuaweicloud.com",
        "/v1/transfertasklog/CDaRPdvKUfZrAhzTaYs",
        [],
        {"Content-Type": "application/json", "X-Sdk-Date": SDK_DATE},
        b'{"order":"desc"}',
        security_token=security_token,
        project_id=project,
    )
    ours, theirs = our_sign(case), sdk_sign(case).header_params
    assert ours["X-Project-Id"] == theirs["X-Project-Id"] == project
    assert ours["Authorization"] == theirs["Authorization"]
    parsed = signing.parse_authorization(ours["Authorization"])
    assert parsed is not None and "x-project-id" in parsed.signed_headers


def test_a_project_id_header_already_set_is_kept():
    given = {"X-Sdk-Date": SDK_DATE, "X-Project-Id": "given"}
    headers = our_sign(Case("GET", "svc.example.com", "/v1/x", [], given, b"", project_id="other"))
    assert headers["X-Project-Id"] == "given"
    assert "X-Project-Id" not in our_sign(Case("GET", "svc.example.com", "/v1/x", [], {"X-Sdk-Date": SDK_DATE}, b""))


def test_date_is_added_from_now_when_absent():
    case = Case("GET", "svc.example.com", "/v1/x", [], {}, b"")
    now = datetime(2024, 2, 29, 23, 59, 58, tzinfo=timezone.utc)
    headers = signing.sign_headers(
        method="GET",
        host=case.host,
        path=case.path,
        query=[],
        headers={},
        body=b"",
        access_key=AK,
        secret_key=SK,
        now=now,
    )
    assert headers["X-Sdk-Date"] == "20240229T235958Z"
    assert signing.parse_sdk_date(headers["X-Sdk-Date"]) == now
    case.headers = {"X-Sdk-Date": "20240229T235958Z"}
    assert headers["Authorization"] == sdk_sign(case).header_params["Authorization"]


def test_empty_keys_are_refused():
    with pytest.raises(ValueError, match="access key"):
        our_sign(OFFICIAL, ak="")
    with pytest.raises(ValueError, match="secret key"):
        our_sign(OFFICIAL, sk="")


def test_payload_hash():
    assert signing.payload_hash({}, b"") == signing.EMPTY_SHA256
    assert signing.payload_hash({"x-sdk-content-sha256": "UNSIGNED-PAYLOAD"}, b"abc") == "UNSIGNED-PAYLOAD"
    assert signing.payload_hash({}, b"abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


# --------------------------------------------------------------------------- verification

_SIGNED = Case(
    method="POST",
    host="svc.example.com:8443",
    path="/v1/p/a%20b",
    query=[("taskId", "t 1"), ("x", "a/b")],
    headers={"Content-Type": "application/json", "X-Project-Id": "p", "X-Sdk-Date": SDK_DATE},
    body=b'{"a":1}',
)


def _verify(
    headers: dict[str, str],
    *,
    method: str = _SIGNED.method,
    path: str = _SIGNED.path,
    query: list[tuple[str, str]] | None = None,
    body: bytes = _SIGNED.body,
    secret: str = SK,
) -> bool:
    parsed = signing.parse_authorization(headers["Authorization"])
    assert parsed is not None
    return signing.verify_signature(
        method=method,
        path=path,
        query=_SIGNED.query if query is None else query,
        headers=headers,
        body=body,
        secret_key=secret,
        authorization=parsed,
    )


def test_verify_accepts_what_sign_produced():
    assert _verify(our_sign(_SIGNED))


def test_verify_accepts_unencoded_path_and_reordered_query():
    headers = our_sign(_SIGNED)
    assert _verify(headers, path="/v1/p/a b", query=list(reversed(_SIGNED.query)))


@pytest.mark.parametrize(
    "change",
    [
        {"body": b'{"a":2}'},
        {"path": "/v1/p/a%20c"},
        {"method": "PUT"},
        {"query": [("taskId", "t 2"), ("x", "a/b")]},
        {"query": [("taskId", "t 1")]},
        {"secret": "wrong-secret"},
    ],
)
def test_verify_rejects_changes(change: dict[str, object]):
    headers = our_sign(_SIGNED)
    assert not _verify(headers, **change)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["X-Project-Id", "Content-Type", "Host", "X-Sdk-Date"])
def test_verify_rejects_changed_signed_header(name: str):
    headers = our_sign(_SIGNED)
    headers[name] = headers[name] + "0"
    assert not _verify(headers)


def test_verify_rejects_missing_signed_header_and_missing_date():
    headers = our_sign(_SIGNED)
    without_project = {k: v for k, v in headers.items() if k != "X-Project-Id"}
    assert not _verify(without_project)
    without_date = {k: v for k, v in headers.items() if k != "X-Sdk-Date"}
    assert not _verify(without_date)


def test_verify_ignores_unsigned_headers_and_header_case():
    headers = our_sign(_SIGNED)
    relaxed = {k.lower(): v for k, v in headers.items() if k != "Authorization"}
    relaxed["Authorization"] = headers["Authorization"]
    relaxed["accept-encoding"] = "gzip"
    assert _verify(relaxed)


def test_verify_accepts_sdk_signature():
    sdk = sdk_sign(_SIGNED)
    assert _verify(dict(sdk.header_params))


def test_parse_authorization_round_trip():
    headers = our_sign(_SIGNED)
    parsed = signing.parse_authorization(headers["Authorization"])
    assert parsed is not None
    assert parsed.access_key == AK
    assert parsed.signed_headers == ("content-type", "host", "x-project-id", "x-sdk-date")
    assert len(parsed.signature) == 64
    rebuilt = (
        f"SDK-HMAC-SHA256 Access={parsed.access_key}, SignedHeaders={';'.join(parsed.signed_headers)}, "
        f"Signature={parsed.signature}"
    )
    assert rebuilt == headers["Authorization"]


@pytest.mark.parametrize(
    "value",
    [
        "",
        "Bearer abc",
        "SDK-HMAC-SHA256 Access=AK,SignedHeaders=host,Signature=ab",
        "SDK-HMAC-SM3 Access=AK, SignedHeaders=host, Signature=ab",
        "SDK-HMAC-SHA256 Access=AK, SignedHeaders=host, Signature=XYZ",
    ],
)
def test_parse_authorization_rejects_other_forms(value: str):
    assert signing.parse_authorization(value) is None
