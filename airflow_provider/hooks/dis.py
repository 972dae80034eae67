"""DIS (Data Ingestion Service) dump (transfer) tasks and their logs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider.core import catalog
from airflow_provider.hooks.base import HuaweiCloudHook
from airflow_provider.hooks.project_lookup import require_signed_project
from airflow_provider.hooks.xcom import allow_in_xcom
from airflow_provider.services import dis

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from airflow_provider.services.dis import TransferTask, TransferTaskLogEntry, TransferTaskLogPage


#: What needs the signed project: the log's path names none (``core.catalog``).
LOG_WHAT = str(catalog.DIS.project_by_header)


class DisHook(HuaweiCloudHook):
    """DIS dump (transfer) tasks and their logs: one log entry per dump period.

    :param huaweicloud_conn_id: the ``huaweicloud`` connection.
    """

    hook_name = "Huawei Cloud DIS"

    @property
    def status_project_id(self) -> str | None:
        """The log's path names no project: an AK/SK connection must sign one (``X-Project-Id``)."""
        require_signed_project(self.config, LOG_WHAT)
        return self.config.project_id

    def get_transfer_task_log_page(
        self,
        transfer_task_id: str,
        *,
        order: str = "desc",
        sort_by: str = "createTimeStr",
        page_index: int = 1,
        page_size: int = 10,
    ) -> TransferTaskLogPage:
        """One page of the transfer task's log (``GET /v1/transfertasklog/{transfer_task_id}``), with
        ``totalNum``.

        :param transfer_task_id: the transfer (dump) task.
        :param order: ``desc`` (default) or ``asc``.
        :param sort_by: the API's ``sortBy`` field.
        :param page_index: 1-based page number.
        :param page_size: entries per page.
        """
        require_signed_project(self.config, LOG_WHAT)
        return self.run(
            dis.get_transfer_task_log_page(
                transfer_task_id, order=order, sort_by=sort_by, page_index=page_index, page_size=page_size
            )
        )

    def iter_transfer_task_logs(
        self,
        transfer_task_id: str,
        order: str = "desc",
        sort_by: str = "createTimeStr",
        page_size: int = dis.MAX_PAGE_SIZE,
        max_pages: int = 1000,
    ) -> Iterator[TransferTaskLogEntry]:
        """Every log entry over all pages (fetched lazily, one page at a time)."""
        seen: set[tuple[object, ...]] = set()
        total = 0
        for page_index in range(1, max_pages + 1):
            page = self.get_transfer_task_log_page(
                transfer_task_id, order=order, sort_by=sort_by, page_index=page_index, page_size=page_size
            )
            fresh = [entry for entry in page.transfer_task_log_list if entry.key() not in seen]
            seen.update(entry.key() for entry in fresh)
            total += len(fresh)
            yield from fresh
            if not fresh or len(page.transfer_task_log_list) < page_size:
                return
            if page.total_num is not None and total >= page.total_num:
                return

    def list_transfer_task_logs(
        self,
        transfer_task_id: str,
        *,
        order: str = "desc",
        sort_by: str = "createTimeStr",
        page_size: int = dis.MAX_PAGE_SIZE,
        max_pages: int = 1000,
    ) -> list[TransferTaskLogEntry]:
        """Every log entry of the transfer task (one per dump period), over all pages. A page with
        its total comes from ``get_transfer_task_log_page``.

        :param transfer_task_id: the transfer (dump) task.
        :param order: ``desc`` (default) or ``asc``.
        :param sort_by: the API's ``sortBy`` field.
        :param page_size: entries per request.
        :param max_pages: stop after this many pages.
        """
        require_signed_project(self.config, LOG_WHAT)
        return self.run(
            dis.list_transfer_task_logs(
                transfer_task_id, order=order, sort_by=sort_by, page_size=page_size, max_pages=max_pages
            )
        )

    def get_all_transfer_task_logs(self, transfer_task_id: str, **kwargs: Any) -> list[TransferTaskLogEntry]:
        """Deprecated name of ``list_transfer_task_logs``."""
        import warnings

        from airflow.exceptions import AirflowProviderDeprecationWarning

        warnings.warn(
            "DisHook.get_all_transfer_task_logs is deprecated: use DisHook.list_transfer_task_logs",
            AirflowProviderDeprecationWarning,
            stacklevel=2,
        )
        return self.list_transfer_task_logs(transfer_task_id, **kwargs)

    def list_transfer_tasks(self, stream_name: str) -> list[TransferTask]:
        """The stream's transfer (dump) tasks (``GET /v2/{project_id}/streams/{stream_name}/transfer-tasks``).

        :param stream_name: the DIS stream.
        """
        return self.run(dis.list_transfer_tasks(self.project_id, stream_name))

    def start_transfer_tasks(self, stream_name: str, task_ids: Iterable[str]) -> None:
        """Start the stream's transfer tasks (``action: start``); sent once, not retried.

        :param stream_name: the DIS stream.
        :param task_ids: the transfer task ids: at least one, unique (a single string is refused).
        """
        self.run(dis.start_transfer_tasks(self.project_id, stream_name, task_ids))

    def stop_transfer_tasks(self, stream_name: str, task_ids: Iterable[str]) -> None:
        """Stop the stream's transfer tasks (``action: stop``); sent once, not retried.

        :param stream_name: the DIS stream.
        :param task_ids: the transfer task ids: at least one, unique (a single string is refused).
        """
        self.run(dis.stop_transfer_tasks(self.project_id, stream_name, task_ids))


allow_in_xcom(dis.TransferTaskLogEntry, dis.TransferTaskLogPage, dis.TransferTask)
