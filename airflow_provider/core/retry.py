"""When to retry a request, in one pure function shared by the sync and async transports.

Reads are retried on throttling, gateway errors and network failures. A start/create call is
retried only when it provably did not reach the service (connection refused) or was
throttled (429: the gateway rejected it before the service saw it), so a retry never starts a
second remote task.
"""

from __future__ import annotations

import enum
import math
import random
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})


class Failure(str, enum.Enum):
    """How an attempt failed when there was no HTTP status to look at."""

    CONNECT = "connection refused or unreachable"  # never reached the server
    TIMEOUT = "read timeout"  # may have reached the server
    DISCONNECTED = "connection dropped"  # may have reached the server
    CONNECT_TIMEOUT = "connect timeout"  # never reached the server


_NOT_SENT = frozenset({Failure.CONNECT, Failure.CONNECT_TIMEOUT})


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta seconds or an HTTP date)."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return None if math.isnan(seconds) else max(0.0, seconds)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Jittered exponential backoff, bounded by attempts and by total elapsed time."""

    max_attempts: int = 5
    max_elapsed: float = 120.0
    base_delay: float = 1.0
    max_delay: float = 30.0
    jitter: float = 0.25  # +/- fraction of the computed delay

    def backoff(self, attempt: int, rng: random.Random | None = None) -> float:
        """Delay before attempt ``attempt + 1`` (``attempt`` counts from 1)."""
        delay: float = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        if self.jitter:
            spread = delay * self.jitter
            delay += (rng or random).uniform(-spread, spread)
        return max(0.0, delay)

    def delay_for(
        self,
        *,
        attempt: int,
        elapsed: float,
        idempotent: bool,
        status: int | None = None,
        failure: Failure | None = None,
        retry_after: str | None = None,
        rng: random.Random | None = None,
    ) -> float | None:
        """Seconds to wait before the next attempt, or ``None`` to give up now."""
        if attempt >= self.max_attempts:
            return None
        if status is not None:
            if status not in RETRYABLE_STATUSES:
                return None
            if not idempotent and status != 429:
                return None
        elif failure is not None:
            if not idempotent and failure not in _NOT_SENT:
                return None
        else:
            return None
        delay = self.backoff(attempt, rng)
        server_says = parse_retry_after(retry_after)
        if server_says is not None:
            delay = max(delay, min(server_says, self.max_delay * 4))
        if elapsed + delay > self.max_elapsed:
            return None
        return delay


NO_RETRY = RetryPolicy(max_attempts=1)
