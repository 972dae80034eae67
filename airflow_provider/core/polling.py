"""How long to wait before the next status check, as a pure function of the last observation.

The policy needs no history: the remaining time comes from the service's own estimate
(``remain_time``), or from progress over the time the task has been running, or — for a task
that reports no progress — from its age. That keeps poke, reschedule (a new process per poke)
and the trigger (resumed after a triggerer restart) on exactly the same schedule.
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Literal

from airflow_provider.core.errors import InvalidInputError

if TYPE_CHECKING:
    from airflow_provider.core.status import TaskStatus

PolicyKind = Literal["adaptive", "fixed", "exponential"]
POLICY_KINDS: tuple[PolicyKind, ...] = ("adaptive", "fixed", "exponential")

#: Without progress information, poll at this fraction of the task's age: detection lag stays a
#: bounded fraction of the task's duration and the number of calls grows only logarithmically.
AGE_FRACTION = 0.25
#: Aim this many seconds past the predicted finish, so the poll lands just after it.
FINISH_MARGIN = 1.0
#: While the predicted finish is far, wait only this fraction of the remaining time: a
#: prediction from a non-linear progress curve (or a pessimistic ``remain_time``) is then
#: corrected by the next observation instead of being overshot by the whole error.
APPROACH_FRACTION = 0.5


@dataclass(frozen=True, slots=True)
class PollPolicy:
    """How long a wait sleeps between status checks (``next_interval``).

    ``adaptive`` aims just past the predicted finish (from the service's ``remain_time``, from progress, or from the
    task's age); ``fixed`` checks every ``poke_interval``; ``exponential`` starts at ``min_interval`` and grows by
    ``factor`` per check. Every interval is clamped to [``min_interval``, ``poke_interval``]. Invalid values raise
    ``InvalidInputError``.
    """

    kind: PolicyKind = "adaptive"
    poke_interval: float = 60.0  # fixed interval, and the longest wait for the other kinds
    min_interval: float = 5.0
    factor: float = 2.0  # exponential growth per poll

    def __post_init__(self) -> None:
        if self.kind not in POLICY_KINDS:
            raise InvalidInputError("poll_policy", self.kind, f"must be one of {', '.join(POLICY_KINDS)}")
        for name, value in (("poke_interval", self.poke_interval), ("min_poll_interval", self.min_interval)):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise InvalidInputError(name, value, "must be a number of seconds")
        if isinstance(self.factor, bool) or not isinstance(self.factor, (int, float)):
            raise InvalidInputError("factor", self.factor, "must be a number")
        if not self.poke_interval > 0:
            raise InvalidInputError("poke_interval", self.poke_interval, "must be positive")
        if not 0 < self.min_interval <= self.poke_interval:
            raise InvalidInputError(
                "min_poll_interval",
                self.min_interval,
                f"must be positive and at most poke_interval={self.poke_interval}",
            )
        if self.factor < 1:
            raise InvalidInputError("factor", self.factor, "must be at least 1")

    def to_dict(self) -> dict[str, Any]:
        """The policy as a dict of its fields, for trigger serialization (``from_dict`` reverses it)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PollPolicy:
        """Equal dicts give the same policy object: it is immutable, and thousands of triggers
        resumed from the same serialized policy then hold one instead of one each."""
        if cls is PollPolicy:
            try:
                return _shared_policy(tuple(sorted(data.items())))
            except TypeError:  # an unhashable value or an unknown field: the constructor says which
                pass
        return cls(**data)

    def clamp(self, seconds: float) -> float:
        """``seconds`` bounded to [``min_interval``, ``poke_interval``]."""
        return min(self.poke_interval, max(self.min_interval, seconds))

    def polls_within(self, elapsed: float) -> int:
        """How many checks this policy makes in ``elapsed`` seconds (without observations).

        Reschedule mode starts a new process for every check, so the poll count has to be
        recovered from the time waited for the exponential policy to keep growing.
        """
        count, total = 1, 0.0
        while count < 10_000:
            total += self.next_interval(None, poll_count=count)
            if total > elapsed:
                break
            count += 1
        return count

    def next_interval(
        self,
        status: TaskStatus | None,
        *,
        poll_count: int,
        waiting_since: datetime | None = None,
        now: datetime | None = None,
    ) -> float:
        """Seconds until the next check; ``poll_count`` counts checks done so far (from 1)."""
        if self.kind == "fixed":
            return self.poke_interval
        if self.kind == "exponential":
            exponent = min(max(0, poll_count - 1), 64)  # beyond this the cap applies anyway
            return self.clamp(self.min_interval * self.factor**exponent)
        now = now or datetime.now(timezone.utc)
        remaining = estimate_remaining(status, now)
        started = (status.started_at if status is not None else None) or waiting_since
        age = None if started is None else max(0.0, (now - _aware(started)).total_seconds())
        if remaining is not None:
            if remaining <= 2 * self.min_interval:
                return self.clamp(remaining + FINISH_MARGIN)
            wait = max(remaining * APPROACH_FRACTION, 2 * self.min_interval)
            if age is not None and status is not None and status.eta_seconds is None:
                # Early progress says little about the curve: never wait longer than the task has run.
                wait = min(wait, max(2 * self.min_interval, age))
            return self.clamp(wait)
        if age is None:
            return self.min_interval
        return self.clamp(age * AGE_FRACTION)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def estimate_remaining(status: TaskStatus | None, now: datetime) -> float | None:
    """Seconds until the task should finish, from ``eta_seconds`` or progress rate; None if unknown."""
    if status is None:
        return None
    if status.eta_seconds is not None:
        return status.eta_seconds
    progress, started = status.progress, status.started_at
    if progress is None or started is None or not 0 < progress < 100:
        return None
    elapsed = (now - _aware(started)).total_seconds()
    if elapsed <= 0:
        return None
    return elapsed * (100.0 - progress) / progress


@functools.lru_cache(maxsize=256)
def _shared_policy(items: tuple[tuple[str, Any], ...]) -> PollPolicy:
    return PollPolicy(**dict(items))
