"""DCS (Distributed Cache Service) background tasks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_provider.hooks.base import HuaweiCloudHook
from airflow_provider.services import dcs

if TYPE_CHECKING:
    from datetime import datetime

    from airflow_provider.services.dcs import BackgroundTaskList, BackgroundTaskProgress


class DcsHook(HuaweiCloudHook):
    hook_name = "Huawei Cloud DCS"

    def get_background_task_progress(self, instance_id: str, task_id: str) -> BackgroundTaskProgress:
        return self.run(dcs.get_background_task_progress(self.project_id, instance_id, task_id))

    def list_background_tasks(
        self,
        instance_id: str,
        *,
        offset: int = 0,
        limit: int = 10,
        start_time: datetime | str | None = None,
        end_time: datetime | str | None = None,
    ) -> BackgroundTaskList:
        return self.run(
            dcs.list_background_tasks(
                self.project_id, instance_id, offset=offset, limit=limit, start_time=start_time, end_time=end_time
            )
        )
