"""Export a CloudDC physical server's logs and download them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider.core.errors import BadResponseError, InvalidInputError
from airflow_provider.operators.base import HuaweiCloudTaskOperator
from airflow_provider.operators.delivery import deliver

if TYPE_CHECKING:
    from pathlib import Path

    from airflow.sdk import Context

    from airflow_provider.core.download import Downloaded
    from airflow_provider.core.status import TaskStatus
    from airflow_provider.hooks.clouddc import CloudDCHook


class CloudDCLogExportOperator(HuaweiCloudTaskOperator["CloudDCHook"]):
    """Start a log export of ``server_id``, wait for ``completed``, optionally download the archive.

    ``server_id`` and ``export_id`` are pushed to XCom as soon as the export starts. Returns the final
    ``TaskStatus`` as JSON; with ``download_to``, also ``download`` (``location``, ``bytes``,
    ``sha256``) and ``artifacts`` (the archive, for ``LogArchiveOperator``).

    :param server_id: the physical server (templated).
    :param huaweicloud_conn_id: the ``huaweicloud`` connection (templated).
    :param download_to: local path, folder (ending in ``/``) or ObjectStoragePath URL (templated);
        a folder receives ``{server_id}-dump.tar.gz``. Needs ``wait_for_completion=True``.
    """

    service = "clouddc"
    template_fields = ("server_id", "download_to")

    def __init__(
        self,
        *,
        server_id: str,
        huaweicloud_conn_id: str = "huaweicloud_default",
        download_to: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if download_to and not self.wait_for_completion:
            raise InvalidInputError("download_to", download_to, "needs wait_for_completion=True")
        self.server_id = server_id
        self.huaweicloud_conn_id = huaweicloud_conn_id
        self.download_to = download_to

    def make_hook(self) -> CloudDCHook:
        """A ``CloudDCHook`` on this task's connection and overrides."""
        from airflow_provider.hooks.clouddc import CloudDCHook

        return CloudDCHook(**self.cloud_hook_kwargs())

    def start(self, context: Context) -> dict[str, str]:
        """Start the export (``POST .../physicalservers/{server_id}/logs/exports``) and publish
        ``server_id`` and ``export_id``.

        :raises BadResponseError: the response carries no ``export_id``.
        """
        export = self.hook.export_server_logs(self.server_id)
        if not export.export_id:
            raise BadResponseError("clouddc", "export_id", "the export call returned no export_id")
        self.log.info("CloudDC log export %s started for server %s", export.export_id, self.server_id)
        ids = {"server_id": self.server_id, "export_id": export.export_id}
        self.publish(context, ids)
        return ids

    def finish(self, context: Context, status: TaskStatus) -> dict[str, Any]:
        """The status as JSON; with ``download_to``, the archive is delivered there first and named
        under ``download`` and ``artifacts``."""
        result = status.to_json()
        if self.download_to:
            hook, export_id = self.hook, status.task_id

            def download(path: Path) -> Downloaded:
                return hook.fetch_server_logs(self.server_id, export_id, path)

            delivered = deliver(download, self.download_to, f"{self.server_id}-dump.tar.gz")
            self.log.info("CloudDC logs delivered to %s (%d bytes)", delivered.location, delivered.size)
            result["download"] = delivered.to_json()
            result["artifacts"] = [delivered.artifact()]  # what LogArchiveOperator copies
        return result
