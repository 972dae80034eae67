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

from airflow_provider.core.errors import HuaweiCloudError, InvalidInputError, NotFoundError, TaskFailedError
from airflow_provider.core.polling import PollPolicy
from airflow_provider.core.progress import SERVICE_LABELS, LogSink, ProgressLog
from airflow_provider.core.status import TaskState, TaskStatus

if TYPE_CHECKING:
    from collections.abc import Callable

    from airflow_provider.hooks.base import HuaweiCloudHook
    from airflow_provider.hooks.edge import EdgeManagerHook
    from airflow_provider.triggers.task import HuaweiCloudTaskTrigger

EVENT_STATUSES = ("success", "failed", "timeout", "error")

#: The id that names the remote task in events, XCom and messages.
PRIMARY_ID = {
    "edge": "dump_task_id",
    "clouddc": "export_id",
    "dis": "transfer_task_id",
    "css": "record_id",
    "dcs": "dcs_task_id",
}


def primary_id(service: str, ids: dict[str, str]) -> str:
    key = PRIMARY_ID.get(service, "")
    if service == "css" and not ids.get("record_id"):
        key = "job_id"
    return str(ids.get(key, "?"))


@dataclass
class TaskWait:
    service: str
    conn_id: str
    ids: dict[str, str]
    policy: PollPolicy = field(default_factory=PollPolicy)
    options: dict[str, Any] = field(default_factory=dict)
    accept_partial_failure: bool = False
    logger: LogSink = field(default_factory=lambda: logging.getLogger(__name__))
    last_status: TaskStatus | None = None
    _progress: ProgressLog | None = None

    def __post_init__(self) -> None:
        if self.service not in PRIMARY_ID:
            raise InvalidInputError("service", self.service, f"must be one of {', '.join(PRIMARY_ID)}")
        for key, value in self.ids.items():
            if not isinstance(value, str) or not value:
                raise InvalidInputError(key, value, "must be a non-empty string")

    @property
    def label(self) -> str:
        return f"{SERVICE_LABELS[self.service]} {primary_id(self.service, self.ids)}"

    def hook(self) -> HuaweiCloudHook | EdgeManagerHook:
        if self.service == "edge":
            from airflow_provider.hooks.edge import EdgeManagerHook

            return EdgeManagerHook(edge_manager_conn_id=self.conn_id)
        from airflow_provider.hooks.base import HuaweiCloudHook

        return HuaweiCloudHook(huaweicloud_conn_id=self.conn_id)

    def probe(self, hook: HuaweiCloudHook | EdgeManagerHook) -> TaskStatus:
        """One status check through the hook's (sync) transport."""
        from airflow_provider.services.registry import status_exchange

        project_id = None if self.service == "edge" else hook.config.project_id  # type: ignore[union-attr]
        try:
            status = hook.run(status_exchange(self.service, project_id, self.ids, **self.options))
        except NotFoundError as exc:
            raise self.vanished(exc) from exc
        self.observe(status)
        return status

    def vanished(self, exc: NotFoundError) -> HuaweiCloudError:
        seen = " (it existed at an earlier check: it was deleted or expired)" if self.last_status else ""
        return HuaweiCloudError(f"{self.label} not found{seen}: {exc}")

    def observe(self, status: TaskStatus) -> None:
        if self._progress is None:
            self._progress = ProgressLog(self.logger)
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
        return self.policy.next_interval(self.last_status, poll_count=poll_count, waiting_since=waiting_since)

    def wait(
        self,
        hook: HuaweiCloudHook | EdgeManagerHook,
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

    def trigger(self, *, timeout: float, waiting_since: datetime | None = None) -> HuaweiCloudTaskTrigger:
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

            raise AirflowSensorTimeout(f"{self.label}: {message}")
        if kind == "error":
            raise HuaweiCloudError(f"{self.label}: {message}")
        try:
            status = TaskStatus.from_json(event["task_status"])
        except (TypeError, ValueError) as exc:  # pydantic's ValidationError is a ValueError
            raise HuaweiCloudError(f"{self.label}: trigger event carries no valid task status: {exc}") from exc
        self.observe(status)
        if kind == "failed" or not self.is_done(status):
            raise failure_error(status)
        return status


def failure_error(status: TaskStatus) -> TaskFailedError:
    details = [status.message or f"ended {status.raw_status or status.state.value}"]
    if status.error_code and status.error_code not in details[0]:
        details.append(f"error code {status.error_code}")
    failed_step = status.result.get("failed_step")
    if failed_step:
        details.append(f"failed step {failed_step}")
    return TaskFailedError(status.service, status.task_id, "; ".join(details), status=status.to_json())
