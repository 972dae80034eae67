"""Auth strategies and the process-wide token cache."""

from __future__ import annotations

import asyncio
import threading
from datetime import datetime, timedelta, timezone

import pytest

from airflow_provider.core import signing
from airflow_provider.core.auth import (
    TOKEN_HEADER,
    AkSkAuth,
    IamTokenAuth,
    IssuedToken,
    NoAuth,
    OutgoingRequest,
    StaticTokenAuth,
    TokenCache,
)
from airflow_provider.core.iam import PasswordTokenFetcher

MARGIN = timedelta(minutes=30)


class FakeFetcher:
    """Issues tok-1, tok-2, ...; optionally slow, so concurrent callers really overlap."""

    def __init__(self, *, lifetime: timedelta = timedelta(hours=24), delay: float = 0.0, key: str = "k") -> None:
        self.lifetime = lifetime
        self.delay = delay
        self.calls = 0
        self._lock = threading.Lock()
        self._key = key

    @property
    def cache_key(self) -> tuple[str, ...]:
        return ("https://iam.example.com", "domain", "user", self._key)

    def _issue(self) -> IssuedToken:
        with self._lock:
            self.calls += 1
            n = self.calls
        return IssuedToken(value=f"tok-{n}", expires_at=datetime.now(timezone.utc) + self.lifetime)

    def fetch(self) -> IssuedToken:
        if self.delay:
            threading.Event().wait(self.delay)
        return self._issue()

    async def afetch(self) -> IssuedToken:
        if self.delay:
            await asyncio.sleep(self.delay)
        return self._issue()


def test_threads_share_one_fetch():
    cache = TokenCache()
    fetcher = FakeFetcher(delay=0.2)
    start = threading.Barrier(100)
    results: list[str] = []
    lock = threading.Lock()

    def worker() -> None:
        start.wait()
        token = cache.get(fetcher, MARGIN)
        with lock:
            results.append(token)

    threads = [threading.Thread(target=worker) for _ in range(100)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert fetcher.calls == 1
    assert cache.fetches == 1
    assert results == ["tok-1"] * 100


async def test_coroutines_share_one_fetch():
    cache = TokenCache()
    fetcher = FakeFetcher(delay=0.05)
    results = await asyncio.gather(*(cache.aget(fetcher, MARGIN) for _ in range(100)))
    assert fetcher.calls == 1
    assert results == ["tok-1"] * 100


def test_cached_token_is_reused_until_margin():
    cache = TokenCache()
    fresh = FakeFetcher(lifetime=timedelta(hours=2))
    assert cache.get(fresh, MARGIN) == "tok-1"
    assert cache.get(fresh, MARGIN) == "tok-1"
    assert fresh.calls == 1
    # the same token is too old for a bigger margin: refreshed before expires_at - margin
    assert cache.get(fresh, timedelta(hours=3)) == "tok-2"
    assert fresh.calls == 2


def test_token_inside_margin_is_refreshed_every_time():
    cache = TokenCache()
    short = FakeFetcher(lifetime=timedelta(minutes=10))  # expires within the 30 min margin
    assert cache.get(short, MARGIN) == "tok-1"
    assert cache.get(short, MARGIN) == "tok-2"
    assert short.calls == 2


async def test_async_refresh_before_margin():
    cache = TokenCache()
    short = FakeFetcher(lifetime=timedelta(minutes=10))
    assert await cache.aget(short, MARGIN) == "tok-1"
    assert await cache.aget(short, MARGIN) == "tok-2"
    assert await cache.aget(short, timedelta(minutes=1)) == "tok-2"


def test_keys_are_separate():
    cache = TokenCache()
    a, b = FakeFetcher(key="a"), FakeFetcher(key="b")
    assert cache.get(a, MARGIN) == "tok-1"
    assert cache.get(b, MARGIN) == "tok-1"
    assert (a.calls, b.calls) == (1, 1)


def test_invalidate_drops_only_the_failed_token():
    cache = TokenCache()
    fetcher = FakeFetcher()
    old = cache.get(fetcher, MARGIN)
    cache.invalidate(fetcher.cache_key, old)
    new = cache.get(fetcher, MARGIN)
    assert (old, new) == ("tok-1", "tok-2")
    # a late 401 for the old token must not throw away the newer one
    cache.invalidate(fetcher.cache_key, old)
    assert cache.get(fetcher, MARGIN) == "tok-2"
    assert fetcher.calls == 2
    cache.invalidate(fetcher.cache_key, None)
    assert cache.get(fetcher, MARGIN) == "tok-3"


def test_invalidate_unknown_key_is_harmless():
    cache = TokenCache()
    cache.invalidate(("nothing",), "x")
    cache.clear()
    assert cache.fetches == 0


def test_fetched_tokens_are_registered_as_secrets(secret_sink: list[str]):
    cache = TokenCache()
    fetcher = FakeFetcher(lifetime=timedelta(minutes=1))
    cache.get(fetcher, MARGIN)
    cache.get(fetcher, MARGIN)
    assert secret_sink == ["tok-1", "tok-2"]


async def test_async_fetched_tokens_are_registered_as_secrets(secret_sink: list[str]):
    await TokenCache().aget(FakeFetcher(), MARGIN)
    assert secret_sink == ["tok-1"]


# --------------------------------------------------------------------------- strategies


def _outgoing() -> OutgoingRequest:
    return OutgoingRequest(
        method="GET",
        host="svc.example.com",
        path="/v1/p/x",
        query=(("a", "1"),),
        headers={"Content-Type": "application/json"},
        body=b"",
    )


def test_iam_token_auth_adds_header_and_invalidates_what_was_sent():
    cache = TokenCache()
    fetcher = FakeFetcher()
    auth = IamTokenAuth(fetcher=fetcher, cache=cache)
    assert auth.can_refresh
    sent = auth.apply(_outgoing())
    assert sent[TOKEN_HEADER] == "tok-1"
    assert sent["Content-Type"] == "application/json"
    auth.invalidate(sent)
    assert auth.apply(_outgoing())[TOKEN_HEADER] == "tok-2"


async def test_iam_token_auth_async():
    auth = IamTokenAuth(fetcher=FakeFetcher(), cache=TokenCache())
    assert (await auth.aapply(_outgoing()))[TOKEN_HEADER] == "tok-1"


def test_static_token_auth():
    auth = StaticTokenAuth(token="user-token")
    assert not auth.can_refresh
    assert auth.apply(_outgoing())[TOKEN_HEADER] == "user-token"


def test_no_auth_copies_headers():
    request = _outgoing()
    sent = NoAuth().apply(request)
    assert sent == request.headers
    assert sent is not request.headers


def test_aksk_auth_signs_verifiably():
    moment = datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    auth = AkSkAuth(access_key="AK1", secret_key="SK1", security_token="sts", clock=lambda: moment)
    request = _outgoing()
    headers = auth.apply(request)
    assert headers["X-Sdk-Date"] == "20240102T030405Z"
    assert headers["X-Security-Token"] == "sts"
    parsed = signing.parse_authorization(headers["Authorization"])
    assert parsed is not None and parsed.access_key == "AK1"
    assert signing.verify_signature(
        method=request.method,
        path=request.path,
        query=request.query,
        headers=headers,
        body=request.body,
        secret_key="SK1",
        authorization=parsed,
    )


def test_aksk_auth_signs_the_project_id_into_every_request():
    """As the SDK's BasicCredentials does when the project is known: the DIS transfer-task log
    path has no project in it, the signed header names it."""
    moment = datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    auth = AkSkAuth(access_key="AK1", secret_key="SK1", project_id="p" * 32, clock=lambda: moment)
    headers = auth.apply(_outgoing())
    assert headers["X-Project-Id"] == "p" * 32
    parsed = signing.parse_authorization(headers["Authorization"])
    assert parsed is not None and "x-project-id" in parsed.signed_headers
    assert "X-Project-Id" not in AkSkAuth(access_key="AK1", secret_key="SK1", clock=lambda: moment).apply(_outgoing())


async def test_aksk_auth_async_equals_sync():
    moment = datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    auth = AkSkAuth(access_key="AK1", secret_key="SK1", clock=lambda: moment)
    assert await auth.aapply(_outgoing()) == auth.apply(_outgoing())


SECRET = "S3cr3t-Value-Never-Shown"


@pytest.mark.parametrize(
    "obj",
    [
        AkSkAuth(access_key="AKPUBLIC", secret_key=SECRET, security_token=SECRET + "-token"),
        StaticTokenAuth(token=SECRET),
        PasswordTokenFetcher(
            iam_endpoint="https://iam.example.com", domain_name="acme", user_name="bob", password=SECRET
        ),
        IssuedToken(value=SECRET, expires_at=datetime(2030, 1, 1, tzinfo=timezone.utc)),
        IamTokenAuth(
            fetcher=PasswordTokenFetcher(
                iam_endpoint="https://iam.example.com", domain_name="acme", user_name="bob", password=SECRET
            )
        ),
    ],
    ids=["aksk", "static", "fetcher", "issued", "iam-auth"],
)
def test_repr_never_shows_secrets(obj: object):
    assert SECRET not in repr(obj)
    assert SECRET not in str(obj)
    assert type(obj).__name__ in repr(obj)  # the repr is still informative


def test_failed_fetch_is_not_cached():
    class Failing(FakeFetcher):
        def fetch(self) -> IssuedToken:
            self.calls += 1
            if self.calls == 1:
                raise RuntimeError("iam down")
            return IssuedToken(value="tok-ok", expires_at=datetime.now(timezone.utc) + timedelta(hours=1))

    cache = TokenCache()
    fetcher = Failing()
    with pytest.raises(RuntimeError, match="iam down"):
        cache.get(fetcher, timedelta(0))
    assert cache.get(fetcher, timedelta(0)) == "tok-ok"
    assert cache.fetches == 1


def test_register_secret_ignores_empty_values(secret_sink: list[str]):
    from airflow_provider.core.secrets import register_secret

    register_secret(None)
    register_secret("")
    register_secret("s3cret")
    assert secret_sink == ["s3cret"]
