"""Authentication strategies: each turns an outgoing request's headers into authenticated ones.

Strategies are applied after every other header is set, because AK/SK signing covers all of
them. Secrets are excluded from ``repr`` so a logged object never shows them.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Protocol

from airflow_provider.core import signing
from airflow_provider.core.secrets import register_secret

TOKEN_HEADER = "X-Auth-Token"


@dataclass(frozen=True, slots=True)
class OutgoingRequest:
    """What an auth strategy sees: the request exactly as it will be sent."""

    method: str
    host: str
    path: str
    query: tuple[tuple[str, str], ...]
    headers: dict[str, str]
    body: bytes


class Auth(Protocol):
    """An authentication strategy: turns an outgoing request's headers into the ones to send.

    Implemented by ``NoAuth``, ``AkSkAuth``, ``StaticTokenAuth`` and ``IamTokenAuth``.
    """

    #: True if a 401 may be cured by fetching new credentials (IAM password tokens).
    can_refresh: bool

    def apply(self, request: OutgoingRequest) -> dict[str, str]:
        """Return the headers to send (sync: may fetch a token, blocking)."""

    async def aapply(self, request: OutgoingRequest) -> dict[str, str]:
        """Return the headers to send without blocking the event loop."""

    def invalidate(self, sent_headers: dict[str, str]) -> None:
        """Forget the credential used for ``sent_headers`` after a 401."""


class NoAuth:
    """The edge manager authenticates clients by mutual TLS, not headers."""

    can_refresh = False

    def apply(self, request: OutgoingRequest) -> dict[str, str]:
        """Return the request's headers unchanged."""
        return dict(request.headers)

    async def aapply(self, request: OutgoingRequest) -> dict[str, str]:
        """Return the request's headers unchanged."""
        return dict(request.headers)

    def invalidate(self, sent_headers: dict[str, str]) -> None:
        """Do nothing: there is no credential to forget."""
        return None


@dataclass(frozen=True)
class AkSkAuth:
    """SDK-HMAC-SHA256 signing; temporary credentials add a signed ``X-Security-Token``.

    :param project_id: sent as a signed ``X-Project-Id`` on every request, as the SDK's
        ``BasicCredentials`` does when the project is known.
    """

    access_key: str
    secret_key: str = field(repr=False)
    security_token: str | None = field(default=None, repr=False)
    project_id: str | None = None
    #: None: the wall clock, through the signer's once-a-second cache of the date header.
    clock: Callable[[], datetime] | None = field(default=None, repr=False)
    can_refresh = False

    def apply(self, request: OutgoingRequest) -> dict[str, str]:
        """Return the headers signed with SDK-HMAC-SHA256 (``signing.sign_headers``), Authorization included."""
        return signing.sign_headers(
            method=request.method,
            host=request.host,
            path=request.path,
            query=request.query,
            headers=request.headers,
            body=request.body,
            access_key=self.access_key,
            secret_key=self.secret_key,
            security_token=self.security_token,
            project_id=self.project_id,
            now=self.clock() if self.clock is not None else None,
        )

    async def aapply(self, request: OutgoingRequest) -> dict[str, str]:
        """The same as ``apply``: signing needs no I/O."""
        return self.apply(request)

    def invalidate(self, sent_headers: dict[str, str]) -> None:
        """Do nothing: a signature cannot be refreshed."""
        return None


@dataclass(frozen=True)
class StaticTokenAuth:
    """A token supplied by the user: it cannot be refreshed, so a 401 is final."""

    token: str = field(repr=False)
    can_refresh = False

    def apply(self, request: OutgoingRequest) -> dict[str, str]:
        """Return the headers with the token as ``X-Auth-Token``."""
        return {**request.headers, TOKEN_HEADER: self.token}

    async def aapply(self, request: OutgoingRequest) -> dict[str, str]:
        """The same as ``apply``."""
        return self.apply(request)

    def invalidate(self, sent_headers: dict[str, str]) -> None:
        """Do nothing: a supplied token cannot be replaced."""
        return None


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A token as IAM issued it, with the time it expires (the body's ``token.expires_at``)."""

    value: str = field(repr=False)
    expires_at: datetime


class TokenFetcher(Protocol):
    """Obtains a new token (the IAM password flow lives in ``core.iam``)."""

    @property
    def cache_key(self) -> tuple[str, ...]:
        """What tokens are cached under in ``TokenCache``: one key per identity and scope."""

    def fetch(self) -> IssuedToken:
        """Obtain a new token, blocking."""

    async def afetch(self) -> IssuedToken:
        """Obtain a new token without blocking the event loop."""


class TokenCache:
    """Process-wide token cache shared by every hook and trigger.

    One lock per key makes concurrent callers wait for a single IAM request: threads share a
    ``threading.Lock``, coroutines of one event loop share an ``asyncio.Lock``.
    """

    def __init__(self) -> None:
        self._tokens: dict[tuple[str, ...], IssuedToken] = {}
        self._guard = threading.Lock()
        self._thread_locks: dict[tuple[str, ...], threading.Lock] = {}
        self._loop_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[str, ...], asyncio.Lock]] = (
            weakref.WeakKeyDictionary()
        )
        self.fetches = 0

    def _fresh(self, key: tuple[str, ...], margin: timedelta) -> IssuedToken | None:
        token = self._tokens.get(key)
        if token is None or token.expires_at - margin <= datetime.now(timezone.utc):
            return None
        return token

    def _store(self, key: tuple[str, ...], token: IssuedToken) -> IssuedToken:
        register_secret(token.value)
        with self._guard:
            self._tokens[key] = token
            self.fetches += 1
        return token

    def get(self, fetcher: TokenFetcher, margin: timedelta) -> str:
        """The token for ``fetcher``: the cached one, or a new one fetched once for all waiting threads.

        A new one is fetched when the cached one expires within ``margin``.

        :param fetcher: obtains a token and names its cache key.
        :param margin: a token expiring within this is treated as expired.
        :return: the token value.
        """
        key = fetcher.cache_key
        token = self._fresh(key, margin)
        if token is not None:
            return token.value
        with self._guard:
            lock = self._thread_locks.setdefault(key, threading.Lock())
        with lock:
            token = self._fresh(key, margin) or self._store(key, fetcher.fetch())
        return token.value

    async def aget(self, fetcher: TokenFetcher, margin: timedelta) -> str:
        """The async twin of ``get``: coroutines of one event loop wait for a single ``afetch``."""
        key = fetcher.cache_key
        token = self._fresh(key, margin)
        if token is not None:
            return token.value
        loop = asyncio.get_running_loop()
        with self._guard:
            locks = self._loop_locks.setdefault(loop, {})
            lock = locks.setdefault(key, asyncio.Lock())
        async with lock:
            token = self._fresh(key, margin) or self._store(key, await fetcher.afetch())
        return token.value

    def invalidate(self, key: tuple[str, ...], value: str | None) -> None:
        """Drop the token, unless another caller already replaced the one that failed."""
        with self._guard:
            current = self._tokens.get(key)
            if current is not None and (value is None or current.value == value):
                del self._tokens[key]

    def clear(self) -> None:
        """Forget every token and reset the ``fetches`` count."""
        with self._guard:
            self._tokens.clear()
            self.fetches = 0


TOKEN_CACHE = TokenCache()


@dataclass(frozen=True)
class IamTokenAuth:
    """IAM password-scoped token, cached per (endpoint, domain, user, project) in the process."""

    fetcher: TokenFetcher
    refresh_margin: timedelta = timedelta(minutes=30)
    cache: TokenCache = field(default=TOKEN_CACHE, repr=False)
    can_refresh = True

    def apply(self, request: OutgoingRequest) -> dict[str, str]:
        """Return the headers with a cached (or newly fetched) IAM token as ``X-Auth-Token``."""
        return {**request.headers, TOKEN_HEADER: self.cache.get(self.fetcher, self.refresh_margin)}

    async def aapply(self, request: OutgoingRequest) -> dict[str, str]:
        """The async twin of ``apply``: fetches without blocking the event loop."""
        token = await self.cache.aget(self.fetcher, self.refresh_margin)
        return {**request.headers, TOKEN_HEADER: token}

    def invalidate(self, sent_headers: dict[str, str]) -> None:
        """Drop the cached token that ``sent_headers`` carried (after a 401), so the next request fetches one."""
        self.cache.invalidate(self.fetcher.cache_key, sent_headers.get(TOKEN_HEADER))
