"""The retry policy: what is retried, how long it waits, and when it stops."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from airflow_provider.core.retry import NO_RETRY, RETRYABLE_STATUSES, Failure, RetryPolicy, parse_retry_after

NO_JITTER = RetryPolicy(jitter=0.0)


@pytest.mark.parametrize("status", sorted(RETRYABLE_STATUSES))
def test_each_retryable_status_is_retried_for_reads(status: int):
    delay = NO_JITTER.delay_for(attempt=1, elapsed=0.0, idempotent=True, status=status)
    assert delay == NO_JITTER.base_delay


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 412, 423, 501, 505])
def test_other_statuses_are_not_retried(status: int):
    assert NO_JITTER.delay_for(attempt=1, elapsed=0.0, idempotent=True, status=status) is None


@pytest.mark.parametrize("failure", list(Failure))
def test_every_network_failure_is_retried_for_reads(failure: Failure):
    assert NO_JITTER.delay_for(attempt=1, elapsed=0.0, idempotent=True, failure=failure) is not None


def test_non_idempotent_retried_only_when_not_sent():
    policy = NO_JITTER
    assert policy.delay_for(attempt=1, elapsed=0, idempotent=False, status=429) is not None
    for status in (500, 502, 503, 504):
        assert policy.delay_for(attempt=1, elapsed=0, idempotent=False, status=status) is None
    assert policy.delay_for(attempt=1, elapsed=0, idempotent=False, failure=Failure.CONNECT) is not None
    assert policy.delay_for(attempt=1, elapsed=0, idempotent=False, failure=Failure.CONNECT_TIMEOUT) is not None
    assert policy.delay_for(attempt=1, elapsed=0, idempotent=False, failure=Failure.TIMEOUT) is None
    assert policy.delay_for(attempt=1, elapsed=0, idempotent=False, failure=Failure.DISCONNECTED) is None


def test_neither_status_nor_failure_gives_up():
    assert NO_JITTER.delay_for(attempt=1, elapsed=0.0, idempotent=True) is None


def test_exponential_backoff_capped():
    policy = RetryPolicy(base_delay=1.0, max_delay=8.0, jitter=0.0, max_attempts=100, max_elapsed=10_000)
    assert [policy.backoff(n) for n in range(1, 7)] == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]


def test_max_attempts_bound():
    policy = RetryPolicy(max_attempts=3, jitter=0.0)
    assert policy.delay_for(attempt=1, elapsed=0, idempotent=True, status=503) is not None
    assert policy.delay_for(attempt=2, elapsed=0, idempotent=True, status=503) is not None
    assert policy.delay_for(attempt=3, elapsed=0, idempotent=True, status=503) is None
    assert NO_RETRY.delay_for(attempt=1, elapsed=0, idempotent=True, status=503) is None


def test_max_elapsed_bound():
    policy = RetryPolicy(max_elapsed=10.0, base_delay=4.0, jitter=0.0)
    assert policy.delay_for(attempt=1, elapsed=6.0, idempotent=True, status=503) == 4.0
    assert policy.delay_for(attempt=1, elapsed=6.5, idempotent=True, status=503) is None
    # a Retry-After longer than the remaining budget ends the retries as well
    assert policy.delay_for(attempt=1, elapsed=0.0, idempotent=True, status=429, retry_after="11") is None


def test_jitter_stays_within_bounds_and_varies():
    policy = RetryPolicy(base_delay=2.0, max_delay=100.0, jitter=0.25)
    rng = random.Random(1234)
    for attempt in range(1, 6):
        nominal = min(100.0, 2.0 * 2 ** (attempt - 1))
        samples = [policy.backoff(attempt, rng) for _ in range(200)]
        assert all(nominal * 0.75 <= s <= nominal * 1.25 for s in samples)
        assert max(samples) - min(samples) > nominal * 0.2  # really jittered, not constant


def test_jitter_is_reproducible_with_a_seeded_rng():
    policy = RetryPolicy()
    first = [policy.backoff(n, random.Random(7)) for n in range(1, 5)]
    second = [policy.backoff(n, random.Random(7)) for n in range(1, 5)]
    assert first == second


# --------------------------------------------------------------------------- Retry-After


NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("7", 7.0), (" 2.5 ", 2.5), ("0", 0.0), ("-3", 0.0), (None, None), ("", None), ("  ", None)],
)
def test_parse_retry_after_seconds(value: str | None, expected: float | None):
    assert parse_retry_after(value, now=NOW) == expected


def test_parse_retry_after_http_date():
    later = format_datetime(NOW + timedelta(seconds=42), usegmt=True)
    assert parse_retry_after(later, now=NOW) == 42.0
    earlier = format_datetime(NOW - timedelta(seconds=42), usegmt=True)
    assert parse_retry_after(earlier, now=NOW) == 0.0
    assert parse_retry_after("Wed, 01 May 2024 12:00:30 GMT", now=NOW) == 30.0


@pytest.mark.parametrize("value", ["soon", "nan", "Thu, 99 Foo 2024 25:61:00 GMT", "12 seconds", "1,5"])
def test_parse_retry_after_garbage_is_ignored(value: str):
    assert parse_retry_after(value, now=NOW) is None


def test_retry_after_is_honoured():
    policy = RetryPolicy(base_delay=1.0, jitter=0.25, max_elapsed=1000)
    delay = policy.delay_for(attempt=1, elapsed=0, idempotent=True, status=429, retry_after="17", rng=random.Random(3))
    assert delay is not None and delay >= 17.0


def test_retry_after_http_date_is_honoured_and_bounded():
    policy = RetryPolicy(max_delay=30.0, max_elapsed=10_000, jitter=0.0)
    far = format_datetime(datetime.now(timezone.utc) + timedelta(hours=2), usegmt=True)
    assert policy.delay_for(attempt=1, elapsed=0, idempotent=True, status=503, retry_after=far) == 120.0


def test_retry_after_is_bounded():
    policy = RetryPolicy(max_delay=30.0, max_elapsed=10_000, jitter=0.0)
    assert policy.delay_for(attempt=1, elapsed=0, idempotent=True, status=429, retry_after="86400") == 120.0
    assert policy.delay_for(attempt=1, elapsed=0, idempotent=True, status=429, retry_after="inf") == 120.0


def test_short_retry_after_does_not_shorten_backoff():
    policy = RetryPolicy(base_delay=4.0, jitter=0.0)
    assert policy.delay_for(attempt=2, elapsed=0, idempotent=True, status=429, retry_after="1") == 8.0


def test_garbage_retry_after_falls_back_to_backoff():
    policy = RetryPolicy(base_delay=1.5, jitter=0.0)
    assert policy.delay_for(attempt=1, elapsed=0, idempotent=True, status=429, retry_after="later") == 1.5
