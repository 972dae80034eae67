"""The API gateway's authentication check, as the cloud applies it before any service.

A request passes with a valid unexpired ``X-Auth-Token``, or with an SDK-HMAC-SHA256
signature recomputed over exactly the headers it names (plus ``X-Security-Token`` for a
temporary key). Failures carry the gateway's ``APIGW.030x`` codes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from airflow_provider.core.signing import parse_authorization, parse_sdk_date, verify_signature

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from airflow_provider.emulator.identity import IdentityStore

_BAD_IAM = "Incorrect IAM authentication information"


@dataclass(frozen=True)
class AuthFailure:
    code: str
    message: str
    status: int = 401


def check_request(
    store: IdentityStore,
    *,
    method: str,
    raw_path: str,
    query: Sequence[tuple[str, str]],
    headers: Mapping[str, str],
    body: bytes,
    max_skew: float,
) -> AuthFailure | None:
    """``headers`` must have lower-case names (ASGI gives them so)."""
    token = headers.get("x-auth-token")
    if token is not None:
        issued = store.token(token)
        if issued is None:
            return AuthFailure("APIGW.0301", f"{_BAD_IAM}: decrypt token fail")
        if issued.expires_at <= time.time():
            return AuthFailure("APIGW.0301", f"{_BAD_IAM}: token expires")
        return None
    authorization = headers.get("authorization")
    if authorization is None:
        return AuthFailure("APIGW.0301", f"{_BAD_IAM}: x-auth-token not found")
    parsed = parse_authorization(authorization)
    if parsed is None:
        return AuthFailure("APIGW.0301", f"{_BAD_IAM}: verify aksk signature fail, unsupported Authorization")
    sdk_date = headers.get("x-sdk-date")
    if sdk_date is None or "x-sdk-date" not in parsed.signed_headers:
        return AuthFailure("APIGW.0303", "Incorrect app authentication information: X-Sdk-Date is missing or unsigned")
    try:
        skew = abs(parse_sdk_date(sdk_date.strip()).timestamp() - time.time())
    except ValueError:
        return AuthFailure("APIGW.0303", "Incorrect app authentication information: X-Sdk-Date is invalid")
    if skew > max_skew:
        return AuthFailure(
            "APIGW.0303", "Incorrect app authentication information: X-Sdk-Date expired (more than 15 min skew)"
        )
    key = store.lookup_key(parsed.access_key)
    if key is None:
        return AuthFailure("APIGW.0301", f"{_BAD_IAM}: access key not found")
    if key.security_token is not None:
        sent = headers.get("x-security-token")
        if sent is None:
            return AuthFailure("APIGW.0301", f"{_BAD_IAM}: security token required for temporary access key")
        if sent != key.security_token:
            return AuthFailure("APIGW.0301", f"{_BAD_IAM}: security token mismatch")
        if key.expires_at is not None and key.expires_at <= time.time():
            return AuthFailure("APIGW.0301", f"{_BAD_IAM}: security token expires")
    ok = verify_signature(
        method=method,
        path=raw_path,
        query=query,
        headers=headers,
        body=body,
        secret_key=key.secret_key,
        authorization=parsed,
    )
    if not ok:
        return AuthFailure("APIGW.0301", f"{_BAD_IAM}: verify aksk signature fail")
    return None
