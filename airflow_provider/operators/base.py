"""Start a remote task once per attempt series, publish its id at once, then wait (worker or triggerer).

A retry of the Airflow task reattaches to the remote task the earlier try started (see
``operators.durable``); a user's clear starts a new one.
"""

from __future__ import annotations

import threading
import warnings
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_provider.core import catalog
from airflow_provider.core.errors import (
    HuaweiCloudError,
    InvalidInputError,
    NotFoundError,
    NothingStartedError,
    TaskFailedError,
    TaskGoneError,
)
from airflow_provider.core.polling import PollPolicy
from airflow_provider.hooks.task_hook import HookT_co
from airflow_provider.operators.common import RemoteTaskMixin
from airflow_provider.operators.durable import Phase, RemoteTaskMemory
from airflow_provider.operators.links import push_console_url
from airflow_provider.waiting import (
    TaskWait,
    default_deferrable,
    primary_id,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider.core.status import TaskStatus
    from airflow_provider.operators.durable import RemoteTaskRecord

DEFAULT_TIMEOUT = 4 * 3600.0


def _seconds(name: str, value: object) -> float:
    if isinstance(value, timedelta):
        value = value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise InvalidInputError(name, value, "must be a positive number of seconds or a timedelta")
    return float(value)


class HuaweiCloudTaskOperator(RemoteTaskMixin[HookT_co], BaseOperator):
    """Base of the operators that start a remote task and (by default) wait for it.

    A retry of the Airflow task does not start a second remote task: the ids are kept in
    Airflow's task state store from the moment they exist, and a later try of the same attempt
    series waits on that remote task while it is active, finishes without a new start when it
    succeeded, and starts a fresh one (saying so in the log) when it failed or is gone. Clearing
    the task is a deliberate rerun: it starts a new remote task.

    Returns the final ``TaskStatus`` as JSON; the remote id is pushed to XCom as soon as it exists.

    :param wait_for_completion: wait for a terminal state (default True); otherwise return the
        first observed status right after starting.
    :param deferrable: wait in the triggerer (default: ``[operators] default_deferrable``).
        ``deferrable=True`` with ``wait_for_completion=False`` is rejected: there is nothing to defer.
    :param poll_policy: ``adaptive`` (default), ``fixed`` or ``exponential``.
    :param poke_interval: longest wait between checks (the interval itself for ``fixed``).
    :param min_poll_interval: shortest wait between checks.
    :param region: a region instead of the connection's ``extra.region`` (templated; ``huaweicloud``
        services): one connection serves several regions, as ``region_name`` does for AWS.
    :param project_id: a project instead of the connection's ``extra.project_id`` (templated).
    :param timeout: give up waiting after this many seconds (or a ``timedelta``), as sensors do;
        the deadline is absolute: a triggerer restart does not extend it. ``wait_timeout`` is
        accepted as a deprecated alias.
    """

    ui_color = "#f4c6c6"

    def __init__(
        self,
        *,
        wait_for_completion: bool = True,
        deferrable: bool | None = None,
        poll_policy: str = "adaptive",
        poke_interval: float = 60.0,
        min_poll_interval: float = 5.0,
        region: str | None = None,
        project_id: str | None = None,
        timeout: float | timedelta | None = None,
        **kwargs: Any,
    ) -> None:
        wait_timeout = kwargs.pop("wait_timeout", None)
        super().__init__(**kwargs)
        self.init_remote_task(region, project_id)
        if wait_timeout is not None:
            from airflow.exceptions import AirflowProviderDeprecationWarning

            warnings.warn(
                f"{type(self).__name__}: wait_timeout is deprecated, use timeout (the name sensors use)",
                AirflowProviderDeprecationWarning,
                stacklevel=2,
            )
            if timeout is not None:
                raise InvalidInputError("wait_timeout", wait_timeout, "give timeout or wait_timeout, not both")
            timeout = wait_timeout
        if deferrable and not wait_for_completion:
            raise InvalidInputError(
                "deferrable",
                deferrable,
                "has no effect with wait_for_completion=False (nothing is waited for): drop one of them",
            )
        self.wait_for_completion = wait_for_completion
        # A deployment-wide default_deferrable must not break an operator that does not wait.
        self.deferrable = (default_deferrable() and wait_for_completion) if deferrable is None else deferrable
        self.policy = PollPolicy(
            kind=poll_policy,  # type: ignore[arg-type]  # validated by PollPolicy
            poke_interval=poke_interval,
            min_interval=min(min_poll_interval, poke_interval),
        )
        self.timeout = _seconds("timeout", DEFAULT_TIMEOUT if timeout is None else timeout)
        self._memory: RemoteTaskMemory | None = None
        self._running_ids: dict[str, str] | None = None
        self._stop: threading.Event | None = None

    @property
    def wait_timeout(self) -> float:
        """Deprecated alias of ``timeout``."""
        return self.timeout

    # What subclasses provide -------------------------------------------------------------
    def start(self, context: Context) -> dict[str, str]:
        """Start the remote task; return its ids (``publish`` them as soon as known)."""
        raise NotImplementedError

    def finish(self, context: Context, status: TaskStatus) -> dict[str, Any]:
        """After a successful wait: downloads etc. Returns the XCom value."""
        return status.to_json()

    def start_detail(self, context: Context) -> dict[str, Any]:
        """What to remember before the start call, so a retry can find a task whose id never arrived."""
        return {}

    def recover_start(self, context: Context, record: RemoteTaskRecord) -> dict[str, str] | None:
        """The ids of the task an earlier try's start call created, if the service can tell (CSS can)."""
        return None

    def republish(self, context: Context, status: TaskStatus) -> None:
        """XCom what ``start`` pushes besides the ids, for a try that reattached (its XComs start empty)."""

    @property
    def accept_partial(self) -> bool:
        """Whether a partially failed remote task ends the wait well (False here; MEF log dumps may)."""
        return False

    def wait_options(self) -> dict[str, Any]:
        """Service-specific options of the status check (none here)."""
        return {}

    # Shared ------------------------------------------------------------------------------
    def task_wait(self, ids: dict[str, str]) -> TaskWait:
        """The wait for the remote task ``ids`` name, with this operator's connection, overrides,
        poll policy and options.

        :param ids: the remote task's ids, as ``start`` returned them.
        """
        return TaskWait(
            service=self.service,
            conn_id=self.conn_id,
            ids=ids,
            policy=self.policy,
            options=self.wait_options(),
            accept_partial_failure=self.accept_partial,
            logger=self.log,
            region=self.region,
            project_id=self.project_id,
        )

    def memory(self, context: Context) -> RemoteTaskMemory:
        """This try's view of the task state store record of the remote task (made once per try).

        :param context: the task's execution context.
        """
        if self._memory is None:
            self._memory = RemoteTaskMemory(context, self.service, self.log)
        return self._memory

    def publish(self, context: Context, ids: dict[str, str]) -> None:
        """Record the remote ids for retries, and XCom them (and the console URL), before any waiting."""
        self._running_ids = dict(ids)
        self.memory(context).remember_started(ids)
        ti = context["ti"]
        for key, value in ids.items():
            ti.xcom_push(key=key, value=value)
        push_console_url(ti, self.service, self.hook, ids)

    def execute(self, context: Context) -> Any:
        """Reattach to the remote task an earlier try started, or start one (its ids pushed to XCom at
        once), then wait in this worker or defer to the triggerer, and ``finish``.

        Returns ``finish``'s XCom value (the final ``TaskStatus`` as JSON unless the operator adds to
        it), or the first status as JSON with ``wait_for_completion=False``.

        :raises TaskFailedError: the remote task ended badly.
        :raises AirflowSensorTimeout: still not done after ``timeout``.
        """
        # One operator object may serve several tries in one process (dag.test): nothing carries over.
        self._stop, self._memory, self._running_ids = threading.Event(), None, None
        try:
            ids, first = self.reattach(context)
            if ids is None:
                memory = self.memory(context)
                memory.remember_starting(self.start_detail(context))
                try:
                    ids = self.start(context)
                except NothingStartedError:
                    # Nothing was created: a retry must not say this try stopped inside a start.
                    memory.forget()
                    raise
            return self.declare_outputs(context, ids, self.wait_and_finish(context, ids, first))
        finally:
            self.close_hook()

    def reattach(self, context: Context) -> tuple[dict[str, str] | None, TaskStatus | None]:
        """The remote task an earlier try of this attempt series started, with its status, if it
        is still worth waiting for (active) or finishing (succeeded); ``(None, None)`` to start anew."""
        memory = self.memory(context)
        record = memory.recall()
        if record is None:
            return None, None
        if record.phase is Phase.STARTING:
            ids = self.recover_start(context, record)
            if ids is None:
                what = self._what()
                self.log.warning(
                    "%s stopped while starting %s %s, before its id was known: starting a new one",
                    record.by.capitalize(),
                    "an" if what[:1].upper() in "AEIOU" else "a",
                    what,
                )
                return None, None
        else:
            ids = record.ids
        wait = self.task_wait(ids)
        try:
            status = wait.probe(self.hook, tolerate=False)
        except (NotFoundError, TaskGoneError) as exc:
            self.log.warning("%s started by %s is gone (%s): starting a new one", wait.label, record.by, exc)
            memory.forget()
            return None, None
        try:
            done = wait.is_done(status)
        except TaskFailedError as exc:
            self.log.warning("%s started by %s ended badly (%s): starting a new one", wait.label, record.by, exc)
            memory.forget()
            return None, None
        if done:
            self.log.info(
                "%s started by %s already ended %s: finishing without starting a new one",
                wait.label,
                record.by,
                status.state.value,
            )
        else:
            self.log.info(
                "Reattaching to %s started by %s (still %s) instead of starting a new one",
                wait.label,
                record.by,
                status.state.value,
            )
        self.publish(context, ids)
        self.republish(context, status)
        return ids, status

    def wait_and_finish(self, context: Context, ids: dict[str, str], first: TaskStatus | None = None) -> Any:
        """Wait for the remote task in this process or the triggerer, then ``finish``."""
        wait = self.task_wait(ids)
        if first is None:
            # A status returned as is must be a real one; a status waited on may ride out a hiccup.
            first = wait.probe(self.hook, tolerate=self.wait_for_completion)
        if not self.wait_for_completion:
            return first.to_json()
        if wait.is_done(first):
            return self.finish(context, first)
        if self.deferrable:
            self.defer(
                trigger=wait.trigger(timeout=self.timeout, owned=True),
                method_name="execute_complete",
                timeout=timedelta(seconds=self.timeout),
            )
        status = wait.wait(self.hook, timeout=self.timeout, first=first, sleep=self._sleep)
        return self.finish(context, status)

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> Any:
        """Resume after the trigger fired: check its event, then ``finish`` as ``execute`` does.

        :raises TaskFailedError: the remote task ended badly.
        :raises AirflowSensorTimeout: the trigger's deadline passed.
        :raises HuaweiCloudError: an invalid event, or the trigger failed.
        """
        ids = event.get("ids") if isinstance(event, dict) else None
        if not isinstance(ids, dict):
            raise HuaweiCloudError(f"{self.task_id}: invalid trigger event {event!r}")
        self._memory = None
        self._running_ids = {str(k): str(v) for k, v in ids.items()}
        try:
            status = self.task_wait(self._running_ids).complete(event)
            return self.declare_outputs(context, self._running_ids, self.finish(context, status))
        finally:
            self.close_hook()

    def on_kill(self) -> None:
        """A user stopped the task (mark failed, clear) while it waited in this worker.

        None of the services these operators start tasks on offers a cancel call, so the remote
        task keeps running: say so once, with its id, and stop polling.
        """
        if self._stop is not None:
            self._stop.set()
        if self._running_ids:
            self.log.warning(
                "Stopped waiting for %s %s: %s, so it keeps running",
                self._what(),
                primary_id(self.service, self._running_ids),
                catalog.spec(self.service).no_cancel,
            )

    def _sleep(self, seconds: float) -> None:
        """Sleep between checks; ``on_kill`` ends it at once."""
        if self._stop is None:
            self._stop = threading.Event()
        if self._stop.wait(seconds):
            raise HuaweiCloudError(f"{self.task_id}: stopped waiting (the task was killed)")

    def _what(self) -> str:
        return catalog.label(self.service)
