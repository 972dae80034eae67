"""What an operator remembers about the remote task it started, across retries of the Airflow task.

Airflow 3.3 gives every task instance a durable key/value store, ``context["task_state_store"]``,
whose rows survive retries of the task (they are scoped to the DAG run, task and map index, not
to a try). ``airflow.sdk.bases.resumablejobmixin.ResumableJobMixin`` defines the semantics on top
of it, and the operators follow them: the remote id is stored the moment it exists; a later try
that finds it probes the remote task and reconnects to it while it is active, finishes without a
new start when it succeeded, and starts a fresh one when it failed or is gone.

Two additions, both because the store outlives a *clear* as well as a retry (clearing a task does
not delete its rows in 3.3):

* A record carries the task instance's ``max_tries`` as it was when the record was written.
  Airflow keeps ``max_tries`` for every retry of one attempt series and sets it anew
  (``try_number + retries``) whenever a user clears the task, so a different value means the
  user asked for a rerun: the record is dropped and a new remote task is started.
* A record is written *before* the start call too (phase ``starting``), so a try that died between
  the start call and the moment the id was known can say so, and services whose start returns no
  id (CSS) can find the task that call created instead of starting a second one.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping

    from airflow.sdk import Context

    from airflow_provider.core.progress import LogSink

#: The task state store key. Renaming it breaks the retries of tasks in flight (their record is
#: stored under the old key), as Airflow's own ``ResumableJobMixin.external_id_key`` notes.
STORE_KEY = "huaweicloud_remote_task"


class Phase(str, enum.Enum):
    """Where a record's remote task is: being started (no id yet) or started."""

    STARTING = "starting"  # the start call is about to be (or was) sent; the id is not known yet
    STARTED = "started"  # the remote task exists and ``ids`` name it


@dataclass(frozen=True)
class RemoteTaskRecord:
    """One remote task an operator started (or is starting), as kept in the task state store.

    :param service: the provider's service name (``edge``, ``clouddc``, ``css``, ...).
    :param phase: ``starting`` before the start call, ``started`` once the ids are known.
    :param ids: the remote ids (empty while starting).
    :param series: the task instance's ``max_tries`` when the record was written (see the module).
    :param try_number: the try that wrote the record, for log lines.
    :param recorded_at: when it was written (ISO 8601, UTC).
    :param detail: what a service needs to find a task whose start returned no id.
    """

    service: str
    phase: Phase
    ids: dict[str, str] = field(default_factory=dict)
    series: int | None = None
    try_number: int | None = None
    recorded_at: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    detail: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The record as the task state store keeps it (JSON-serializable; ``from_json`` reads it back)."""
        return {
            "service": self.service,
            "phase": self.phase.value,
            "ids": dict(self.ids),
            "series": self.series,
            "try_number": self.try_number,
            "recorded_at": self.recorded_at,
            "detail": dict(self.detail),
        }

    @classmethod
    def from_json(cls, value: object) -> RemoteTaskRecord:
        """Read a stored record; ``ValueError`` names what is wrong with a malformed one."""
        if not isinstance(value, dict):
            raise ValueError(f"expected an object, got {type(value).__name__}")
        try:
            phase = Phase(value.get("phase"))
        except ValueError:
            raise ValueError(f"unknown phase {value.get('phase')!r}") from None
        ids, detail = value.get("ids") or {}, value.get("detail") or {}
        if not isinstance(ids, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in ids.items()):
            raise ValueError(f"ids must map names to strings, got {ids!r}")
        if phase is Phase.STARTED and not ids:
            raise ValueError("a started record names no ids")
        if not isinstance(detail, dict):
            raise ValueError(f"detail must be an object, got {detail!r}")
        service, series, try_number = value.get("service"), value.get("series"), value.get("try_number")
        if not isinstance(service, str) or not service:
            raise ValueError(f"service must be a name, got {service!r}")
        for name, number in (("series", series), ("try_number", try_number)):
            if number is not None and (isinstance(number, bool) or not isinstance(number, int)):
                raise ValueError(f"{name} must be an integer, got {number!r}")
        return cls(
            service=service,
            phase=phase,
            ids=dict(ids),
            series=series,
            try_number=try_number,
            recorded_at=str(value.get("recorded_at") or ""),
            detail=dict(detail),
        )

    @property
    def by(self) -> str:
        """``try 2`` for log lines."""
        return f"try {self.try_number}" if self.try_number is not None else "an earlier try"


class RemoteTaskMemory:
    """An operator's view of ``context["task_state_store"]`` for the one remote task it owns.

    Where the store is missing (Airflow before 3.3, or a context built by hand) nothing is
    remembered: every try starts a new remote task, and ``recall`` says so once in the log.

    :param context: the task's execution context.
    :param service: the operator's service name; a record of another service is ignored.
    :param log: where the decisions are logged.
    """

    def __init__(self, context: Context | Mapping[str, Any], service: str, log: LogSink) -> None:
        self._store = context.get("task_state_store")
        ti = context.get("ti")
        self.series = _int_or_none(getattr(ti, "max_tries", None))
        self.try_number = _int_or_none(getattr(ti, "try_number", None))
        self.service = service
        self.log = log
        self._record: RemoteTaskRecord | None = None

    @property
    def available(self) -> bool:
        """Whether the context has a task state store (Airflow 3.3 and later)."""
        return self._store is not None

    def recall(self) -> RemoteTaskRecord | None:
        """The record an earlier try of this attempt series left, else None.

        A record written before the task was cleared (another ``max_tries``), one of another
        service (the DAG changed the task) or a malformed one is dropped, with a log line saying why.
        """
        if self._store is None:
            self.log.warning(
                "Airflow's task_state_store is not available (Airflow before 3.3): a retry of this task "
                "cannot find the remote task this try starts, and will start a new one"
            )
            return None
        stored = self._store.get(STORE_KEY)
        if stored is None:
            return None
        try:
            record = RemoteTaskRecord.from_json(stored)
        except ValueError as exc:
            self.log.warning("Ignoring the stored remote task record (%s): starting a new remote task", exc)
            self.forget()
            return None
        if record.service != self.service:
            self.log.warning(
                "The stored remote task record is for service %r, not %r: starting a new remote task",
                record.service,
                self.service,
            )
            self.forget()
            return None
        if record.series is not None and self.series is not None and record.series != self.series:
            named = ", ".join(f"{k}={v}" for k, v in record.ids.items()) or "not yet known"
            self.log.info(
                "This task was cleared since %s recorded its remote task (%s): a clear is a deliberate "
                "rerun, so a new remote task is started and the earlier one is not reused",
                record.by,
                named,
            )
            self.forget()
            return None
        self._record = record
        return record

    def remember_starting(self, detail: Mapping[str, Any] | None = None) -> None:
        """Record, before the start call, that this try is starting a remote task."""
        self._save(RemoteTaskRecord(self.service, Phase.STARTING, detail=dict(detail or {}), **self._stamp()))

    def remember_started(self, ids: Mapping[str, str], detail: Mapping[str, Any] | None = None) -> None:
        """Record the ids of the remote task this attempt series owns (called the moment they exist).

        A try that reattached keeps the record as the starting try wrote it (its try number names
        who started the task in later log lines).
        """
        known = self._record
        if known is not None and known.phase is Phase.STARTED and known.ids == dict(ids) and not detail:
            return
        record = RemoteTaskRecord(
            self.service, Phase.STARTED, ids=dict(ids), detail=dict(detail or {}), **self._stamp()
        )
        self._save(record)

    def forget(self) -> None:
        """Drop the record: the next try starts a new remote task."""
        self._record = None
        if self._store is not None:
            self._store.delete(STORE_KEY)

    def _stamp(self) -> dict[str, Any]:
        return {"series": self.series, "try_number": self.try_number}

    def _save(self, record: RemoteTaskRecord) -> None:
        self._record = record
        if self._store is not None:
            self._store.set(STORE_KEY, record.to_json())


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
