"""Event triggers for asset watchers: a DIS transfer task's new dump periods, a CSS cluster's finished
log backups. Each fires one event per new item, in the triggerer, and a DAG scheduled on the
watcher's ``Asset`` runs once per event.

How they poll. Watchers of the same DIS transfer task (or CSS cluster) through the same connection
at the same interval share one poll loop (``shared_stream_key``), so N watchers cost the requests of
one. The poll runs in Airflow's ack mode (``create_shared_stream_producer``): each poll's listing is
broadcast to every watcher as one snapshot, and the producer's ``advance`` hears of a snapshot only
once every watcher has moved past it and the events it fired from it are stored in the metadata
database.

Where each watcher's place is kept. Every watcher filters the snapshots with its own cursor (the
items it has fired, by key, within a window of their times), kept in its asset's
``asset_state_store`` (durable, per asset) and written only from ``advance``, after its events were
stored. A snapshot is the listing itself, not what changed since the last one, so a watcher that
joins late (a restart, a new DAG) catches up from its own cursor, with nothing missed.

The guarantee across a triggerer restart: no item is skipped; an item whose event was stored but
whose cursor write had not happened yet when the triggerer stopped (the second or two between the
two) fires once more after the restart. A watcher with no cursor yet starts from ``start_from``:
``"now"`` (default; what is listed at its first check is history, items still running count when
they finish), ``"earliest"`` (everything listed) or an ISO 8601 time (items at or after it). Delete
the asset state key ``cursor_key`` to start a watcher over.

Errors never end a watcher (Airflow would start it again at once, every second): a failed check is
tolerated three times in a row with a warning, as a wait does (``core.wait_guard``); then, and at
once for answers such as a rejected credential, it is logged as an error and checked again with a
back-off up to ``MAX_BACKOFF_SECONDS``, until the service answers again.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk.exceptions import AirflowNotFoundException
from airflow.triggers.base import BaseEventTrigger, TriggerEvent
from airflow.triggers.shared_stream import AdvanceItem, AdvanceOutcome, SharedStreamProducer

from airflow_provider.core import catalog
from airflow_provider.core.errors import HuaweiCloudError, InvalidInputError
from airflow_provider.core.validation import check_dis_task_id, check_path_param
from airflow_provider.core.wait_guard import TOLERATED_FAILURES, is_transient
from airflow_provider.core.wake_grid import sleep_on_grid

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Iterable, Sequence

    from airflow_provider.core.exchange import Exchange

#: The shortest poll interval: a watcher runs for months, and a typo must not hammer an API.
MIN_POLL_INTERVAL = 1.0
#: The longest wait between checks while the service keeps failing.
MAX_BACKOFF_SECONDS = 600.0
#: Items listed later than this after a newer one are still fired; older ones are taken as seen.
#: A DIS period is listed when it closes, a CSS record when its backup starts: minutes would do.
LATE_MARGIN_MS = 15 * 60 * 1000
#: How long a poll waits for watchers that are still reading their cursor, so that the first
#: listing after a restart reaches back far enough for all of them.
DEMAND_WAIT_SECONDS = 10.0
#: A DIS period starting this much after the previous one ended leaves a gap worth an event.
GAP_TOLERANCE_MS = 1000
START_FROM_WORDS = ("now", "earliest")
#: Event statuses logged at INFO; the others (a failed or missing period, a failed backup) warn.
GOOD_STATUSES = frozenset({"dumped", "success"})
PAGE_SIZE = 100
MAX_PAGES = 10


@dataclass(frozen=True)
class Entry:
    """One listed item (a dump period, a backup record).

    :param key: identifies the item among the resource's items.
    :param order_ms: when it happened, in epoch milliseconds (a period's end, a backup's start).
    :param final: whether it reached the state an event reports (a backup still running has not).
    :param payload: the event's fields.
    :param category: what a watcher may filter on (a CSS backup's job type), lower case.
    """

    key: str
    order_ms: int
    final: bool
    payload: dict[str, Any]
    category: str | None = None


@dataclass(frozen=True)
class Snapshot:
    """One poll's listing, broadcast to every watcher of the resource.

    :param seq: the poll's number in its producer (the broker payload of the advance).
    :param entries: what was listed, oldest first.
    :param covered_from_ms: the listing holds every item from this time on; None: every item.
    :param lookback_ms: how far back the poll was asked to read (None: one page).
    :param capped: the listing stopped at ``MAX_PAGES`` before reaching back that far.
    :param producer: the poll's producer, told when the events of this snapshot are stored.
    """

    seq: int
    entries: tuple[Entry, ...]
    covered_from_ms: int | None
    lookback_ms: int | None
    capped: bool
    producer: LogEventProducer


@dataclass(frozen=True)
class Cursor:
    """A watcher's place: items before ``since_ms`` are behind it, ``done`` are the ones at or after it
    already fired (or taken as history), by key, with their times.

    :param last_end_ms: DIS: the end of the newest period seen, to notice a period never listed.
    """

    since_ms: int
    done: Mapping[str, int] = field(default_factory=dict)
    last_end_ms: int | None = None

    def to_json(self) -> dict[str, Any]:
        """The cursor as the asset state store keeps it (``v`` 1; ``from_json`` reads it back)."""
        return {"v": 1, "since_ms": self.since_ms, "done": dict(self.done), "last_end_ms": self.last_end_ms}

    @classmethod
    def from_json(cls, value: object) -> Cursor | None:
        """The cursor in ``value``, or None for a value that is not one (written by something else)."""
        if not isinstance(value, dict) or value.get("v") != 1:
            return None
        since, done, last_end = value.get("since_ms"), value.get("done"), value.get("last_end_ms")
        if not isinstance(since, int) or isinstance(since, bool) or not isinstance(done, dict):
            return None
        if not all(_is_int(v) for v in done.values()):
            return None
        if last_end is not None and not _is_int(last_end):
            return None
        return cls(since_ms=since, done={str(k): int(v) for k, v in done.items()}, last_end_ms=last_end)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def merge_cursors(cursors: Sequence[Cursor]) -> Cursor:
    """One cursor for a trigger that several assets use (watchers with equal arguments are one trigger):
    an item counts as done only if it is behind, or done in, every one of them, so no asset misses it."""
    since = min(c.since_ms for c in cursors)
    keys = {key: order for c in cursors for key, order in c.done.items()}
    done = {key: order for key, order in keys.items() if all(key in c.done or order < c.since_ms for c in cursors)}
    ends = [c.last_end_ms for c in cursors if c.last_end_ms is not None]
    return Cursor(since_ms=since, done=done, last_end_ms=min(ends) if ends else None)


def step(cursor: Cursor, snapshot: Snapshot) -> tuple[list[Entry], Cursor]:
    """The items of ``snapshot`` new to ``cursor`` (oldest first), and the cursor after them.

    The window of remembered keys moves forward to the newest item's time less ``LATE_MARGIN_MS``,
    never past an item still running (it may yet finish) nor past what the listing covered.
    """
    entries = snapshot.entries
    fresh = sorted(
        (e for e in entries if e.final and e.order_ms >= cursor.since_ms and e.key not in cursor.done),
        key=lambda e: (e.order_ms, e.key),
    )
    done = dict(cursor.done)
    done.update((e.key, e.order_ms) for e in fresh)
    since = cursor.since_ms
    if entries:
        limits = [max(e.order_ms for e in entries) - LATE_MARGIN_MS]
        limits += [e.order_ms for e in entries if not e.final and e.order_ms >= cursor.since_ms]
        if snapshot.covered_from_ms is not None:
            limits.append(snapshot.covered_from_ms)
        since = max(since, min(limits))
    return fresh, Cursor(
        since_ms=since, done={k: v for k, v in done.items() if v >= since}, last_end_ms=cursor.last_end_ms
    )


def baseline(snapshot: Snapshot, start_from: str) -> Cursor:
    """Where a watcher with no cursor starts: ``now`` takes every finished item listed as seen."""
    if start_from == "earliest":
        return Cursor(since_ms=0)
    if start_from != "now":
        moment = datetime.fromisoformat(start_from)
        return Cursor(since_ms=int(moment.timestamp() * 1000))
    entries = snapshot.entries
    since = min((e.order_ms for e in entries), default=0)
    done = {e.key: e.order_ms for e in entries if e.final}
    return Cursor(since_ms=since, done=done)


class _Demands:
    """How far back each watcher of a resource needs the next listing to read, per shared-stream key.

    The producer asks before each poll. A watcher still reading its cursor is pending: the poll waits
    for it (``DEMAND_WAIT_SECONDS`` at most), so the first listing after a restart reaches far enough.
    """

    PENDING: ClassVar[object] = object()

    def __init__(self) -> None:
        self.by_key: dict[Hashable, dict[int, object]] = {}

    def set(self, key: Hashable, watcher: int, since_ms: object) -> None:
        self.by_key.setdefault(key, {})[watcher] = since_ms

    def drop(self, key: Hashable, watcher: int) -> None:
        demands = self.by_key.get(key)
        if demands is not None:
            demands.pop(watcher, None)
            if not demands:
                del self.by_key[key]

    def pending(self, key: Hashable) -> bool:
        return any(value is self.PENDING for value in self.by_key.get(key, {}).values())

    def lookback(self, key: Hashable) -> int | None:
        wanted = [v for v in self.by_key.get(key, {}).values() if isinstance(v, int)]
        return min(wanted) if wanted else None


DEMANDS = _Demands()


class LogEventProducer(SharedStreamProducer):
    """The one poll loop of a resource's watchers (Airflow's ack-mode producer).

    It lists the resource every ``poll_interval`` and yields the listing; ``advance`` runs the cursor
    writes the watchers registered for a snapshot (``after_persisted``) once Airflow says their events
    are stored.

    :param trigger: a watcher built from the group's arguments (its key fields are the group's).
    """

    def __init__(self, trigger: LogEventTrigger) -> None:
        self.trigger = trigger
        self.key = trigger.shared_stream_key()
        self._commits: dict[int, list[Callable[[], Awaitable[None]]]] = {}
        self.polls = 0
        self._errored = False

    def after_persisted(self, seq: int, commit: Callable[[], Awaitable[None]]) -> None:
        """Run ``commit`` once the events fired from snapshot ``seq`` are stored."""
        self._commits.setdefault(seq, []).append(commit)

    async def open_stream(self) -> AsyncIterator[tuple[Any, Any]]:
        """Poll the resource every ``poll_interval`` seconds, for as long as the group watches.

        Yields ``(Snapshot, seq)`` per successful listing (``seq`` is Airflow's broker payload). A
        failed check never ends the stream: it is logged and checked again, with a back-off once it
        is no longer tolerated.
        """
        from airflow_provider.core.exchange import drive_async
        from airflow_provider.triggers.task import cloud_transport

        trigger = self.trigger
        log = trigger.logger()
        log.info("Polling %s every %g s for the watchers that share it", trigger.label, trigger.poll_interval)
        failures = 0
        await sleep_on_grid(0.0)
        while True:
            await self._wait_for_demands()
            lookback = DEMANDS.lookback(self.key)
            try:
                transport, project_id = await cloud_transport(
                    trigger.huaweicloud_conn_id,
                    service=trigger.service,
                    region=trigger.region,
                    project_id=trigger.project_id,
                )
                entries, covered_from, capped = await drive_async(trigger.listing(project_id, lookback), transport)
            except Exception as exc:  # a watcher never ends by itself: Airflow would restart it at once
                failures += 1
                interval = self._failed(exc, failures)
            else:
                if self._errored:
                    log.info("%s: checks succeed again after %d failed in a row", trigger.label, failures)
                    self._errored = False
                failures = 0
                interval = trigger.poll_interval
                self.polls += 1
                ordered = tuple(sorted(entries, key=lambda e: (e.order_ms, e.key)))
                snapshot = Snapshot(self.polls, ordered, covered_from, lookback, capped, self)
                yield snapshot, self.polls
            await sleep_on_grid(interval)

    async def _wait_for_demands(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + DEMAND_WAIT_SECONDS
        while DEMANDS.pending(self.key) and loop.time() < deadline:
            await asyncio.sleep(0.05)

    def _failed(self, exc: Exception, failures: int) -> float:
        """Log a failed check; the seconds until the next one."""
        trigger = self.trigger
        if not isinstance(exc, (HuaweiCloudError, AirflowNotFoundException)):
            trigger.logger().exception("%s: check failed unexpectedly", trigger.label)
        if isinstance(exc, HuaweiCloudError) and is_transient(exc) and failures <= TOLERATED_FAILURES:
            trigger.logger().warning(
                "%s: check failed (%d of %d tolerated in a row), still watching: %s",
                trigger.label,
                failures,
                TOLERATED_FAILURES,
                exc,
            )
            return trigger.poll_interval
        self._errored = True
        backoff = max(trigger.poll_interval, MAX_BACKOFF_SECONDS)
        interval: float = min(backoff, trigger.poll_interval * 2.0 ** max(0, failures - TOLERATED_FAILURES - 1))
        trigger.logger().error(
            "%s: check failed (%d in a row): %s; still watching, next check in %g s",
            trigger.label,
            failures,
            exc,
            interval,
        )
        return interval

    async def advance(self, batch: Sequence[AdvanceItem]) -> None:
        """Airflow stored the events fired from these snapshots: run the cursor writes registered for
        them, unless a watcher failed or rejected its events (it starts again from its stored cursor)."""
        for item in batch:
            commits = self._commits.pop(item.broker_payload, [])
            outcome = item.outcome
            if outcome.failed or outcome.rejected:
                # A watcher was failed out (its trigger ends and starts again from its stored cursor);
                # the others' cursors move with their next snapshot.
                continue
            for commit in commits:
                await commit()

    async def aclose(self) -> None:
        """Drop the pending cursor writes (the stream has ended)."""
        self._commits.clear()


class LogEventTrigger(BaseEventTrigger):
    """Base of the event triggers: one event per new item of a remote resource's list.

    :param huaweicloud_conn_id: the ``huaweicloud`` connection.
    :param poll_interval: seconds between checks (at least 1); watchers at the same interval share them.
    :param start_from: where a watcher with no stored cursor starts: ``now`` (default), ``earliest``,
        or an ISO 8601 date-time (a ``datetime`` is accepted too).
    :param region: the region, overriding the connection's (its endpoints; its project is looked up).
    :param project_id: the project, overriding the connection's.
    """

    service: ClassVar[str]
    resource_field: ClassVar[str]
    what: ClassVar[str]

    def __init__(
        self,
        *,
        huaweicloud_conn_id: str = "huaweicloud_default",
        poll_interval: float = 60.0,
        start_from: str | datetime = "now",
        region: str | None = None,
        project_id: str | None = None,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        if not isinstance(huaweicloud_conn_id, str) or not huaweicloud_conn_id:
            raise InvalidInputError("huaweicloud_conn_id", huaweicloud_conn_id, "must be a connection id")
        if isinstance(poll_interval, bool) or not isinstance(poll_interval, (int, float)):
            raise InvalidInputError("poll_interval", poll_interval, "must be a number of seconds")
        if not poll_interval >= MIN_POLL_INTERVAL:
            raise InvalidInputError("poll_interval", poll_interval, f"must be at least {MIN_POLL_INTERVAL:g} s")
        self.huaweicloud_conn_id = huaweicloud_conn_id
        self.poll_interval = float(poll_interval)
        self.start_from = _start_from(start_from)
        for name, value in (("region", region), ("project_id", project_id)):
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise InvalidInputError(name, value, "must be a non-empty string or None (the connection's)")
        self.region = region
        self.project_id = project_id
        self._stored: Cursor | None = None

    # What subclasses provide ---------------------------------------------------------------------
    @property
    def resource_id(self) -> str:
        """The id of the watched resource (the subclass's ``resource_field``)."""
        return str(getattr(self, self.resource_field))

    def filters(self) -> dict[str, Any]:
        """The arguments that choose which items fire (serialized; part of the cursor key)."""
        return {}

    def listing(
        self, project_id: str | None, lookback_ms: int | None
    ) -> Exchange[tuple[list[Entry], int | None, bool]]:
        """One poll: the entries, the time from which the listing is complete, whether it was capped."""
        raise NotImplementedError

    def accepts(self, entry: Entry) -> bool:
        """Whether a new item fires an event (every one here; see ``filters``)."""
        return True

    def payloads(self, fresh: list[Entry], before: Cursor, after: Cursor) -> tuple[list[dict[str, Any]], Cursor]:
        """The events for the new entries (a subclass may add some, e.g. a gap), and the final cursor."""
        return [e.payload for e in fresh if self.accepts(e)], after

    def describe(self, payload: Mapping[str, Any]) -> str:
        """The log line of an event: its ``message``, else its ``event_id``."""
        return str(payload.get("message") or payload.get("event_id"))

    # The machine ------------------------------------------------------------------------------------
    @property
    def label(self) -> str:
        """How messages name the watched resource: the service's label and the resource's id."""
        return f"{catalog.label(self.service)} {self.resource_id}"

    @property
    def cursor_key(self) -> str:
        """The asset state store key of this watcher's cursor: one per resource and filter, so two
        watchers of one asset keep their own places."""
        tag = ",".join(f"{k}={_tag(v)}" for k, v in sorted(self.filters().items()) if v is not None)
        return f"huaweicloud.{self.service}.{self.resource_id}" + (f".{tag}" if tag else "")

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """The classpath and the constructor's arguments, filters included (no secret)."""
        return (
            f"{self.__class__.__module__}.{self.__class__.__qualname__}",
            {
                self.resource_field: self.resource_id,
                "huaweicloud_conn_id": self.huaweicloud_conn_id,
                "poll_interval": self.poll_interval,
                "start_from": self.start_from,
                "region": self.region,
                "project_id": self.project_id,
                **self.filters(),
            },
        )

    def shared_stream_key(self) -> Hashable:
        """What watchers share one poll loop by: class, connection, region, project, resource and
        poll interval (filters are applied per watcher)."""
        return (
            f"{self.__class__.__module__}.{self.__class__.__qualname__}",
            self.huaweicloud_conn_id,
            self.region,
            self.project_id,
            self.resource_id,
            self.poll_interval,
        )

    @classmethod
    def create_shared_stream_producer(cls, kwargs: dict[str, Any]) -> LogEventProducer:
        """The poll loop of a group of watchers, built from one watcher's serialized arguments.

        :param kwargs: the arguments ``serialize`` returned.
        """
        return LogEventProducer(cls(**kwargs))

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """The watcher alone, when Airflow does not share its poll: no confirmation that an event was
        stored reaches it here, so the cursor is written when the next check's listing arrives."""
        producer = self.create_shared_stream_producer(self.serialize()[1])

        async def stream() -> AsyncIterator[Any]:
            previous: int | None = None
            async for snapshot, seq in producer.open_stream():
                if previous is not None:
                    await producer.advance([AdvanceItem(previous, AdvanceOutcome(acked=1, failed=0))])
                previous = seq
                yield snapshot

        try:
            async for event in self.filter_shared_stream(stream()):
                yield event
        finally:
            await producer.aclose()

    async def filter_shared_stream(self, shared_stream: AsyncIterator[Any]) -> AsyncIterator[TriggerEvent]:
        """This watcher's events from the group's snapshots: one ``TriggerEvent`` per item new to its
        cursor (read from the asset state store, or started at ``start_from``) that ``accepts`` takes.
        The moved cursor is written once Airflow has stored the events (``after_persisted``).

        :param shared_stream: the snapshots ``open_stream`` yields, broadcast by Airflow.
        """
        key, me = self.shared_stream_key(), id(self)
        # Before the first await: the group's poll starts right after this generator's first step.
        DEMANDS.set(key, me, DEMANDS.PENDING)
        try:
            cursor = await self._load_cursor()
            resumed = cursor is not None
            DEMANDS.set(key, me, cursor.since_ms if cursor is not None else self._first_need())
            opened = False
            async for snapshot in shared_stream:
                if cursor is None:
                    cursor = baseline(snapshot, self.start_from)
                    await self._save(cursor)  # no event to wait for: a restart must not start "now" again
                if not self._covers(snapshot, cursor):
                    continue
                if not opened:
                    opened = True
                    self._say_opening(cursor, resumed=resumed)
                fresh, after = step(cursor, snapshot)
                payloads, after = self.payloads(fresh, cursor, after)
                for payload in payloads:
                    say = self.logger().info if payload.get("status") in GOOD_STATUSES else self.logger().warning
                    say("%s: %s", self.label, self.describe(payload))
                    yield TriggerEvent(payload)
                cursor = after
                DEMANDS.set(key, me, cursor.since_ms)
                if cursor != self._stored:
                    # Written once Airflow has stored the events above (ack mode's advance).
                    snapshot.producer.after_persisted(snapshot.seq, functools.partial(self._save, cursor))
        finally:
            DEMANDS.drop(key, me)

    def _first_need(self) -> int | None:
        if self.start_from == "now":
            return None
        return baseline_since(self.start_from)

    def _covers(self, snapshot: Snapshot, cursor: Cursor) -> bool:
        """Whether ``snapshot`` reaches back to the cursor; a listing capped at ``MAX_PAGES`` that was
        asked to is accepted with a warning naming what could not be read."""
        covered = snapshot.covered_from_ms
        if covered is None or covered <= cursor.since_ms:
            return True
        asked = snapshot.lookback_ms is not None and snapshot.lookback_ms <= cursor.since_ms
        if asked and snapshot.capped:
            self.logger().warning(
                "%s: more than %d items since %s; those before %s could not be read and are not fired",
                self.label,
                PAGE_SIZE * MAX_PAGES,
                _iso(cursor.since_ms),
                _iso(covered),
            )
            return True
        return False  # the poll did not know this watcher's place yet: the next one reads back to it

    def _say_opening(self, cursor: Cursor, *, resumed: bool) -> None:
        if resumed:
            where = f"resuming from its stored cursor (since {_iso(cursor.since_ms)})"
        elif self.start_from == "now":
            where = f"from now ({len(cursor.done)} item(s) already listed are not fired)"
        else:
            where = f"from {self.start_from}"
        self.logger().info("Watching %s for %s every %g s, %s", self.label, self.what, self.poll_interval, where)

    # The cursor in the asset state store -----------------------------------------------------------
    def _accessors(self) -> list[Any]:
        """The state store of each asset this trigger watches for (watchers with equal arguments are one
        trigger serving several assets). Airflow's accessor mapping has no public iteration: its two
        dicts are read, by name and by URI."""
        store = self.asset_state_store
        if store is None:
            return []
        by_name: dict[str, Any] = getattr(store, "_by_name", {})
        by_uri: dict[str, Any] = getattr(store, "_by_uri", {})
        return [*by_name.values(), *by_uri.values()]

    async def _load_cursor(self) -> Cursor | None:
        """The stored cursor; a store that does not answer is asked again (a watcher that started from
        "now" without its cursor could skip what arrived while it was down)."""
        accessors = self._accessors()
        if not accessors:
            self.logger().info(
                "%s: no asset state store (not run by a triggerer): the cursor is kept in memory", self.label
            )
            return None
        delay = self.poll_interval
        while True:
            try:
                values = [await accessor.aget(self.cursor_key) for accessor in accessors]
                break
            except Exception as exc:
                self.logger().warning(
                    "%s: cannot read the stored cursor (%s); asking again in %g s", self.label, exc, delay
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_BACKOFF_SECONDS)
        cursors = []
        for value in values:
            cursor = Cursor.from_json(value)
            if value is not None and cursor is None:
                self.logger().warning(
                    "%s: the stored value of %s is not a cursor; ignoring it", self.label, self.cursor_key
                )
            if cursor is not None:
                cursors.append(cursor)
        self._stored = merge_cursors(cursors) if cursors else None
        return self._stored

    async def _save(self, cursor: Cursor) -> None:
        """Store ``cursor`` in every watched asset's state; a failed write is retried with the next one."""
        if cursor == self._stored:
            return
        accessors = self._accessors()
        value = cursor.to_json()
        try:
            for accessor in accessors:
                await accessor.aset(self.cursor_key, value)
        except Exception as exc:
            self.logger().warning("%s: could not store the cursor (%s); the next write will carry it", self.label, exc)
            return
        self._stored = cursor


def baseline_since(start_from: str) -> int:
    """Epoch ms a watcher starting at ``start_from`` (``earliest`` or an ISO 8601 time) reads from."""
    return 0 if start_from == "earliest" else int(datetime.fromisoformat(start_from).timestamp() * 1000)


def _start_from(value: object) -> str:
    if isinstance(value, str) and value in START_FROM_WORDS:
        return value
    if value is None or value == "":
        raise InvalidInputError("start_from", value, "must be 'now', 'earliest' or an ISO 8601 date-time")
    from airflow_provider.services._inputs import optional_datetime  # not loaded by DAG files using "now"

    try:
        moment = optional_datetime("start_from", value)
    except InvalidInputError:
        raise InvalidInputError("start_from", value, "must be 'now', 'earliest' or an ISO 8601 date-time") from None
    assert moment is not None
    return moment.astimezone(timezone.utc).isoformat()


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _tag(value: object) -> str:
    if isinstance(value, (list, tuple)):
        return "+".join(str(v) for v in value)
    return json.dumps(value) if not isinstance(value, str) else value


# DIS -------------------------------------------------------------------------------------------------
class DisDumpPeriodTrigger(LogEventTrigger):
    """One event per dump period a DIS transfer (dump) task closes.

    Each event's payload: ``status`` ``dumped`` (the period's state is 0), ``failed`` (any other
    state) or ``missing`` (no period was listed between the previous period's end and the next one's
    start: a failed period the service does not list, or a pause), ``period_start``/``period_end``
    (ISO 8601), ``bytes``, ``records``, ``file_names``, ``state``, ``transfer_task_id`` and a unique
    ``event_id``. A failed or missing period is an event of its own, never skipped.

    :param transfer_task_id: the DIS transfer task (19 letters and digits).
    :param huaweicloud_conn_id: the ``huaweicloud`` connection.
    :param poll_interval: seconds between checks of the transfer log (shared by watchers of the task).
    :param start_from: ``now`` (default: periods closed before the first check are not fired),
        ``earliest`` (every period the log lists) or an ISO 8601 time (periods ending at or after it).
    """

    service = "dis"
    resource_field = "transfer_task_id"
    what = "new dump periods"

    def __init__(self, *, transfer_task_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.transfer_task_id = check_dis_task_id(transfer_task_id)

    def listing(
        self, project_id: str | None, lookback_ms: int | None
    ) -> Exchange[tuple[list[Entry], int | None, bool]]:
        """One read of the transfer log, newest first, back to ``lookback_ms`` (None: one page; at most
        ``MAX_PAGES`` pages): each period with an end time as an entry, ordered by its end."""
        from airflow_provider.services.dis import recent_periods

        read = recent_periods(self.transfer_task_id, since_ms=lookback_ms, page_size=PAGE_SIZE, max_pages=MAX_PAGES)
        return _dis_listing(self.transfer_task_id, read)

    def payloads(self, fresh: list[Entry], before: Cursor, after: Cursor) -> tuple[list[dict[str, Any]], Cursor]:
        """The periods, each preceded by a ``missing`` event when it does not start where the last one
        ended."""
        out: list[dict[str, Any]] = []
        last_end = before.last_end_ms
        for entry in fresh:
            start = entry.payload.get("period_start_ms")
            if last_end is not None and isinstance(start, int) and start > last_end + GAP_TOLERANCE_MS:
                out.append(_gap_payload(self.transfer_task_id, last_end, start))
            out.append(entry.payload)
            last_end = entry.order_ms if last_end is None else max(last_end, entry.order_ms)
        if before.last_end_ms is None and not fresh:
            # A new watcher: the newest period listed is where gaps are measured from.
            last_end = max((e for e in after.done.values()), default=None)
        return out, replace(after, last_end_ms=last_end)


def _dis_listing(task_id: str, read: Exchange[Any]) -> Exchange[tuple[list[Entry], int | None, bool]]:
    entries, exhausted, capped = yield from read
    out = [_period_entry(task_id, e) for e in entries if e.end_time is not None]
    covered = None if exhausted else min((e.order_ms for e in out), default=None)
    return out, covered, capped


def _period_entry(task_id: str, entry: Any) -> Entry:
    from airflow_provider.services._parsing import format_iso, to_ms

    end_ms = to_ms(entry.end_time)
    start_ms = to_ms(entry.start_time) if entry.start_time is not None else None
    dumped = entry.dumped
    key = f"{start_ms}-{end_ms}/{entry.state}"
    status = "dumped" if dumped else "failed"
    records, size = entry.transfer_records_num, entry.transfer_bytes
    span = f"{format_iso(entry.start_time)} - {format_iso(entry.end_time)}"
    if dumped:
        message = f"period {span} dumped: {records} records, {size} bytes, file {entry.transfer_file_name}"
    else:
        message = f"period {span} failed (state {entry.state}): it is not in OBS"
    payload = {
        "service": "dis",
        "kind": "dump_period",
        "status": status,
        "transfer_task_id": task_id,
        "event_id": f"dis:{task_id}:{key}",
        "period_start": format_iso(entry.start_time),
        "period_end": format_iso(entry.end_time),
        "period_start_ms": start_ms,
        "period_end_ms": end_ms,
        "bytes": size,
        "records": records,
        # The objects the period wrote: none when it failed (the entry may still name its file).
        "file_names": [entry.transfer_file_name] if entry.transfer_file_name and dumped else [],
        "transfer_file_name": entry.transfer_file_name,
        "state": entry.state,
        "stream_id": entry.stream_id,
        "message": message,
    }
    return Entry(key=key, order_ms=end_ms, final=True, payload=payload)


def _gap_payload(task_id: str, start_ms: int, end_ms: int) -> dict[str, Any]:
    span = f"{_iso(start_ms)} - {_iso(end_ms)}"
    return {
        "service": "dis",
        "kind": "dump_period",
        "status": "missing",
        "transfer_task_id": task_id,
        "event_id": f"dis:{task_id}:{start_ms}-{end_ms}/missing",
        "period_start": _iso(start_ms),
        "period_end": _iso(end_ms),
        "period_start_ms": start_ms,
        "period_end_ms": end_ms,
        "bytes": None,
        "records": None,
        "file_names": [],
        "transfer_file_name": None,
        "state": None,
        "stream_id": None,
        "message": f"no dump period listed for {span}: a period failed without being listed, or the task paused",
    }


# CSS -------------------------------------------------------------------------------------------------
class CssLogBackupTrigger(LogEventTrigger):
    """One event per log backup record of a CSS cluster that reaches SUCCESS or FAIL, automatic or manual.

    Each event's payload: ``status`` ``success`` or ``failed``, ``record_id``, ``job_id``,
    ``job_types`` (``Manual``/``Auto``), ``log_path`` (the backup's folder in the cluster's OBS log
    bucket), ``created_at``, ``finished_at``, ``failed_msg``, ``cluster_id`` and a unique ``event_id``.

    :param cluster_id: the CSS cluster.
    :param huaweicloud_conn_id: the ``huaweicloud`` connection.
    :param job_types: fire only for these job types (e.g. ``["Auto"]``); None: every backup.
    :param poll_interval: seconds between checks of the record list (shared by watchers of the cluster).
    :param start_from: ``now`` (default: backups finished before the first check are not fired; one
        running then is fired when it ends), ``earliest`` or an ISO 8601 time (backups started at or
        after it).
    """

    service = "css"
    resource_field = "cluster_id"
    what = "finished log backups"

    def __init__(self, *, cluster_id: str, job_types: Iterable[str] | str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cluster_id = check_path_param("cluster_id", cluster_id)
        self.job_types = _job_types(job_types)
        self.warned_cap = False

    def filters(self) -> dict[str, Any]:
        """``job_types``: the cursor is kept per filter."""
        return {"job_types": self.job_types}

    def listing(
        self, project_id: str | None, lookback_ms: int | None
    ) -> Exchange[tuple[list[Entry], int | None, bool]]:
        """One read of the cluster's records (at most ``MAX_PAGES`` pages; the list cannot be read
        from a time): each record as an entry, final once SUCCESS or FAIL."""
        from airflow_provider.services.css import all_records

        read = all_records(project_id, self.cluster_id, page_size=PAGE_SIZE, max_pages=MAX_PAGES)
        return _css_listing(self, read)

    def accepts(self, entry: Entry) -> bool:
        """Whether the record's job type is one of ``job_types`` (any when None; case-insensitive)."""
        return self.job_types is None or entry.category in {t.lower() for t in self.job_types}


def _job_types(value: Iterable[str] | str | None) -> list[str] | None:
    if value is None:
        return None
    items = [value] if isinstance(value, str) else value
    try:
        listed = list(items)
    except TypeError:
        raise InvalidInputError("job_types", value, "must be a list of job types such as ['Auto', 'Manual']") from None
    if not listed or not all(isinstance(v, str) and v.strip() for v in listed):
        raise InvalidInputError("job_types", value, "must be a non-empty list of job types such as ['Auto']")
    return sorted({v.strip() for v in listed})


def _css_listing(trigger: CssLogBackupTrigger, read: Exchange[Any]) -> Exchange[tuple[list[Entry], int | None, bool]]:
    from airflow_provider.services.css import to_status

    records, complete = yield from read
    if not complete and not trigger.warned_cap:
        trigger.warned_cap = True
        trigger.logger().warning(
            "%s: more than %d backup records; only the first %d the API returns are watched",
            trigger.label,
            PAGE_SIZE * MAX_PAGES,
            PAGE_SIZE * MAX_PAGES,
        )
    out = []
    for record in records:
        order = record.create_at or record.finished_at
        if order is None:
            continue
        status = to_status(record)
        out.append(_record_entry(trigger.cluster_id, record, status))
    return out, None, not complete


def _record_entry(cluster_id: str, record: Any, status: Any) -> Entry:
    from airflow_provider.core.status import TaskState
    from airflow_provider.services._parsing import format_iso, to_ms

    order_ms = to_ms(record.create_at or record.finished_at)
    final = status.state in (TaskState.SUCCEEDED, TaskState.FAILED)
    ok = status.state is TaskState.SUCCEEDED
    kind = record.job_types or "?"
    if ok:
        message = f"{kind} log backup {record.id} succeeded: logs in {record.log_path}"
    else:
        message = f"{kind} log backup {record.id} failed: {record.failed_msg or 'no failedMsg given'}"
    payload = {
        "service": "css",
        "kind": "log_backup",
        "status": "success" if ok else "failed",
        "cluster_id": cluster_id,
        "event_id": f"css:{cluster_id}:{record.id}",
        "record_id": record.id,
        "job_id": record.job_id,
        "job_types": record.job_types,
        "log_path": record.log_path,
        "created_at": format_iso(record.create_at),
        "finished_at": format_iso(record.finished_at),
        "failed_msg": record.failed_msg,
        "message": message,
    }
    return Entry(
        key=record.id, order_ms=order_ms, final=final, payload=payload, category=(record.job_types or "").lower()
    )
