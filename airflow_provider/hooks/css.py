"""CSS (Cloud Search Service) cluster log backups."""

from __future__ import annotations

import logging
import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from airflow_provider.core.errors import HuaweiCloudError
from airflow_provider.hooks.base import HuaweiCloudHook
from airflow_provider.services import css

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from airflow_provider.services.css import ClusterLogRecord, LogRecordPage

log = logging.getLogger(__name__)

#: How far back (ms) a new record's createAt may be, to absorb clock skew between us and CSS.
CLOCK_SKEW_MS = 5 * 60 * 1000


class CssHook(HuaweiCloudHook):
    hook_name = "Huawei Cloud CSS"

    def create_log_backup(self, cluster_id: str) -> None:
        """Start a manual log backup. The API returns no id: use ``start_log_backup`` to get the record."""
        self.run(css.create_log_backup(self.project_id, cluster_id))

    def list_log_backup_records(
        self, cluster_id: str, *, status: str | None = None, offset: int = 1, limit: int = 10
    ) -> LogRecordPage:
        return self.run(
            css.list_log_backup_records(self.project_id, cluster_id, status=status, offset=offset, limit=limit)
        )

    def iter_log_backup_records(
        self, cluster_id: str, *, status: str | None = None, page_size: int = 100
    ) -> Iterator[ClusterLogRecord]:
        """Every record, page by page (newest first), stopping at an empty or short page."""
        offset, seen = 1, set[str]()
        while True:
            page = self.list_log_backup_records(cluster_id, status=status, offset=offset, limit=page_size)
            fresh = [record for record in page.cluster_log_record if record.id not in seen]
            yield from fresh
            seen.update(record.id for record in fresh)
            if not fresh or len(page.cluster_log_record) < page_size:
                return
            if page.total_size is not None and len(seen) >= page.total_size:
                return
            offset += page_size

    def get_log_backup_record(
        self, cluster_id: str, *, record_id: str | None = None, job_id: str | None = None
    ) -> ClusterLogRecord:
        return self.run(css.get_log_backup_record(self.project_id, cluster_id, record_id=record_id, job_id=job_id))

    def start_log_backup(
        self,
        cluster_id: str,
        *,
        find_timeout: float = 120.0,
        poll_interval: float = 3.0,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], float] | None = None,
        on_started: Callable[[], None] | None = None,
    ) -> ClusterLogRecord:
        """Start a backup and return the record it created.

        The start call returns no id, so the records are listed before the call and the new
        Manual record (not in that snapshot, created after the call) is looked for after it,
        for at most ``find_timeout`` seconds.
        """
        snapshot = self._recent(cluster_id)
        before = {record.id for record in snapshot} | {record.job_id for record in snapshot if record.job_id}
        started_ms = int(datetime.now(timezone.utc).timestamp() * 1000)
        self.create_log_backup(cluster_id)
        if on_started is not None:
            on_started()
        sleep = sleep or time.sleep
        clock = clock or time.monotonic
        deadline = clock() + find_timeout
        while True:
            record = css.newest_manual_record(self._recent(cluster_id), before, started_ms - CLOCK_SKEW_MS)
            if record is not None:
                log.info(
                    "CSS log backup started on cluster %s: record %s (job %s)", cluster_id, record.id, record.job_id
                )
                return record
            if clock() >= deadline:
                raise HuaweiCloudError(
                    f"css: log backup of cluster {cluster_id!r} was started but its record did not appear "
                    f"within {find_timeout:.0f} s"
                )
            sleep(poll_interval)

    def _recent(self, cluster_id: str) -> list[ClusterLogRecord]:
        return self.list_log_backup_records(cluster_id, offset=1, limit=100).cluster_log_record
