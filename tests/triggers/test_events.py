"""The asset-watcher triggers (``triggers/events.py``) driven against the emulator on a real port.

The emulator's clock is frozen and moved by the tests, so a DIS period or a CSS backup ends when a
test says so. Polls are shortened below the production minimum (``MIN_POLL_INTERVAL``).
Sharing one poll between watchers runs through Airflow's own ``SharedStreamManager`` (ack mode),
with the persist confirmations a triggerer would send.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import TYPE_CHECKING, Any, cast

import pytest

from airflow_provider.core.async_transport import close_shared_clients
from airflow_provider.core.errors import InvalidInputError
from airflow_provider.triggers import events
from airflow_provider.triggers.events import (
    DEMANDS,
    CssLogBackupTrigger,
    Cursor,
    DisDumpPeriodTrigger,
    Entry,
    LogEventTrigger,
    Snapshot,
    merge_cursors,
    step,
)
from tests.recording_log import RecordingLog

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator, AsyncIterator

    from airflow.triggers.base import TriggerEvent

    from airflow_provider.testing.emulator_runner import EmulatorHandle

FROZEN = 1e-9
POLL = 0.2
PERIOD = 60.0  # the emulator's DIS period (durations.dis_period)
QUICK_RETRY = {"base_delay": 0.02, "max_delay": 0.1, "max_attempts": 2}


@pytest.fixture(autouse=True)
async def _quick(monkeypatch: pytest.MonkeyPatch, emulator: EmulatorHandle) -> AsyncIterator[None]:
    monkeypatch.setattr(events, "MIN_POLL_INTERVAL", 0.1)
    monkeypatch.setattr(events, "DEMAND_WAIT_SECONDS", 1.0)
    conn = dict(emulator.huaweicloud_conn)
    conn["extra"] = {**conn["extra"], "retry": QUICK_RETRY}
    monkeypatch.setenv("AIRFLOW_CONN_HUAWEICLOUD_DEFAULT", json.dumps(conn))
    emulator.admin.set_speed(FROZEN)
    emulator.admin.clear_requests()
    yield
    assert DEMANDS.by_key == {}, "a watcher left its demand behind"
    await close_shared_clients()


class MemoryStore:
    """Airflow's asset state store accessors, backed by a dict instead of the triggerer's supervisor."""

    def __init__(self, *asset_names: str) -> None:
        from airflow.sdk import Asset
        from airflow.sdk.execution_time.context import AssetStateStoreAccessors

        self.values: dict[tuple[str, str], Any] = {}
        self.writes: list[tuple[str, str, Any]] = []
        self.accessors = AssetStateStoreAccessors(inlets=[Asset(name=n, uri=f"obs://bucket/{n}") for n in asset_names])
        for name, accessor in self.accessors._by_name.items():
            accessor.aget = self._getter(name)  # type: ignore[method-assign]
            accessor.aset = self._setter(name)  # type: ignore[method-assign]

    def _getter(self, asset: str) -> Any:
        async def aget(key: str, default: Any = None) -> Any:
            return self.values.get((asset, key), default)

        return aget

    def _setter(self, asset: str) -> Any:
        async def aset(key: str, value: Any) -> None:
            self.values[(asset, key)] = value
            self.writes.append((asset, key, value))

        return aset


def new_dis_task(emulator: EmulatorHandle, name: str, outcome: str = "succeed") -> str:
    emulator.admin.set_outcome("dis", outcome)
    created = emulator.admin.create_resource("dis_streams", name=name, transfer_task_name=f"obs-{name}")
    return str(created["transfer_task_id"])


def watch(trigger: LogEventTrigger, store: MemoryStore | None = None) -> Watch:
    if store is not None:
        trigger.asset_state_store = store.accessors
    return Watch(trigger)


class Watch:
    """A trigger's ``run()`` in a task of its own, its events collected as they come."""

    def __init__(self, trigger: LogEventTrigger) -> None:
        self.trigger = trigger
        self.events: list[dict[str, Any]] = []
        self.task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        async for event in cast("AsyncGenerator[TriggerEvent, None]", self.trigger.run()):
            self.events.append(event.payload)

    async def until(self, count: int, timeout: float = 15.0) -> list[dict[str, Any]]:
        async def reached() -> None:
            while len(self.events) < count:
                if self.task.done():
                    self.task.result()
                    raise AssertionError("the watcher ended")
                await asyncio.sleep(0.02)

        await asyncio.wait_for(reached(), timeout)
        return self.events

    async def stop(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


def log_requests(emulator: EmulatorHandle, task_id: str) -> list[dict[str, Any]]:
    return [r for r in emulator.admin.requests() if r["path"] == f"/v1/transfertasklog/{task_id}"]


async def settle(seconds: float = 3 * POLL) -> None:
    await asyncio.sleep(seconds)


async def baselined(emulator: EmulatorHandle, path_end: str, timeout: float = 15.0) -> None:
    """Until a watcher started from "now" has its place: its shared poll has sent a second request, so
    the first answer (what is history) was handed to the watchers. A fixed sleep raced with a poll
    that a loaded machine answered late: a period dumped meanwhile counted as history."""

    async def two_polls() -> None:
        while sum(r["path"].endswith(path_end) for r in emulator.admin.requests()) < 2:
            await asyncio.sleep(0.05)

    await asyncio.wait_for(two_polls(), timeout)


# DIS -------------------------------------------------------------------------------------------------
async def test_dis_watcher_fires_each_new_period_once_and_resumes_from_its_stored_cursor(
    emulator: EmulatorHandle,
) -> None:
    task_id = new_dis_task(emulator, "events-a")
    emulator.admin.advance(3 * PERIOD)  # three periods closed before the watcher starts: history
    store = MemoryStore("dis-periods")
    first = watch(DisDumpPeriodTrigger(transfer_task_id=task_id, poll_interval=POLL), store)
    await baselined(emulator, f"/v1/transfertasklog/{task_id}")
    assert first.events == []
    emulator.admin.advance(PERIOD)
    [event] = await first.until(1)
    assert event["status"] == "dumped"
    assert event["transfer_task_id"] == task_id
    assert event["records"] > 0 and event["bytes"] > 0
    assert event["file_names"] and event["file_names"][0].startswith(task_id)
    assert event["period_end_ms"] - event["period_start_ms"] == PERIOD * 1000
    emulator.admin.advance(2 * PERIOD)
    await first.until(3)
    ends = [e["period_end_ms"] for e in first.events]
    assert ends == sorted(ends) and len(set(ends)) == 3
    await settle()
    await first.stop()
    key = first.trigger.cursor_key
    assert ("dis-periods", key) in store.values

    # A new trigger (a triggerer restart) with the same store: nothing again, the next period once.
    emulator.admin.advance(PERIOD)
    second = watch(DisDumpPeriodTrigger(transfer_task_id=task_id, poll_interval=POLL), store)
    [resumed] = await second.until(1)
    assert resumed["period_start_ms"] == ends[-1]
    await settle()
    assert len(second.events) == 1
    await second.stop()


@pytest.mark.parametrize("form", ["state", "omitted"])
async def test_a_failed_dis_period_is_an_event_of_its_own_in_either_quirk_form(
    emulator: EmulatorHandle, form: str
) -> None:
    emulator.admin.set_quirks(dis_failed_period=form)
    task_id = new_dis_task(emulator, f"partial-{form}", outcome="partial")  # every second period fails
    emulator.admin.advance(5 * PERIOD)
    watcher = watch(DisDumpPeriodTrigger(transfer_task_id=task_id, poll_interval=POLL, start_from="earliest"))
    got = await watcher.until(5)
    await watcher.stop()
    bad = "failed" if form == "state" else "missing"
    assert [e["status"] for e in got] == ["dumped", bad, "dumped", bad, "dumped"]
    # A failed or missing period covers exactly the time between its neighbours.
    assert got[1]["period_start_ms"] == got[0]["period_end_ms"]
    assert got[1]["period_end_ms"] == got[2]["period_start_ms"]
    assert got[1]["file_names"] == []


async def test_start_from_a_time_fires_the_periods_ending_from_then(emulator: EmulatorHandle) -> None:
    task_id = new_dis_task(emulator, "from-time")
    emulator.admin.advance(4 * PERIOD)
    now_ms = int(emulator.admin.now() * 1000)
    since = now_ms - int(1.5 * PERIOD * 1000)  # the last two of four periods end after it
    from datetime import datetime, timezone

    start = datetime.fromtimestamp(since / 1000, tz=timezone.utc)
    watcher = watch(DisDumpPeriodTrigger(transfer_task_id=task_id, poll_interval=POLL, start_from=start))
    got = await watcher.until(2)
    await settle()
    await watcher.stop()
    assert len(watcher.events) == 2
    assert all(e["period_end_ms"] >= since for e in got)


async def test_failed_checks_are_ridden_out_then_logged_as_errors_and_the_watcher_goes_on(
    emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = RecordingLog()
    monkeypatch.setattr(DisDumpPeriodTrigger, "logger", classmethod(lambda cls: log))
    monkeypatch.setattr(events, "MAX_BACKOFF_SECONDS", 0.4)
    task_id = new_dis_task(emulator, "faulty")
    watcher = watch(DisDumpPeriodTrigger(transfer_task_id=task_id, poll_interval=POLL))
    await baselined(emulator, f"/v1/transfertasklog/{task_id}")
    emulator.admin.add_fault("status", path_glob=f"/v1/transfertasklog/{task_id}", status=503, count=10)
    emulator.admin.advance(PERIOD)
    [event] = await watcher.until(1, timeout=30)
    await watcher.stop()
    assert event["status"] == "dumped"
    warnings = [text for level, text in log.lines if level == "warning"]
    errors = [text for level, text in log.lines if level == "error"]
    assert any("check failed (1 of 3 tolerated in a row), still watching" in w for w in warnings)
    assert errors and all("still watching, next check in" in e for e in errors)
    assert any("checks succeed again" in text for _, text in log.lines)


# CSS -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("order", ["newest_first", "oldest_first"])
async def test_css_watcher_fires_each_backup_that_ends_with_its_log_path(emulator: EmulatorHandle, order: str) -> None:
    emulator.admin.set_quirks(css_record_order=order)
    cluster = str(emulator.admin.info()["resources"]["css_clusters"][0])
    emulator.admin.set_outcome("css", "succeed", duration=100)
    running = emulator.admin.create_task("css", cluster_id=cluster, job_types="Manual")
    every = watch(CssLogBackupTrigger(cluster_id=cluster, poll_interval=POLL))
    autos = watch(CssLogBackupTrigger(cluster_id=cluster, job_types=["Auto"], poll_interval=POLL))
    await baselined(emulator, "/logs/records")
    assert every.events == [] and autos.events == []  # the seeded Auto backup ended before: history
    emulator.admin.set_outcome("css", "fail", duration=10)
    failing = emulator.admin.create_task("css", cluster_id=cluster, job_types="Auto")
    emulator.admin.advance(200)
    got = await every.until(2)
    [auto] = await autos.until(1)
    await settle()
    await every.stop()
    await autos.stop()
    by_id = {e["record_id"]: e for e in got}
    assert set(by_id) == {running, failing} and len(got) == 2
    assert by_id[running]["status"] == "success" and by_id[running]["log_path"]
    assert by_id[failing]["status"] == "failed" and by_id[failing]["failed_msg"]
    assert auto["record_id"] == failing and auto["job_types"] == "Auto"
    assert every.trigger.cursor_key != autos.trigger.cursor_key


# One poll for many watchers, in Airflow's shared-stream manager -----------------------------------------
class MiniRunner:
    """What the triggerer's runner does with shared-stream triggers: subscribe, bind each event, and
    confirm it once 'stored' (here: when the test says so)."""

    def __init__(self) -> None:
        from airflow.triggers.shared_stream import SharedStreamManager

        self.manager = SharedStreamManager(ack_timeout=30.0)
        self.events: dict[int, list[dict[str, Any]]] = {}
        self.unconfirmed: list[int] = []
        self.tasks: list[asyncio.Task[None]] = []

    def start(self, trigger_id: int, trigger: LogEventTrigger) -> None:
        self.events[trigger_id] = []
        self.tasks.append(asyncio.ensure_future(self._run(trigger_id, trigger)))

    async def _run(self, trigger_id: int, trigger: LogEventTrigger) -> None:
        key = trigger.shared_stream_key()
        stream = self.manager.subscribe(trigger_id=trigger_id, trigger=trigger, key=key)
        try:
            async for event in trigger.filter_shared_stream(stream):
                seq = self.manager.bind_pending_event(trigger_id=trigger_id, key=key)
                assert seq is not None, "an event outside the ack window"
                self.unconfirmed.append(seq)
                self.events[trigger_id].append(event.payload)
        finally:
            await self.manager.unsubscribe(trigger_id, key)

    def confirm(self) -> None:
        seqs, self.unconfirmed = self.unconfirmed, []
        self.manager.confirm_persisted(seqs)

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.manager.stop_all()


async def test_three_watchers_share_one_poll_and_store_cursors_only_after_their_events_are_stored(
    emulator: EmulatorHandle,
) -> None:
    task_id = new_dis_task(emulator, "shared")
    emulator.admin.advance(2 * PERIOD)
    stores = [MemoryStore(f"asset-{n}") for n in range(3)]
    watchers = [
        DisDumpPeriodTrigger(transfer_task_id=task_id, poll_interval=POLL),
        DisDumpPeriodTrigger(transfer_task_id=task_id, poll_interval=POLL, start_from="now"),
        DisDumpPeriodTrigger(transfer_task_id=task_id, poll_interval=POLL, start_from="earliest"),
    ]
    assert len({w.shared_stream_key() for w in watchers}) == 1
    runner = MiniRunner()
    for n, (watcher, store) in enumerate(zip(watchers, stores, strict=True)):
        watcher.asset_state_store = store.accessors
        runner.start(n, watcher)
    try:
        for _ in range(100):
            if len(runner.events[2]) == 2:
                break
            await asyncio.sleep(0.05)
        assert len(runner.events[2]) == 2  # "earliest": the two periods already closed
        baselines = [len(s.writes) for s in stores]
        await settle()
        assert [len(s.writes) for s in stores] == baselines, "a cursor was stored before its events were"
        emulator.admin.advance(PERIOD)
        for _ in range(100):
            if all(len(runner.events[n]) == (3 if n == 2 else 1) for n in range(3)):
                break
            await asyncio.sleep(0.05)
        await settle()
        assert [len(s.writes) for s in stores] == baselines, "a cursor was stored before its events were"
        runner.confirm()
        await settle()
        for n, store in enumerate(stores):
            stored = Cursor.from_json(store.values[(f"asset-{n}", watchers[n].cursor_key)])
            assert stored is not None
            newest = runner.events[n][-1]["event_id"].split(":")[-1]
            assert newest in stored.done, f"watcher {n}: its last period is not in its stored cursor"
    finally:
        await runner.stop()
    assert [len(runner.events[n]) for n in range(3)] == [1, 1, 3]


async def test_poll_count_does_not_grow_with_the_number_of_watchers(emulator: EmulatorHandle) -> None:
    task_id = new_dis_task(emulator, "counted")

    async def polls_with(watchers: int) -> float:
        emulator.admin.clear_requests()
        runner = MiniRunner()
        for n in range(watchers):
            runner.start(n, DisDumpPeriodTrigger(transfer_task_id=task_id, poll_interval=POLL, start_from="now"))
        await asyncio.sleep(10 * POLL)
        await runner.stop()
        return len(log_requests(emulator, task_id)) / 10

    one, five = await polls_with(1), await polls_with(5)
    assert one >= 0.5 and five >= 0.5
    assert five <= one * 1.5 + 0.2, (one, five)


# The cursor ------------------------------------------------------------------------------------------
def snapshot_of(*entries: Entry, covered_from: int | None = None) -> Snapshot:
    return Snapshot(1, tuple(entries), covered_from, None, False, cast("Any", None))


def entry(key: str, at: int, final: bool = True) -> Entry:
    return Entry(key=key, order_ms=at, final=final, payload={"event_id": key})


def test_an_item_still_running_holds_the_window_until_it_ends() -> None:
    day = 24 * 3600 * 1000
    cursor = Cursor(since_ms=0)
    fresh, cursor = step(cursor, snapshot_of(entry("old", 1000, final=False), entry("new", 1000 + day)))
    assert [e.key for e in fresh] == ["new"]
    assert cursor.since_ms == 1000  # not past the running one, though a day later came another
    fresh, cursor = step(cursor, snapshot_of(entry("old", 1000), entry("new", 1000 + day)))
    assert [e.key for e in fresh] == ["old"]
    assert cursor.since_ms == 1000 + day - events.LATE_MARGIN_MS and set(cursor.done) == {"new"}


def test_the_window_never_moves_past_what_the_listing_covered() -> None:
    fresh, cursor = step(Cursor(since_ms=0), snapshot_of(entry("b", 50_000_000), covered_from=40_000_000))
    assert [e.key for e in fresh] == ["b"]
    assert cursor.since_ms <= 40_000_000


def test_merged_cursors_of_assets_that_share_a_trigger_miss_nothing_for_any_of_them() -> None:
    ahead = Cursor(since_ms=100, done={"a": 150, "b": 160})
    behind = Cursor(since_ms=100, done={"a": 150})
    merged = merge_cursors([ahead, behind])
    assert merged.done == {"a": 150}  # "b" fires again for both: a duplicate for one, nothing missed
    later = Cursor(since_ms=155, done={"b": 160})
    assert merge_cursors([later, behind]).done == {"a": 150}


def test_a_stored_value_that_is_not_a_cursor_is_refused() -> None:
    assert Cursor.from_json({"v": 1, "since_ms": 1, "done": {"k": 2}}) == Cursor(since_ms=1, done={"k": 2})
    for bad in (None, "x", {"v": 2}, {"v": 1, "since_ms": "1", "done": {}}, {"v": 1, "since_ms": 1, "done": []}):
        assert Cursor.from_json(bad) is None


# Arguments -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: DisDumpPeriodTrigger(transfer_task_id="short"), "transfer_task_id"),
        (lambda: DisDumpPeriodTrigger(transfer_task_id="a" * 19, poll_interval=0.01), "poll_interval"),
        (lambda: DisDumpPeriodTrigger(transfer_task_id="a" * 19, start_from="yesterday"), "start_from"),
        (lambda: CssLogBackupTrigger(cluster_id="c1", job_types=[]), "job_types"),
        (lambda: CssLogBackupTrigger(cluster_id="a/b"), "cluster_id"),
        (lambda: CssLogBackupTrigger(cluster_id="c1", huaweicloud_conn_id=""), "huaweicloud_conn_id"),
    ],
)
def test_bad_arguments_name_the_field(make: Any, field: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        make()
    assert caught.value.field == field


def test_serialized_kwargs_rebuild_the_trigger_and_hold_no_secret() -> None:
    trigger = CssLogBackupTrigger(cluster_id="c1", job_types="Auto", poll_interval=30, start_from="earliest")
    path, kwargs = trigger.serialize()
    assert path == "airflow_provider.triggers.events.CssLogBackupTrigger"
    assert kwargs == {
        "cluster_id": "c1",
        "huaweicloud_conn_id": "huaweicloud_default",
        "poll_interval": 30.0,
        "start_from": "earliest",
        "region": None,
        "project_id": None,
        "job_types": ["Auto"],
    }
    again = CssLogBackupTrigger(**kwargs)
    assert again.serialize() == (path, kwargs)
    assert again.shared_stream_key() == trigger.shared_stream_key()
    assert trigger.cursor_key == "huaweicloud.css.c1.job_types=Auto"
