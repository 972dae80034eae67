"""The shared wake-up grid of the triggerer's waits.

Each poll wakes the process, and on this kind of machine a wake-up costs more CPU than the poll's
own work (a check costs several times the CPU when it runs alone; see benchmarks/README.md). So
waits round their sleeps up to a shared grid, and their status requests leave each response in
the socket until a tick of the base grid (``http11.ConnectionPool.request(read_grid=...)``): the
polls due in one slot, and the responses to the previous slot's polls, then share one turn of the
event loop instead of waking an idle process once each.

A long sleep may end a little later still, like a kernel's timer slack: up to
``SLACK_FRACTION`` of it, on a coarser grid whose ticks every wait shares (each coarse grid
doubles the one below, so its ticks are ticks of all the finer ones). At a thousand waits of
10 s, that gathers 40 polls per wake-up instead of 10, which cut the CPU per poll by a fifth in
benchmark 2. A coarse tick takes at most ``TICK_CAPACITY`` waits, so that no single turn of the
loop grows long enough to delay the others: past that, waits fall back to finer ticks, and at
ten thousand waits the grid is the base one again.
"""

from __future__ import annotations

import asyncio
import math
import weakref

#: Seconds between the base grid's ticks. A poll is delayed by less than one tick, its response by
#: at most one and a half: small against poll intervals of seconds to minutes, large against a
#: wake-up's cost.
WAKE_GRID_SECONDS = 0.1
#: A sleep may end this fraction of its length later (so a 10 s poll interval, 0.4 s at most).
SLACK_FRACTION = 0.05
#: The coarse grids, in base ticks (0.2 to 1.6 s), coarsest first.
COARSE_TICKS = (16, 8, 4, 2)
#: Waits per coarse tick: about 20 ms of polling in one turn of the loop on the benchmark machine.
TICK_CAPACITY = 100

#: Per loop: base tick -> (its timer, the waits sleeping until it). One timer per tick, not per wait:
#: a triggerer's timer heap then holds a few hundred entries instead of one per wait, and each
#: wake-up skips a timer object and a dozen heap comparisons made in Python.
_Due = dict[int, tuple[asyncio.TimerHandle, list[asyncio.Future[None]]]]
_due: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Due] = weakref.WeakKeyDictionary()


async def sleep_on_grid(delay: float) -> None:
    """Sleep ``delay`` seconds (0: until the next tick), lengthened to end on a tick shared with
    other waits: the coarsest grid within the slack whose tick has room, else the base grid (less
    than ``WAKE_GRID_SECONDS`` later). Delays under a second (retry back-offs, test timings) are
    slept as they are."""
    if 0 < delay < 1.0:
        await asyncio.sleep(delay)
        return
    loop = asyncio.get_running_loop()
    due = _due.get(loop)
    if due is None:
        due = _due[loop] = {}
    tick = _choose_tick(loop.time(), delay, due)
    entry = due.get(tick)
    if entry is None:
        # ``tick * WAKE_GRID_SECONDS`` is the very float on which the pool's grid-deferred reads end,
        # so timers of both fire in the same turn of the loop.
        entry = due[tick] = (loop.call_at(tick * WAKE_GRID_SECONDS, _wake, due, tick), [])
    waiter: asyncio.Future[None] = loop.create_future()
    entry[1].append(waiter)
    try:
        await waiter
    except asyncio.CancelledError:
        _leave(due, tick, waiter)
        raise


def _choose_tick(now: float, delay: float, due: _Due) -> int:
    wake = (now + delay) / WAKE_GRID_SECONDS  # in base ticks
    slack = delay * SLACK_FRACTION / WAKE_GRID_SECONDS
    for ticks in COARSE_TICKS:
        if ticks <= slack:
            coarse = math.ceil(wake / ticks) * ticks
            entry = due.get(coarse)
            if entry is None or len(entry[1]) < TICK_CAPACITY:
                return coarse
    return math.ceil(wake)


def _wake(due: _Due, tick: int) -> None:
    _timer, waiters = due.pop(tick)
    for waiter in waiters:
        if not waiter.done():
            waiter.set_result(None)


def _leave(due: _Due, tick: int, waiter: asyncio.Future[None]) -> None:
    """A cancelled wait leaves its tick at once; the last one out cancels the tick's timer, so a
    loop shut down with waits asleep keeps nothing behind."""
    entry = due.get(tick)
    if entry is None or waiter not in entry[1]:
        return
    entry[1].remove(waiter)
    if not entry[1]:
        entry[0].cancel()
        del due[tick]
