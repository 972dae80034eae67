"""Sending an ``ApiRequest``: the parts both transports share, and the sync transport.

The async twin lives in ``async_transport`` so that code paths that never defer (and DAG
parsing) do not import the async HTTP clients.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import ssl
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from airflow_provider import __version__
from airflow_provider.core import signing
from airflow_provider.core.auth import Auth, OutgoingRequest
from airflow_provider.core.download import Downloaded, PartialFile, RangeMismatchError
from airflow_provider.core.errors import (
    ApiError,
    ConfigurationError,
    HuaweiCloudError,
    TransportError,
    error_for_status,
)
from airflow_provider.core.request import JSON_CONTENT_TYPE, ApiRequest
from airflow_provider.core.response import ApiResponse
from airflow_provider.core.retry import Failure, RetryPolicy
from airflow_provider.core.throttle import Throttle

if TYPE_CHECKING:
    from pathlib import Path

    import requests

log = logging.getLogger(__name__)

USER_AGENT = f"airflow-provider-huaweicloud-logs/{__version__}"
#: Read size of streamed downloads: large enough that per-chunk Python work is noise at disk speed
#: (benchmarks/bench_download.py), small enough to bound memory.
DOWNLOAD_CHUNK = 1 << 20
#: New bytes an interrupted attempt must have added for the download's retries to start afresh.
RENEWING_PROGRESS = 1 << 20


#: Where ``verify=True`` finds its CA store, first set first: requests' own variables, then OpenSSL's.
CA_BUNDLE_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE")


def ca_bundle(verify: bool | str) -> str | None:
    """What ``verify`` trusts, the same for the sync and the async transport: None (nothing is
    verified), or a CA bundle (a file, or a folder of hashed certificates).

    ``True`` means the default store: the bundle named by ``REQUESTS_CA_BUNDLE``, ``CURL_CA_BUNDLE`` or
    ``SSL_CERT_FILE``, else certifi's bundle, which is what requests uses. Left to themselves, requests
    would use certifi and Python's ``ssl`` the system store, so a connection Test (sync) could pass
    while the deferred waits (async) fail, or the other way round.

    :param verify: ``TlsSettings.verify``.
    :raises ConfigurationError: a variable names a file or folder that does not exist.
    """
    if verify is False:
        return None
    if isinstance(verify, str):
        return verify
    for name in CA_BUNDLE_VARIABLES:
        path = os.environ.get(name)
        if path:
            if not os.path.exists(path):
                raise ConfigurationError(f"{name}={path!r}: CA bundle not found")
            return path
    import certifi

    return certifi.where()


@dataclass(frozen=True)
class TlsSettings:
    """``verify`` is True, False, or a CA bundle path; client cert/key are file paths (mTLS).

    ``verify=True`` trusts the store ``ca_bundle`` picks, on both transports.
    """

    verify: bool | str = True
    client_cert: str | None = None
    client_key: str | None = None
    #: MEF Center speaks TLS 1.2 only; capping the client makes a rejected client certificate
    #: fail inside the handshake (a clear TLS error) instead of as a dropped connection later.
    tls12_only: bool = False


def tls12_context() -> ssl.SSLContext:
    """urllib3's own default context, capped at TLS 1.2.

    urllib3 applies ``verify`` (CA bundle or CERT_NONE) and matches host names itself on this
    context for each request, so it must not check host names on its own.
    """
    from urllib3.util.ssl_ import create_urllib3_context

    # CERT_NONE only here: it leaves check_hostname off; urllib3 sets the real verify mode per connection.
    return create_urllib3_context(ssl_maximum_version=ssl.TLSVersion.TLSv1_2, cert_reqs=ssl.CERT_NONE)


@dataclass(frozen=True)
class TransportSettings:
    """What a transport needs to send requests, shared by ``SyncTransport`` and ``AsyncTransport``.

    ``base_url_for`` maps a service name to its base URL (an ``EndpointResolver``); ``timeout`` is (connect, read)
    seconds; ``proxies`` maps a scheme (or ``all``) to a proxy URL, None meaning the environment's (it may embed
    credentials, so it is kept out of ``repr``); ``throttle`` serializes calls per host (MEF Center).
    """

    base_url_for: Callable[[str], str]
    auth: Auth
    tls: TlsSettings = field(default_factory=TlsSettings)
    timeout: tuple[float, float] = (10.0, 60.0)  # connect, read
    proxies: dict[str, str] | None = field(default=None, repr=False)  # may embed credentials
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    throttle: Throttle | None = None


@dataclass(frozen=True, slots=True)
class Target:
    """Where a request goes: the full URL, and the pieces that are signed."""

    url: str
    host: str
    path: str
    origin: str  # scheme://host[:port]: what a connection pool is chosen by

    @property
    def request_target(self) -> str:
        """Path and query, as the request line carries them."""
        return self.url[len(self.origin) :]


def resolve_target(base_url: str, request: ApiRequest) -> Target:
    """Where ``request`` goes under ``base_url``: the base path joined with the request's path and query.

    :raises HuaweiCloudError: ``base_url`` is not an http(s) URL.
    """
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise HuaweiCloudError(f"{request.service}: endpoint {base_url!r} is not an http(s) URL")
    path = parts.path.rstrip("/") + request.path
    query = signing.canonical_query(request.query)
    origin = f"{parts.scheme}://{parts.netloc}"
    url = f"{origin}{path}" + (f"?{query}" if query else "")
    return Target(url=url, host=parts.netloc, path=path, origin=origin)


def outgoing(request: ApiRequest, target: Target) -> OutgoingRequest:
    """The request as it will be sent, before auth: JSON content type and User-Agent, then the request's own headers."""
    headers = {"Content-Type": JSON_CONTENT_TYPE, "User-Agent": USER_AGENT}
    headers.update(dict(request.headers))
    return OutgoingRequest(
        method=request.method.upper(),
        host=target.host,
        path=target.path,
        query=request.query,
        headers=headers,
        body=request.body_bytes(),
    )


class Attempts:
    """Book-keeping of one request's attempts, shared by both transports.

    :param request: the request being sent (its ``idempotent`` flag decides what may be retried).
    :param retry: the retry policy.
    :param clock: monotonic seconds, for the policy's total time.
    """

    def __init__(self, request: ApiRequest, retry: RetryPolicy, clock: Callable[[], float]) -> None:
        self.request = request
        self.retry = retry
        self.clock = clock
        self.started = clock()
        self.number = 0
        self.refreshed_auth = False

    def next(self) -> int:
        """Count an attempt; returns its number (from 1)."""
        self.number += 1
        return self.number

    def progressed(self) -> None:
        """The attempt moved the transfer on: the count and the total time start again from here."""
        self.number = 0
        self.started = self.clock()

    def after_response(self, response: ApiResponse, auth: Auth, sent_headers: dict[str, str]) -> float | None:
        """None to hand the response on; else seconds to wait before sending again.

        A 401 under refreshable auth invalidates the credential and is retried once at once (0);
        an unexpected status goes through the retry policy.
        """
        if response.status == 401 and auth.can_refresh and not self.refreshed_auth:
            self.refreshed_auth = True
            auth.invalidate(sent_headers)
            log.info("%s %s: HTTP 401, refreshing the token once", self.request.service, self.request.describe())
            return 0.0
        if response.status in self.request.expected:
            return None
        return self.after_status(response)

    def after_status(self, response: ApiResponse) -> float | None:
        """Delay before retrying an HTTP error status, or None to raise."""
        delay = self.retry.delay_for(
            attempt=self.number,
            elapsed=self.clock() - self.started,
            idempotent=self.request.idempotent,
            status=response.status,
            retry_after=response.headers.get("Retry-After") or response.headers.get("retry-after"),
        )
        if delay is not None:
            self._log_retry(f"HTTP {response.status}", delay)
        return delay

    def after_failure(self, failure: Failure, exc: BaseException) -> float | None:
        """Seconds to wait before retrying after a network ``failure``, or None to give up."""
        delay = self.retry.delay_for(
            attempt=self.number,
            elapsed=self.clock() - self.started,
            idempotent=self.request.idempotent,
            failure=failure,
        )
        if delay is not None:
            self._log_retry(f"{failure.value} ({type(exc).__name__})", delay)
        return delay

    def give_up(self, failure: Failure, exc: BaseException) -> TransportError:
        """The ``TransportError`` for the last ``failure``, saying whether the request may have reached the service."""
        sent = failure not in (Failure.CONNECT, Failure.CONNECT_TIMEOUT)
        detail = "" if self.request.idempotent or not sent else " (not retried: it may have reached the service)"
        return TransportError(
            self.request.service,
            f"{self.request.describe()}: {failure.value} after {self.number} attempt(s){detail}: {failure_reason(exc)}",
            reached_server=sent,
        )

    def _log_retry(self, reason: str, delay: float) -> None:
        log.warning(
            "%s %s: %s, retrying in %.1f s (attempt %d of %d)",
            self.request.service,
            self.request.describe(),
            reason,
            delay,
            self.number + 1,
            self.retry.max_attempts,
        )


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def failure_reason(exc: BaseException) -> str:
    """Why an attempt failed, in a few words: the socket or TLS error that a requests/urllib3
    exception wraps ("connection refused"), without the pool, URL and retry wording around it.
    Other exceptions (the lean client's) already say it: their own text."""
    if not type(exc).__module__.startswith(("requests", "urllib3")):
        return _short(exc)
    seen: set[int] = set()
    current: BaseException | None = exc
    fallback: str | None = None
    innermost = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        innermost = current
        if isinstance(current, ssl.SSLCertVerificationError):
            return f"certificate verify failed: {current.verify_message}"
        if isinstance(current, ssl.SSLError):
            return str(current)
        if isinstance(current, socket.gaierror):
            return f"the host name does not resolve ({current.strerror})"
        if isinstance(current, ConnectionRefusedError):
            return "connection refused"
        if isinstance(current, TimeoutError):
            return "timed out"
        if isinstance(current, OSError) and current.strerror and fallback is None:
            fallback = current.strerror
        wrapped = getattr(current, "reason", None)  # urllib3's MaxRetryError, NewConnectionError
        following = current.__cause__ or current.__context__
        if following is None:  # requests' and urllib3's exceptions wrap the next one as an argument
            following = next((arg for arg in current.args if isinstance(arg, BaseException)), None)
        current = following if following is not None else wrapped if isinstance(wrapped, BaseException) else None
    return fallback or (_short(innermost) if innermost is not exc else _short(exc))


def check_response(request: ApiRequest, response: ApiResponse) -> ApiResponse:
    """Return ``response`` if its status is one of ``request.expected``, else raise its ``ApiError``."""
    if response.status in request.expected:
        return response
    raise error_for_status(request.service, response.status, response.content, response.headers)


def classify_requests_error(exc: BaseException) -> Failure | None:
    """Map a requests exception to a retry ``Failure``; None means not a network failure."""
    import requests

    if isinstance(exc, requests.exceptions.SSLError):
        return None
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return Failure.CONNECT_TIMEOUT
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return Failure.TIMEOUT
    if isinstance(exc, requests.exceptions.ConnectionError):
        text = repr(exc)
        if "NewConnectionError" in text or "Connection refused" in text or "Name or service" in text:
            return Failure.CONNECT
        return Failure.DISCONNECTED
    if isinstance(exc, (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError)):
        return Failure.DISCONNECTED
    return None


class SyncTransport:
    """Sends requests through one pooled ``requests.Session`` (one per hook).

    :param settings: endpoints, auth, TLS, timeouts, proxies, retry policy and throttle.
    :param session: the session to send through; a new one by default.
    :param sleep: called between attempts.
    :param clock: monotonic seconds, for the retry policy's total time.
    """

    def __init__(
        self,
        settings: TransportSettings,
        *,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        import requests

        self.settings = settings
        self.session = session or requests.Session()
        self.session.trust_env = settings.proxies is None
        if settings.tls.tls12_only:
            mount_tls12(self.session)
        self._sleep = sleep
        self._clock = clock

    def close(self) -> None:
        """Close the session and its pooled connections."""
        self.session.close()

    def send(self, request: ApiRequest) -> ApiResponse:
        """Send ``request`` and return its response, retrying under the settings' policy.

        :raises TransportError: no HTTP response after the retries, or a TLS error.
        :raises ApiError: the service answered with an unexpected status (the most specific subclass).
        """
        return check_response(request, self._send(request, None))

    def download(
        self, request: ApiRequest, destination: Path, *, accept: Callable[[Mapping[str, str]], None] | None = None
    ) -> Path:
        """Stream the body to ``destination`` atomically (see ``fetch``); returns the path."""
        return self.fetch(request, destination, accept=accept).path

    def fetch(
        self, request: ApiRequest, destination: Path, *, accept: Callable[[Mapping[str, str]], None] | None = None
    ) -> Downloaded:
        """Stream the body to ``destination`` atomically, hashing it in the same pass.

        The bytes go to a temp file in the same folder, renamed into place when complete: the
        destination never holds a partial file. A dropped connection is retried; the retry asks
        for the rest when the first answer named a validator, and starts over otherwise
        (``core.download``). Every attempt that received bytes renews the retry budget, so a long
        transfer is not cut off by the policy's total time. ``accept`` sees the headers of each
        successful response before any byte of its body is read; whatever it raises ends the
        download (nothing is kept) and reaches the caller. The archive is never held in memory.
        """
        destination.parent.mkdir(parents=True, exist_ok=True)
        sink = PartialFile(destination)
        try:
            response = self._send(request, sink, accept)
            check_response(request, response)
            done = sink.finish()
        except BaseException:
            sink.discard()
            raise
        if done.resumed or done.restarted:
            log.info(
                "%s %s: downloaded %d bytes after %d resumption(s) and %d restart(s)",
                request.service,
                request.describe(),
                done.size,
                done.resumed,
                done.restarted,
            )
        return done

    def fetch_url(self, url: str, destination: Path, *, service: str) -> Downloaded:
        """``fetch`` a pre-signed URL (an OBS object link a service handed out) as it is: not signed
        again, its query (which carries the signature) sent byte for byte and never logged.

        :param url: the link.
        :param service: the service that handed it out, for errors and logs.
        """
        from dataclasses import replace

        from airflow_provider.core.auth import NoAuth
        from airflow_provider.core.secrets import register_secret

        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise HuaweiCloudError(f"{service}: the download link is not an http(s) URL")
        register_secret(parts.query or None)
        request = ApiRequest(service=service, method="GET", path=parts.path or "/")
        origin = f"{parts.scheme}://{parts.netloc}"
        target = Target(url=url, host=parts.netloc, path=parts.path or "/", origin=origin)
        unsigned = SyncTransport(replace(self.settings, auth=NoAuth()), session=self.session, sleep=self._sleep)
        destination.parent.mkdir(parents=True, exist_ok=True)
        sink = PartialFile(destination)
        try:
            response = unsigned._send(request, sink, target=target)
            check_response(request, response)
            return sink.finish()
        except BaseException:
            sink.discard()
            raise

    def _send(
        self,
        request: ApiRequest,
        sink: PartialFile | None,
        accept: Callable[[Mapping[str, str]], None] | None = None,
        target: Target | None = None,
    ) -> ApiResponse:
        import requests

        raw = target is not None  # a link handed out by a service: sent as it is, no JSON content type
        if target is None:
            target = resolve_target(self.settings.base_url_for(request.service), request)
        attempts = Attempts(request, self.settings.retry, self._clock)
        while True:
            attempts.next()
            prepared = outgoing(request, target)
            if raw:
                # A pre-signed URL's signature may cover Content-Type (OBS query authentication).
                prepared.headers.pop("Content-Type", None)
            furthest = sink.furthest if sink is not None else 0
            if sink is not None:
                prepared.headers.update(sink.resume_headers())
            try:
                with self._throttled(target.host):
                    headers = self.settings.auth.apply(prepared)
                    response = self._attempt(request, target, prepared, headers, sink, accept)
            except (requests.RequestException, OSError) as exc:
                if sink is not None and furthest and sink.furthest >= furthest + RENEWING_PROGRESS:
                    # A drop after the transfer got well beyond where it ever was: a long transfer
                    # that keeps moving keeps its retries. Bounded: each renewal costs 1 MiB of new
                    # bytes, and a server cutting it at one point (or a few bytes on) renews nothing.
                    attempts.progressed()
                    log.warning(
                        "%s %s: the connection dropped after %d bytes; %s",
                        request.service,
                        request.describe(),
                        sink.size,
                        "asking for the rest"
                        if sink.resume_headers()
                        else "the server named no validator: starting over",
                    )
                failure = classify_requests_error(exc)
                if failure is None and isinstance(exc, RangeMismatchError):
                    failure = Failure.DISCONNECTED
                if failure is None:
                    if isinstance(exc, requests.exceptions.SSLError):
                        raise TransportError(request.service, f"TLS error: {failure_reason(exc)}") from exc
                    raise
                delay = attempts.after_failure(failure, exc)
                if delay is None:
                    raise attempts.give_up(failure, exc) from exc
                self._sleep(delay)
                continue
            delay = attempts.after_response(response, self.settings.auth, headers)
            if delay is None:
                return response
            if delay:
                self._sleep(delay)

    @contextlib.contextmanager
    def _throttled(self, host: str) -> Iterator[None]:
        if self.settings.throttle is None:
            yield
        else:
            with self.settings.throttle.hold(host):
                yield

    def _attempt(
        self,
        request: ApiRequest,
        target: Target,
        prepared: OutgoingRequest,
        headers: dict[str, str],
        sink: PartialFile | None,
        accept: Callable[[Mapping[str, str]], None] | None = None,
    ) -> ApiResponse:
        tls = self.settings.tls
        cert = (tls.client_cert, tls.client_key) if tls.client_cert and tls.client_key else tls.client_cert
        raw = self.session.request(
            prepared.method,
            target.url,
            headers=headers,
            data=prepared.body or None,
            timeout=self.settings.timeout,
            verify=ca_bundle(tls.verify) or False,
            cert=cert,
            proxies=self.settings.proxies,
            stream=sink is not None,
            allow_redirects=False,
        )
        import urllib3
        from requests.exceptions import ChunkedEncodingError, ConnectionError
        from requests.structures import CaseInsensitiveDict

        with raw:
            resp_headers: CaseInsensitiveDict[str] = CaseInsensitiveDict(raw.headers)
            partial = raw.status_code == 206 and sink is not None and sink.size > 0
            if sink is None or (raw.status_code not in request.expected and not partial):
                return ApiResponse(request.service, raw.status_code, resp_headers, raw.content)
            if accept is not None:
                accept(resp_headers)
            sink.begin(raw.status_code, resp_headers)
            # read1: whatever has arrived, so that a drop loses no byte that reached us (read(n)
            # would discard a partly filled buffer with the exception).
            try:
                while chunk := raw.raw.read1(DOWNLOAD_CHUNK, decode_content=True):
                    sink.write(chunk)
            except urllib3.exceptions.ReadTimeoutError as exc:  # as requests' iter_content maps them
                raise ConnectionError(exc) from exc
            except (urllib3.exceptions.ProtocolError, urllib3.exceptions.DecodeError) as exc:
                raise ChunkedEncodingError(exc) from exc
            expected_length = content_length(resp_headers.get("Content-Length"))
            received = raw.raw.tell()  # bytes on the wire (the file holds them decoded)
            if expected_length is not None and received != expected_length:
                raise ChunkedEncodingError(f"download ended after {received} of {expected_length} bytes")
            status = request.expected[0] if partial else raw.status_code
            return ApiResponse(request.service, status, resp_headers, b"", file=sink.destination)


def mount_tls12(session: requests.Session) -> None:
    """Make every https:// connection of ``session`` use a TLS 1.2 (max) context."""
    from requests.adapters import HTTPAdapter

    class Tls12Adapter(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            kwargs["ssl_context"] = tls12_context()
            super().init_poolmanager(*args, **kwargs)

    session.mount("https://", Tls12Adapter())


def content_length(value: str | None) -> int | None:
    """The one length a (possibly folded, ``"76800, 76800"``) Content-Length names, else None."""
    if not value:
        return None
    lengths = {part.strip() for part in value.split(",")}
    if len(lengths) != 1:
        return None
    (single,) = lengths
    return int(single) if single.isascii() and single.isdigit() else None


__all__ = ["ApiError", "SyncTransport", "TlsSettings", "TransportSettings"]
