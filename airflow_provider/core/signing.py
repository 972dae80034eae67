"""SDK-HMAC-SHA256 request signing, as a pure function.

It reproduces ``huaweicloudsdkcore.signer.signer.Signer`` byte for byte (tested against it as an
oracle) without depending on the SDK at run time. The same functions verify signatures in the
emulator, so the client and the emulator cannot drift apart silently.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

ALGORITHM = "SDK-HMAC-SHA256"
DATE_FORMAT = "%Y%m%dT%H%M%SZ"
HEADER_DATE = "X-Sdk-Date"
HEADER_CONTENT_SHA256 = "X-Sdk-Content-Sha256"
HEADER_SECURITY_TOKEN = "X-Security-Token"
HEADER_PROJECT_ID = "X-Project-Id"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

_AUTH_RE = re.compile(
    r"^SDK-HMAC-SHA256 Access=(?P<ak>[^,\s]+), SignedHeaders=(?P<signed>[^,\s]+), Signature=(?P<sig>[0-9a-f]+)$"
)


#: Characters ``quote(value, safe="~")`` leaves as they are: most path segments and query values,
#: returned without the (comparatively slow) general quoting.
_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]*")
#: A path made only of those and slashes is its own canonical form (the common case: ids are hex).
_UNRESERVED_PATH = re.compile(r"[A-Za-z0-9_.~/-]*")


def _encode(value: str) -> str:
    if _UNRESERVED.fullmatch(value):
        return value
    return quote(value, safe="~")


_now_text: tuple[int, str] = (-1, "")


def format_sdk_date(moment: datetime | None = None) -> str:
    """``moment`` (default: now) as an ``X-Sdk-Date`` value, ``20240102T030405Z``."""
    global _now_text  # noqa: PLW0603 - a one-entry cache: the text changes once a second, requests come faster
    if moment is None:
        second = int(time.time())
        if _now_text[0] != second:
            _now_text = (second, time.strftime(DATE_FORMAT, time.gmtime(second)))
        return _now_text[1]
    return moment.astimezone(timezone.utc).strftime(DATE_FORMAT)


def parse_sdk_date(value: str) -> datetime:
    """An ``X-Sdk-Date`` value as an aware UTC datetime; ``ValueError`` if it is not one."""
    return datetime.strptime(value, DATE_FORMAT).replace(tzinfo=timezone.utc)


def canonical_uri(path: str) -> str:
    """Un-quote, quote each segment with ``safe='~'``, always end with ``/``."""
    if _UNRESERVED_PATH.fullmatch(path):
        return path if path.endswith("/") else path + "/"
    encoded = "/".join(_encode(segment) for segment in (unquote(path) if "%" in path else path).split("/"))
    return encoded if encoded.endswith("/") else encoded + "/"


def canonical_query(query: Sequence[tuple[str, str]]) -> str:
    """Pairs sorted by (key, value) before encoding, as the SDK does; also the query we send."""
    return _canonical_query(tuple(query)) if query else ""


@functools.lru_cache(maxsize=1024)
def _canonical_query(query: tuple[tuple[str, str], ...]) -> str:
    """Cached: a wait sends the same query on every poll (and every CSS wait the same first page)."""
    return "&".join(f"{_encode(key)}={_encode(value)}" for key, value in sorted(query))


def signed_header_names(headers: Mapping[str, str]) -> list[str]:
    """The SDK signs every header whose name has no underscore."""
    return sorted({name.lower() for name in headers if "_" not in name})


def payload_hash(headers: Mapping[str, str], body: bytes) -> str:
    """The canonical payload hash: the empty body's, else a non-empty ``X-Sdk-Content-Sha256``, else the body's."""
    if not body:
        return EMPTY_SHA256
    for name, value in headers.items():
        if name.lower() == _CONTENT_SHA256_KEY and value:
            return value
    return hashlib.sha256(body).hexdigest()


_CONTENT_SHA256_KEY = HEADER_CONTENT_SHA256.lower()
_DATE_KEY = HEADER_DATE.lower()
_SECURITY_TOKEN_KEY = HEADER_SECURITY_TOKEN.lower()
_PROJECT_ID_KEY = HEADER_PROJECT_ID.lower()


def canonical_request(
    method: str,
    path: str,
    query: Sequence[tuple[str, str]],
    headers: Mapping[str, str],
    signed_headers: Sequence[str],
    body: bytes,
) -> str:
    """The SDK's canonical request: method, URI, query, signed headers, their names and the payload hash.

    :raises ValueError: a name in ``signed_headers`` is not among ``headers``.
    """
    lowered = {name.lower(): str(value).strip() for name, value in headers.items()}
    missing = [name for name in signed_headers if name not in lowered]
    if missing:
        raise ValueError(f"signed header(s) not present in the request: {', '.join(missing)}")
    return _canonical(method, path, query, lowered, signed_headers, payload_hash(headers, body))


def _canonical(
    method: str,
    path: str,
    query: Sequence[tuple[str, str]],
    lowered: Mapping[str, str],
    signed_headers: Sequence[str],
    body_hash: str,
) -> str:
    header_block = "".join(f"{name}:{lowered[name]}\n" for name in signed_headers)
    return (
        f"{method.upper()}\n{canonical_uri(path)}\n{canonical_query(query) if query else ''}\n"
        f"{header_block}\n{';'.join(signed_headers)}\n{body_hash}"
    )


def string_to_sign(canonical: str, sdk_date: str) -> str:
    """``SDK-HMAC-SHA256``, the ``X-Sdk-Date`` and the canonical request's hex SHA-256, one per line."""
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{sdk_date}\n{digest}"


def signature(secret_key: str, to_sign: str) -> str:
    """The hex HMAC-SHA256 of ``to_sign`` under the secret key."""
    return hmac.digest(secret_key.encode("utf-8"), to_sign.encode("utf-8"), "sha256").hex()


def sign_headers(
    *,
    method: str,
    host: str,
    path: str,
    query: Sequence[tuple[str, str]],
    headers: Mapping[str, str],
    body: bytes,
    access_key: str,
    secret_key: str,
    security_token: str | None = None,
    project_id: str | None = None,
    now: datetime | None = None,
) -> dict[str, str]:
    """Return the full header set to send: the given headers plus date, host, project, token and
    Authorization.

    ``host`` is the ``Host`` header value as sent (host, plus port if not the default). The
    returned dict must be sent as is: every header in it except Authorization is signed.
    ``project_id`` becomes a signed ``X-Project-Id``, as ``BasicCredentials.sign_request`` adds it
    to every request when the project is known: it names the project for the paths that have
    none (the DIS transfer-task log) and is "mandatory for AK/SK authentication in subprojects"
    (the services' common request headers).
    """
    if not access_key:
        raise ValueError("access key is empty")
    if not secret_key:
        raise ValueError("secret key is empty")
    out = {name: str(value).strip() for name, value in headers.items()}
    lowered = {name.lower(): value for name, value in out.items()}  # the last of repeated names wins
    content_type = lowered.get("content-type")
    if (
        content_type
        and not content_type.startswith("application/json")
        and not content_type.startswith("application/bson")
    ):
        out[HEADER_CONTENT_SHA256] = lowered[_CONTENT_SHA256_KEY] = UNSIGNED_PAYLOAD
    if project_id and _PROJECT_ID_KEY not in lowered:
        out[HEADER_PROJECT_ID] = lowered[_PROJECT_ID_KEY] = project_id
    if security_token and _SECURITY_TOKEN_KEY not in lowered:
        out[HEADER_SECURITY_TOKEN] = lowered[_SECURITY_TOKEN_KEY] = security_token
    if _DATE_KEY not in lowered:
        out[HEADER_DATE] = lowered[_DATE_KEY] = format_sdk_date(now)
    if "host" not in lowered:
        out["Host"] = lowered["host"] = host
    names = signed_header_names(lowered)
    canonical = _canonical(method, path, query, lowered, names, payload_hash(lowered, body))
    sig = signature(secret_key, string_to_sign(canonical, lowered[_DATE_KEY]))
    out["Authorization"] = f"{ALGORITHM} Access={access_key}, SignedHeaders={';'.join(names)}, Signature={sig}"
    return out


@dataclass(frozen=True, slots=True)
class ParsedAuthorization:
    """The parts of an ``SDK-HMAC-SHA256`` Authorization header: access key, signed header names, signature."""

    access_key: str
    signed_headers: tuple[str, ...]
    signature: str


def parse_authorization(value: str) -> ParsedAuthorization | None:
    """Split an ``SDK-HMAC-SHA256 Access=..., SignedHeaders=..., Signature=...`` value; None if it is not one."""
    match = _AUTH_RE.match(value.strip())
    if match is None:
        return None
    return ParsedAuthorization(
        access_key=match["ak"], signed_headers=tuple(match["signed"].split(";")), signature=match["sig"]
    )


def verify_signature(
    *,
    method: str,
    path: str,
    query: Sequence[tuple[str, str]],
    headers: Mapping[str, str],
    body: bytes,
    secret_key: str,
    authorization: ParsedAuthorization,
) -> bool:
    """Recompute the signature over exactly the headers named in ``SignedHeaders``."""
    sdk_date = next((v for k, v in headers.items() if k.lower() == HEADER_DATE.lower()), None)
    if sdk_date is None:
        return False
    try:
        canonical = canonical_request(method, path, query, headers, authorization.signed_headers, body)
    except ValueError:
        return False
    expected = signature(secret_key, string_to_sign(canonical, sdk_date.strip()))
    return hmac.compare_digest(expected, authorization.signature)
