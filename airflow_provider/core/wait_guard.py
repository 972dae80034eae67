"""The rules a long wait applies between checks, shared by the sync wait and the trigger.

A wait can last days: a failed check that is a hiccup (a 5xx burst beyond the transport's own
retries, a gateway's HTML page) is ridden out, and an answer (authentication, not found, a failed
task) ends the wait at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_provider.core.errors import (
    ApiError,
    AuthenticationError,
    BadResponseError,
    EdgeTaskNotFoundError,
    HuaweiCloudError,
    InvalidInputError,
    NotAccessibleError,
    NotFoundError,
    RateLimitedError,
    TaskFailedError,
    TaskGoneError,
    TransportError,
)

if TYPE_CHECKING:
    from airflow_provider.core.progress import LogSink
    from airflow_provider.core.status import TaskStatus


#: Failed checks in a row that a wait rides out; the next one fails it. A wait can last days,
#: and a gateway answering one HTML page or a 5xx burst beyond the transport's own retries must
#: not lose it; a check that keeps failing still fails the wait within minutes.
TOLERATED_FAILURES = 3


def is_transient(exc: BaseException) -> bool:
    """A failed check worth another one later (the transport has already retried it).

    Authentication, not found, invalid input and failed tasks are answers, not hiccups; a TLS
    error (a ``TransportError`` that never got to send) is configuration.
    """
    if isinstance(exc, (AuthenticationError, NotFoundError, InvalidInputError, TaskFailedError)):
        return False
    if isinstance(exc, (BadResponseError, RateLimitedError)):
        return True
    if isinstance(exc, TransportError):
        return exc.reached_server is not None
    return isinstance(exc, ApiError) and exc.status >= 500


class WaitGuard:
    """The rules a long wait applies between checks, shared by the sync wait and the trigger.

    ``failed`` decides whether a failed check is ridden out (a warning, then the next check at
    the policy's interval) or ends the wait; ``succeeded`` resets the count and warns once when
    the reported progress goes backwards (the wait goes on: only the remote state decides).
    Slots: a triggerer keeps one per sleeping wait.

    :param label: names the wait in messages (``DCS background task 8abf…``).
    :param logger: where the warnings go.
    :param limit: failed checks in a row that are ridden out; the next one ends the wait.
    """

    __slots__ = ("_progress", "_warned_backwards", "failures", "label", "limit", "log")

    def __init__(self, label: str, logger: LogSink, limit: int = TOLERATED_FAILURES) -> None:
        self.label = label
        self.log = logger
        self.limit = limit
        self.failures = 0
        self._progress: float | None = None
        self._warned_backwards = False

    def failed(self, exc: HuaweiCloudError, *, seen: bool, tolerate: bool = True) -> HuaweiCloudError | None:
        """None to keep waiting, else the error that ends the wait."""
        if isinstance(exc, EdgeTaskNotFoundError):
            if seen:
                return TaskGoneError(
                    f"{self.label} was deleted by MEF Center (it existed at an earlier check; MEF Center "
                    f"deletes every task when it restarts): {exc}"
                )
            return TaskGoneError(f"{self.label} not found on MEF Center: {exc}")
        if isinstance(exc, NotAccessibleError):  # its message already says "not found or not accessible"
            return TaskGoneError(f"{self.label}: {exc}")
        if isinstance(exc, NotFoundError):
            detail = " (it existed at an earlier check), so it was deleted or expired" if seen else ""
            return TaskGoneError(f"{self.label} not found{detail}: {exc}")
        if not tolerate or not is_transient(exc):
            return exc
        self.failures += 1
        if self.failures > self.limit:
            return HuaweiCloudError(f"{self.label}: {self.failures} checks in a row failed; the last: {exc}")
        self.log.warning(
            "%s: check failed (%d of %d tolerated in a row), still waiting: %s",
            self.label,
            self.failures,
            self.limit,
            exc,
        )
        return None

    def succeeded(self, status: TaskStatus) -> None:
        """A check succeeded: reset the failure count, and warn once if ``status.progress`` went backwards."""
        self.failures = 0
        progress = status.progress
        if progress is None:
            return
        if self._progress is not None and progress < self._progress and not self._warned_backwards:
            self._warned_backwards = True
            self.log.warning(
                "%s: progress went backwards from %g%% to %g%%; still waiting for a final state",
                self.label,
                self._progress,
                progress,
            )
        self._progress = progress if self._progress is None else max(self._progress, progress)


def labelled(label: str, message: str) -> str:
    """``label: message``, without a second label when the message already starts with it."""
    return message if message.startswith(label) else f"{label}: {message}"
