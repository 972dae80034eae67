"""The emulated clock: wall time scaled by a speed factor, plus explicit jumps.

Tasks never run in the background; their state is a pure function of this clock, so a
test can jump forward instead of sleeping.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable


class EmulatedClock:
    def __init__(
        self,
        speed: float = 1.0,
        *,
        origin: float | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._speed = speed
        self._base_mono = monotonic()
        self._base = time.time() if origin is None else origin

    @property
    def speed(self) -> float:
        return self._speed

    def now(self) -> float:
        """Emulated epoch seconds."""
        return self._base + (self._monotonic() - self._base_mono) * self._speed

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._base += seconds
        return self.now()

    def set_speed(self, speed: float) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        with self._lock:
            mono = self._monotonic()
            self._base += (mono - self._base_mono) * self._speed
            self._base_mono = mono
            self._speed = speed
