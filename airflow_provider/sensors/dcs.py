"""Wait for a DCS background task (state derived from its steps)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider.sensors.base import HuaweiCloudTaskSensor

if TYPE_CHECKING:
    from airflow_provider.hooks.dcs import DcsHook


class DcsBackgroundTaskSensor(HuaweiCloudTaskSensor["DcsHook"]):
    """Waits until every step of the background task is FINISH at 100%; a FAILED step raises.

    ``dcs_task_id`` is the background task's id (``task_id`` is Airflow's own parameter). Returns
    the final ``TaskStatus`` as JSON (``result``: ``dcs_task_id``, ``steps``, ``remain_time``...).

    :param instance_id: the DCS instance (templated).
    :param dcs_task_id: the background task (templated).
    :param huaweicloud_conn_id: the ``huaweicloud`` connection (templated).
    """

    service = "dcs"
    template_fields = ("instance_id", "dcs_task_id")

    def __init__(
        self, *, instance_id: str, dcs_task_id: str, huaweicloud_conn_id: str = "huaweicloud_default", **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.instance_id = instance_id
        self.dcs_task_id = dcs_task_id
        self.huaweicloud_conn_id = huaweicloud_conn_id

    def make_hook(self) -> DcsHook:
        """A ``DcsHook`` on this task's connection and overrides."""
        from airflow_provider.hooks.dcs import DcsHook

        return DcsHook(**self.cloud_hook_kwargs())

    def task_ids(self) -> dict[str, str]:
        """``instance_id`` and ``dcs_task_id``."""
        return {"instance_id": self.instance_id, "dcs_task_id": self.dcs_task_id}
