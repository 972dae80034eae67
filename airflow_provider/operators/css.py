"""Back up a CSS cluster's logs (to its OBS bucket) and find the backup's record."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider.operators.base import HuaweiCloudTaskOperator

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider.hooks.css import CssHook


class CssLogBackupOperator(HuaweiCloudTaskOperator):
    """Start a manual log backup of ``cluster_id`` and wait for its record to be SUCCESS.

    The start API returns no id; the operator finds the record the call created (see
    ``CssHook.start_log_backup``) and pushes ``record_id`` and ``job_id`` to XCom.
    """

    service = "css"
    template_fields = ("cluster_id",)

    def __init__(
        self,
        *,
        cluster_id: str,
        huaweicloud_conn_id: str = "huaweicloud_default",
        find_timeout: float = 120.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.cluster_id = cluster_id
        self.huaweicloud_conn_id = huaweicloud_conn_id
        self.find_timeout = find_timeout

    def make_hook(self) -> CssHook:
        from airflow_provider.hooks.css import CssHook

        return CssHook(huaweicloud_conn_id=self.huaweicloud_conn_id)

    def start(self, context: Context) -> dict[str, str]:
        hook: CssHook = self.hook  # type: ignore[assignment]
        record = hook.start_log_backup(self.cluster_id, find_timeout=self.find_timeout)
        ids = {"cluster_id": self.cluster_id, "record_id": record.id}
        self.publish(context, ids)
        if record.job_id:
            context["ti"].xcom_push(key="job_id", value=record.job_id)
        return ids
