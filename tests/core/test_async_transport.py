"""The async transport over httpx.MockTransport: the same matrix as the sync transport."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest

from airflow_provider.core import signing
from airflow_provider.core.async_transport import AsyncTransport, close_shared_clients, shared_client
from airflow_provider.core.auth import AkSkAuth, Auth, IamTokenAuth, IssuedToken, StaticTokenAuth, TokenCache
from airflow_provider.core.errors import (
    ApiError,
    AuthenticationError,
    DumpBusyError,
    EdgeManagerError,
    NotFoundError,
    RateLimitedError,
    TransportError,
)
from airflow_provider.core.request import ApiRequest
from airflow_provider.core.response import ApiResponse
from airflow_provider.core.retry import NO_RETRY, RetryPolicy
from airflow_provider.core.throttle import Throttle
from airflow_provider.core.transport import USER_AGENT, TlsSettings, TransportSettings
from airflow_provider.core.validation import build_path

BASE = "https://svc.example.com"
AK, SK = "TESTAK", "TESTSK-secret"
FIXED = datetime(2024, 6, 1, 12, 0, 0, tzinfo=timezone.utc)
RETRY = RetryPolicy(max_attempts=4, base_delay=1.0, max_delay=30.0, jitter=0.0, max_elapsed=1000.0)

Step = httpx.Response | Exception


class Server:
    """Answers with the scripted steps in order (the last one repeats) and records each request."""

    def __init__(self, *steps: Step) -> None:
        self.steps = list(steps)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        step = self.steps.pop(0) if len(self.steps) > 1 else self.steps[0]
        if isinstance(step, Exception):
            raise step
        return step


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


def aksk() -> AkSkAuth:
    return AkSkAuth(access_key=AK, secret_key=SK, clock=lambda: FIXED)


def make(
    server: Server,
    clock: Clock,
    *,
    auth: Auth | None = None,
    retry: RetryPolicy = RETRY,
    base: str = BASE,
    throttle: Throttle | None = None,
) -> AsyncTransport:
    settings = TransportSettings(
        base_url_for=lambda _service: base, auth=auth or aksk(), retry=retry, throttle=throttle
    )
    client = httpx.AsyncClient(transport=httpx.MockTransport(server))
    return AsyncTransport(settings, client=client, sleep=clock.sleep, clock=clock)


def get(path: str = "/v1/p/things", **kwargs: Any) -> ApiRequest:
    return ApiRequest(service="svc", method="GET", path=path, **kwargs)


def post(path: str = "/v1/p/things", *, idempotent: bool = False, **kwargs: Any) -> ApiRequest:
    return ApiRequest(service="svc", method="POST", path=path, idempotent=idempotent, **kwargs)


def ok(body: object = None, **kwargs: Any) -> httpx.Response:
    return httpx.Response(200, json={} if body is None else body, **kwargs)


def raw_path_and_query(request: httpx.Request) -> tuple[str, str]:
    raw = request.url.raw_path.decode("ascii")
    path, _, query = raw.partition("?")
    return path, query


def signature_ok(request: httpx.Request, secret: str = SK) -> bool:
    path, query = raw_path_and_query(request)
    headers = dict(request.headers)
    parsed = signing.parse_authorization(headers["authorization"])
    assert parsed is not None
    return signing.verify_signature(
        method=request.method,
        path=path,
        query=parse_qsl(query, keep_blank_values=True),
        headers=headers,
        body=request.content,
        secret_key=secret,
        authorization=parsed,
    )


REFUSED = httpx.ConnectError("[Errno 111] Connection refused")


# --------------------------------------------------------------------------- success and signing


async def test_success_with_verified_signature(clock: Clock):
    server = Server(ok({"items": [1]}, headers={"X-Request-Id": "rid-1"}))
    query = (("marker", "a b/c"), ("limit", "10"), ("status", ""), ("limit", "2"), ("name", "日志"))
    response = await make(server, clock).send(get(query=query, headers=(("X-Project-Id", "p"),)))
    assert isinstance(response, ApiResponse)
    assert response.json_object() == {"items": [1]}
    assert response.request_id == "rid-1"
    (sent,) = server.requests
    assert raw_path_and_query(sent) == ("/v1/p/things", signing.canonical_query(query))
    assert sent.headers["Host"] == "svc.example.com"
    assert sent.headers["User-Agent"] == USER_AGENT
    assert sent.headers["X-Sdk-Date"] == "20240601T120000Z"
    assert signature_ok(sent)
    assert not signature_ok(sent, secret="wrong")
    assert clock.sleeps == []


async def test_post_body_and_encoded_path(clock: Clock):
    server = Server(ok())
    path = build_path("/v1/{project_id}/clusters/{cluster_id}/logs/collect", project_id="p", cluster_id="c ü")
    request = post(path, body={"a": "ü", "n": [1, 2]})
    await make(server, clock, base="https://10.0.0.1:30035/prefix").send(request)
    (sent,) = server.requests
    assert sent.content == request.body_bytes()
    assert json.loads(sent.content) == {"a": "ü", "n": [1, 2]}
    assert raw_path_and_query(sent)[0] == "/prefix/v1/p/clusters/c%20%C3%BC/logs/collect"
    assert sent.headers["Host"] == "10.0.0.1:30035"
    assert signature_ok(sent)


async def test_throttle_is_used(clock: Clock):
    held: list[str] = []

    class RecordingThrottle(Throttle):
        def ahold(self, host: str) -> Any:
            held.append(host)
            return super().ahold(host)

    await make(Server(ok()), clock, throttle=RecordingThrottle(min_interval=0.0)).send(get())
    assert held == ["svc.example.com"]


# --------------------------------------------------------------------------- retries


async def test_429_retry_after_then_success(clock: Clock):
    throttled = httpx.Response(429, headers={"Retry-After": "9"}, json={"error_code": "APIGW.0308"})
    server = Server(throttled, ok())
    assert (await make(server, clock).send(get())).status == 200
    assert len(server.requests) == 2
    assert len(clock.sleeps) == 1 and clock.sleeps[0] >= 9.0
    assert all(signature_ok(r) for r in server.requests)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_5xx_then_success(clock: Clock, status: int):
    server = Server(httpx.Response(status, text="oops"), ok())
    assert (await make(server, clock).send(get())).status == 200
    assert len(server.requests) == 2
    assert clock.sleeps == [1.0]


async def test_exhausted_429(clock: Clock):
    server = Server(httpx.Response(429, json={"error_code": "APIGW.0308", "error_msg": "slow down"}))
    with pytest.raises(RateLimitedError) as info:
        await make(server, clock).send(get())
    assert info.value.error_msg == "slow down"
    assert len(server.requests) == RETRY.max_attempts
    assert clock.sleeps == [1.0, 2.0, 4.0]


async def test_exhausted_5xx(clock: Clock):
    server = Server(httpx.Response(502, json={"error_code": "GW", "error_msg": "bad gateway"}))
    with pytest.raises(ApiError) as info:
        await make(server, clock).send(get())
    assert type(info.value) is ApiError and info.value.status == 502
    assert len(server.requests) == RETRY.max_attempts


async def test_non_idempotent_not_retried_on_503(clock: Clock):
    server = Server(httpx.Response(503), ok())
    with pytest.raises(ApiError) as info:
        await make(server, clock).send(post())
    assert info.value.status == 503
    assert len(server.requests) == 1 and clock.sleeps == []


async def test_non_idempotent_retried_on_429(clock: Clock):
    server = Server(httpx.Response(429), ok())
    assert (await make(server, clock).send(post())).status == 200
    assert len(server.requests) == 2


@pytest.mark.parametrize("exc", [REFUSED, httpx.ConnectTimeout("connect timed out")])
async def test_non_idempotent_retried_when_not_sent(clock: Clock, exc: Exception):
    server = Server(exc, ok())
    assert (await make(server, clock).send(post())).status == 200
    assert len(server.requests) == 2


@pytest.mark.parametrize("exc", [httpx.ReadTimeout("read timed out"), httpx.RemoteProtocolError("server disconnected")])
async def test_non_idempotent_not_retried_when_it_may_have_arrived(clock: Clock, exc: Exception):
    server = Server(exc, ok())
    with pytest.raises(TransportError) as info:
        await make(server, clock).send(post())
    assert info.value.reached_server is True
    assert len(server.requests) == 1


@pytest.mark.parametrize("exc", [REFUSED, httpx.ReadTimeout("read timed out"), httpx.ReadError("reset")])
async def test_reads_retried_on_network_failures(clock: Clock, exc: Exception):
    server = Server(exc, exc, ok())
    assert (await make(server, clock).send(get())).status == 200
    assert len(server.requests) == 3
    assert clock.sleeps == [1.0, 2.0]


async def test_exhausted_connection_failures(clock: Clock):
    server = Server(REFUSED)
    with pytest.raises(TransportError, match="4 attempt"):
        await make(server, clock).send(get())
    assert len(server.requests) == RETRY.max_attempts


async def test_tls_connect_error_is_not_retried(clock: Clock):
    server = Server(httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"), ok())
    with pytest.raises(TransportError, match="CERTIFICATE_VERIFY_FAILED"):
        await make(server, clock).send(get())
    assert len(server.requests) == 1


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


async def test_401_refreshes_token_once(clock: Clock):
    fetcher = CountingFetcher()
    server = Server(httpx.Response(401), ok())
    auth = IamTokenAuth(fetcher=fetcher, cache=TokenCache())
    assert (await make(server, clock, auth=auth).send(get())).status == 200
    assert [r.headers["X-Auth-Token"] for r in server.requests] == ["tok-1", "tok-2"]
    assert clock.sleeps == []


async def test_401_twice_raises(clock: Clock):
    fetcher = CountingFetcher()
    server = Server(httpx.Response(401, json={"error_code": "APIGW.0301", "error_msg": "token expires"}))
    with pytest.raises(AuthenticationError) as info:
        await make(server, clock, auth=IamTokenAuth(fetcher=fetcher, cache=TokenCache())).send(get())
    assert info.value.error_code == "APIGW.0301"
    assert len(server.requests) == 2 and fetcher.calls == 2


async def test_401_static_token_not_retried(clock: Clock):
    server = Server(httpx.Response(401), ok())
    with pytest.raises(AuthenticationError):
        await make(server, clock, auth=StaticTokenAuth(token="t")).send(get())
    assert len(server.requests) == 1


# --------------------------------------------------------------------------- error bodies


async def test_404(clock: Clock):
    server = Server(httpx.Response(404, json={"error_code": "DCS.4065", "error_msg": "no task"}))
    with pytest.raises(NotFoundError) as info:
        await make(server, clock).send(get())
    assert (info.value.error_code, info.value.error_msg) == ("DCS.4065", "no task")


async def test_html_body(clock: Clock):
    html = "<!DOCTYPE html><html><body>" + "y" * 4000 + "</body></html>"
    server = Server(httpx.Response(502, text=html, headers={"Content-Type": "text/html"}))
    with pytest.raises(ApiError) as info:
        await make(server, clock, retry=NO_RETRY).send(get())
    assert "HTTP 502" in str(info.value) and "HTML" in str(info.value)
    assert len(str(info.value)) < 200


@pytest.mark.parametrize(
    ("body", "cls", "code"),
    [
        ({"status": "40052001", "msg": "log dump busy"}, DumpBusyError, "40052001"),
        ({"status": "40052002", "msg": "unknown taskId"}, EdgeManagerError, "40052002"),
        ({"error_code": "CSS.0001", "error_msg": "bad"}, ApiError, "CSS.0001"),
        # "The stream does not exist." (DIS error code appendix): not found, whatever the status
        ({"errorCode": "DIS.4301", "message": "no stream"}, NotFoundError, "DIS.4301"),
    ],
)
async def test_error_envelopes(clock: Clock, body: object, cls: type[ApiError], code: str):
    server = Server(httpx.Response(400, json=body))
    with pytest.raises(ApiError) as info:
        await make(server, clock).send(post())
    assert type(info.value) is cls
    assert info.value.error_code == code


async def test_request_id_from_header(clock: Clock):
    server = Server(httpx.Response(400, json={"error_code": "E"}, headers={"X-Request-ID": "rid-h"}))
    with pytest.raises(ApiError) as info:
        await make(server, clock).send(get())
    assert info.value.request_id == "rid-h"  # httpx lower-cases header names, so any casing works here


# --------------------------------------------------------------------------- shared clients


def _settings(**kwargs: Any) -> TransportSettings:
    return TransportSettings(base_url_for=lambda _s: BASE, auth=aksk(), **kwargs)


async def test_shared_client_per_origin():
    settings = _settings()
    try:
        first = shared_client("https://a.example.com", settings)
        assert shared_client("https://a.example.com", settings) is first
        assert shared_client("https://a.example.com", _settings()) is first  # equal settings share
        assert shared_client("https://b.example.com", settings) is not first
        assert shared_client("https://a.example.com", _settings(timeout=(1.0, 2.0))) is not first
        unverified = _settings(tls=TlsSettings(verify=False))
        assert shared_client("https://a.example.com", unverified) is not first
        await first.aclose()
        assert shared_client("https://a.example.com", settings) is not first  # a closed client is replaced
    finally:
        await close_shared_clients()


async def test_close_shared_clients():
    client = shared_client("https://a.example.com", _settings())
    await close_shared_clients()
    assert client.is_closed
    replacement = shared_client("https://a.example.com", _settings())
    assert replacement is not client
    await close_shared_clients()


def test_shared_client_needs_a_running_loop():
    with pytest.raises(RuntimeError):
        shared_client("https://a.example.com", _settings())


async def test_proxied_transport_goes_through_the_shared_httpx_client(monkeypatch: pytest.MonkeyPatch, clock: Clock):
    """The lean pool speaks only direct HTTP/1.1; a configured proxy sends the request through httpx."""
    server = Server(ok())
    mocked = httpx.AsyncClient(transport=httpx.MockTransport(server))
    origins: list[str] = []

    def fake_shared(origin: str, settings: TransportSettings) -> httpx.AsyncClient:
        origins.append(origin)
        return mocked

    import airflow_provider.core.async_transport as module

    monkeypatch.setattr(module, "shared_client", fake_shared)
    settings = TransportSettings(
        base_url_for=lambda _s: "https://svc.example.com:8443/base",
        auth=aksk(),
        proxies={"https": "http://proxy.internal:3128"},
    )
    await AsyncTransport(settings, sleep=clock.sleep, clock=clock).send(get())
    assert origins == ["https://svc.example.com:8443"]
    assert len(server.requests) == 1
    assert str(server.requests[0].url).startswith("https://svc.example.com:8443/base/")


@pytest.mark.parametrize(
    ("proxies", "environment", "expected"),
    [
        ({"https": "http://p:3128"}, {}, "http://p:3128"),
        ({"all": "http://p:3128"}, {}, "http://p:3128"),
        ({"http": "http://p:3128"}, {"HTTPS_PROXY": "http://env:1"}, None),  # configured proxies win over env
        (None, {"HTTPS_PROXY": "http://env:1"}, "http://env:1"),
        (None, {"ALL_PROXY": "http://env:2"}, "http://env:2"),
        (None, {"HTTPS_PROXY": "http://env:1", "NO_PROXY": "svc.example.com"}, None),
        (None, {"HTTPS_PROXY": "http://env:1", "NO_PROXY": ".example.com"}, None),
        (None, {"HTTP_PROXY": "http://env:1"}, None),  # only the https proxy applies to an https origin
        (None, {}, None),
    ],
)
def test_proxy_for(
    monkeypatch: pytest.MonkeyPatch, proxies: dict[str, str] | None, environment: dict[str, str], expected: str | None
) -> None:
    from airflow_provider.core.async_transport import proxy_for

    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY", "https_proxy", "http_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    settings = TransportSettings(base_url_for=lambda _s: BASE, auth=aksk(), proxies=proxies)
    assert proxy_for("https://svc.example.com:8443", settings) == expected


async def test_direct_transport_uses_one_lean_pool_per_origin(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow_provider.core.async_transport import shared_pool
    from airflow_provider.core.http11 import ConnectionPool

    for name in ("HTTPS_PROXY", "ALL_PROXY", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    settings = _settings()
    try:
        first = shared_pool("https://a.example.com", settings)
        assert isinstance(first, ConnectionPool)
        assert shared_pool("https://a.example.com", _settings()) is first
        assert shared_pool("https://b.example.com", settings) is not first
        assert shared_pool("https://a.example.com", _settings(timeout=(1.0, 2.0))) is not first
        monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
        assert shared_pool("https://c.example.com", settings) is None  # a proxy applies: httpx instead
    finally:
        await close_shared_clients()


async def test_discarding_tls_settings_closes_only_the_pools_and_clients_built_on_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What the last edge wait of a set of certificates does: its pool (an SSL context with the
    private key loaded) goes, the others stay."""
    from airflow_provider.core.async_transport import discard_shared, shared_pool

    for name in ("HTTPS_PROXY", "ALL_PROXY", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    mine, other = TlsSettings(verify=False, tls12_only=True), TlsSettings(verify=False)
    settings = _settings()
    try:
        pool = shared_pool("https://a.example.com", replace(settings, tls=mine))
        kept = shared_pool("https://a.example.com", replace(settings, tls=other))
        client = shared_client("https://a.example.com", replace(settings, tls=mine, proxies={"all": "http://p:1"}))
        assert pool is not None and kept is not None

        assert discard_shared(mine) == 2
        await asyncio.sleep(0)  # the httpx client closes in a task of its own

        assert pool._closed
        assert not kept._closed
        assert client.is_closed
        assert shared_pool("https://a.example.com", replace(settings, tls=other)) is kept
        assert shared_pool("https://a.example.com", replace(settings, tls=mine)) is not pool  # a new one if needed
        assert discard_shared(TlsSettings(verify="/nowhere.pem")) == 0
    finally:
        await close_shared_clients()


async def test_real_refused_connection_is_classified_as_not_sent(clock: Clock):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    settings = TransportSettings(
        base_url_for=lambda _s: f"http://127.0.0.1:{port}", auth=aksk(), retry=RetryPolicy(max_attempts=3, jitter=0)
    )
    try:
        with pytest.raises(TransportError) as info:
            await AsyncTransport(settings, sleep=clock.sleep, clock=clock).send(post())
    finally:
        await close_shared_clients()
    assert clock.sleeps == [1.0, 2.0]
    assert info.value.reached_server is not True


@pytest.mark.parametrize(
    "tls",
    [
        TlsSettings(verify=False, tls12_only=True),
        TlsSettings(verify=True, tls12_only=True),
    ],
)
def test_the_lean_pool_context_keeps_the_tls12_cap_verified_or_not(tls: TlsSettings) -> None:
    """httpx gets ``verify=False`` when nothing is checked; the lean pool still needs a context,
    and it must carry the same settings as the one httpx gets otherwise."""
    import ssl

    from airflow_provider.core.async_transport import ssl_context, tls_context

    context = tls_context(tls)
    assert context.maximum_version == ssl.TLSVersion.TLSv1_2
    assert (context.verify_mode == ssl.CERT_NONE) is (tls.verify is False)
    assert context.check_hostname is (tls.verify is not False)
    assert ssl_context(tls) is False if tls.verify is False else isinstance(ssl_context(tls), ssl.SSLContext)


def test_the_request_line_target_and_origin_come_from_the_resolved_target() -> None:
    from airflow_provider.core.transport import resolve_target

    request = ApiRequest(service="svc", method="GET", path="/v1/p/things", query=(("b", "2"), ("a", "x y")))
    target = resolve_target("https://svc.example.com:8443/base/", request)
    assert target.origin == "https://svc.example.com:8443"
    assert target.request_target == "/base/v1/p/things?a=x%20y&b=2"
    assert target.url == target.origin + target.request_target
