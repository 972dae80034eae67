"""Wait for a DIS dump task to have dumped a period (a continuous job has no 'finished')."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from airflow_provider.sensors.base import HuaweiCloudTaskSensor

if TYPE_CHECKING:
    from collections.abc import Mapping

    from airflow_provider.hooks.dis import DisHook


class DisTransferTaskSensor(HuaweiCloudTaskSensor["DisHook"]):
    """Waits until a dump period that ended at or after ``completed_after`` is in the transfer log.

    Returns the final ``TaskStatus`` as JSON; its ``result`` has the matching periods (times, bytes,
    records), ``file_names``, ``total_records`` and ``total_bytes``.

    :param transfer_task_id: the transfer (dump) task (templated).
    :param completed_after: a datetime or ISO 8601 string (templated, e.g.
        ``{{ data_interval_end }}``); None accepts any period.
    :param min_records: also require this many records in total over the matching periods.
    :param stream_name: optional; when given, a transfer task that cannot dump (ERROR, ABNORMAL,
        DELETE, PAUSED, or gone from the stream) fails a wait its log does not satisfy yet; without
        it such a task waits until the timeout (a warning says so). Periods already dumped satisfy
        the wait whatever the task's state now.
    :param task_name: the transfer task's name, with ``stream_name``: the stream's task list is
        matched by ``task_id`` where it carries one (the API reference's example) and by this name
        where it does not (the SDK's ``TransferTask`` model has only the name); without it such a
        list cannot be matched and a warning says the state is not checked.
    :param huaweicloud_conn_id: the ``huaweicloud`` connection (templated).
    """

    service = "dis"
    template_fields = ("transfer_task_id", "completed_after", "stream_name", "task_name")

    def __init__(
        self,
        *,
        transfer_task_id: str,
        completed_after: datetime | str | None = None,
        min_records: int = 0,
        stream_name: str | None = None,
        task_name: str | None = None,
        huaweicloud_conn_id: str = "huaweicloud_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.transfer_task_id = transfer_task_id
        self.completed_after = completed_after
        self.min_records = min_records
        self.stream_name = stream_name
        self.task_name = task_name
        self.huaweicloud_conn_id = huaweicloud_conn_id

    def make_hook(self) -> DisHook:
        """A ``DisHook`` on this task's connection and overrides."""
        from airflow_provider.hooks.dis import DisHook

        return DisHook(**self.cloud_hook_kwargs())

    def task_ids(self) -> dict[str, str]:
        """``transfer_task_id``, and ``task_name`` and ``stream_name`` where given (without
        ``stream_name`` a warning says the task's state is not checked)."""
        ids = {"transfer_task_id": self.transfer_task_id}
        if self.task_name:
            ids["task_name"] = self.task_name  # without stream_name the wait refuses it, naming the field
        if self.stream_name:
            ids["stream_name"] = self.stream_name
        else:
            self.log.warning(
                "DIS transfer task %s: no stream_name, so the task's own state is not checked; a task "
                "in ERROR, ABNORMAL or PAUSED state keeps this wait going until its timeout",
                self.transfer_task_id,
            )
        return ids

    def wait_options(self) -> dict[str, Any]:
        """``completed_after`` (ISO 8601 or None) and ``min_records`` for the status check."""
        after = self.completed_after
        if isinstance(after, datetime):
            after = after.isoformat()
        return {"completed_after": after or None, "min_records": self.min_records}

    def output_summary(self, ids: Mapping[str, str], result: Mapping[str, Any]) -> dict[str, Any]:
        """Outlet events also carry the periods found (times, bytes, records, file names) and their totals."""
        summary = super().output_summary(ids, result)
        found = result.get("result") or {}
        for key in ("periods", "file_names", "total_records", "total_bytes", "failed_periods"):
            if found.get(key) is not None:
                summary[key] = found[key]
        return summary
