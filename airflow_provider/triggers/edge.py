"""Wait in the triggerer for a free MEF Center, then create the log dump.

MEF runs one dump at a time and answers every create call made meanwhile with "busy"; there is
no queue and no call that tells when it is free (the log manager's router registers only create,
query and download). A deferrable ``EdgeLogDumpOperator`` therefore retries the create call here,
in the triggerer, instead of sleeping in a worker slot: a dozen dumps queued on one MEF Center
would otherwise hold a dozen slots, and the waits that have finished would queue behind them.

The trigger yields one event, ``started`` with the new task id, as soon as the create call
succeeds, and the operator records that id in the task state store before it waits for the dump
(a second, ordinary deferral). The trigger itself records the dump as the MEF Center's latest
(``hooks.edge_archive``) right after the create call: the run whose archive that dump just
deleted must be able to name it, and the worker resumes only seconds later.

Between the create call's answer and the event reaching the metadata database, a triggerer that
dies loses the id, the gap Airflow's ``ResumableJobMixin``
documents for its own submit: the next attempt then meets "busy" until that dump ends.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowNotFoundException
from airflow.triggers.base import TriggerEvent

from airflow_provider.core.errors import DumpBusyError, HuaweiCloudError
from airflow_provider.core.wake_grid import sleep_on_grid
from airflow_provider.triggers.task import HuaweiCloudTaskTrigger

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

START_STATUSES = ("started", "busy_timeout", "error")


class EdgeLogDumpStartTrigger(HuaweiCloudTaskTrigger):
    """Create a MEF log dump for ``node_ids`` once MEF Center is no longer busy with another.

    :param conn_id: the ``huawei_edge_manager`` connection.
    :param node_ids: the checked node ids (1-100 integers).
    :param deadline: give up at this epoch second (the operator's ``busy_timeout`` from the first
        busy answer; absolute, so a triggerer restart does not extend it).
    :param retry_interval: seconds between create attempts.
    """

    def __init__(
        self,
        *,
        conn_id: str,
        node_ids: list[int],
        deadline: float,
        retry_interval: float = 15.0,
        waiting_since: float | None = None,
    ) -> None:
        super().__init__(
            service="edge", conn_id=conn_id, ids={}, deadline=deadline, waiting_since=waiting_since, owned=True
        )
        self.node_ids = [int(node) for node in node_ids]
        self.retry_interval = float(retry_interval)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{self.__class__.__module__}.{self.__class__.__qualname__}",
            {
                "conn_id": self.conn_id,
                "node_ids": self.node_ids,
                "deadline": self.deadline,
                "retry_interval": self.retry_interval,
                "waiting_since": self.waiting_since,
            },
        )

    async def on_kill(self) -> None:
        self.log.warning("Stopped waiting for MEF Center to be free: no log dump was started for %s", self.node_ids)

    async def _record_latest(self, dump_task_id: str) -> bool:
        """Record the new dump as the MEF Center's latest; False when that could not be done here."""
        from airflow_provider.hooks import edge_archive
        from airflow_provider.hooks.connection_config import edge_config
        from airflow_provider.triggers.task import fetch_connection

        try:
            center = edge_archive.center_of(edge_config(await fetch_connection(self.conn_id)).base_url)
        except Exception as exc:  # the dump exists: never lose the event over its bookkeeping
            self.log.warning("Could not tell which MEF Center dump %s is on: %s", dump_task_id, exc)
            return False
        owner = edge_archive.DumpOwner.of_task_instance(dump_task_id, self.task_instance)
        # Variable.set talks to the triggerer's supervisor synchronously: off the event loop.
        return await asyncio.to_thread(edge_archive.LATEST_DUMPS.record, center, owner)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from airflow_provider.core.exchange import drive_async
        from airflow_provider.services.edge import create_dump_task

        try:
            transport, _, cleanup = await self._transport()
        except (HuaweiCloudError, AirflowNotFoundException) as exc:
            yield TriggerEvent({"status": "error", "message": f"cannot use connection {self.conn_id!r}: {exc}"})
            return
        log = self.logger()
        attempts = 0
        try:
            while True:
                attempts += 1
                try:
                    dump_task_id = await drive_async(create_dump_task(self.node_ids), transport)
                except DumpBusyError as exc:
                    busy = exc
                    if attempts == 1:
                        log.info(
                            "MEF Center is busy with another log dump: trying again every %.0f s in the triggerer",
                            self.retry_interval,
                        )
                except HuaweiCloudError as exc:
                    yield TriggerEvent({"status": "error", "message": f"log dump create call failed: {exc}"})
                    return
                else:
                    recorded = await self._record_latest(dump_task_id)
                    yield TriggerEvent(
                        {"status": "started", "dump_task_id": dump_task_id, "attempts": attempts, "recorded": recorded}
                    )
                    return
                left = self.deadline - time.time()
                if left <= 0:
                    waited = time.time() - self.waiting_since
                    yield TriggerEvent(
                        {
                            "status": "busy_timeout",
                            "message": f"MEF Center stayed busy with another log dump for {waited:.0f} s "
                            f"({attempts} attempts): {busy}",
                        }
                    )
                    return
                await sleep_on_grid(min(self.retry_interval, left))
        finally:
            cleanup()
