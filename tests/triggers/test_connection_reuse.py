"""Waits of one connection that start together share one connection fetch."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from airflow.sdk import BaseHook, Connection
from airflow.sdk.exceptions import AirflowNotFoundException

from airflow_provider.triggers import task as trigger_module
from airflow_provider.triggers.task import fetch_connection


class Backend:
    """Stands in for the secrets backend behind ``BaseHook.aget_connection``; counts fetches."""

    def __init__(self, delay: float = 0.01) -> None:
        self.delay = delay
        self.calls = 0
        self.fail_next = False
        self.version = 0

    async def __call__(self, conn_id: str) -> Connection:
        self.calls += 1
        await asyncio.sleep(self.delay)
        if self.fail_next:
            self.fail_next = False
            raise AirflowNotFoundException(f"The conn_id `{conn_id}` isn't defined")
        self.version += 1
        return Connection(conn_id=conn_id, conn_type="huaweicloud", login=f"AK{self.version}")


@pytest.fixture
def backend(monkeypatch: pytest.MonkeyPatch) -> Backend:
    fake = Backend()

    async def aget_connection(cls: Any, conn_id: str) -> Connection:
        return await fake(conn_id)

    monkeypatch.setattr(BaseHook, "aget_connection", classmethod(aget_connection))
    return fake


async def test_concurrent_waits_share_one_fetch(backend: Backend) -> None:
    conns = await asyncio.gather(*(fetch_connection("hwc") for _ in range(50)))
    assert backend.calls == 1
    assert {c.login for c in conns} == {"AK1"}
    assert (await fetch_connection("hwc")).login == "AK1"  # still within the reuse window
    assert backend.calls == 1
    assert (await fetch_connection("other")).login == "AK2"  # another connection id: its own fetch
    assert backend.calls == 2


async def test_a_wait_after_the_window_fetches_again(backend: Backend, monkeypatch: pytest.MonkeyPatch) -> None:
    assert (await fetch_connection("hwc")).login == "AK1"
    monkeypatch.setattr(trigger_module, "CONNECTION_REUSE_SECONDS", 0.0)
    assert (await fetch_connection("hwc")).login == "AK2"  # an edited connection is seen
    assert backend.calls == 2


async def test_a_failed_fetch_is_raised_to_every_waiter_and_not_kept(backend: Backend) -> None:
    backend.fail_next = True
    results = await asyncio.gather(*(fetch_connection("hwc") for _ in range(5)), return_exceptions=True)
    assert all(isinstance(r, AirflowNotFoundException) for r in results)
    assert backend.calls == 1
    assert (await fetch_connection("hwc")).login == "AK1"  # the failure was not cached
    assert backend.calls == 2


async def test_a_cancelled_fetcher_does_not_cancel_the_waiters(backend: Backend) -> None:
    backend.delay = 0.05
    owner = asyncio.create_task(fetch_connection("hwc"))
    await asyncio.sleep(0.01)  # the owner is fetching
    waiters = [asyncio.create_task(fetch_connection("hwc")) for _ in range(3)]
    await asyncio.sleep(0.01)
    owner.cancel()
    conns = await asyncio.gather(*waiters)
    assert owner.cancelled()
    assert {c.login for c in conns} == {"AK1"}  # one waiter fetched again, the others shared it
    assert backend.calls == 2
