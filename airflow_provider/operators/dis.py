"""Read a DIS dump task's transfer log (all pages) into a summary for downstream tasks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_provider.core.validation import check_dis_task_id
from airflow_provider.services._parsing import format_iso

if TYPE_CHECKING:
    from airflow.sdk import Context


class DisTransferTaskLogOperator(BaseOperator):
    """Return ``{"summary": {...}, "entries": [...]}`` for every dump period of ``transfer_task_id``.

    :param transfer_task_id: the transfer (dump) task (templated).
    :param huaweicloud_conn_id: the ``huaweicloud`` connection (templated).
    :param order: ``desc`` (newest period first, default) or ``asc``.
    :param sort_by: the API's ``sortBy`` field.
    :param page_size: entries per request.
    :param max_pages: read at most this many pages.
    :param max_entries: keep at most this many entries in the XCom value (the summary counts all).
    :param region: a region instead of the connection's ``extra.region`` (templated).
    :param project_id: a project instead of the connection's ``extra.project_id`` (templated).
    """

    template_fields = ("transfer_task_id", "huaweicloud_conn_id", "region", "project_id")

    def __init__(
        self,
        *,
        transfer_task_id: str,
        huaweicloud_conn_id: str = "huaweicloud_default",
        order: str = "desc",
        sort_by: str = "createTimeStr",
        page_size: int = 100,
        max_pages: int = 1000,
        max_entries: int = 1000,
        region: str | None = None,
        project_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.region = region
        self.project_id = project_id
        self.transfer_task_id = transfer_task_id
        self.huaweicloud_conn_id = huaweicloud_conn_id
        self.order = order
        self.sort_by = sort_by
        self.page_size = page_size
        self.max_pages = max_pages
        self.max_entries = max_entries

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider.hooks.dis import DisHook

        task_id = check_dis_task_id(self.transfer_task_id)
        hook = DisHook(huaweicloud_conn_id=self.huaweicloud_conn_id, region=self.region, project_id=self.project_id)
        try:
            entries = list(
                hook.iter_transfer_task_logs(
                    task_id, order=self.order, sort_by=self.sort_by, page_size=self.page_size, max_pages=self.max_pages
                )
            )
        finally:
            hook.close()
        starts = [e.start_time for e in entries if e.start_time is not None]
        ends = [e.end_time for e in entries if e.end_time is not None]
        summary = {
            "transfer_task_id": task_id,
            "periods": len(entries),
            "transfer_bytes": sum(e.transfer_bytes or 0 for e in entries),
            "transfer_records": sum(e.transfer_records_num or 0 for e in entries),
            "first_start": format_iso(min(starts)) if starts else None,
            "last_end": format_iso(max(ends)) if ends else None,
        }
        self.log.info(
            "DIS transfer task %s: %d periods, %d records, %d bytes",
            task_id,
            summary["periods"],
            summary["transfer_records"],
            summary["transfer_bytes"],
        )
        kept = entries[: self.max_entries]
        if len(entries) > len(kept):
            self.log.warning("Keeping %d of %d entries in XCom (max_entries)", len(kept), len(entries))
        return {"summary": summary, "entries": [e.model_dump(mode="json", by_alias=True) for e in kept]}
