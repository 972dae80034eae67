"""Wait for a CSS cluster log backup."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider.core.errors import InvalidInputError
from airflow_provider.sensors.base import HuaweiCloudTaskSensor

if TYPE_CHECKING:
    from airflow_provider.hooks.css import CssHook


class CssLogBackupSensor(HuaweiCloudTaskSensor["CssHook"]):
    """Waits until a log backup record of ``cluster_id`` is SUCCESS (FAIL raises with ``failedMsg``).

    Name the record by ``record_id`` (the record's ``id``) or by ``job_id``: exactly one.
    """

    service = "css"
    template_fields = ("cluster_id", "record_id", "job_id")

    def __init__(
        self,
        *,
        cluster_id: str,
        record_id: str | None = None,
        job_id: str | None = None,
        huaweicloud_conn_id: str = "huaweicloud_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if (record_id is None) == (job_id is None):
            raise InvalidInputError("record_id", record_id, "give exactly one of record_id and job_id")
        self.cluster_id = cluster_id
        self.record_id = record_id
        self.job_id = job_id
        self.huaweicloud_conn_id = huaweicloud_conn_id

    def make_hook(self) -> CssHook:
        from airflow_provider.hooks.css import CssHook

        return CssHook(**self.cloud_hook_kwargs())

    def task_ids(self) -> dict[str, str]:
        ids = {"cluster_id": self.cluster_id}
        if self.record_id:
            ids["record_id"] = self.record_id
        elif self.job_id:
            ids["job_id"] = self.job_id
        return ids
