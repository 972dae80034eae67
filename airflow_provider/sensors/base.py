"""The one sensor: subclasses only name their ids; poke, reschedule and deferrable come from here."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator, PokeReturnValue

from airflow_provider.core.catalog import NOT_OWNED
from airflow_provider.core.errors import HuaweiCloudError
from airflow_provider.core.polling import PollPolicy
from airflow_provider.hooks.task_hook import HookT_co
from airflow_provider.operators.common import RemoteTaskMixin
from airflow_provider.operators.links import push_console_url
from airflow_provider.waiting import TaskWait, default_deferrable

if TYPE_CHECKING:
    from collections.abc import Callable

    from airflow.sdk import Context


class HuaweiCloudTaskSensor(RemoteTaskMixin[HookT_co], BaseSensorOperator):
    """Waits until a remote task finishes; returns its final ``TaskStatus`` as JSON (XCom).

    :param deferrable: hand the wait to the triggerer after a first poke (no worker slot held).
    :param poll_policy: ``adaptive`` (default: poll near the expected finish, from the task's
        progress rate or ``remain_time``), ``fixed`` (every ``poke_interval``) or ``exponential``.
    :param min_poll_interval: the shortest wait between two checks (adaptive/exponential);
        ``poke_interval`` is the longest.
    :param region: a region instead of the connection's ``extra.region`` (templated; ``huaweicloud``
        services): one connection serves several regions, as ``region_name`` does for AWS.
    :param project_id: a project instead of the connection's ``extra.project_id`` (templated).
    """

    ui_color = "#f9e0e0"

    def __init__(
        self,
        *,
        deferrable: bool | None = None,
        poll_policy: str = "adaptive",
        min_poll_interval: float = 5.0,
        region: str | None = None,
        project_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.init_remote_task(region, project_id)
        self.deferrable = default_deferrable() if deferrable is None else deferrable
        self.poll_policy = poll_policy
        self.min_poll_interval = min(min_poll_interval, self.poke_interval) if self.poke_interval else min_poll_interval
        self.policy = PollPolicy(
            kind=poll_policy,  # type: ignore[arg-type]  # validated by PollPolicy
            poke_interval=max(self.poke_interval, 0.001),
            min_interval=max(min(self.min_poll_interval, self.poke_interval), 0.001),
        )
        self._wait: TaskWait | None = None
        self._killed = False

    # What subclasses provide -------------------------------------------------------------
    def task_ids(self) -> dict[str, str]:
        """The ids of the remote task to watch (after templates were rendered)."""
        raise NotImplementedError

    def wait_options(self) -> dict[str, Any]:
        """Service-specific options of the status check (none here)."""
        return {}

    @property
    def accept_partial(self) -> bool:
        """Whether a partially failed remote task ends the wait well (False here; MEF log dumps may)."""
        return False

    # The machine ----------------------------------------------------------------------------
    def task_wait(self) -> TaskWait:
        """Built on first use, i.e. after templates were rendered."""
        if self._wait is None:
            self._wait = TaskWait(
                service=self.service,
                conn_id=self.conn_id,
                ids=self.task_ids(),
                policy=self.policy,
                options=self.wait_options(),
                accept_partial_failure=self.accept_partial,
                logger=self.log,
                region=self.region,
                project_id=self.project_id,
            )
        return self._wait

    def poke(self, context: Context) -> PokeReturnValue:
        """One status check: done with the status as JSON for XCom, or not done yet.

        :raises TaskFailedError: the remote task ended badly.
        """
        wait = self.task_wait()
        if self._killed:
            raise HuaweiCloudError(f"{wait.label}: stopped watching (the task was killed)")
        # In reschedule mode every poke is a new process, so a count of failed checks in a row
        # cannot survive between pokes: there each failure (after the transport's retries) counts.
        status = wait.probe(self.hook, tolerate=not self.reschedule)
        if wait.is_done(status):
            return PokeReturnValue(is_done=True, xcom_value=status.to_json())
        return PokeReturnValue(is_done=False)

    def execute(self, context: Context) -> Any:
        """Push the console URL to XCom, then poke (poke or reschedule mode), or with ``deferrable``
        poke once and hand the wait to the triggerer. Returns the final ``TaskStatus`` as JSON."""
        try:
            push_console_url(context["ti"], self.service, self.hook, self.task_wait().ids)
            ids = self.task_wait().ids
            if not self.deferrable:
                return self.declare_outputs(context, ids, super().execute(context))
            first = self.poke(context)
            if first.is_done:
                return self.declare_outputs(context, ids, first.xcom_value)
            self.defer(
                trigger=self.task_wait().trigger(timeout=self.timeout),
                method_name="execute_complete",
                timeout=timedelta(seconds=self.timeout),
            )
        finally:
            self.close_hook()

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> Any:
        """Resume after the trigger fired: check its event and return the final ``TaskStatus`` as JSON.

        :raises TaskFailedError: the remote task ended badly.
        :raises AirflowSensorTimeout: the trigger's deadline passed.
        :raises HuaweiCloudError: an invalid event, or the trigger failed.
        """
        try:
            result = self.task_wait().complete(event).to_json()
            return self.declare_outputs(context, self.task_wait().ids, result)
        finally:
            self.close_hook()

    def on_kill(self) -> None:
        """A user stopped the task while it poked in this worker: no further check is made, and the
        remote task, which a sensor only watches, keeps running."""
        self._killed = True
        if self._wait is not None:
            self.log.warning("Stopped watching %s: %s, so it keeps running", self._wait.label, NOT_OWNED)

    def _get_next_poke_interval(
        self,
        started_at: datetime | float,
        run_duration: Callable[[], float],
        poke_count: int,
    ) -> float:
        """Same policy as the trigger: adaptive by default, bounded by the time left."""
        if self.exponential_backoff and self.poll_policy == "fixed":
            return float(super()._get_next_poke_interval(started_at, run_duration, poke_count))
        if self.reschedule and self.policy.kind == "exponential":
            poke_count = self.policy.polls_within(run_duration())
        if isinstance(started_at, datetime):
            waiting_since = started_at
        else:
            waiting_since = datetime.now(timezone.utc) - timedelta(seconds=run_duration())
        interval = self.task_wait().next_interval(poke_count, waiting_since)
        left = self.timeout - run_duration()
        return max(0.0, min(interval, left)) if left > 0 else 0.0
