"""Wait for a MEF edge manager log dump task."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider.sensors.base import HuaweiCloudTaskSensor

if TYPE_CHECKING:
    from airflow_provider.hooks.edge import EdgeManagerHook


class EdgeLogDumpSensor(HuaweiCloudTaskSensor["EdgeManagerHook"]):
    """Waits for a log dump task (``dumpMultiNodesLog...``) to finish.

    Returns the final ``TaskStatus`` as JSON (``result``: ``file_name``, ``failed_nodes``...).

    :param dump_task_id: the task id returned by the create call (templated).
    :param edge_manager_conn_id: the ``huawei_edge_manager`` connection (templated).
    :param accept_partial_failure: treat ``partiallyFailed`` as success (a warning names the
        failed nodes); by default it fails the sensor.
    """

    service = "edge"
    conn_id_attr = "edge_manager_conn_id"
    template_fields = ("dump_task_id",)

    def __init__(
        self,
        *,
        dump_task_id: str,
        edge_manager_conn_id: str = "edge_manager_default",
        accept_partial_failure: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.dump_task_id = dump_task_id
        self.edge_manager_conn_id = edge_manager_conn_id
        self.accept_partial_failure = accept_partial_failure

    def make_hook(self) -> EdgeManagerHook:
        """An ``EdgeManagerHook`` on ``edge_manager_conn_id``."""
        from airflow_provider.hooks.edge import EdgeManagerHook

        return EdgeManagerHook(edge_manager_conn_id=self.edge_manager_conn_id)

    def task_ids(self) -> dict[str, str]:
        """``dump_task_id``."""
        return {"dump_task_id": self.dump_task_id}

    @property
    def accept_partial(self) -> bool:
        """``accept_partial_failure``: a ``partiallyFailed`` dump ends the wait well."""
        return self.accept_partial_failure
