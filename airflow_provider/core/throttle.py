"""Serial, spaced calls per host: MEF serves one call at a time and 10 requests/s per client."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
import weakref
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator


class Throttle:
    """Holds a per-host lock for the whole call and spaces call starts by ``min_interval``.

    Threads share one ``threading.Lock`` per host; coroutines of one event loop share an
    ``asyncio.Lock`` per host, so the trigger never blocks the loop while it waits its turn.

    :param min_interval: seconds between the starts of two calls to one host.
    """

    def __init__(self, min_interval: float = 0.1) -> None:
        self.min_interval = min_interval
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._loop_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]] = (
            weakref.WeakKeyDictionary()
        )
        self._last_start: dict[str, float] = {}

    def _wait_time(self, host: str) -> float:
        with self._guard:
            last = self._last_start.get(host)
        if last is None:
            return 0.0
        return max(0.0, last + self.min_interval - time.monotonic())

    def _started(self, host: str) -> None:
        with self._guard:
            self._last_start[host] = time.monotonic()

    @contextlib.contextmanager
    def hold(self, host: str) -> Iterator[None]:
        """Context manager: hold ``host``'s lock for the call, started ``min_interval`` or more after the last."""
        with self._guard:
            lock = self._locks.setdefault(host, threading.Lock())
        with lock:
            time.sleep(self._wait_time(host))
            self._started(host)
            yield

    @contextlib.asynccontextmanager
    async def ahold(self, host: str) -> AsyncIterator[None]:
        """The async twin of ``hold``: waits on an ``asyncio.Lock`` without blocking the event loop."""
        loop = asyncio.get_running_loop()
        with self._guard:
            lock = self._loop_locks.setdefault(loop, {}).setdefault(host, asyncio.Lock())
        async with lock:
            await asyncio.sleep(self._wait_time(host))
            self._started(host)
            yield


#: Shared by every edge manager hook and trigger of the process.
EDGE_MANAGER_THROTTLE = Throttle(min_interval=0.1)
