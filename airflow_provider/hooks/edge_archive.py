"""Whose archive a MEF Center holds.

MEF runs one log dump at a time and keeps only the latest archive: starting a dump deletes the
previous one, and the download serves whatever dump finished last (hiascend ``mefapiref_0040``;
``dump_multi_nodes_log.go`` cleans the public folder when a dump starts). Two DAG runs dumping
through one MEF Center could then deliver each other's archive, or find their own gone. Before
and after a download the operator checks that the latest dump is still its own, from two sources:

* ``LatestDumps``: which dump this provider last started on each MEF Center, kept in an Airflow
  Variable so every worker of the deployment sees it; it names the other dump task and who
  started it.
* MEF itself: the download's ``Last-Modified`` is when the archive was written (gin's
  ``Context.File`` serves it with Go's ``http.ServeFile``), which falls within the run of the dump
  that wrote it. That also catches dumps started outside Airflow (the MEF console, scripts).

So that the conflict does not arise, a dump this provider started *holds* its MEF Center until
its run has downloaded the archive (or will not: see ``docs/retries.md`` for when a run lets go),
or ``hold_seconds`` passed since the dump finished: a new dump waits for that like it waits for a
busy MEF (``holder``). An Airflow pool
cannot do this for deferrable dumps: between the trigger's event and the resumption that
downloads, the task instance is only scheduled and holds no slot (``docs/retries.md``). The checks
above turn a conflict that slipped through (a dump started outside this provider) into a clear
failure.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, Protocol

from airflow_provider.core.errors import HuaweiCloudError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from airflow_provider.services.edge import EdgeDumpTask

log = logging.getLogger(__name__)

VARIABLE_PREFIX = "huaweicloud_mef_latest_dump"
#: The hold of one dump (seen finished, released) has a key of its own: only the task instance that
#: started the dump writes it, so a release can never overwrite another run's newer latest dump.
HOLD_PREFIX = "huaweicloud_mef_dump_hold"
#: MEF statuses that leave an archive to download (hiascend mefapiref_0044).
ARCHIVE_STATUSES = ("succeed", "partiallyFailed")
#: MEF statuses of a dump that may still write an archive (``aborting`` ends ``failed``).
RUNNING_STATUSES = ("waiting", "processing")
#: How long a finished dump holds its MEF Center for its run's download, by default. MEF lets an
#: archive be downloaded for a day; a run downloads it within seconds of the end unless its worker
#: died, and then its retry comes within minutes.
DEFAULT_HOLD_SECONDS = 3600.0
#: A dump's execute timeout (``dumpMultiNodesLogTaskExecuteTimeout``, tasks/tasks.go).
MEF_EXECUTE_TIMEOUT = timedelta(hours=2)
#: ``Last-Modified`` has whole seconds.
_HTTP_DATE_RESOLUTION = timedelta(seconds=1)


class ArchiveNotOursError(HuaweiCloudError):
    """The archive MEF Center holds is not (or no longer) the one this task's dump produced."""


@dataclass(frozen=True)
class DumpOwner:
    """A dump this provider started, and which Airflow task started it.

    :param dump_task_id: MEF's task id.
    :param dag_id: the DAG of the task that started it.
    :param run_id: its DAG run.
    :param task_id: the task.
    :param started_at: when the create call returned (ISO 8601, UTC).
    :param finished_seen_at: when its run saw the dump finished (this provider's clock): the hold
        counts from here.
    :param released: the run is done with the archive (delivered it, or will not): no hold.
    :param map_index: the task instance's map index (-1 when not mapped).
    :param start_token: the token of the try's ``starting`` record in the task state store, so a
        retry can tell the dump that start created (``EdgeLogDumpOperator.recover_start``).
    """

    dump_task_id: str
    dag_id: str | None = None
    run_id: str | None = None
    task_id: str | None = None
    started_at: str | None = None
    finished_seen_at: str | None = None
    released: bool = False
    map_index: int | None = None
    start_token: str | None = None

    def same_task(self, other: DumpOwner) -> bool:
        """Both were started by one task instance (tries of one task, not two runs nor two map indexes)."""
        if not self.dag_id or (self.dag_id, self.run_id, self.task_id) != (other.dag_id, other.run_id, other.task_id):
            return False
        # A record written before map indexes were recorded names none: it matches any.
        return self.map_index is None or other.map_index is None or self.map_index == other.map_index

    def describe(self) -> str:
        """For messages: ``dump task <id> (started by DAG <d>, run <r>, task <t> at <time>)``."""
        who = ", ".join(
            f"{name} {value}"
            for name, value in (("DAG", self.dag_id), ("run", self.run_id), ("task", self.task_id))
            if value
        )
        return f"dump task {self.dump_task_id}" + (f" (started by {who} at {self.started_at})" if who else "")

    @classmethod
    def from_json(cls, value: object) -> DumpOwner | None:
        """Read back a stored owner (``asdict`` of one, as JSON); None unless it names a ``dump_task_id``.

        :param value: the decoded JSON.
        """
        if not isinstance(value, dict) or not isinstance(value.get("dump_task_id"), str):
            return None
        names = ("dag_id", "run_id", "task_id", "started_at", "finished_seen_at", "start_token")
        texts = {key: _text(value.get(key)) for key in names}
        return cls(
            value["dump_task_id"],
            **texts,
            released=value.get("released") is True,
            map_index=_integer(value.get("map_index")),
        )

    @classmethod
    def of(cls, dump_task_id: str, context: Mapping[str, Any], *, start_token: str | None = None) -> DumpOwner:
        """The owner the running task names (its context's ``ti``), started now.

        :param dump_task_id: MEF's task id.
        :param context: the Airflow task context.
        :param start_token: the token of the try's ``starting`` record, if any.
        """
        return cls.of_task_instance(dump_task_id, context.get("ti"), start_token=start_token)

    @classmethod
    def of_task_instance(cls, dump_task_id: str, ti: object, *, start_token: str | None = None) -> DumpOwner:
        """The owner a task instance (a worker's, or the one a trigger runs for) names."""
        return cls(
            dump_task_id=dump_task_id,
            dag_id=_text(getattr(ti, "dag_id", None)),
            run_id=_text(getattr(ti, "run_id", None)),
            task_id=_text(getattr(ti, "task_id", None)),
            started_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            map_index=_integer(getattr(ti, "map_index", None)),
            start_token=start_token,
        )


class LatestDumps(Protocol):
    """Which dump this provider last started on each MEF Center (``center`` is ``host:port``), and
    whether that dump still holds it."""

    def record(self, center: str, owner: DumpOwner) -> bool:
        """Record ``owner`` as the latest dump on ``center``; False when it could not."""

    def latest(self, center: str) -> DumpOwner | None:
        """The latest dump on ``center`` with its hold (seen finished, released), or None."""

    def update_hold(
        self, center: str, dump_task_id: str, *, finished_seen_at: str | None = None, released: bool | None = None
    ) -> bool:
        """Note that dump ``dump_task_id``'s run saw it finish, released it or holds it again; False
        when it could not."""


class KeyValueLatestDumps:
    """``LatestDumps`` over a key/value store with no transactions (Airflow Variables).

    Two kinds of keys per MEF Center, so that no read-then-write can overwrite another writer's value:

    * ``huaweicloud_mef_latest_dump.<center>``: the latest dump and who started it. Written only
      when a dump is created; MEF creates one dump at a time, so these writes follow one another.
    * ``huaweicloud_mef_dump_hold.<center>.<dump task id>``: when that dump's run saw it finish and
      whether the run released it. Written only by the task instance that started the dump, whose
      tries run one after another: its read-then-write cannot race. A release racing with a newer
      dump's record writes only its own, by then irrelevant, key (and deletes it again).

    The hold key of the previous dump is deleted when a new dump is recorded.
    """

    def key(self, center: str) -> str:
        """The key of ``center``'s latest dump: ``huaweicloud_mef_latest_dump.<center>``."""
        return f"{VARIABLE_PREFIX}.{center}"

    def hold_key(self, center: str, dump_task_id: str) -> str:
        """The key of one dump's hold: ``huaweicloud_mef_dump_hold.<center>.<dump task id>``."""
        return f"{HOLD_PREFIX}.{center}.{dump_task_id}"

    # The store ------------------------------------------------------------------------------
    def _get(self, key: str) -> str | None:
        raise NotImplementedError

    def _set(self, key: str, value: str, description: str) -> None:
        raise NotImplementedError

    def _delete(self, key: str) -> None:
        raise NotImplementedError

    # LatestDumps ----------------------------------------------------------------------------
    def record(self, center: str, owner: DumpOwner) -> bool:
        """Record ``owner`` as the latest dump on ``center``; False (and a warning) when it could not."""
        previous = self._read_owner(center)
        try:
            self._set(
                self.key(center),
                json.dumps(asdict(owner)),
                "The latest log dump the Huawei Cloud logs provider started on this MEF Center "
                "(MEF keeps only the latest archive); written by EdgeLogDumpOperator",
            )
        except Exception as exc:  # any failure of the Variable API must not lose the dump
            log.warning("Could not record dump %s as the latest on %s: %s", owner.dump_task_id, center, exc)
            return False
        if previous is not None and previous.dump_task_id != owner.dump_task_id:
            self._discard(self.hold_key(center, previous.dump_task_id))  # no longer the latest: holds nothing
        return True

    def latest(self, center: str) -> DumpOwner | None:
        """The latest dump on ``center`` with its hold (seen finished, released), or None."""
        owner = self._read_owner(center)
        if owner is None:
            return None
        hold = self._read_json(self.hold_key(center, owner.dump_task_id))
        if not isinstance(hold, dict):
            return owner
        seen = hold.get("finished_seen_at")
        released = hold.get("released")
        return replace(
            owner,
            finished_seen_at=owner.finished_seen_at or (seen if isinstance(seen, str) else None),
            released=released if isinstance(released, bool) else owner.released,
        )

    def update_hold(
        self, center: str, dump_task_id: str, *, finished_seen_at: str | None = None, released: bool | None = None
    ) -> bool:
        """Note that dump ``dump_task_id``'s run saw it finish, released it or holds it again; False
        when it could not.

        Called only by the task instance that started the dump (see the class).
        """
        key = self.hold_key(center, dump_task_id)
        stored = self._read_json(key)
        hold: dict[str, Any] = dict(stored) if isinstance(stored, dict) else {}
        if finished_seen_at is not None and not hold.get("finished_seen_at"):
            hold["finished_seen_at"] = finished_seen_at
        if released is not None:
            hold["released"] = released
        try:
            self._set(
                key,
                json.dumps(hold),
                "Whether the run of this MEF log dump still holds its MEF Center for its download; "
                "written by EdgeLogDumpOperator, deleted when a newer dump is recorded",
            )
        except Exception as exc:
            log.warning("Could not record the hold of dump %s on %s: %s", dump_task_id, center, exc)
            return False
        latest = self._read_owner(center)
        if latest is not None and latest.dump_task_id != dump_task_id:
            self._discard(key)  # a newer dump was recorded meanwhile: this key holds nothing
        return True

    def _read_owner(self, center: str) -> DumpOwner | None:
        return DumpOwner.from_json(self._read_json(self.key(center)))

    def _read_json(self, key: str) -> object:
        try:
            stored = self._get(key)
        except Exception as exc:
            log.warning("Could not read %s: %s", key, exc)
            return None
        if stored is None:
            return None
        try:
            value: object = json.loads(stored)
        except ValueError:
            return None
        return value

    def _discard(self, key: str) -> None:
        try:
            self._delete(key)
        except Exception as exc:  # a key left behind holds nothing: it is read only for the latest dump
            log.warning("Could not delete %s: %s", key, exc)


class VariableLatestDumps(KeyValueLatestDumps):
    """``LatestDumps`` in Airflow Variables: ``huaweicloud_mef_latest_dump.<host>:<port>`` and
    ``huaweicloud_mef_dump_hold.<host>:<port>.<dump task id>``.

    Where Variables cannot be reached (a task run outside Airflow's task runner) nothing is
    recorded and the MEF side check alone applies; a warning says so.
    """

    def _get(self, key: str) -> str | None:
        from airflow.sdk import Variable

        stored = Variable.get(key, default=None)
        return None if stored is None else str(stored)

    def _set(self, key: str, value: str, description: str) -> None:
        from airflow.sdk import Variable

        Variable.set(key, value, description=description)

    def _delete(self, key: str) -> None:
        from airflow.sdk import Variable

        Variable.delete(key)


#: Where operators and triggers record and read the latest dump per MEF Center.
LATEST_DUMPS: LatestDumps = VariableLatestDumps()


def mark_finished(latests: LatestDumps, center: str, dump_task_id: str) -> None:
    """Note that dump ``dump_task_id`` ended and its run is about to download: its hold starts now."""
    latest = latests.latest(center)
    if latest is not None and latest.dump_task_id == dump_task_id and latest.finished_seen_at is None:
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        latests.update_hold(center, dump_task_id, finished_seen_at=now)


def release(latests: LatestDumps, center: str, dump_task_id: str) -> bool:
    """Mark dump ``dump_task_id`` as no longer holding ``center``, if it is still the latest there.

    Returns True when this call released it.
    """
    latest = latests.latest(center)
    if latest is not None and latest.dump_task_id == dump_task_id and not latest.released:
        return latests.update_hold(center, dump_task_id, released=True)
    return False


def hold_again(latests: LatestDumps, center: str, dump_task_id: str) -> bool:
    """A retry came back for the archive of dump ``dump_task_id``: hold ``center`` again if an earlier
    try released it and it is still the latest there (the hold still ends ``hold_seconds`` after the
    dump was seen finished). Returns True when this call took the hold again."""
    latest = latests.latest(center)
    if latest is not None and latest.dump_task_id == dump_task_id and latest.released:
        return latests.update_hold(center, dump_task_id, released=False)
    return False


def holder(
    latest: DumpOwner | None,
    me: DumpOwner,
    *,
    task: EdgeDumpTask | None,
    now: datetime,
    hold_seconds: float,
) -> DumpOwner | None:
    """Who holds the MEF Center's archive against a new dump by ``me``, if anyone.

    The latest dump this provider started holds it while its run has not released it, the dump
    is running or finished with an archive (``task`` is what MEF says of it now; None when MEF no
    longer knows it), and it is not ``me``'s own (an earlier try of the same task starts over
    anyway); for at most ``hold_seconds`` from when its run saw it finish. A run that never got
    that far (its worker died) is given MEF's execute timeout from the start on top. Times are this
    provider's clock, never MEF's.

    A running dump holds too, although MEF itself answers busy meanwhile: this check and the create
    call that follows it are two requests, and a dump that finishes between them would otherwise
    lose its archive to the new dump before its run saw it finish. ``hold_seconds=0`` turns the
    hold off.
    """
    if hold_seconds <= 0 or latest is None or latest.released or latest.same_task(me) or task is None:
        return None
    if task.status not in (*RUNNING_STATUSES, *ARCHIVE_STATUSES):
        return None
    since = _moment(latest.finished_seen_at)
    if since is None:
        started = _moment(latest.started_at)
        since = None if started is None else started + MEF_EXECUTE_TIMEOUT
    if since is None:
        return latest
    return latest if now < since + timedelta(seconds=hold_seconds) else None


def _moment(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def center_of(base_url: str) -> str:
    """``host:port`` of a MEF Center's base URL: the key of its latest dump."""
    from urllib.parse import urlsplit

    return urlsplit(base_url).netloc.lower()


def check_latest(latests: LatestDumps, center: str, ours: str, when: str) -> None:
    """Fail when the latest dump this provider started on ``center`` is another one than ``ours``."""
    latest = latests.latest(center)
    if latest is not None and latest.dump_task_id != ours:
        raise ArchiveNotOursError(
            f"MEF Center {center} no longer holds the archive of dump task {ours} ({when}): a newer dump was "
            f"started there, {latest.describe()}, and MEF keeps only the latest archive. Serialize dumps per "
            "MEF Center with a one-slot Airflow pool; clear this task to dump again"
        )


def check_written(
    headers: Mapping[str, str],
    *,
    center: str,
    ours: str,
    started_at: datetime | None,
    finished_at: datetime | None,
    latest: DumpOwner | None,
) -> None:
    """Fail when the archive's ``Last-Modified`` lies outside the run of dump ``ours``.

    MEF writes the archive while the dump runs and marks the dump finished after moving it into
    place, so the archive of ``ours`` was written between its start and its finish; an archive
    written later belongs to a dump that started after ours ended.
    """
    text = headers.get("Last-Modified") or headers.get("last-modified")
    if not text or started_at is None or finished_at is None:
        return
    try:
        written = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        log.warning("MEF Center sent an unreadable Last-Modified %r; the archive's age is not checked", text[:40])
        return
    if written.tzinfo is None:
        written = written.replace(tzinfo=timezone.utc)
    earliest = started_at.replace(microsecond=0)
    if earliest <= written <= finished_at + _HTTP_DATE_RESOLUTION:
        return
    other = (
        latest.describe()
        if latest is not None and latest.dump_task_id != ours
        else "not one this provider started (the MEF console or another client)"
    )
    raise ArchiveNotOursError(
        f"MEF Center {center} serves an archive written at {written.isoformat()}, outside the run of dump task "
        f"{ours} ({started_at.isoformat()} to {finished_at.isoformat()}): it is another dump's archive, {other}. "
        "Nothing was delivered. Serialize dumps per MEF Center with a one-slot Airflow pool; clear this task to "
        "dump again"
    )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _integer(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
