"""Shared constants and checks for the hook tests (connections, signatures, IAM bodies)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from airflow_provider.core.signing import parse_authorization, verify_signature

AK = "AKTESTACCESSKEY00001"
SK = "SKtest-secret-key-0123456789abcdef"
PASSWORD = "Iam-Passw0rd-very-secret"
SECURITY_TOKEN = "temporary-security-token-value-42"
STATIC_TOKEN = "MIIstatic-user-token-value-xyz"
IAM_TOKEN = "MIIiam-issued-token-abcdef0123"
PROJECT_ID = "0123456789abcdef0123456789abcdef"
REGION = "cn-north-4"
ENDPOINT = "https://hwc.test"
BASE = f"{ENDPOINT}/v1.0/{PROJECT_ID}"
EDGE_BASE = "https://mef.test:30035"
FAST_RETRY = {"base_delay": 0.001, "max_delay": 0.01, "max_attempts": 3}
IAM_EXPIRES = "2999-01-01T00:00:00.000000Z"

MEF_OK = "00000000"
EDGE_TASK_ID = "dumpMultiNodesLog.413f66d069888b135e976c57"
DIS_TASK_ID = "CDaRPdvKUfZrAhzTaYs"
HTML_BODY = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"


def cloud_conn(**extra: Any) -> str:
    """JSON of a ``huaweicloud`` connection (AK/SK, emulator endpoint, fast retries) with ``extra`` merged in."""
    login = extra.pop("login", AK)
    password = extra.pop("password", SK)
    base: dict[str, Any] = {
        "region": REGION,
        "project_id": PROJECT_ID,
        "endpoint_url": ENDPOINT,
        "retry": FAST_RETRY,
    }
    base.update(extra)
    merged = {k: v for k, v in base.items() if v is not None}
    return json.dumps({"conn_type": "huaweicloud", "login": login, "password": password, "extra": merged})


def edge_conn(**extra: Any) -> str:
    extras: dict[str, Any] = {"retry": FAST_RETRY, **extra}
    return json.dumps(
        {"conn_type": "huawei_edge_manager", "host": "mef.test", "port": 30035, "schema": "https", "extra": extras}
    )


def url_parts(request: Any) -> tuple[str, list[tuple[str, str]]]:
    """Exact (case-preserving) path and query pairs of a request seen by requests_mock."""
    parts = urlsplit(request.url)
    return parts.path, parse_qsl(parts.query, keep_blank_values=True)


def body_bytes(request: Any) -> bytes:
    body = request.body
    if body is None:
        return b""
    return body if isinstance(body, bytes) else str(body).encode("utf-8")


def signature_valid(request: Any, *, secret_key: str = SK, access_key: str = AK) -> bool:
    """Recompute the SDK-HMAC-SHA256 signature on the receiving side, as the gateway does."""
    authorization = parse_authorization(request.headers.get("Authorization", ""))
    if authorization is None or authorization.access_key != access_key:
        return False
    path, query = url_parts(request)
    return verify_signature(
        method=request.method,
        path=path,
        query=query,
        headers=dict(request.headers),
        body=body_bytes(request),
        secret_key=secret_key,
        authorization=authorization,
    )


def assert_signed(request: Any) -> None:
    assert signature_valid(request), request.headers.get("Authorization")
    assert not signature_valid(request, secret_key=SK + "x"), "signature must depend on the secret key"
    signed = parse_authorization(request.headers["Authorization"])
    assert signed is not None
    assert {"host", "x-sdk-date", "content-type"} <= set(signed.signed_headers)


def iam_token_response(token: str = IAM_TOKEN) -> dict[str, Any]:
    """requests_mock kwargs for a successful ``POST /v3/auth/tokens``."""
    return {
        "status_code": 201,
        "headers": {"X-Subject-Token": token},
        "json": {"token": {"expires_at": IAM_EXPIRES, "methods": ["password"]}},
    }


def mef(data: Any = None, status: str = MEF_OK, msg: str = "success") -> dict[str, Any]:
    return {"status": status, "msg": msg, "data": data}
