"""Wait for a CSS cluster log backup."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider.core.errors import InvalidInputError
from airflow_provider.sensors.base import HuaweiCloudTaskSensor

if TYPE_CHECKING:
    from collections.abc import Mapping

    from airflow_provider.assets import Produced
    from airflow_provider.hooks.css import CssHook


class CssLogBackupSensor(HuaweiCloudTaskSensor["CssHook"]):
    """Waits until a log backup record of ``cluster_id`` is SUCCESS (FAIL raises with ``failedMsg``).

    Name the record by ``record_id`` (the record's ``id``) or by ``job_id``: exactly one. Returns the
    final ``TaskStatus`` as JSON (``result``: ``record_id``, ``job_id``, ``log_path``...).

    :param cluster_id: the CSS cluster (templated).
    :param record_id: the record's ``id``, as ``CssLogBackupOperator`` pushed it (templated).
    :param job_id: the record's ``jobId`` (templated).
    :param huaweicloud_conn_id: the ``huaweicloud`` connection (templated).
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
        """A ``CssHook`` on this task's connection and overrides."""
        from airflow_provider.hooks.css import CssHook

        return CssHook(**self.cloud_hook_kwargs())

    def task_ids(self) -> dict[str, str]:
        """``cluster_id`` and ``record_id`` or ``job_id``."""
        ids = {"cluster_id": self.cluster_id}
        if self.record_id:
            ids["record_id"] = self.record_id
        elif self.job_id:
            ids["job_id"] = self.job_id
        return ids

    def produced(self, ids: Mapping[str, str], result: Mapping[str, Any], *, asked: bool) -> list[Produced]:
        """The backup's OBS folder (``obs://<log bucket>/<logPath>/``)."""
        from airflow_provider.operators.outputs import css_backup_objects

        return css_backup_objects(self, lambda: self.hook, self.cluster_id, result, asked=asked)
