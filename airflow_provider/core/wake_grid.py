"""The shared wake-up grid of the triggerer's waits.

Each poll wakes the process, and on this kind of machine a wake-up costs more CPU than the poll's
own work (a check costs several times the CPU when it runs alone; see benchmarks/README.md). So
waits round their sleeps up to a shared grid, and their status requests leave each response in
the socket until a tick of the same grid (``http11.ConnectionPool.request(read_grid=...)``): the
polls due in one slot, and the responses to the previous slot's polls, then share one turn of the
event loop instead of waking an idle process once each.
"""

from __future__ import annotations

import asyncio

#: Seconds between ticks. A poll is delayed by less than one tick, its response by at most one and a
#: half: small against poll intervals of seconds to minutes, large against a wake-up's cost.
WAKE_GRID_SECONDS = 0.1


def coalesced(delay: float) -> float:
    """``delay`` (0: now), lengthened by less than ``WAKE_GRID_SECONDS`` to end on the shared grid.

    Delays under a second (retry back-offs, test timings) are left alone.
    """
    if 0 < delay < 1.0:
        return delay
    wake = asyncio.get_running_loop().time() + delay
    return delay + (-wake % WAKE_GRID_SECONDS)
