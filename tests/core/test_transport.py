"""The sync transport against requests-mock: signing, retries, auth refresh, errors, downloads."""

from __future__ import annotations

import contextlib
import gzip
import json
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests

from airflow_provider.core import signing
from airflow_provider.core.auth import AkSkAuth, Auth, IamTokenAuth, IssuedToken, NoAuth, StaticTokenAuth, TokenCache
from airflow_provider.core.errors import (
    ApiError,
    AuthenticationError,
    DumpBusyError,
    EdgeManagerError,
    HuaweiCloudError,
    NotFoundError,
    RateLimitedError,
    TransportError,
)
from airflow_provider.core.request import ApiRequest
from airflow_provider.core.response import ApiResponse
from airflow_provider.core.retry import NO_RETRY, RetryPolicy
from airflow_provider.core.throttle import Throttle
from airflow_provider.core.transport import USER_AGENT, SyncTransport, TransportSettings
from airflow_provider.core.validation import build_path

if TYPE_CHECKING:
    from pathlib import Path

BASE = "https://svc.example.com"
AK, SK = "TESTAK", "TESTSK-secret"
FIXED = datetime(2024, 6, 1, 12, 0, 0, tzinfo=timezone.utc)
RETRY = RetryPolicy(max_attempts=4, base_delay=1.0, max_delay=30.0, jitter=0.0, max_elapsed=1000.0)

REFUSED = requests.exceptions.ConnectionError(
    "HTTPSConnectionPool(host='svc.example.com', port=443): Max retries exceeded with url: /x "
    "(Caused by NewConnectionError('<urllib3.connection.HTTPSConnection object at 0x7f>: "
    "Failed to establish a new connection: [Errno 111] Connection refused'))"
)
RESET = requests.exceptions.ConnectionError(
    "('Connection aborted.', ConnectionResetError(104, 'Connection reset by peer'))"
)


class Clock:
    """A fake monotonic clock that advances only when the transport sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


def aksk() -> AkSkAuth:
    return AkSkAuth(access_key=AK, secret_key=SK, clock=lambda: FIXED)


def make(
    clock: Clock,
    *,
    auth: Auth | None = None,
    retry: RetryPolicy = RETRY,
    base: str = BASE,
    throttle: Throttle | None = None,
) -> SyncTransport:
    settings = TransportSettings(
        base_url_for=lambda _service: base, auth=auth or aksk(), retry=retry, throttle=throttle
    )
    return SyncTransport(settings, sleep=clock.sleep, clock=clock)


def get(path: str = "/v1/p/things", **kwargs: Any) -> ApiRequest:
    return ApiRequest(service="svc", method="GET", path=path, **kwargs)


def post(path: str = "/v1/p/things", *, idempotent: bool = False, **kwargs: Any) -> ApiRequest:
    return ApiRequest(service="svc", method="POST", path=path, idempotent=idempotent, **kwargs)


def received_signature_ok(received: Any, secret: str = SK) -> bool:
    """Verify the request as the mock received it, from the raw URL (requests-mock lowercases .path)."""
    parts = urlsplit(received.url)
    headers = dict(received.headers)
    parsed = signing.parse_authorization(headers["Authorization"])
    assert parsed is not None
    body = received.body or b""
    if isinstance(body, str):
        body = body.encode()
    return signing.verify_signature(
        method=received.method,
        path=parts.path,
        query=parse_qsl(parts.query, keep_blank_values=True),
        headers=headers,
        body=body,
        secret_key=secret,
        authorization=parsed,
    )


# --------------------------------------------------------------------------- success and signing


def test_success_returns_api_response(requests_mock, clock: Clock):
    requests_mock.get(f"{BASE}/v1/p/things", json={"items": [1]}, headers={"X-Request-Id": "rid-7"})
    response = make(clock).send(get())
    assert isinstance(response, ApiResponse)
    assert response.status == 200
    assert response.json_object() == {"items": [1]}
    assert response.request_id == "rid-7"
    assert clock.sleeps == []


def test_signature_query_and_headers_sent(requests_mock, clock: Clock):
    requests_mock.get(f"{BASE}/v1/p/things", json={})
    query = (("marker", "a b/c"), ("limit", "10"), ("status", ""), ("limit", "2"), ("name", "日志"))
    make(clock).send(get(query=query, headers=(("X-Project-Id", "p"),)))
    received = requests_mock.last_request
    assert urlsplit(received.url).query == signing.canonical_query(query)
    assert received.headers["X-Sdk-Date"] == "20240601T120000Z"
    assert received.headers["User-Agent"] == USER_AGENT
    assert received.headers["Host"] == "svc.example.com"
    parsed = signing.parse_authorization(received.headers["Authorization"])
    assert parsed is not None and parsed.access_key == AK
    assert set(parsed.signed_headers) >= {"content-type", "host", "user-agent", "x-project-id", "x-sdk-date"}
    assert received_signature_ok(received)
    assert not received_signature_ok(received, secret="other")


def test_post_body_is_the_signed_body(requests_mock, clock: Clock):
    requests_mock.post("https://10.0.0.1:30035/edgemanager/v1/logmgmt/dump/task", json={"status": "00000000"})
    request = post("/edgemanager/v1/logmgmt/dump/task", body={"module": "edgeNode", "edgeNodes": [2], "n": "ü"})
    make(clock, base="https://10.0.0.1:30035").send(request)
    received = requests_mock.last_request
    assert received.body == request.body_bytes()
    assert json.loads(received.body) == {"module": "edgeNode", "edgeNodes": [2], "n": "ü"}
    assert received.headers["Host"] == "10.0.0.1:30035"
    assert received_signature_ok(received)


def test_encoded_path_and_base_path_prefix(requests_mock, clock: Clock):
    path = build_path("/v1/{project_id}/clusters/{cluster_id}", project_id="p", cluster_id="my clüster")
    requests_mock.get(requests_mock_any_url(), json={})
    make(clock, base="https://svc.example.com/gateway/").send(get(path))
    received = requests_mock.last_request
    assert urlsplit(received.url).path == "/gateway/v1/p/clusters/my%20cl%C3%BCster"
    assert received_signature_ok(received)


def requests_mock_any_url() -> Any:
    import requests_mock as rm

    return rm.ANY


def test_non_http_endpoint_is_refused(clock: Clock):
    with pytest.raises(HuaweiCloudError, match="not an http"):
        make(clock, base="ftp://svc.example.com").send(get())


def test_throttle_is_held_per_host(requests_mock, clock: Clock):
    held: list[str] = []

    class RecordingThrottle(Throttle):
        def hold(self, host: str) -> Any:
            held.append(host)
            return super().hold(host)

    requests_mock.get(f"{BASE}/v1/p/things", json={})
    make(clock, throttle=RecordingThrottle(min_interval=0.0)).send(get())
    assert held == ["svc.example.com"]


# --------------------------------------------------------------------------- retries


def test_429_with_retry_after_then_success(requests_mock, clock: Clock):
    requests_mock.get(
        f"{BASE}/v1/p/things",
        [
            {
                "status_code": 429,
                "json": {"error_code": "APIGW.0308", "error_msg": "throttled"},
                "headers": {"Retry-After": "7"},
            },
            {"status_code": 200, "json": {"ok": True}},
        ],
    )
    response = make(clock).send(get())
    assert response.status == 200
    assert requests_mock.call_count == 2
    assert len(clock.sleeps) == 1 and clock.sleeps[0] >= 7.0


def test_retried_request_is_signed_again(requests_mock, clock: Clock):
    requests_mock.get(f"{BASE}/v1/p/things", [{"status_code": 503}, {"status_code": 200, "json": {}}])
    make(clock).send(get(query=(("a", "1"),)))
    assert all(received_signature_ok(r) for r in requests_mock.request_history)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_then_success(requests_mock, clock: Clock, status: int):
    requests_mock.get(
        f"{BASE}/v1/p/things", [{"status_code": status, "text": "oops"}, {"status_code": 200, "json": {}}]
    )
    assert make(clock).send(get()).status == 200
    assert requests_mock.call_count == 2
    assert clock.sleeps == [1.0]


def test_exhausted_429_raises_rate_limited(requests_mock, clock: Clock):
    requests_mock.get(
        f"{BASE}/v1/p/things", status_code=429, json={"error_code": "APIGW.0308", "error_msg": "slow down"}
    )
    with pytest.raises(RateLimitedError) as info:
        make(clock).send(get())
    assert info.value.status == 429
    assert info.value.error_code == "APIGW.0308"
    assert requests_mock.call_count == RETRY.max_attempts
    assert clock.sleeps == [1.0, 2.0, 4.0]


def test_exhausted_5xx_raises_api_error_with_status(requests_mock, clock: Clock):
    requests_mock.get(f"{BASE}/v1/p/things", status_code=503, json={"error_code": "SYS.503", "error_msg": "busy"})
    with pytest.raises(ApiError) as info:
        make(clock).send(get())
    assert type(info.value) is ApiError
    assert info.value.status == 503
    assert requests_mock.call_count == RETRY.max_attempts


def test_max_elapsed_stops_retrying(requests_mock, clock: Clock):
    requests_mock.get(f"{BASE}/v1/p/things", status_code=503)
    policy = RetryPolicy(max_attempts=50, base_delay=1.0, jitter=0.0, max_elapsed=10.0)
    with pytest.raises(ApiError):
        make(clock, retry=policy).send(get())
    assert clock.sleeps == [1.0, 2.0, 4.0]  # the next (8 s) would pass 10 s in total
    assert sum(clock.sleeps) <= 10.0


def test_non_idempotent_not_retried_on_503(requests_mock, clock: Clock):
    requests_mock.post(f"{BASE}/v1/p/things", [{"status_code": 503}, {"status_code": 200, "json": {}}])
    with pytest.raises(ApiError) as info:
        make(clock).send(post())
    assert info.value.status == 503
    assert requests_mock.call_count == 1
    assert clock.sleeps == []


def test_non_idempotent_retried_on_429(requests_mock, clock: Clock):
    requests_mock.post(f"{BASE}/v1/p/things", [{"status_code": 429}, {"status_code": 200, "json": {}}])
    assert make(clock).send(post()).status == 200
    assert requests_mock.call_count == 2


def test_non_idempotent_retried_on_connection_refused(requests_mock, clock: Clock):
    requests_mock.post(f"{BASE}/v1/p/things", [{"exc": REFUSED}, {"status_code": 200, "json": {}}])
    assert make(clock).send(post()).status == 200
    assert requests_mock.call_count == 2
    assert len(clock.sleeps) == 1


def test_non_idempotent_retried_on_connect_timeout(requests_mock, clock: Clock):
    timeout = requests.exceptions.ConnectTimeout("connect timed out")
    requests_mock.post(f"{BASE}/v1/p/things", [{"exc": timeout}, {"status_code": 200, "json": {}}])
    assert make(clock).send(post()).status == 200


@pytest.mark.parametrize("exc", [requests.exceptions.ReadTimeout("read timed out"), RESET])
def test_non_idempotent_not_retried_when_it_may_have_arrived(requests_mock, clock: Clock, exc: Exception):
    requests_mock.post(f"{BASE}/v1/p/things", [{"exc": exc}, {"status_code": 200, "json": {}}])
    with pytest.raises(TransportError) as info:
        make(clock).send(post())
    assert info.value.reached_server is True
    assert "may have reached the service" in str(info.value)
    assert requests_mock.call_count == 1


@pytest.mark.parametrize("exc", [requests.exceptions.ReadTimeout("read timed out"), RESET, REFUSED])
def test_reads_retried_on_network_failures(requests_mock, clock: Clock, exc: Exception):
    requests_mock.get(f"{BASE}/v1/p/things", [{"exc": exc}, {"exc": exc}, {"status_code": 200, "json": {}}])
    assert make(clock).send(get()).status == 200
    assert requests_mock.call_count == 3
    assert clock.sleeps == [1.0, 2.0]


def test_exhausted_connection_failures_raise_transport_error(requests_mock, clock: Clock):
    requests_mock.get(f"{BASE}/v1/p/things", exc=REFUSED)
    with pytest.raises(TransportError) as info:
        make(clock).send(get())
    assert "4 attempt(s)" in str(info.value)
    assert str(info.value).startswith("svc: GET /v1/p/things")
    assert requests_mock.call_count == RETRY.max_attempts


def test_tls_error_is_not_retried(requests_mock, clock: Clock):
    requests_mock.get(f"{BASE}/v1/p/things", exc=requests.exceptions.SSLError("certificate verify failed"))
    with pytest.raises(TransportError, match="TLS error"):
        make(clock).send(get())
    assert requests_mock.call_count == 1


# --------------------------------------------------------------------------- authentication


class CountingFetcher:
    def __init__(self) -> None:
        self.calls = 0

    @property
    def cache_key(self) -> tuple[str, ...]:
        return ("iam", "d", "u", "p")

    def fetch(self) -> IssuedToken:
        self.calls += 1
        return IssuedToken(value=f"tok-{self.calls}", expires_at=datetime.now(timezone.utc) + timedelta(hours=24))

    async def afetch(self) -> IssuedToken:
        return self.fetch()


def test_401_refreshes_iam_token_once(requests_mock, clock: Clock):
    fetcher = CountingFetcher()
    auth = IamTokenAuth(fetcher=fetcher, cache=TokenCache())
    requests_mock.get(f"{BASE}/v1/p/things", [{"status_code": 401}, {"status_code": 200, "json": {}}])
    assert make(clock, auth=auth).send(get()).status == 200
    sent = [r.headers["X-Auth-Token"] for r in requests_mock.request_history]
    assert sent == ["tok-1", "tok-2"]
    assert fetcher.calls == 2
    assert clock.sleeps == []


def test_401_twice_raises_authentication_error(requests_mock, clock: Clock):
    fetcher = CountingFetcher()
    auth = IamTokenAuth(fetcher=fetcher, cache=TokenCache())
    requests_mock.get(
        f"{BASE}/v1/p/things", status_code=401, json={"error_code": "APIGW.0301", "error_msg": "token expires"}
    )
    with pytest.raises(AuthenticationError) as info:
        make(clock, auth=auth).send(get())
    assert info.value.error_code == "APIGW.0301"
    assert requests_mock.call_count == 2
    assert fetcher.calls == 2


def test_401_with_static_token_is_final(requests_mock, clock: Clock):
    requests_mock.get(f"{BASE}/v1/p/things", [{"status_code": 401}, {"status_code": 200, "json": {}}])
    with pytest.raises(AuthenticationError):
        make(clock, auth=StaticTokenAuth(token="t")).send(get())
    assert requests_mock.call_count == 1
    assert requests_mock.last_request.headers["X-Auth-Token"] == "t"


def test_401_with_aksk_is_final(requests_mock, clock: Clock):
    requests_mock.get(f"{BASE}/v1/p/things", [{"status_code": 401}, {"status_code": 200, "json": {}}])
    with pytest.raises(AuthenticationError):
        make(clock).send(get())
    assert requests_mock.call_count == 1


# --------------------------------------------------------------------------- error bodies


def test_404_not_found(requests_mock, clock: Clock):
    requests_mock.get(
        f"{BASE}/v1/p/things", status_code=404, json={"error_code": "CSS.0015", "error_msg": "no cluster"}
    )
    with pytest.raises(NotFoundError) as info:
        make(clock).send(get())
    assert (info.value.status, info.value.error_code, info.value.error_msg) == (404, "CSS.0015", "no cluster")
    assert requests_mock.call_count == 1


def test_html_error_body(requests_mock, clock: Clock):
    html = "<html><head><title>502 Bad Gateway</title></head><body>" + "x" * 5000 + "</body></html>"
    requests_mock.get(f"{BASE}/v1/p/things", status_code=502, text=html, headers={"Content-Type": "text/html"})
    with pytest.raises(ApiError) as info:
        make(clock, retry=NO_RETRY).send(get())
    message = str(info.value)
    assert "HTTP 502" in message
    assert "HTML" in message
    assert len(message) < 200 and "<html>" not in message


@pytest.mark.parametrize(
    ("status", "body", "cls", "code", "msg"),
    [
        (400, {"error_code": "DCS.4065", "error_msg": "bad task"}, ApiError, "DCS.4065", "bad task"),
        # "The stream does not exist." (DIS error code appendix): not found, whatever the status
        (400, {"errorCode": "DIS.4301", "message": "stream missing"}, NotFoundError, "DIS.4301", None),
        pytest.param(
            409,
            {"code": "C1", "message": "conflict"},
            ApiError,
            "C1",
            "conflict",
        ),
        (400, {"status": "40052001", "msg": "log dump busy"}, DumpBusyError, "40052001", "log dump busy"),
        (400, {"status": "40051002", "msg": "node (3) not found"}, EdgeManagerError, "40051002", "node (3) not found"),
    ],
)
def test_error_envelopes(requests_mock, clock: Clock, status, body, cls, code, msg):
    requests_mock.post(f"{BASE}/v1/p/things", status_code=status, json=body)
    with pytest.raises(ApiError) as info:
        make(clock).send(post())
    assert type(info.value) is cls
    assert info.value.status == status
    assert info.value.error_code == code
    if msg is not None:
        assert info.value.error_msg == msg


def test_request_id_from_body_and_header(requests_mock, clock: Clock):
    requests_mock.get(
        f"{BASE}/a", status_code=400, json={"error_code": "E", "error_msg": "m", "request_id": "body-rid"}
    )
    requests_mock.get(f"{BASE}/b", status_code=400, json={"error_code": "E"}, headers={"X-Request-Id": "hdr-rid"})
    with pytest.raises(ApiError) as first:
        make(clock).send(get("/a"))
    with pytest.raises(ApiError) as second:
        make(clock).send(get("/b"))
    assert first.value.request_id == "body-rid"
    assert second.value.request_id == "hdr-rid"
    assert "hdr-rid" in str(second.value)


def test_request_id_header_lookup_is_case_insensitive(requests_mock, clock: Clock):
    requests_mock.get(f"{BASE}/b", status_code=400, json={"error_code": "E"}, headers={"X-Request-ID": "hdr-rid"})
    with pytest.raises(ApiError) as info:
        make(clock).send(get("/b"))
    assert info.value.request_id == "hdr-rid"


def test_expected_statuses(requests_mock, clock: Clock):
    requests_mock.post(f"{BASE}/v1/p/things", status_code=202, json={"export_id": "1"})
    assert make(clock).send(post(expected=(202,))).status == 202
    with pytest.raises(ApiError) as info:
        make(clock).send(post())
    assert info.value.status == 202


def test_no_auth_sends_no_credentials(requests_mock, clock: Clock):
    requests_mock.get(f"{BASE}/v1/p/things", json={})
    make(clock, auth=NoAuth()).send(get())
    headers = requests_mock.last_request.headers
    assert "Authorization" not in headers and "X-Auth-Token" not in headers


# --------------------------------------------------------------------------- downloads

PAYLOAD = bytes(range(256)) * 300  # 76.8 kB: more than one download chunk
URL_DL = f"{BASE}/edgemanager/v1/logmgmt/dump/download/edgeNodes.tar.gz"


def dl_request() -> ApiRequest:
    return get("/edgemanager/v1/logmgmt/dump/download/edgeNodes.tar.gz", stream=True)


def full() -> dict[str, Any]:
    return {"status_code": 200, "content": PAYLOAD, "headers": {"Content-Length": str(len(PAYLOAD))}}


def short() -> dict[str, Any]:
    return {"status_code": 200, "content": PAYLOAD[:1000], "headers": {"Content-Length": str(len(PAYLOAD))}}


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part"))


def test_download_writes_the_file(requests_mock, clock: Clock, tmp_path: Path):
    requests_mock.get(URL_DL, [full()])
    destination = tmp_path / "out" / "edgeNodes.tar.gz"
    result = make(clock).download(dl_request(), destination)
    assert result == destination
    assert destination.read_bytes() == PAYLOAD
    assert _leftovers(destination.parent) == []
    assert received_signature_ok(requests_mock.last_request)


def test_download_without_content_length(requests_mock, clock: Clock, tmp_path: Path):
    requests_mock.get(URL_DL, content=PAYLOAD)
    destination = tmp_path / "edgeNodes.tar.gz"
    make(clock).download(dl_request(), destination)
    assert destination.read_bytes() == PAYLOAD


def test_download_short_body_is_retried(requests_mock, clock: Clock, tmp_path: Path):
    requests_mock.get(URL_DL, [short(), short(), full()])
    destination = tmp_path / "edgeNodes.tar.gz"
    make(clock).download(dl_request(), destination)
    assert destination.read_bytes() == PAYLOAD
    assert requests_mock.call_count == 3
    assert _leftovers(tmp_path) == []


def test_download_always_short_leaves_nothing(requests_mock, clock: Clock, tmp_path: Path):
    requests_mock.get(URL_DL, [short() for _ in range(RETRY.max_attempts)])
    destination = tmp_path / "edgeNodes.tar.gz"
    with pytest.raises(TransportError):
        make(clock).download(dl_request(), destination)
    assert not destination.exists()
    assert list(tmp_path.iterdir()) == []
    assert requests_mock.call_count == RETRY.max_attempts


def test_download_failure_keeps_previous_file(requests_mock, clock: Clock, tmp_path: Path):
    destination = tmp_path / "edgeNodes.tar.gz"
    destination.write_bytes(b"previous complete download")
    requests_mock.get(URL_DL, [short() for _ in range(RETRY.max_attempts)])
    with pytest.raises(TransportError):
        make(clock).download(dl_request(), destination)
    assert destination.read_bytes() == b"previous complete download"
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("status", [400, 404])
def test_download_error_status_leaves_no_file(requests_mock, clock: Clock, tmp_path: Path, status: int):
    requests_mock.get(URL_DL, status_code=status, json={"status": "40052002", "msg": "no logs to download"})
    destination = tmp_path / "edgeNodes.tar.gz"
    with pytest.raises(EdgeManagerError) as info:
        make(clock).download(dl_request(), destination)
    assert info.value.error_msg == "no logs to download"
    assert list(tmp_path.iterdir()) == []


def test_download_503_then_success(requests_mock, clock: Clock, tmp_path: Path):
    requests_mock.get(URL_DL, [{"status_code": 503, "text": "busy"}, full()])
    destination = tmp_path / "edgeNodes.tar.gz"
    make(clock).download(dl_request(), destination)
    assert destination.read_bytes() == PAYLOAD
    assert clock.sleeps == [1.0]


def test_download_odd_content_length_leaves_no_part_file(requests_mock, clock: Clock, tmp_path: Path):
    n = str(len(PAYLOAD))
    requests_mock.get(URL_DL, content=PAYLOAD, headers={"Content-Length": f"{n}, {n}"})
    destination = tmp_path / "edgeNodes.tar.gz"
    with contextlib.suppress(HuaweiCloudError):
        make(clock).download(dl_request(), destination)
    assert _leftovers(tmp_path) == []


def test_download_with_content_encoding(requests_mock, clock: Clock, tmp_path: Path):
    encoded = gzip.compress(PAYLOAD)
    requests_mock.get(
        URL_DL, content=encoded, headers={"Content-Encoding": "gzip", "Content-Length": str(len(encoded))}
    )
    destination = tmp_path / "edgeNodes.tar.gz"
    make(clock).download(dl_request(), destination)
    assert destination.read_bytes() in (PAYLOAD, encoded)


# --------------------------------------------------------------------------- a real refused connection


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_real_refused_connection_is_classified_as_not_sent(clock: Clock):
    """No mock: the message requests really produces must be recognised as 'never reached the server'."""
    transport = make(clock, base=f"http://127.0.0.1:{_closed_port()}", retry=RetryPolicy(max_attempts=3, jitter=0))
    with pytest.raises(TransportError) as info:
        transport.send(post())  # non-idempotent: retried only because the connection was refused
    assert clock.sleeps == [1.0, 2.0]
    assert "connection refused" in str(info.value)
    assert info.value.reached_server is not True
