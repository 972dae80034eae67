"""What every operator and sensor of a remote task shares: its service's description, its
connection, the region and project overrides, and one hook per task run."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Generic

from airflow_provider.hooks.task_hook import HookT_co
from airflow_provider.operators.links import HuaweiCloudConsoleLink, describe_task_class
from airflow_provider.operators.outputs import DeclaresOutputs
from airflow_provider.waiting import check_overrides

if TYPE_CHECKING:
    from collections.abc import Collection

    from airflow.sdk import BaseOperatorLink


class RemoteTaskMixin(DeclaresOutputs, Generic[HookT_co]):
    """Mixed into ``HuaweiCloudTaskOperator`` and ``HuaweiCloudTaskSensor``.

    A subclass names its ``service`` (``core.catalog``) and gets from the description its extra
    links and the common template fields (the connection id, and ``region`` and ``project_id`` for
    ``huaweicloud`` services); it makes its hook in ``make_hook``.
    """

    service: ClassVar[str]
    conn_id_attr: ClassVar[str] = "huaweicloud_conn_id"
    operator_extra_links: Collection[BaseOperatorLink] = (HuaweiCloudConsoleLink(),)
    region: str | None
    project_id: str | None
    _hook: HookT_co | None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        describe_task_class(cls)

    def init_remote_task(self, region: str | None, project_id: str | None) -> None:
        """Keep the overrides (refused, by name, for a service without regions) and no hook yet."""
        check_overrides(self.service, region, project_id)
        self.region = region
        self.project_id = project_id
        self._hook = None

    @property
    def conn_id(self) -> str:
        """The task's connection id (after templates were rendered)."""
        return str(getattr(self, self.conn_id_attr))

    def cloud_hook_kwargs(self) -> dict[str, Any]:
        """The ``huaweicloud`` hook arguments of this task: its connection and overrides."""
        return {"huaweicloud_conn_id": self.conn_id, "region": self.region, "project_id": self.project_id}

    def make_hook(self) -> HookT_co:
        """The service's hook on this task's connection."""
        raise NotImplementedError

    @property
    def hook(self) -> HookT_co:
        """The hook of this task run, made on first use (after templates were rendered)."""
        if self._hook is None:
            self._hook = self.make_hook()
        return self._hook

    def close_hook(self) -> None:
        """Close the hook's transport at the end of a run (or a deferral)."""
        if self._hook is not None:
            self._hook.close()
            self._hook = None
