"""Log lines of a remote task's progress: ``DCS background task 8abf…: RUNNING 30% (ETA 1m40s)``."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Protocol

from airflow_provider.core import catalog
from airflow_provider.core.polling import estimate_remaining
from airflow_provider.core.status import TaskState

if TYPE_CHECKING:
    from collections.abc import Callable

    from airflow_provider.core.status import TaskStatus

#: A change of progress, step or sub-step alone is logged at most this often; a change of state or
#: of the service's own status word is logged at once. A two-hour task checked every 10 s would
#: otherwise fill its log with hundreds of lines that differ by a percent.
PROGRESS_LINE_SECONDS = 60.0


def short_id(task_id: str) -> str:
    """Long ids shortened for log lines (MEF ids keep their distinctive tail)."""
    if task_id.startswith("dumpMultiNodesLog."):
        return task_id.removeprefix("dumpMultiNodesLog.")[:12]
    return task_id if len(task_id) <= 12 else task_id[:8]


def format_duration(seconds: float) -> str:
    """Seconds as a short duration for log lines: ``45s``, ``1m40s``, ``2h05m``."""
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


#: A task that reports no progress (CSS) gets a line with its elapsed time this often while it runs.
ELAPSED_LINE_SECONDS = 5 * PROGRESS_LINE_SECONDS


def describe(status: TaskStatus, now: datetime | None = None) -> str:
    """A status as a log line: ``DCS background task 8abf…: RUNNING 30% (ETA 1m40s)``."""
    label = catalog.label(status.service)
    return f"{label} {short_id(status.task_id)}: {describe_state(status, now)}"


def elapsed(status: TaskStatus, now: datetime) -> float | None:
    """Seconds the task has run (to its end once it ended), if the service says when it started."""
    if status.started_at is None:
        return None
    end = status.finished_at or status.observed_at if status.state.is_terminal else now
    seconds = (end - status.started_at).total_seconds()
    return seconds if seconds >= 0 else None


def describe_state(status: TaskStatus, now: datetime | None = None) -> str:
    """The part of ``describe`` after the task's name: ``RUNNING 45% (ETA 1m40s)``; a task that
    reports no progress says how long it has run: ``RUNNING for 4m10s``, ``SUCCEEDED after 6m02s``."""
    now = now or datetime.now(timezone.utc)
    parts = [status.state.value]
    if status.progress is not None and not (status.state.is_terminal and status.progress == 100):
        parts.append(f"{status.progress:g}%")
    if status.progress is None or status.state.is_terminal:
        ran = elapsed(status, now)
        if ran is not None:
            parts.append(f"{'after' if status.state.is_terminal else 'for'} {format_duration(ran)}")
    step = status.result.get("current_step")
    if step:
        sub = status.result.get("current_sub_step")
        parts.append(f"[{step}{' / ' + str(sub) if sub else ''}]")
    if not status.state.is_terminal:
        remaining = estimate_remaining(status, now)
        if remaining is not None:
            parts.append(f"(ETA {format_duration(remaining)})")
    elif status.message:
        parts.append(f"- {status.message}")
    return " ".join(parts)


def change_key(status: TaskStatus, now: datetime | None = None) -> tuple[object, ...]:
    """What counts as a change worth a line: not the ETA, which moves on every poll. The first two
    (state, status word) are logged at once; the rest at most once per ``PROGRESS_LINE_SECONDS``.
    For a task without progress, each ``ELAPSED_LINE_SECONDS`` of running counts as progress."""
    ran = elapsed(status, now or datetime.now(timezone.utc)) if status.progress is None else None
    return (
        status.state,
        status.raw_status,
        status.progress,
        status.result.get("current_step"),
        status.result.get("current_sub_step"),
        None if ran is None or status.state.is_terminal else int(ran // ELAPSED_LINE_SECONDS),
    )


#: A partial failure is warned about by the wait itself (naming the nodes) or raised: not here too.
_BAD_ENDS = (TaskState.FAILED,)


class LogSink(Protocol):
    """Any logger: stdlib, structlog (Airflow 3 task and trigger loggers) or an adapter."""

    def info(self, event: Any, *args: Any) -> Any:
        """Log at INFO level."""

    def warning(self, event: Any, *args: Any) -> Any:
        """Log at WARNING level."""


class ProgressLog:
    """Logs a status when it changed since the last one logged (progress alone at most once per
    ``PROGRESS_LINE_SECONDS``); warns once per unknown value and once per status ``warning``.

    A triggerer holds one per sleeping wait, thousands at a time, and every object they keep
    alive lengthens each full garbage collection: hence the slots and the lazily made set.

    :param logger: where the lines go.
    :param clock: monotonic seconds, for spacing progress-only lines.
    :param opening: a line that opens the wait, joined to the first status logged (see ``open``).
    :param name: how every line names the remote task; by default the service's label and the status's task id.
    """

    __slots__ = ("_clock", "_last", "_log", "_logged_at", "_name", "_opening", "_unknown", "_warned")

    def __init__(
        self,
        logger: LogSink,
        clock: Callable[[], float] = time.monotonic,
        opening: str | None = None,
        name: str | None = None,
    ) -> None:
        self._log = logger
        #: How every line names the remote task (the wait's label): one name per task, whatever id
        #: a service's status carries.
        self._name = name
        self._clock = clock
        self._last: tuple[object, ...] | None = None
        self._logged_at = 0.0
        self._unknown: set[str] | None = None
        self._warned: str | None = None
        #: A line that opens the wait (what, until when). It is joined to the first status rather than
        #: logged on its own: the first status arrives within a tick, and a triggerer starting
        #: thousands of waits logs one line per wait instead of two.
        self._opening = opening

    def open(self) -> None:
        """Log the opening line now, on its own, if no status has carried it yet (the first check
        failed, and the retries' warnings should not come without it)."""
        if self._opening is not None:
            self._log.info("%s", self._opening)
            self._opening = None

    def observe(self, status: TaskStatus) -> None:
        """Log ``status`` if it changed enough since the last line logged.

        Warns once per unknown status word and once per new ``warning``.
        """
        if not status.recognized and (self._unknown is None or (status.raw_status or "") not in self._unknown):
            if self._unknown is None:
                self._unknown = set()
            self._unknown.add(status.raw_status or "")
            self._log.warning(
                "%s reported an unknown status %r; treating it as still running",
                self._name or f"{catalog.label(status.service)} {status.task_id}",
                status.raw_status,
            )
        if status.warning is not None and status.warning != self._warned:
            self._warned = status.warning
            self._log.warning("%s: %s", self._name or describe(status).partition(":")[0], status.warning)
        key = change_key(status)
        last = self._last
        if key == last:
            return
        now = self._clock()
        if last is None or key[:2] != last[:2] or now - self._logged_at >= PROGRESS_LINE_SECONDS:
            self._last = key
            self._logged_at = now
            # A failed end is a warning, so it stands out of the task log.
            emit = self._log.warning if status.state in _BAD_ENDS else self._log.info
            if self._opening is not None:
                emit("%s: %s", self._opening, describe_state(status))
                self._opening = None
            elif self._name is not None:
                emit("%s: %s", self._name, describe_state(status))
            else:
                emit("%s", describe(status))
