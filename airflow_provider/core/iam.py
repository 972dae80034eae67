"""The IAM password flow: a project-scoped token from ``POST /v3/auth/tokens``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from typing import TYPE_CHECKING

from airflow_provider.core.auth import IssuedToken, NoAuth
from airflow_provider.core.errors import ApiError, AuthenticationError, BadResponseError
from airflow_provider.core.request import ApiRequest, query_pairs
from airflow_provider.core.retry import RetryPolicy
from airflow_provider.core.secrets import fingerprint
from airflow_provider.core.transport import SyncTransport, TlsSettings, TransportSettings

if TYPE_CHECKING:
    from collections.abc import Callable

    from airflow_provider.core.response import ApiResponse

SUBJECT_TOKEN_HEADER = "X-Subject-Token"


@dataclass(frozen=True)
class PasswordTokenFetcher:
    """Fetches tokens for one IAM user and project; the password never leaves this object."""

    iam_endpoint: str
    domain_name: str
    user_name: str
    password: str = field(repr=False)
    project_id: str | None = None
    project_name: str | None = None
    tls: TlsSettings = field(default_factory=TlsSettings)
    timeout: tuple[float, float] = (10.0, 60.0)
    proxies: dict[str, str] | None = field(default=None, repr=False)
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    @cached_property  # asked on every request that carries the token
    def cache_key(self) -> tuple[str, ...]:
        """Per (endpoint, domain, user, project) — and password, so a changed one is not masked by
        a token cached with the old one. Only a keyed digest of it is kept (``core.secrets.fingerprint``)."""
        project = self.project_id or self.project_name or ""
        return (self.iam_endpoint, self.domain_name, self.user_name, project, fingerprint(self.password))

    def _request(self) -> ApiRequest:
        scope: dict[str, object] = (
            {"project": {"id": self.project_id}} if self.project_id else {"project": {"name": self.project_name}}
        )
        body = {
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {
                        "user": {
                            "domain": {"name": self.domain_name},
                            "name": self.user_name,
                            "password": self.password,
                        }
                    },
                },
                "scope": scope,
            }
        }
        return ApiRequest(
            service="iam",
            method="POST",
            path="/v3/auth/tokens",
            query=query_pairs(nocatalog=True),
            body=body,
            expected=(200, 201),
        )

    def _settings(self) -> TransportSettings:
        return TransportSettings(
            base_url_for=lambda _service: self.iam_endpoint,
            auth=NoAuth(),
            tls=self.tls,
            timeout=self.timeout,
            proxies=self.proxies,
            retry=self.retry,
        )

    def fetch(self) -> IssuedToken:
        """Obtain a project-scoped token from IAM (``POST /v3/auth/tokens``, password method), blocking.

        :raises AuthenticationError: IAM rejected the credentials (HTTP 400, 401 or 403); the message names the user.
        :raises BadResponseError: the answer lacks the ``X-Subject-Token`` header or a valid ``token.expires_at``.
        """
        transport = SyncTransport(self._settings())
        try:
            return self._parse(self._guard(lambda: transport.send(self._request())))
        finally:
            transport.close()

    async def afetch(self) -> IssuedToken:
        """The async twin of ``fetch``, through ``AsyncTransport``."""
        from airflow_provider.core.async_transport import AsyncTransport

        try:
            response = await AsyncTransport(self._settings()).send(self._request())
        except ApiError as exc:
            raise self._auth_error(exc) from None
        return self._parse(response)

    def _guard(self, call: Callable[[], ApiResponse]) -> ApiResponse:
        try:
            return call()
        except ApiError as exc:
            raise self._auth_error(exc) from None

    def _auth_error(self, exc: ApiError) -> ApiError:
        """Credentials IAM rejected become an AuthenticationError naming the user; outages stay as they are."""
        if exc.status not in (400, 401, 403):
            return exc
        return AuthenticationError(
            service="iam",
            status=exc.status,
            error_code=exc.error_code,
            error_msg=f"could not get a token for user {self.user_name!r} in domain {self.domain_name!r}: "
            f"{exc.error_msg or 'no message'}",
            request_id=exc.request_id,
        )

    def _parse(self, response: ApiResponse) -> IssuedToken:
        token = response.headers.get(SUBJECT_TOKEN_HEADER) or response.headers.get(SUBJECT_TOKEN_HEADER.lower())
        if not token:
            raise BadResponseError("iam", SUBJECT_TOKEN_HEADER, "the token response has no X-Subject-Token header")
        body = response.json_object()
        raw = body.get("token", {}).get("expires_at") if isinstance(body.get("token"), dict) else None
        if not isinstance(raw, str):
            raise BadResponseError("iam", "token.expires_at", f"expected an ISO 8601 string, got {raw!r}")
        try:
            expires = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError as exc:
            raise BadResponseError("iam", "token.expires_at", f"not an ISO 8601 time: {raw!r}") from exc
        if expires.tzinfo is None:
            expires = expires.replace(tzinfo=timezone.utc)
        return IssuedToken(value=token, expires_at=expires)
