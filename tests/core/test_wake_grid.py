"""Waits sleep until ticks they share: coarser ones for long sleeps, never more than a tick holds."""

from __future__ import annotations

import asyncio
import math

import pytest

from airflow_provider.core import wake_grid
from airflow_provider.core.wake_grid import (
    COARSE_TICKS,
    SLACK_FRACTION,
    TICK_CAPACITY,
    WAKE_GRID_SECONDS,
    _choose_tick,
    sleep_on_grid,
)


def on_grid(moment: float, grid: float) -> bool:
    phase = moment % grid
    return min(phase, grid - phase) < 1e-3


@pytest.mark.parametrize("delay", [0.0, 1.0, 5.0, 10.0, 30.0, 299.9, 3600.0])
def test_a_lone_wait_ends_on_the_coarsest_tick_its_slack_allows(delay: float) -> None:
    now = 1234.567
    tick = _choose_tick(now, delay, {})
    ends = tick * WAKE_GRID_SECONDS
    late = ends - (now + delay)
    allowed = [t * WAKE_GRID_SECONDS for t in COARSE_TICKS if t * WAKE_GRID_SECONDS <= delay * SLACK_FRACTION]
    grid = max(allowed, default=WAKE_GRID_SECONDS)
    assert 0 <= late < grid + 1e-9
    assert on_grid(ends, grid)
    assert late <= max(delay * SLACK_FRACTION, WAKE_GRID_SECONDS)


def test_a_full_coarse_tick_sends_later_waits_to_finer_ticks() -> None:
    now, delay = 100.05, 10.0  # slack 0.5 s: the 0.4 s grid at most
    due: wake_grid._Due = {}
    chosen = []
    for _ in range(2 * TICK_CAPACITY + 1):
        tick = _choose_tick(now, delay, due)
        due.setdefault(tick, (None, []))[1].append(None)  # type: ignore[arg-type]
        chosen.append(tick)
    first = chosen[0]
    assert first % 4 == 0 and chosen.count(first) == TICK_CAPACITY
    second = chosen[TICK_CAPACITY]
    assert second % 2 == 0 and second % 4 != 0 and chosen.count(second) == TICK_CAPACITY
    last = chosen[-1]  # 0.4 and 0.2 ticks full: the base tick, however full
    assert last == math.ceil((now + delay) / WAKE_GRID_SECONDS)
    assert max(chosen) * WAKE_GRID_SECONDS - (now + delay) < 4 * WAKE_GRID_SECONDS


async def test_waits_due_together_wake_in_one_turn_on_one_timer() -> None:
    loop = asyncio.get_running_loop()
    woke: list[float] = []

    async def wait() -> None:
        await sleep_on_grid(1.0)
        woke.append(loop.time())

    started = loop.time()
    tasks = [asyncio.create_task(wait()) for _ in range(20)]
    await asyncio.sleep(0)
    due = wake_grid._due[loop]
    ((timer, waiters),) = due.values()
    assert len(waiters) == 20  # one timer for all twenty
    assert on_grid(timer.when(), WAKE_GRID_SECONDS)
    assert 1.0 <= timer.when() - started < 1.0 + WAKE_GRID_SECONDS
    await asyncio.gather(*tasks)
    assert max(woke) - min(woke) < 1e-3  # in one turn of the loop
    assert timer.when() <= min(woke) < timer.when() + 0.05
    assert not due  # the tick is gone once it fired


async def test_a_cancelled_wait_leaves_its_tick_and_the_last_one_out_cancels_the_timer() -> None:
    loop = asyncio.get_running_loop()
    tasks = [asyncio.create_task(sleep_on_grid(30.0)) for _ in range(3)]
    await asyncio.sleep(0)
    due = wake_grid._due[loop]
    ((tick, (timer, waiters)),) = due.items()
    tasks[0].cancel()
    await asyncio.sleep(0)
    assert len(waiters) == 2 and not timer.cancelled()
    for task in tasks[1:]:
        task.cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(result, asyncio.CancelledError) for result in results)
    assert tick not in due and timer.cancelled()


async def test_short_sleeps_are_left_alone() -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    await sleep_on_grid(0.05)
    assert 0.05 <= loop.time() - started < 0.09
    assert not wake_grid._due.get(loop)
