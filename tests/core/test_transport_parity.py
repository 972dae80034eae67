"""The sync (requests) and async (lean pool) transports against the same real servers: what one
accepts, the other accepts, so a connection Test that passes means deferred waits work too."""

from __future__ import annotations

import asyncio
import gzip
import json
import ssl
import zlib
from typing import TYPE_CHECKING

import pytest

from airflow_provider.core.async_transport import AsyncTransport, close_shared_clients
from airflow_provider.core.auth import NoAuth
from airflow_provider.core.errors import HuaweiCloudError
from airflow_provider.core.request import ApiRequest
from airflow_provider.core.retry import NO_RETRY
from airflow_provider.core.transport import SyncTransport, TlsSettings, TransportSettings
from airflow_provider.emulator import tls as emulator_tls
from tests.local_http import RawHttpServer

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

BODY = {"status": "RUNNING", "progress": 42, "note": "x" * 200}
CA_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR")
REQUEST = ApiRequest(service="dcs", method="GET", path="/v2/p/instances/i/tasks/t/progress")


def reply(body: bytes, *fields: str) -> bytes:
    head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" + "".join(f"{f}\r\n" for f in fields)
    return f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body


def settings(url: str, verify: bool | str = True) -> TransportSettings:
    return TransportSettings(
        base_url_for=lambda _service: url, auth=NoAuth(), tls=TlsSettings(verify=verify), timeout=(2, 2), retry=NO_RETRY
    )


def outcome(send: Callable[[], object]) -> str:
    try:
        response = send()
    except HuaweiCloudError as exc:
        return "TLS error" if "TLS error" in str(exc) else f"error: {exc}"
    return json.dumps(response.json_object(), sort_keys=True)  # type: ignore[attr-defined]


def sync_outcome(transport_settings: TransportSettings) -> str:
    transport = SyncTransport(transport_settings)
    try:
        return outcome(lambda: transport.send(REQUEST))
    finally:
        transport.close()


def async_outcome(transport_settings: TransportSettings) -> str:
    async def go() -> object:
        try:
            return await AsyncTransport(transport_settings).send(REQUEST)
        finally:
            await close_shared_clients()

    return outcome(lambda: asyncio.run(go()))


@pytest.fixture
def no_ca_variables(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in CA_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.mark.parametrize(
    "fields",
    [("Content-Encoding: gzip",), ("Content-Encoding: deflate",), ()],
    ids=["gzip", "deflate", "identity"],
)
def test_both_transports_hand_over_the_same_decoded_body(fields: tuple[str, ...]) -> None:
    raw = json.dumps(BODY).encode()
    coding = fields[0].split(": ")[1] if fields else "identity"
    encoders: dict[str, Callable[[bytes], bytes]] = {"gzip": gzip.compress, "deflate": zlib.compress}
    encoded = encoders.get(coding, bytes)(raw)
    server = RawHttpServer(reply(encoded, *fields)).start()
    try:
        expected = json.dumps(BODY, sort_keys=True)
        assert sync_outcome(settings(server.url)) == expected
        assert async_outcome(settings(server.url)) == expected
    finally:
        server.stop()


@pytest.fixture(scope="module")
def private_ca(tmp_path_factory: pytest.TempPathFactory) -> emulator_tls.TlsFiles:
    """A CA of its own (made with ``cryptography``) that no system or certifi store holds."""
    return emulator_tls.generate(tmp_path_factory.mktemp("private-ca"))


@pytest.fixture
def tls_server(private_ca: emulator_tls.TlsFiles) -> Iterator[RawHttpServer]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(private_ca.server_cert), str(private_ca.server_key))
    server = RawHttpServer(reply(json.dumps(BODY).encode()), context=context).start()
    yield server
    server.stop()


OK = json.dumps(BODY, sort_keys=True)


@pytest.mark.filterwarnings("ignore:Unverified HTTPS request")
@pytest.mark.parametrize(
    ("verify", "variable", "expected"),
    [
        ("ca", None, OK),  # extra.verify: the CA bundle's path
        (True, "REQUESTS_CA_BUNDLE", OK),  # requests' variable, now the async path's too
        (True, "CURL_CA_BUNDLE", OK),
        (True, "SSL_CERT_FILE", OK),  # OpenSSL's variable, now the sync path's too
        (True, None, "TLS error"),  # the default store does not hold the private CA
        (False, None, OK),  # no verification at all
    ],
)
def test_verify_means_the_same_store_on_both_paths(
    no_ca_variables: pytest.MonkeyPatch,
    private_ca: emulator_tls.TlsFiles,
    tls_server: RawHttpServer,
    verify: bool | str,
    variable: str | None,
    expected: str,
) -> None:
    ca = str(private_ca.ca_cert)
    if variable is not None:
        no_ca_variables.setenv(variable, ca)
    chosen = ca if verify == "ca" else verify

    results = {
        "sync": sync_outcome(settings(tls_server.url, chosen)),
        "async": async_outcome(settings(tls_server.url, chosen)),
    }

    assert results == {"sync": expected, "async": expected}


def test_a_missing_ca_file_in_the_environment_is_named(
    no_ca_variables: pytest.MonkeyPatch, tls_server: RawHttpServer, tmp_path: Path
) -> None:
    no_ca_variables.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "missing.pem"))

    for result in (sync_outcome(settings(tls_server.url)), async_outcome(settings(tls_server.url))):
        assert "REQUESTS_CA_BUNDLE" in result
        assert "missing.pem" in result
