"""PollPolicy: fixed, exponential and adaptive intervals, always clamped; validation; round trip."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_provider.core.errors import InvalidInputError
from airflow_provider.core.polling import (
    AGE_FRACTION,
    APPROACH_FRACTION,
    FINISH_MARGIN,
    PollPolicy,
    estimate_remaining,
)
from airflow_provider.core.status import TaskState, TaskStatus

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)


def status(**fields: Any) -> TaskStatus:
    base: dict[str, Any] = {"service": "css", "task_id": "d455a541-aaaa", "state": TaskState.RUNNING}
    base.update(fields)
    return TaskStatus(**base)


def ago(seconds: float) -> datetime:
    return NOW - timedelta(seconds=seconds)


ADAPTIVE = PollPolicy(kind="adaptive", poke_interval=300.0, min_interval=5.0)


# fixed / exponential --------------------------------------------------------------------------
@pytest.mark.parametrize("poll_count", [1, 2, 10, 1000])
def test_fixed_is_always_poke_interval(poll_count: int) -> None:
    policy = PollPolicy(kind="fixed", poke_interval=42.0, min_interval=1.0)
    busy = status(progress=99.0, eta_seconds=1.0, started_at=ago(1000))
    assert policy.next_interval(busy, poll_count=poll_count, now=NOW) == 42.0
    assert policy.next_interval(None, poll_count=poll_count, now=NOW) == 42.0


@pytest.mark.parametrize(
    ("poll_count", "expected"),
    [(0, 5.0), (1, 5.0), (2, 10.0), (3, 20.0), (4, 40.0), (5, 60.0), (50, 60.0)],
)
def test_exponential_grows_by_factor_and_is_capped(poll_count: int, expected: float) -> None:
    policy = PollPolicy(kind="exponential", poke_interval=60.0, min_interval=5.0, factor=2.0)
    assert policy.next_interval(status(eta_seconds=1.0), poll_count=poll_count, now=NOW) == expected


def test_exponential_with_factor_one_stays_at_min() -> None:
    policy = PollPolicy(kind="exponential", poke_interval=60.0, min_interval=3.0, factor=1.0)
    assert [policy.next_interval(None, poll_count=n) for n in range(1, 6)] == [3.0] * 5


# adaptive ---------------------------------------------------------------------------------------
def test_adaptive_uses_eta_seconds_plus_margin_when_close() -> None:
    # Within two minimum intervals of the predicted finish: aim just past it.
    assert ADAPTIVE.next_interval(status(eta_seconds=8.0), poll_count=1, now=NOW) == 8.0 + FINISH_MARGIN


def test_adaptive_approaches_a_far_eta_by_halves() -> None:
    # Far from the finish: wait a fraction, so an estimate that is off is corrected, not overshot.
    assert ADAPTIVE.next_interval(status(eta_seconds=30.0), poll_count=1, now=NOW) == 30.0 * APPROACH_FRACTION
    assert ADAPTIVE.next_interval(status(eta_seconds=12.0), poll_count=1, now=NOW) == 10.0  # 2 * min_interval


def test_adaptive_eta_wins_over_progress_rate_and_age() -> None:
    # progress rate alone would say 100 s remaining, the age 250 s: the service's own ETA wins.
    busy = status(eta_seconds=20.0, progress=50.0, started_at=ago(100))
    assert ADAPTIVE.next_interval(busy, poll_count=3, waiting_since=ago(1000), now=NOW) == 20.0 * APPROACH_FRACTION
    close = status(eta_seconds=4.0, progress=50.0, started_at=ago(100))
    assert ADAPTIVE.next_interval(close, poll_count=3, waiting_since=ago(1000), now=NOW) == 5.0


def test_adaptive_eta_is_clamped_both_ways() -> None:
    assert ADAPTIVE.next_interval(status(eta_seconds=0.0), poll_count=1, now=NOW) == 5.0
    assert ADAPTIVE.next_interval(status(eta_seconds=10_000.0), poll_count=1, now=NOW) == 300.0


@pytest.mark.parametrize(
    ("progress", "elapsed", "remaining", "interval"),
    [
        (50.0, 100.0, 100.0, 100.0 * APPROACH_FRACTION),
        (80.0, 40.0, 10.0, 10.0 + FINISH_MARGIN),
        (25.0, 30.0, 90.0, 30.0),  # half of 90 s, but never longer than the task has run
    ],
)
def test_adaptive_progress_rate_from_started_at(
    progress: float, elapsed: float, remaining: float, interval: float
) -> None:
    busy = status(progress=progress, started_at=ago(elapsed))
    assert estimate_remaining(busy, NOW) == pytest.approx(remaining)
    # waiting_since is ignored when the task reports its own start.
    assert ADAPTIVE.next_interval(busy, poll_count=1, waiting_since=ago(5000), now=NOW) == pytest.approx(interval)


def test_adaptive_progress_rate_is_clamped_to_poke_interval() -> None:
    slow = status(progress=1.0, started_at=ago(1000))  # 99,000 s to go
    assert ADAPTIVE.next_interval(slow, poll_count=1, now=NOW) == 300.0


def test_adaptive_early_progress_waits_no_longer_than_the_task_ran() -> None:
    # 1 % after 20 s predicts 33 min, but a slow start would make that wait overshoot badly.
    early = status(progress=1.0, started_at=ago(20))
    assert ADAPTIVE.next_interval(early, poll_count=2, now=NOW) == 20.0


@pytest.mark.parametrize("progress", [None, 0.0, 100.0])
def test_adaptive_without_usable_progress_uses_task_age(progress: float | None) -> None:
    busy = status(progress=progress, started_at=ago(100))
    assert estimate_remaining(busy, NOW) is None
    assert ADAPTIVE.next_interval(busy, poll_count=1, now=NOW) == pytest.approx(100 * AGE_FRACTION)


def test_adaptive_age_falls_back_to_waiting_since() -> None:
    assert ADAPTIVE.next_interval(status(), poll_count=2, waiting_since=ago(200), now=NOW) == pytest.approx(50.0)
    assert ADAPTIVE.next_interval(None, poll_count=2, waiting_since=ago(80), now=NOW) == pytest.approx(20.0)


def test_adaptive_age_is_clamped() -> None:
    assert ADAPTIVE.next_interval(status(started_at=ago(4)), poll_count=1, now=NOW) == 5.0
    assert ADAPTIVE.next_interval(status(started_at=ago(100_000)), poll_count=1, now=NOW) == 300.0
    # a start time in the future (clock skew) is an age of zero, not a negative wait
    assert ADAPTIVE.next_interval(status(started_at=NOW + timedelta(hours=1)), poll_count=1, now=NOW) == 5.0


def test_adaptive_with_nothing_known_polls_at_min_interval() -> None:
    assert ADAPTIVE.next_interval(None, poll_count=1, now=NOW) == 5.0
    assert ADAPTIVE.next_interval(status(), poll_count=1, now=NOW) == 5.0


def test_naive_datetimes_are_read_as_utc() -> None:
    naive = ago(100).replace(tzinfo=None)
    assert ADAPTIVE.next_interval(status(started_at=naive), poll_count=1, now=NOW) == pytest.approx(25.0)
    assert ADAPTIVE.next_interval(None, poll_count=1, waiting_since=naive, now=NOW) == pytest.approx(25.0)
    assert estimate_remaining(status(progress=50.0, started_at=naive), NOW) == pytest.approx(100.0)


def test_progress_rate_needs_elapsed_time() -> None:
    assert estimate_remaining(status(progress=50.0, started_at=NOW), NOW) is None
    assert estimate_remaining(None, NOW) is None


@given(
    kind=st.sampled_from(["adaptive", "fixed", "exponential"]),
    min_interval=st.floats(0.01, 100.0),
    extra=st.floats(0.0, 1000.0),
    eta=st.none() | st.floats(0.0, 1e7),
    progress=st.none() | st.floats(0.0, 100.0),
    started=st.none() | st.floats(-1e5, 1e7),
    waiting=st.none() | st.floats(-1e5, 1e7),
    poll_count=st.integers(0, 1000),
)
def test_every_interval_is_within_bounds(
    kind: str,
    min_interval: float,
    extra: float,
    eta: float | None,
    progress: float | None,
    started: float | None,
    waiting: float | None,
    poll_count: int,
) -> None:
    policy = PollPolicy(kind=kind, poke_interval=min_interval + extra, min_interval=min_interval)  # type: ignore[arg-type]
    observed = status(eta_seconds=eta, progress=progress, started_at=None if started is None else ago(started))
    interval = policy.next_interval(
        observed, poll_count=poll_count, waiting_since=None if waiting is None else ago(waiting), now=NOW
    )
    assert policy.min_interval <= interval <= policy.poke_interval


@pytest.mark.parametrize("poll_count", [1025, 100_000])
def test_exponential_survives_very_long_waits(poll_count: int) -> None:
    policy = PollPolicy(kind="exponential", poke_interval=60.0, min_interval=5.0, factor=2.0)
    assert policy.next_interval(None, poll_count=poll_count) == 60.0


# validation ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"kind": "linear"}, "poll_policy"),
        ({"kind": ""}, "poll_policy"),
        ({"poke_interval": 0.0}, "poke_interval"),
        ({"poke_interval": -1.0}, "poke_interval"),
        ({"poke_interval": float("nan")}, "poke_interval"),
        ({"min_interval": 0.0}, "min_poll_interval"),
        ({"min_interval": -1.0}, "min_poll_interval"),
        ({"poke_interval": 10.0, "min_interval": 11.0}, "min_poll_interval"),
        ({"factor": 0.5}, "factor"),
    ],
)
def test_invalid_policies_name_the_field(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        PollPolicy(**kwargs)
    assert info.value.field == field
    assert field in str(info.value)


def test_min_interval_equal_to_poke_interval_is_allowed() -> None:
    policy = PollPolicy(kind="adaptive", poke_interval=7.0, min_interval=7.0)
    assert policy.next_interval(status(eta_seconds=1000.0), poll_count=1, now=NOW) == 7.0


# serialization ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "policy",
    [
        PollPolicy(),
        PollPolicy(kind="fixed", poke_interval=0.2, min_interval=0.1, factor=2.0),
        PollPolicy(kind="exponential", poke_interval=600.0, min_interval=1.5, factor=3.0),
    ],
)
def test_to_dict_from_dict_round_trip(policy: PollPolicy) -> None:
    data = policy.to_dict()
    assert set(data) == {"kind", "poke_interval", "min_interval", "factor"}
    assert PollPolicy.from_dict(json.loads(json.dumps(data))) == policy


def test_from_dict_validates() -> None:
    with pytest.raises(InvalidInputError, match="poll_policy"):
        PollPolicy.from_dict({"kind": "sometimes", "poke_interval": 1.0, "min_interval": 0.5, "factor": 2.0})
    with pytest.raises(TypeError):
        PollPolicy.from_dict({"kind": "fixed", "jitter": 1.0})


def test_from_dict_shares_one_policy_per_distinct_dict() -> None:
    """Thousands of resumed triggers carry equal policy dicts; they must not hold a copy each."""
    data = {"kind": "fixed", "poke_interval": 10.0, "min_interval": 10.0}
    first = PollPolicy.from_dict(dict(data))
    assert PollPolicy.from_dict(dict(reversed(data.items()))) is first
    other = PollPolicy.from_dict({**data, "poke_interval": 20.0})
    assert other is not first
    assert other.poke_interval == 20.0
    with pytest.raises(InvalidInputError, match="poke_interval"):
        PollPolicy.from_dict({"kind": "fixed", "poke_interval": [1]})  # unhashable: still validated
