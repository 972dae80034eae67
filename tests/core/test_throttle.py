"""The per-host throttle serialises calls; no wall-clock assertions, only ordering and counts."""

from __future__ import annotations

import asyncio
import threading
import types

import pytest

from airflow_provider.core import throttle as throttle_module
from airflow_provider.core.throttle import Throttle


class Overlap:
    """Counts how many workloads run at the same time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.current = 0
        self.peak = 0
        self.done = 0

    def enter(self) -> None:
        with self._lock:
            self.current += 1
            self.peak = max(self.peak, self.current)

    def leave(self) -> None:
        with self._lock:
            self.current -= 1
            self.done += 1


def test_threads_are_serialised_per_host():
    throttle = Throttle(min_interval=0.0)
    overlap = Overlap()
    start = threading.Barrier(20)

    def worker() -> None:
        start.wait()
        with throttle.hold("edge.example.com:30035"):
            overlap.enter()
            for _ in range(2000):  # a fake workload that gives other threads the chance to interleave
                pass
            threading.Event().wait(0.001)
            overlap.leave()

    threads = [threading.Thread(target=worker) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert overlap.done == 20
    assert overlap.peak == 1


def test_different_hosts_do_not_wait_for_each_other():
    throttle = Throttle(min_interval=0.0)
    both_inside = threading.Barrier(2, timeout=10)
    results: list[str] = []

    def worker(host: str) -> None:
        with throttle.hold(host):
            both_inside.wait()  # would time out (BrokenBarrierError) if hosts shared one lock
            results.append(host)

    threads = [threading.Thread(target=worker, args=(h,)) for h in ("a.example.com", "b.example.com")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(results) == ["a.example.com", "b.example.com"]


async def test_coroutines_are_serialised_per_host():
    throttle = Throttle(min_interval=0.0)
    overlap = Overlap()
    order: list[int] = []

    async def worker(n: int) -> None:
        async with throttle.ahold("edge.example.com"):
            overlap.enter()
            order.append(n)
            for _ in range(3):
                await asyncio.sleep(0)  # yield to the other coroutines while holding the host
            overlap.leave()

    await asyncio.gather(*(worker(n) for n in range(30)))
    assert overlap.done == 30
    assert overlap.peak == 1
    assert sorted(order) == list(range(30))


async def test_coroutines_for_different_hosts_interleave():
    throttle = Throttle(min_interval=0.0)
    overlap = Overlap()

    async def worker(host: str) -> None:
        async with throttle.ahold(host):
            overlap.enter()
            for _ in range(3):
                await asyncio.sleep(0)
            overlap.leave()

    await asyncio.gather(*(worker(f"h{n}.example.com") for n in range(5)))
    assert overlap.peak > 1


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_call_starts_are_spaced_by_min_interval(monkeypatch: pytest.MonkeyPatch):
    fake = FakeTime()
    monkeypatch.setattr(throttle_module, "time", types.SimpleNamespace(monotonic=fake.monotonic, sleep=fake.sleep))
    throttle = Throttle(min_interval=0.5)
    with throttle.hold("h"):
        pass
    fake.now += 0.2
    with throttle.hold("h"):
        pass
    with throttle.hold("other"):
        pass
    fake.now += 5
    with throttle.hold("h"):
        pass
    assert fake.sleeps == [0.0, pytest.approx(0.3), 0.0, 0.0]


async def test_async_call_starts_are_spaced(monkeypatch: pytest.MonkeyPatch):
    fake = FakeTime()
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)
        fake.now += seconds

    monkeypatch.setattr(throttle_module, "time", types.SimpleNamespace(monotonic=fake.monotonic, sleep=fake.sleep))
    fake_asyncio = types.SimpleNamespace(get_running_loop=asyncio.get_running_loop, Lock=asyncio.Lock, sleep=fake_sleep)
    monkeypatch.setattr(throttle_module, "asyncio", fake_asyncio)
    throttle = Throttle(min_interval=0.1)
    for _ in range(3):
        async with throttle.ahold("h"):
            pass
    assert slept == [0.0, pytest.approx(0.1), pytest.approx(0.1)]
