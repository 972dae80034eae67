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

The way to avoid the conflict is to serialize dumps per MEF Center with an Airflow pool of one
slot (``docs/retries.md``); these checks turn a conflict that slipped through into a clear failure.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, Protocol

from airflow_provider.core.errors import HuaweiCloudError

if TYPE_CHECKING:
    from collections.abc import Mapping

log = logging.getLogger(__name__)

VARIABLE_PREFIX = "huaweicloud_mef_latest_dump"
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
    """

    dump_task_id: str
    dag_id: str | None = None
    run_id: str | None = None
    task_id: str | None = None
    started_at: str | None = None

    def describe(self) -> str:
        who = ", ".join(
            f"{name} {value}"
            for name, value in (("DAG", self.dag_id), ("run", self.run_id), ("task", self.task_id))
            if value
        )
        return f"dump task {self.dump_task_id}" + (f" (started by {who} at {self.started_at})" if who else "")

    @classmethod
    def from_json(cls, value: object) -> DumpOwner | None:
        if not isinstance(value, dict) or not isinstance(value.get("dump_task_id"), str):
            return None
        fields = {key: value.get(key) for key in ("dag_id", "run_id", "task_id", "started_at")}
        return cls(value["dump_task_id"], **{k: v if isinstance(v, str) else None for k, v in fields.items()})

    @classmethod
    def of(cls, dump_task_id: str, context: Mapping[str, Any]) -> DumpOwner:
        return cls.of_task_instance(dump_task_id, context.get("ti"))

    @classmethod
    def of_task_instance(cls, dump_task_id: str, ti: object) -> DumpOwner:
        """The owner a task instance (a worker's, or the one a trigger runs for) names."""
        return cls(
            dump_task_id=dump_task_id,
            dag_id=_text(getattr(ti, "dag_id", None)),
            run_id=_text(getattr(ti, "run_id", None)),
            task_id=_text(getattr(ti, "task_id", None)),
            started_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        )


class LatestDumps(Protocol):
    """Which dump this provider last started on each MEF Center (``center`` is ``host:port``)."""

    def record(self, center: str, owner: DumpOwner) -> bool: ...

    def latest(self, center: str) -> DumpOwner | None: ...


class VariableLatestDumps:
    """``LatestDumps`` in an Airflow Variable per MEF Center: ``huaweicloud_mef_latest_dump.<host>:<port>``.

    Where Variables cannot be reached (a task run outside Airflow's task runner) nothing is
    recorded and the MEF side check alone applies; a warning says so.
    """

    def key(self, center: str) -> str:
        return f"{VARIABLE_PREFIX}.{center}"

    def record(self, center: str, owner: DumpOwner) -> bool:
        """Record ``owner`` as the latest dump on ``center``; False (and a warning) when it could not."""
        from airflow.sdk import Variable

        try:
            Variable.set(
                self.key(center),
                json.dumps(asdict(owner)),
                description="The latest log dump the Huawei Cloud logs provider started on this MEF Center "
                "(MEF keeps only the latest archive); written by EdgeLogDumpOperator",
            )
        except Exception as exc:  # any failure of the Variable API must not lose the dump
            log.warning("Could not record dump %s as the latest on %s: %s", owner.dump_task_id, center, exc)
            return False
        return True

    def latest(self, center: str) -> DumpOwner | None:
        from airflow.sdk import Variable

        try:
            stored = Variable.get(self.key(center), default=None)
        except Exception as exc:
            log.warning("Could not read the latest dump recorded for %s: %s", center, exc)
            return None
        if stored is None:
            return None
        try:
            return DumpOwner.from_json(json.loads(stored))
        except ValueError:
            return None


#: Where operators and triggers record and read the latest dump per MEF Center.
LATEST_DUMPS: LatestDumps = VariableLatestDumps()


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
