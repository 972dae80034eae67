"""DCS (Distributed Cache Service) background tasks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider.hooks.base import HuaweiCloudHook, warn_page_arguments
from airflow_provider.hooks.xcom import allow_in_xcom
from airflow_provider.services import dcs, dcs_redislog

if TYPE_CHECKING:
    from collections.abc import Iterator
    from datetime import datetime
    from pathlib import Path

    from airflow_provider.core.download import Downloaded
    from airflow_provider.services.dcs import BackgroundTask, BackgroundTaskList, BackgroundTaskProgress
    from airflow_provider.services.dcs_redislog import DownloadLink, RunLog


class DcsHook(HuaweiCloudHook):
    """DCS instances' background tasks: their progress, step by step, and the task list.

    :param huaweicloud_conn_id: the ``huaweicloud`` connection.
    """

    hook_name = "Huawei Cloud DCS"

    def get_background_task_progress(self, instance_id: str, task_id: str) -> BackgroundTaskProgress:
        """The progress of one background task, with its steps.

        :param instance_id: the DCS instance.
        :param task_id: the background task.
        """
        return self.run(dcs.get_background_task_progress(self.project_id, instance_id, task_id))

    def get_background_task_page(
        self,
        instance_id: str,
        *,
        offset: int = 0,
        limit: int = 10,
        start_time: datetime | str | None = None,
        end_time: datetime | str | None = None,
    ) -> BackgroundTaskList:
        """One page of the instance's background tasks, with the total count.

        :param instance_id: the DCS instance.
        :param offset: 0-based index of the page's first task.
        :param limit: tasks per page (1-1000).
        :param start_time: only tasks created at or after this time (a datetime or ``yyyyMMddHHmmss``).
        :param end_time: only tasks created at or before this time.
        """
        return self.run(
            dcs.get_background_task_page(
                self.project_id, instance_id, offset=offset, limit=limit, start_time=start_time, end_time=end_time
            )
        )

    def list_background_tasks(
        self,
        instance_id: str,
        *,
        start_time: datetime | str | None = None,
        end_time: datetime | str | None = None,
        **page: Any,
    ) -> list[BackgroundTask]:
        """The instance's background tasks over every page. A page with its total comes from
        ``get_background_task_page``.

        :param instance_id: the DCS instance.
        :param start_time: only tasks created at or after this time (a datetime or ``yyyyMMddHHmmss``).
        :param end_time: only tasks created at or before this time.
        """
        if page:
            unknown = sorted(set(page) - {"offset", "limit"})
            if unknown:
                raise TypeError(f"list_background_tasks() got unexpected keyword arguments: {', '.join(unknown)}")
            warn_page_arguments("DcsHook.list_background_tasks", "DcsHook.get_background_task_page")
            return list(
                self.get_background_task_page(instance_id, start_time=start_time, end_time=end_time, **page).tasks
            )
        return list(self.iter_background_tasks(instance_id, start_time=start_time, end_time=end_time))

    def iter_background_tasks(
        self,
        instance_id: str,
        *,
        start_time: datetime | str | None = None,
        end_time: datetime | str | None = None,
        page_size: int = dcs.LIST_PAGE_SIZE,
    ) -> Iterator[BackgroundTask]:
        """The instance's background tasks, page by page, until a short page or ``task_count``.

        :param instance_id: the DCS instance.
        :param start_time: only tasks created at or after this time.
        :param end_time: only tasks created at or before this time.
        :param page_size: tasks per request (1-1000).
        """
        offset = 0
        while True:
            page = self.get_background_task_page(
                instance_id, offset=offset, limit=page_size, start_time=start_time, end_time=end_time
            )
            yield from page.tasks
            offset += len(page.tasks)
            if len(page.tasks) < page_size or (page.task_count is not None and offset >= page.task_count):
                return

    def collect_run_logs(self, instance_id: str, *, query_time: int = 0, replication_id: str | None = None) -> None:
        """Start collecting the instance's Redis run logs (``CreateRedislog``); no id comes back.

        :param query_time: the days back to collect: 0 (today), 1, 3 or 7.
        :param replication_id: the replica, mandatory unless the instance is single-node.
        """
        self.run(
            dcs_redislog.collect(self.project_id, instance_id, query_time=query_time, replication_id=replication_id)
        )

    def list_run_logs(self, instance_id: str, *, page_size: int = 100) -> list[RunLog]:
        """Every collected run log of the instance (``ListRedislog``), over all pages."""
        found: list[RunLog] = []
        while True:
            page = self.run(dcs_redislog.list_logs(self.project_id, instance_id, offset=len(found), limit=page_size))
            found.extend(page.file_list)
            if len(page.file_list) < page_size or (page.total_num is not None and len(found) >= page.total_num):
                return found

    def run_log_link(self, instance_id: str, log_id: str) -> DownloadLink:
        """A download link of run log ``log_id`` (valid 24 hours), and the background task that serves it."""
        return self.run(dcs_redislog.download_link(self.project_id, instance_id, log_id))

    def download_run_log(self, link: str, destination: Path) -> Downloaded:
        """Download a run log from its (pre-signed) link, hashing it as it streams; the link is never logged."""
        return self.transport.fetch_url(link, destination, service="dcs")


allow_in_xcom(dcs.BackgroundTaskProgress, dcs.StepDetail, dcs.SubStepDetail, dcs.BackgroundTask, dcs.BackgroundTaskList)
