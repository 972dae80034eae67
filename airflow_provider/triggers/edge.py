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
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowNotFoundException
from airflow.triggers.base import TriggerEvent

from airflow_provider.core.errors import DumpBusyError, HuaweiCloudError
from airflow_provider.core.wake_grid import sleep_on_grid
from airflow_provider.triggers.task import HuaweiCloudTaskTrigger

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from airflow_provider.core.async_transport import AsyncTransport
    from airflow_provider.hooks.edge_archive import DumpOwner

START_STATUSES = ("started", "busy_timeout", "error")


class EdgeLogDumpStartTrigger(HuaweiCloudTaskTrigger):
    """Create a MEF log dump for ``node_ids`` once MEF Center is no longer busy with another.

    :param conn_id: the ``huawei_edge_manager`` connection.
    :param node_ids: the checked node ids (1-100 integers).
    :param deadline: give up at this epoch second (the operator's ``busy_timeout`` from the first
        busy answer; absolute, so a triggerer restart does not extend it).
    :param retry_interval: seconds between create attempts.
    :param hold_seconds: how long another run's finished dump holds the MEF Center for its
        download (``EdgeLogDumpOperator.archive_hold``).
    :param start_token: the token of the operator's ``starting`` record, repeated in the dump's
        latest-dump record so that a retry can find the dump if the resumed try dies before
        recording its id (``EdgeLogDumpOperator.recover_start``).
    :param waiting_since: when the wait began (epoch seconds; kept across triggerer restarts).
    """

    def __init__(
        self,
        *,
        conn_id: str,
        node_ids: list[int],
        deadline: float,
        retry_interval: float = 15.0,
        hold_seconds: float = 3600.0,
        start_token: str | None = None,
        waiting_since: float | None = None,
    ) -> None:
        super().__init__(
            service="edge", conn_id=conn_id, ids={}, deadline=deadline, waiting_since=waiting_since, owned=True
        )
        self.node_ids = [int(node) for node in node_ids]
        self.retry_interval = float(retry_interval)
        self.hold_seconds = float(hold_seconds)
        self.start_token = start_token
        self._created_dump: str | None = None  # set the moment the create call answers

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """The classpath and the constructor's arguments (the deadline absolute; no secret)."""
        return (
            f"{self.__class__.__module__}.{self.__class__.__qualname__}",
            {
                "conn_id": self.conn_id,
                "node_ids": self.node_ids,
                "deadline": self.deadline,
                "retry_interval": self.retry_interval,
                "hold_seconds": self.hold_seconds,
                "start_token": self.start_token,
                "waiting_since": self.waiting_since,
            },
        )

    async def on_kill(self) -> None:
        """A user stopped the task while it waited for a free MEF Center (or, rarely, right after the
        create call answered: that dump keeps running and holds nothing for this run)."""
        if self._created_dump is None:
            self.log.warning("Stopped waiting for MEF Center to be free: no log dump was started for %s", self.node_ids)
            return
        await super().on_kill()

    async def _center(self) -> str:
        from airflow_provider.hooks.connection_config import edge_config
        from airflow_provider.hooks.edge_archive import center_of
        from airflow_provider.triggers.task import fetch_connection

        return center_of(edge_config(await fetch_connection(self.conn_id)).base_url)

    async def _record_latest(self, center: str, dump_task_id: str) -> bool:
        """Record the new dump as the MEF Center's latest; False when that could not be done here."""
        from airflow_provider.hooks import edge_archive

        owner = edge_archive.DumpOwner.of_task_instance(dump_task_id, self.task_instance, start_token=self.start_token)
        # Variable.set talks to the triggerer's supervisor synchronously: off the event loop.
        return await asyncio.to_thread(edge_archive.LATEST_DUMPS.record, center, owner)

    async def _held_by(self, center: str, transport: AsyncTransport) -> DumpOwner | None:
        """The other run whose finished dump's archive MEF still holds for its download, if any."""
        from airflow_provider.core.errors import EdgeTaskNotFoundError
        from airflow_provider.core.exchange import drive_async
        from airflow_provider.hooks import edge_archive
        from airflow_provider.services.edge import get_dump_task

        latest = await asyncio.to_thread(edge_archive.LATEST_DUMPS.latest, center)
        me = edge_archive.DumpOwner.of_task_instance("", self.task_instance)
        if latest is None or latest.released or latest.same_task(me):
            return None
        try:
            task = await drive_async(get_dump_task(latest.dump_task_id), transport)
        except EdgeTaskNotFoundError:
            task = None
        except HuaweiCloudError as exc:  # the hold is a courtesy; the download checks keep archives apart
            self.log.warning("Could not check whether %s still holds MEF Center: %s", latest.describe(), exc)
            return None
        now = datetime.now(timezone.utc)
        return edge_archive.holder(latest, me, task=task, now=now, hold_seconds=self.hold_seconds)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Try the create call every ``retry_interval`` seconds while MEF is busy or holds another
        run's archive, until the deadline.

        Yields one event: ``{"status": "started", "dump_task_id", "attempts", "recorded",
        "start_token"}`` once created (``recorded``: the dump was recorded as the MEF Center's latest),
        ``{"status": "busy_timeout", "message"}`` at the deadline, or ``{"status": "error", "message"}``
        when the connection or the create call fails.
        """
        from airflow_provider.core.exchange import drive_async
        from airflow_provider.services.edge import create_dump_task

        try:
            transport, _, cleanup = await self._transport()
        except (HuaweiCloudError, AirflowNotFoundException) as exc:
            yield TriggerEvent({"status": "error", "message": f"cannot use connection {self.conn_id!r}: {exc}"})
            return
        log = self.logger()
        attempts, told = 0, ""
        try:
            center = await self._center()
            while True:
                attempts += 1
                try:
                    held_by = await self._held_by(center, transport)
                    if held_by is not None:
                        busy: HuaweiCloudError = HuaweiCloudError(
                            f"{held_by.describe()} has not been downloaded by its run yet"
                        )
                        why = "reserved for another run's dump until that run has its archive"
                    else:
                        dump_task_id = await drive_async(create_dump_task(self.node_ids), transport)
                        self._created_dump = dump_task_id
                        self.ids = {"dump_task_id": dump_task_id}  # what on_kill names from now on
                        recorded = await self._record_latest(center, dump_task_id)
                        yield TriggerEvent(
                            {
                                "status": "started",
                                "dump_task_id": dump_task_id,
                                "attempts": attempts,
                                "recorded": recorded,
                                "start_token": self.start_token,
                            }
                        )
                        return
                except DumpBusyError as exc:
                    busy, why = exc, "busy with another log dump"
                except HuaweiCloudError as exc:
                    yield TriggerEvent({"status": "error", "message": f"log dump create call failed: {exc}"})
                    return
                if why != told:  # one line per reason, not one per attempt
                    log.info("MEF Center is %s: trying again every %.0f s in the triggerer", why, self.retry_interval)
                    told = why
                left = self.deadline - time.time()
                if left <= 0:
                    waited = time.time() - self.waiting_since
                    yield TriggerEvent(
                        {
                            "status": "busy_timeout",
                            "message": f"MEF Center stayed {why} for {waited:.0f} s ({attempts} attempts): {busy}",
                        }
                    )
                    return
                await sleep_on_grid(min(self.retry_interval, left))
        finally:
            cleanup()
