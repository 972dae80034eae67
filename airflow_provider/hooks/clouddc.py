"""CloudDC physical server log exports."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from airflow_provider.hooks.base import HuaweiCloudHook
from airflow_provider.hooks.xcom import allow_in_xcom
from airflow_provider.services import clouddc

if TYPE_CHECKING:
    from airflow_provider.core.download import Downloaded
    from airflow_provider.services.clouddc import ServerLogExport

log = logging.getLogger(__name__)


class CloudDCHook(HuaweiCloudHook):
    """CloudDC physical servers' log exports: start one, check it, download its archive
    (``/v1/{project_id}/physicalservers/{server_id}/logs/exports``).

    :param huaweicloud_conn_id: the ``huaweicloud`` connection.
    """

    hook_name = "Huawei Cloud CloudDC"

    def export_server_logs(self, server_id: str) -> ServerLogExport:
        """Start exporting a physical server's logs; the result carries the ``export_id``."""
        return self.run(clouddc.start_export(self.project_id, server_id))

    def get_server_log_export(self, server_id: str, export_id: str) -> ServerLogExport:
        """The state of one export: its ``status``, ``percentage`` and ``created_at``.

        :param server_id: the physical server.
        :param export_id: the export, as ``export_server_logs`` returned it.
        """
        return self.run(clouddc.get_export(self.project_id, server_id, export_id))

    def download_server_logs(self, server_id: str, export_id: str, destination: str | Path) -> Path:
        """Stream the exported archive to ``destination`` (a file, or a folder for ``{server_id}-dump.tar.gz``)."""
        return self.fetch_server_logs(server_id, export_id, destination).path

    def fetch_server_logs(self, server_id: str, export_id: str, destination: str | Path) -> Downloaded:
        """``download_server_logs``, with the size and SHA-256 computed as the archive streams in."""
        target = Path(destination)
        if target.is_dir():
            target = target / f"{server_id}-dump.tar.gz"
        got = self.transport.fetch(clouddc.download_request(self.project_id, server_id, export_id), target)
        log.info(
            "Downloaded CloudDC server %s logs to %s (%d bytes, sha256 %s)", server_id, got.path, got.size, got.sha256
        )
        return got


allow_in_xcom(clouddc.ServerLogExport)
