"""Read a DIS dump task's transfer log (all pages) into a summary for downstream tasks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_provider.core.validation import check_dis_task_id
from airflow_provider.services._parsing import format_iso
from airflow_provider.waiting import check_overrides

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
        """Read every page of the transfer log (``GET /v1/transfertasklog/{transfer_task_id}``).

        Returns ``{"summary": {"transfer_task_id", "periods", "transfer_bytes", "transfer_records",
        "first_start", "last_end"}, "entries": [...]}`` (entries in the API's field names, at most
        ``max_entries``).
        """
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


class DisDumpFilesOperator(BaseOperator):
    """The OBS files of the dump periods a ``DisTransferTaskSensor`` found, as ``artifacts`` to archive.

    The transfer task's destination comes from ``ShowTransferTask`` (``obs_destination_description``:
    bucket and file prefix); each period's file is the object under that prefix named as the log
    entry's ``transferFileName`` (found by listing, so the partition folders' time zone does not
    matter). A period whose file is not there fails the task, naming it.

    :param stream_name: the stream of the transfer task (templated).
    :param transfer_task_name: the transfer task's name, as ``ShowTransferTask`` takes it (templated).
    :param sensor_task_id: the ``DisTransferTaskSensor`` whose result lists the periods.
    :param huaweicloud_conn_id: the ``huaweicloud`` connection (templated), also used for the
        ``obs://`` listing (through its OBS endpoint: ``extra.endpoints.obs`` or its own region's).
    :param region: the region of the DIS call, instead of the connection's (templated).
    :param project_id: the project of the DIS call, instead of the connection's (templated).
    """

    template_fields = ("stream_name", "transfer_task_name", "huaweicloud_conn_id", "region", "project_id")

    def __init__(
        self,
        *,
        stream_name: str,
        transfer_task_name: str,
        sensor_task_id: str,
        huaweicloud_conn_id: str = "huaweicloud_default",
        region: str | None = None,
        project_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        check_overrides("dis", region, project_id)
        self.region = region
        self.project_id = project_id
        self.stream_name = stream_name
        self.transfer_task_name = transfer_task_name
        self.sensor_task_id = sensor_task_id
        self.huaweicloud_conn_id = huaweicloud_conn_id

    def execute(self, context: Context) -> dict[str, Any]:
        """Find each period's file under the transfer task's OBS destination.

        Pushes ``transfer_task_id``, ``stream_name`` and ``task_name`` to XCom and returns the
        sensor's result with ``artifacts`` added (``url``, ``name``, ``bytes``, ``conn_id`` per file).

        :raises InvalidInputError: ``sensor_task_id`` returned no DIS transfer status.
        :raises HuaweiCloudError: a period's file is not under the destination.
        """
        from airflow_provider.core.errors import HuaweiCloudError, InvalidInputError
        from airflow_provider.hooks.dis import DisHook
        from airflow_provider.objects import list_files, path_of
        from airflow_provider.services.destinations import dis_obs_destination

        ti = context["ti"]
        found = ti.xcom_pull(task_ids=self.sensor_task_id)
        result = found.get("result") if isinstance(found, dict) else None
        if not isinstance(found, dict) or not isinstance(result, dict):
            raise InvalidInputError("sensor_task_id", self.sensor_task_id, "returned no DIS transfer status")
        names = [name for name in result.get("file_names") or [] if isinstance(name, str)]
        hook = DisHook(huaweicloud_conn_id=self.huaweicloud_conn_id, region=self.region, project_id=self.project_id)
        try:
            destination = hook.run(dis_obs_destination(hook.project_id, self.stream_name, self.transfer_task_name))
        finally:
            hook.close()
        prefix = "/".join(p for p in (destination.obs_bucket_path, (destination.file_prefix or "").strip("/")) if p)
        folder = path_of(f"obs://{prefix}/", conn_id=self.huaweicloud_conn_id)
        by_name = {item["url"].rsplit("/", 1)[-1]: item for item in list_files(folder)} if names else {}
        missing = [name for name in names if name not in by_name]
        if missing:
            raise HuaweiCloudError(f"DIS dump periods without a file under {folder}: {', '.join(missing)}")
        artifacts = [{**by_name[name], "name": name, "conn_id": self.huaweicloud_conn_id} for name in names]
        for key, value in (
            ("transfer_task_id", found.get("task_id")),
            ("stream_name", self.stream_name),
            ("task_name", self.transfer_task_name),
        ):
            if value:
                ti.xcom_push(key=key, value=value)
        self.log.info("DIS transfer task %s: %d period file(s) under %s", self.transfer_task_name, len(names), folder)
        return {**found, "artifacts": artifacts}
