"""Start a remote task, publish its id at once, then wait (in the worker or the triggerer)."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk import BaseOperator

from airflow_provider.core.polling import PollPolicy
from airflow_provider.operators.links import CONSOLE_URL_KEY, HuaweiCloudConsoleLink, console_url
from airflow_provider.sensors.base import default_deferrable
from airflow_provider.waiting import TaskWait

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider.core.status import TaskStatus
    from airflow_provider.hooks.base import HuaweiCloudHook
    from airflow_provider.hooks.edge import EdgeManagerHook

DEFAULT_WAIT_TIMEOUT = 4 * 3600.0


class HuaweiCloudTaskOperator(BaseOperator):
    """Base of the operators that start a task and (by default) wait for it.

    :param wait_for_completion: wait for a terminal state (default True); otherwise return the
        first observed status right after starting.
    :param deferrable: wait in the triggerer (default: ``[operators] default_deferrable``).
    :param poll_policy: ``adaptive`` (default), ``fixed`` or ``exponential``.
    :param poke_interval: longest wait between checks (the interval itself for ``fixed``).
    :param min_poll_interval: shortest wait between checks.
    :param wait_timeout: give up waiting after this many seconds (the deadline is absolute: a
        triggerer restart does not extend it).
    Returns the final ``TaskStatus`` as JSON; the remote id is pushed to XCom as soon as it exists.
    """

    service: ClassVar[str]
    conn_id_attr: ClassVar[str] = "huaweicloud_conn_id"
    operator_extra_links = (HuaweiCloudConsoleLink(),)
    ui_color = "#f4c6c6"

    def __init__(
        self,
        *,
        wait_for_completion: bool = True,
        deferrable: bool | None = None,
        poll_policy: str = "adaptive",
        poke_interval: float = 60.0,
        min_poll_interval: float = 5.0,
        wait_timeout: float = DEFAULT_WAIT_TIMEOUT,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.wait_for_completion = wait_for_completion
        self.deferrable = default_deferrable() if deferrable is None else deferrable
        self.policy = PollPolicy(
            kind=poll_policy,  # type: ignore[arg-type]  # validated by PollPolicy
            poke_interval=poke_interval,
            min_interval=min(min_poll_interval, poke_interval),
        )
        self.wait_timeout = wait_timeout
        self._hook: HuaweiCloudHook | EdgeManagerHook | None = None

    # What subclasses provide -------------------------------------------------------------
    def start(self, context: Context) -> dict[str, str]:
        """Start the remote task; return its ids (``publish`` them as soon as known)."""
        raise NotImplementedError

    def finish(self, context: Context, status: TaskStatus) -> dict[str, Any]:
        """After a successful wait: downloads etc. Returns the XCom value."""
        return status.to_json()

    @property
    def accept_partial(self) -> bool:
        return False

    def wait_options(self) -> dict[str, Any]:
        return {}

    # Shared ------------------------------------------------------------------------------
    @property
    def conn_id(self) -> str:
        return str(getattr(self, self.conn_id_attr))

    def make_hook(self) -> HuaweiCloudHook | EdgeManagerHook:
        raise NotImplementedError

    @property
    def hook(self) -> HuaweiCloudHook | EdgeManagerHook:
        if self._hook is None:
            self._hook = self.make_hook()
        return self._hook

    def task_wait(self, ids: dict[str, str]) -> TaskWait:
        return TaskWait(
            service=self.service,
            conn_id=self.conn_id,
            ids=ids,
            policy=self.policy,
            options=self.wait_options(),
            accept_partial_failure=self.accept_partial,
            logger=self.log,
        )

    def publish(self, context: Context, ids: dict[str, str]) -> None:
        """XCom the remote ids (and the console URL) right away, before any waiting."""
        ti = context["ti"]
        for key, value in ids.items():
            ti.xcom_push(key=key, value=value)
        region = getattr(getattr(self.hook, "config", None), "region", None)
        edge_base = getattr(getattr(self.hook, "config", None), "base_url", None)
        ti.xcom_push(key=CONSOLE_URL_KEY, value=console_url(self.service, region, ids, edge_base))

    def execute(self, context: Context) -> Any:
        try:
            ids = self.start(context)
            wait = self.task_wait(ids)
            # A status returned as is must be a real one; a status waited on may ride out a hiccup.
            first = wait.probe(self.hook, tolerate=self.wait_for_completion)
            if not self.wait_for_completion:
                return first.to_json()
            if self.deferrable:
                if wait.is_done(first):
                    return self.finish(context, first)
                self.defer(
                    trigger=wait.trigger(timeout=self.wait_timeout),
                    method_name="execute_complete",
                    timeout=timedelta(seconds=self.wait_timeout),
                )
            status = wait.wait(self.hook, timeout=self.wait_timeout, first=first)
            return self.finish(context, status)
        finally:
            self._close_hook()

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> Any:
        ids = event.get("ids") if isinstance(event, dict) else None
        if not isinstance(ids, dict):
            from airflow_provider.core.errors import HuaweiCloudError

            raise HuaweiCloudError(f"{self.task_id}: invalid trigger event {event!r}")
        try:
            status = self.task_wait({str(k): str(v) for k, v in ids.items()}).complete(event)
            return self.finish(context, status)
        finally:
            self._close_hook()

    def _close_hook(self) -> None:
        if self._hook is not None:
            self._hook.close()
            self._hook = None
