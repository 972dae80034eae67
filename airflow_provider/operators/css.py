"""Back up a CSS cluster's logs (to its OBS bucket) and find the backup's record."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider.core.errors import InvalidInputError
from airflow_provider.operators.base import HuaweiCloudTaskOperator

if TYPE_CHECKING:
    from collections.abc import Mapping

    from airflow.sdk import Context

    from airflow_provider.assets import Produced
    from airflow_provider.core.status import TaskStatus
    from airflow_provider.hooks.css import BackupBaseline, CssHook, IfRunning
    from airflow_provider.operators.durable import RemoteTaskRecord
    from airflow_provider.services.css import ClusterLogRecord


class CssLogBackupOperator(HuaweiCloudTaskOperator["CssHook"]):
    """Start a manual log backup of ``cluster_id`` and wait for its record to be SUCCESS.

    The start API returns no id; the operator finds the record the call created (see
    ``CssHook.start_log_backup``) and pushes ``record_id`` and ``job_id`` to XCom. Returns the final
    ``TaskStatus`` as JSON (the record's ``log_path``, ``job_id``... under ``result``); with
    ``locate_files``, also ``artifacts``.

    :param cluster_id: the CSS cluster (templated).
    :param huaweicloud_conn_id: the ``huaweicloud`` connection (templated).
    :param if_running: CSS runs one log backup per cluster at a time. When one is already running
        (an automatic backup, another DAG, the console), ``attach`` (default) waits for that backup
        and returns its record; ``fail`` raises ``LogBackupRunningError``.
    :param find_timeout: how long to look for the new record after the start call, in seconds.
    :param locate_files: after a successful backup, list the files it wrote to OBS (the bucket of
        the cluster's log settings, ``ShowGetLogSetting``, and the record's ``logPath``) and return
        them as ``artifacts`` for ``LogArchiveOperator``; none found fails the task. OBS is read
        through ``obs://`` paths of the same connection (``pip install ...[obs]``).
    """

    service = "css"
    template_fields = ("cluster_id",)

    def __init__(
        self,
        *,
        cluster_id: str,
        huaweicloud_conn_id: str = "huaweicloud_default",
        if_running: IfRunning = "attach",
        find_timeout: float = 120.0,
        locate_files: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if if_running not in ("attach", "fail"):
            raise InvalidInputError("if_running", if_running, "must be 'attach' or 'fail'")
        self.cluster_id = cluster_id
        self.huaweicloud_conn_id = huaweicloud_conn_id
        self.if_running: IfRunning = if_running
        self.find_timeout = find_timeout
        self.locate_files = locate_files
        self._baseline: BackupBaseline | None = None

    def make_hook(self) -> CssHook:
        """A ``CssHook`` on this task's connection and overrides."""
        from airflow_provider.hooks.css import CssHook

        return CssHook(**self.cloud_hook_kwargs())

    def start_detail(self, context: Context) -> dict[str, Any]:
        """The cluster's records just before the start call (``baseline``, see ``BackupBaseline``)."""
        # Noted before the start call and kept in the task state store: a retry whose earlier try
        # died between the call and finding the record can then find that record, not start another.
        self._baseline = self.hook.log_backup_baseline(self.cluster_id)
        return {"baseline": self._baseline.to_json()}

    def recover_start(self, context: Context, record: RemoteTaskRecord) -> dict[str, str] | None:
        """The record an earlier try's start call created, found from its stored baseline; None when
        it is not listed (a new backup is started)."""
        from airflow_provider.hooks.css import BackupBaseline

        stored = record.detail.get("baseline")
        if not isinstance(stored, dict):
            return None
        baseline = BackupBaseline.from_json(stored)
        if baseline.cluster_id != self.cluster_id:
            return None
        found = self.hook.find_started_backup(baseline)
        if found is None:
            return None
        self.log.info("Found the log backup record %s that %s started (job %s)", found.id, record.by, found.job_id)
        return self._ids(found)

    def republish(self, context: Context, status: TaskStatus) -> None:
        """Push ``job_id`` to XCom again for a try that reattached."""
        job_id = status.result.get("job_id")
        if job_id:
            context["ti"].xcom_push(key="job_id", value=job_id)

    def start(self, context: Context) -> dict[str, str]:
        """Start the backup (``CreateLogBackup``), find its record, publish ``cluster_id`` and
        ``record_id`` and push ``job_id``.

        :raises LogBackupRunningError: a backup is running and ``if_running="fail"``.
        :raises LogBackupNotEnabledError: the cluster's log backup setting is off.
        """
        record = self.hook.start_log_backup(
            self.cluster_id, if_running=self.if_running, baseline=self._baseline, find_timeout=self.find_timeout
        )
        ids = self._ids(record)
        self.publish(context, ids)
        if record.job_id:
            context["ti"].xcom_push(key="job_id", value=record.job_id)
        return ids

    def finish(self, context: Context, status: TaskStatus) -> dict[str, Any]:
        """The status as JSON; with ``locate_files``, the backup's OBS files as ``artifacts``."""
        result = status.to_json()
        if self.locate_files:
            result["artifacts"] = self.backup_files(status)
        return result

    def backup_files(self, status: TaskStatus) -> list[dict[str, Any]]:
        """The OBS objects the backup of ``status`` wrote: ``obs://<log bucket>/<logPath>/...``."""
        from airflow_provider.core.errors import HuaweiCloudError
        from airflow_provider.objects import list_files, path_of

        log_path = str(status.result.get("log_path") or "").strip("/")
        if not log_path:
            raise HuaweiCloudError(f"CSS log backup {status.task_id}: the record names no logPath")
        bucket = self.hook.get_log_bucket(self.cluster_id)
        folder = path_of(f"obs://{bucket}/{log_path}/", conn_id=self.huaweicloud_conn_id)
        files = list_files(folder)
        if not files:
            raise HuaweiCloudError(f"CSS log backup {status.task_id} succeeded but OBS has no file under {folder}")
        self.log.info("CSS log backup %s: %d file(s) under %s", status.task_id, len(files), folder)
        return [{**item, "conn_id": self.huaweicloud_conn_id} for item in files]

    def produced(self, ids: Mapping[str, str], result: Mapping[str, Any], *, asked: bool) -> list[Produced]:
        """The backup's OBS folder (``obs://<log bucket>/<logPath>/``)."""
        from airflow_provider.operators.outputs import css_backup_objects

        return css_backup_objects(self, lambda: self.hook, self.cluster_id, result, asked=asked)

    def _ids(self, record: ClusterLogRecord) -> dict[str, str]:
        return {"cluster_id": self.cluster_id, "record_id": record.id}
