"""Collect a DCS instance's Redis run logs and download them, as one step."""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from airflow_provider.core.errors import HuaweiCloudError, InvalidInputError
from airflow_provider.core.status import TaskState, TaskStatus
from airflow_provider.operators.base import HuaweiCloudTaskOperator
from airflow_provider.operators.delivery import deliver

if TYPE_CHECKING:
    from pathlib import Path

    from airflow.sdk import Context

    from airflow_provider.core.download import Downloaded
    from airflow_provider.hooks.dcs import DcsHook
    from airflow_provider.operators.durable import RemoteTaskRecord
    from airflow_provider.services.dcs_redislog import RunLog

#: How far back a new background task's creation may be, to absorb clock skew between us and DCS.
CLOCK_SKEW = timedelta(minutes=5)


class DcsRunLogOperator(HuaweiCloudTaskOperator["DcsHook"]):
    """Collect the Redis run logs of ``instance_id`` and download them: ``CreateRedislog``, then the
    DCS wait on the background task that collects them, ``CreateRedislogDownloadLink``, download.

    The collect call returns no id (HTTP 204): the lists of background tasks and run logs are noted
    before it (kept in the task state store, so a retry finds what an earlier try started instead of
    collecting again), and the new entries are looked for after it, for at most ``find_timeout``
    seconds. A new background task whose name matches ``task_name_pattern`` is waited for like any
    DCS background task (deferrable); where the service lists none, the new run log is the sign
    that the collection ended. The download link is a pre-signed URL: it is fetched as it is and
    never logged.

    ``instance_id`` and ``dcs_task_id`` (or ``redislog_id`` where no background task is listed) are
    pushed to XCom once found, ``redislog_id`` also after the download. Returns the final
    ``TaskStatus`` as JSON with ``result.run_log``, ``download`` (``location``, ``bytes``,
    ``sha256``) and ``artifacts``.

    :param instance_id: the DCS instance (templated).
    :param download_to: where the log archive goes (templated): an ObjectStoragePath URL such as
        ``obs://bucket/staging/...`` (then returned as an ``artifacts`` entry for
        ``LogArchiveOperator``), a folder ending in ``/``, or a local path.
    :param query_time: the days of logs to collect: 0 (today), 1, 3 or 7.
    :param replication_id: the replica; mandatory unless the instance is single-node (templated).
    :param task_name_pattern: a regular expression a collection's background task name matches.
    :param huaweicloud_conn_id: the ``huaweicloud`` connection (templated).
    :param find_timeout: how long to look for the collection's task or log, in seconds.
    :param poll_interval: seconds between looks at the background task and run log lists.
    """

    service = "dcs"
    template_fields = ("instance_id", "download_to", "replication_id")

    def __init__(
        self,
        *,
        instance_id: str,
        download_to: str,
        query_time: int = 0,
        replication_id: str | None = None,
        huaweicloud_conn_id: str = "huaweicloud_default",
        task_name_pattern: str = r"(?i)log",
        find_timeout: float = 120.0,
        poll_interval: float = 3.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not self.wait_for_completion:
            raise InvalidInputError("wait_for_completion", False, "the run log is downloaded after the collection")
        if isinstance(query_time, bool) or query_time not in (0, 1, 3, 7):
            raise InvalidInputError("query_time", query_time, "must be 0, 1, 3 or 7 (days)")
        self.instance_id = instance_id
        self.download_to = download_to
        self.query_time = query_time
        self.replication_id = replication_id
        self.huaweicloud_conn_id = huaweicloud_conn_id
        self.task_name_pattern = task_name_pattern
        self.find_timeout = find_timeout
        self.poll_interval = poll_interval
        self._baseline: dict[str, Any] | None = None

    def make_hook(self) -> DcsHook:
        """A ``DcsHook`` on this task's connection and overrides."""
        from airflow_provider.hooks.dcs import DcsHook

        return DcsHook(**self.cloud_hook_kwargs())

    # Starting, once per attempt series ------------------------------------------------------
    def start_detail(self, context: Context) -> dict[str, Any]:
        """The instance's recent background tasks and run logs just before the collect call
        (``baseline``)."""
        requested = datetime.now(timezone.utc)
        tasks = self.hook.list_background_tasks(self.instance_id, start_time=requested - CLOCK_SKEW)
        logs = self.hook.list_run_logs(self.instance_id)
        self._baseline = {
            "requested_at": requested.isoformat(),
            "tasks": sorted(t.id for t in tasks if t.id),
            "logs": sorted(log.id for log in logs if log.id),
        }
        return {"baseline": self._baseline}

    def start(self, context: Context) -> dict[str, str]:
        """Collect the run logs (``CreateRedislog``), then find and publish what the call started: a
        new background task matching ``task_name_pattern``, else a new run log.

        :raises HuaweiCloudError: neither appeared within ``find_timeout``.
        """
        self.hook.collect_run_logs(
            self.instance_id, query_time=self.query_time, replication_id=self.replication_id or None
        )
        self.log.info("DCS instance %s: collecting Redis run logs (%d day(s) back)", self.instance_id, self.query_time)
        ids = self._find(timeout=self.find_timeout)
        if ids is None:
            raise HuaweiCloudError(
                f"dcs: Redis run logs of instance {self.instance_id!r} were requested, but neither a background "
                f"task matching {self.task_name_pattern!r} nor a new run log appeared within {self.find_timeout:.0f} s"
            )
        self.publish(context, ids)
        return ids

    def recover_start(self, context: Context, record: RemoteTaskRecord) -> dict[str, str] | None:
        """What an earlier try's collect call started, found once from its stored baseline; None to
        collect again."""
        stored = record.detail.get("baseline")
        if not isinstance(stored, dict):
            return None
        self._baseline = stored
        ids = self._find(timeout=0)
        if ids is not None:
            self.log.info("Found the run log collection %s started (%s)", record.by, ids)
        return ids

    def publish(self, context: Context, ids: dict[str, str]) -> None:
        """Publish the ids as every operator does, and keep the baseline with them in the task state
        store (the download needs it to tell the new run log from older ones)."""
        super().publish(context, ids)
        if self._baseline is not None:  # the wait's end needs it to tell the new log from older ones
            self.memory(context).remember_started(ids, detail={"baseline": self._baseline})

    def _find(self, timeout: float) -> dict[str, str] | None:
        """The ids of what the collect call started: its background task, else its run log."""
        baseline = self._baseline or {}
        pattern = re.compile(self.task_name_pattern)
        requested = datetime.fromisoformat(str(baseline.get("requested_at")))
        deadline = time.monotonic() + timeout
        while True:
            tasks = self.hook.list_background_tasks(self.instance_id, start_time=requested - CLOCK_SKEW)
            new = [t for t in tasks if t.id and t.id not in baseline.get("tasks", []) and pattern.search(t.name or "")]
            if new:
                return {"instance_id": self.instance_id, "dcs_task_id": str(new[0].id)}
            log = self._new_log(None)
            if log is not None and log.id:
                return {"instance_id": self.instance_id, "redislog_id": log.id}
            if time.monotonic() >= deadline:
                return None
            self._sleep(self.poll_interval)

    def _new_log(self, task_id: str | None) -> RunLog | None:
        """The run log that was not there before the collect call (the one the task named, if several)."""
        known = set((self._baseline or {}).get("logs", []))
        new = [log for log in self.hook.list_run_logs(self.instance_id) if log.id and log.id not in known]
        named = [log for log in new if task_id is not None and log.backup_id == task_id]
        if named:
            return named[0]
        return new[0] if new else None

    # Waiting, and the download --------------------------------------------------------------
    def wait_and_finish(self, context: Context, ids: dict[str, str], first: TaskStatus | None = None) -> Any:
        """Wait for the background task (``dcs_task_id``) as any operator does; with only a run log
        (``redislog_id``) the collection has ended: ``finish`` at once."""
        if "dcs_task_id" in ids:
            return super().wait_and_finish(context, ids, first)
        # No background task to wait on: the run log is listed, so the collection has ended.
        status = TaskStatus(service="dcs", task_id=ids["redislog_id"], state=TaskState.SUCCEEDED)
        return self.finish(context, status)

    def finish(self, context: Context, status: TaskStatus) -> dict[str, Any]:
        """Find the new run log, get its download link (``CreateRedislogDownloadLink``), deliver it to
        ``download_to`` and push ``redislog_id``.

        :raises HuaweiCloudError: no new run log was listed within ``find_timeout``.
        """
        if self._baseline is None:  # resumed after a deferral, or reattached: from the task state store
            record = self.memory(context).recall()
            stored = record.detail.get("baseline") if record is not None else None
            self._baseline = stored if isinstance(stored, dict) else {}
        task_id = (self._running_ids or {}).get("dcs_task_id")
        deadline = time.monotonic() + self.find_timeout
        while (log := self._new_log(task_id)) is None or not log.id:
            if time.monotonic() >= deadline:
                raise HuaweiCloudError(
                    f"dcs: the run log collection of instance {self.instance_id!r} ended ({status.task_id}), "
                    f"but no new run log was listed within {self.find_timeout:.0f} s"
                )
            self._sleep(self.poll_interval)
        link = self.hook.run_log_link(self.instance_id, log.id)
        hook, url = self.hook, str(link.link)

        def download(path: Path) -> Downloaded:
            return hook.download_run_log(url, path)

        name = f"{log.file_name or log.id}.tar.gz" if not (log.file_name or "").endswith(".gz") else str(log.file_name)
        delivered = deliver(download, self.download_to, name)
        self.log.info("DCS run log %s delivered to %s (%d bytes)", log.id, delivered.location, delivered.size)
        context["ti"].xcom_push(key="redislog_id", value=log.id)
        result = status.to_json()
        result["result"] = {**result.get("result", {}), "run_log": log.model_dump(mode="json")}
        result["download"] = delivered.to_json()
        result["artifacts"] = [delivered.artifact()]
        return result
