"""The wait for a remote task, shared by every sensor and operator (poke, reschedule, deferrable).

A ``TaskWait`` names what to wait for (service, connection, ids, options) and how (polling
policy, partial-failure acceptance). Sensors and operators only say which ids they have; the
probing, the outcome rules, the trigger and the event validation are written once, here.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from airflow_provider.core import catalog
from airflow_provider.core.errors import HuaweiCloudError, InvalidInputError, TaskFailedError
from airflow_provider.core.polling import PollPolicy
from airflow_provider.core.progress import LogSink, ProgressLog
from airflow_provider.core.status import TaskState, TaskStatus
from airflow_provider.core.wait_guard import WaitGuard, labelled

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from airflow_provider.hooks.task_hook import TaskHook
    from airflow_provider.triggers.task import HuaweiCloudTaskTrigger

EVENT_STATUSES = ("success", "failed", "timeout", "error")


def default_deferrable() -> bool:
    """``[operators] default_deferrable``: the deployment's default for ``deferrable``."""
    from airflow.sdk import conf

    return conf.getboolean("operators", "default_deferrable", fallback=False)


#: Template fields every task of a ``huaweicloud`` service adds to its own: the connection id and the
#: region and project overrides (one connection, several regions).
CLOUD_TEMPLATE_FIELDS = ("huaweicloud_conn_id", "region", "project_id")


def with_common_template_fields(service: str, conn_id_attr: str, own: tuple[str, ...]) -> tuple[str, ...]:
    """``own`` template fields plus the connection id (and, for ``huaweicloud`` services, the
    region and project overrides), each once."""
    common = CLOUD_TEMPLATE_FIELDS if catalog.spec(service).connection == "huaweicloud" else (conn_id_attr,)
    return tuple(dict.fromkeys((*own, *common)))


def check_overrides(service: str, region: str | None, project_id: str | None) -> None:
    """Region and project overrides exist for ``huaweicloud`` services only."""
    spec = catalog.spec(service)
    if spec.connection != "huaweicloud":
        for name, value in (("region", region), ("project_id", project_id)):
            if value is not None:
                raise InvalidInputError(
                    name, value, f"{spec.label}s have no regions or projects (a {spec.connection} connection)"
                )


def primary_id(service: str, ids: Mapping[str, str]) -> str:
    """The id that names ``service``'s task in events, XCom and messages (``core.catalog``)."""
    return catalog.spec(service).primary_id(ids)


@dataclass
class TaskWait:
    """One wait for a remote task: what to wait for and how.

    :param service: the service's name (``core.catalog``).
    :param conn_id: the connection the hook and the trigger read.
    :param ids: the remote task's ids.
    :param policy: when to check again.
    :param options: service-specific options of the status check.
    :param accept_partial_failure: a partially failed task ends the wait well (a warning names the
        failed nodes).
    :param logger: where progress lines go (the task's log).
    :param region: the task's region override of the connection's (handed to the trigger).
    :param project_id: the task's project override of the connection's.
    """

    service: str
    conn_id: str
    ids: dict[str, str]
    policy: PollPolicy = field(default_factory=PollPolicy)
    options: dict[str, Any] = field(default_factory=dict)
    accept_partial_failure: bool = False
    logger: LogSink = field(default_factory=lambda: logging.getLogger(__name__))
    region: str | None = None
    project_id: str | None = None
    last_status: TaskStatus | None = None
    _progress: ProgressLog | None = None
    _guard: WaitGuard | None = None

    def __post_init__(self) -> None:
        catalog.spec(self.service)  # an unknown service is named here, with the known ones
        for key, value in self.ids.items():
            if not isinstance(value, str) or not value:
                raise InvalidInputError(key, value, "must be a non-empty string")

    @property
    def label(self) -> str:
        """How messages name the remote task: the service's label and its primary id."""
        return f"{catalog.label(self.service)} {primary_id(self.service, self.ids)}"

    @property
    def guard(self) -> WaitGuard:
        """Counts failed checks in a row on this instance (a poke-mode sensor keeps it between pokes)."""
        if self._guard is None:
            self._guard = WaitGuard(self.label, self.logger)
        return self._guard

    def probe(self, hook: TaskHook, *, tolerate: bool = True) -> TaskStatus:
        """One status check through the hook's (sync) transport.

        A transient failure (see ``is_transient``) within the tolerance is logged and answered
        with the last status seen (or a not-yet-checked WAITING status): not done, keep waiting.
        With ``tolerate=False`` every failure raises (a status that is returned, not waited on).
        """
        from airflow_provider.services.registry import status_exchange

        try:
            status = hook.run(status_exchange(self.service, hook.status_project_id, self.ids, **self.options))
        except HuaweiCloudError as exc:
            error = self.guard.failed(exc, seen=self.last_status is not None, tolerate=tolerate)
            if error is exc:
                raise
            if error is not None:
                raise error from exc
            return self.last_status or self.unchecked(exc)
        self.guard.succeeded(status)
        self.observe(status)
        return status

    def unchecked(self, exc: HuaweiCloudError) -> TaskStatus:
        """What a wait knows before its first successful check: nothing final."""
        return TaskStatus(
            service=self.service,
            task_id=primary_id(self.service, self.ids),
            state=TaskState.WAITING,
            message=f"not checked yet: {exc}",
        )

    def observe(self, status: TaskStatus) -> None:
        """Note a status: logged when it changed (or as an unknown status), kept as ``last_status``."""
        if self._progress is None:
            self._progress = ProgressLog(self.logger, name=self.label)
        self._progress.observe(status)
        self.last_status = status

    def is_done(self, status: TaskStatus) -> bool:
        """True when finished well; raises ``TaskFailedError`` when finished badly."""
        if not status.state.is_terminal:
            return False
        if status.state is TaskState.SUCCEEDED:
            return True
        if status.state is TaskState.PARTIALLY_FAILED and self.accept_partial_failure:
            failed = status.result.get("failed_nodes") or []
            names = ", ".join(str(node.get("node_id")) for node in failed if isinstance(node, dict)) or "unknown"
            self.logger.warning("%s partially failed (accepted); failed nodes: %s", self.label, names)
            return True
        raise failure_error(status)

    def next_interval(self, poll_count: int, waiting_since: datetime | None) -> float:
        """Seconds until the next check, from the poll policy and the last status seen.

        :param poll_count: checks done so far (from 1).
        :param waiting_since: when the wait began (the adaptive policy's estimate uses it).
        """
        return self.policy.next_interval(self.last_status, poll_count=poll_count, waiting_since=waiting_since)

    def wait(
        self,
        hook: TaskHook,
        *,
        timeout: float,
        sleep: Callable[[float], None] = time.sleep,
        first: TaskStatus | None = None,
    ) -> TaskStatus:
        """Poll in this process until done (operators with ``deferrable=False``)."""
        from airflow.sdk.exceptions import AirflowSensorTimeout

        started = time.monotonic()
        waiting_since = datetime.now(timezone.utc)
        status, polls = first or self.probe(hook), 1
        while not self.is_done(status):
            left = timeout - (time.monotonic() - started)
            if left <= 0:
                # Same exception as a deferred wait's timeout: not retried, since a retry of an
                # operator would start a second remote task while the first may still run.
                raise AirflowSensorTimeout(f"{self.label}: still {status.state.value} after waiting {timeout:.0f} s")
            sleep(min(left, self.next_interval(polls, waiting_since)))
            status, polls = self.probe(hook), polls + 1
        return status

    def trigger(
        self, *, timeout: float, waiting_since: datetime | None = None, owned: bool = False
    ) -> HuaweiCloudTaskTrigger:
        """The deferred form of this wait. ``owned``: an operator started the task (a sensor only watches)."""
        # Imported here, not at the top: a DAG file that imports a sensor must not load the trigger.
        from airflow_provider.triggers.task import HuaweiCloudTaskTrigger

        return HuaweiCloudTaskTrigger(
            service=self.service,
            conn_id=self.conn_id,
            ids=self.ids,
            options=self.options,
            poll_policy=self.policy.to_dict(),
            deadline=time.time() + timeout,
            accept_partial_failure=self.accept_partial_failure,
            waiting_since=(waiting_since or datetime.now(timezone.utc)).timestamp(),
            owned=owned,
            region=self.region,
            project_id=self.project_id,
        )

    def complete(self, event: dict[str, Any] | None) -> TaskStatus:
        """Validate a trigger event; return the final status or raise the matching error."""
        if not isinstance(event, dict) or event.get("status") not in EVENT_STATUSES:
            raise HuaweiCloudError(f"{self.label}: invalid trigger event {event!r}")
        expected = primary_id(self.service, self.ids)
        if event.get("task_id") != expected:
            raise HuaweiCloudError(
                f"{self.label}: trigger event is for task {event.get('task_id')!r}, not {expected!r}"
            )
        kind, message = event["status"], str(event.get("message") or "")
        if kind == "timeout":
            from airflow.sdk.exceptions import AirflowSensorTimeout

            raise AirflowSensorTimeout(labelled(self.label, message))
        if kind == "error":
            raise HuaweiCloudError(labelled(self.label, message))
        try:
            status = TaskStatus.from_json(event["task_status"])
        except (TypeError, ValueError) as exc:  # pydantic's ValidationError is a ValueError
            raise HuaweiCloudError(f"{self.label}: trigger event carries no valid task status: {exc}") from exc
        self.last_status = status  # the trigger has logged it: the final state is logged once
        if kind == "failed" or not self.is_done(status):
            raise failure_error(status)
        return status


def failure_error(status: TaskStatus) -> TaskFailedError:
    """The ``TaskFailedError`` for a task that ended badly: its message, error code and failed step,
    with the status (``to_json``) attached."""
    details = [status.message or f"ended {status.raw_status or status.state.value}"]
    if status.error_code and status.error_code not in details[0]:
        details.append(f"error code {status.error_code}")
    failed_step = status.result.get("failed_step")
    if failed_step:
        details.append(f"failed step {failed_step}")
    return TaskFailedError(status.service, status.task_id, "; ".join(details), status=status.to_json())
