"""Wait for a CloudDC physical server log export."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider.sensors.base import HuaweiCloudTaskSensor

if TYPE_CHECKING:
    from airflow_provider.hooks.clouddc import CloudDCHook


class CloudDCLogExportSensor(HuaweiCloudTaskSensor["CloudDCHook"]):
    """Waits until the export ``export_id`` of server ``server_id`` is ``completed``.

    Returns the final ``TaskStatus`` as JSON (``result``: ``export_id``, ``server_id``, ``created_at``).

    :param server_id: the physical server (templated).
    :param export_id: the export, as ``CloudDCLogExportOperator`` pushed it (templated).
    :param huaweicloud_conn_id: the ``huaweicloud`` connection (templated).
    """

    service = "clouddc"
    template_fields = ("server_id", "export_id")

    def __init__(
        self, *, server_id: str, export_id: str, huaweicloud_conn_id: str = "huaweicloud_default", **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.server_id = server_id
        self.export_id = export_id
        self.huaweicloud_conn_id = huaweicloud_conn_id

    def make_hook(self) -> CloudDCHook:
        """A ``CloudDCHook`` on this task's connection and overrides."""
        from airflow_provider.hooks.clouddc import CloudDCHook

        return CloudDCHook(**self.cloud_hook_kwargs())

    def task_ids(self) -> dict[str, str]:
        """``server_id`` and ``export_id``."""
        return {"server_id": self.server_id, "export_id": self.export_id}
