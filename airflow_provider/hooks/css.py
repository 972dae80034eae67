"""CSS (Cloud Search Service) cluster log backups."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Literal

from airflow_provider.core.errors import ApiError, HuaweiCloudError, InvalidInputError
from airflow_provider.hooks.base import HuaweiCloudHook, warn_page_arguments
from airflow_provider.hooks.xcom import allow_in_xcom
from airflow_provider.services import css
from airflow_provider.services.destinations import css_log_bucket

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from airflow_provider.services.css import ClusterLogRecord, LogRecordPage

log = logging.getLogger(__name__)

#: How far back (ms) a new record's createAt may be, to absorb clock skew between us and CSS.
CLOCK_SKEW_MS = 5 * 60 * 1000
#: Records per page when looking for a backup's record: the documented maximum, so one request
#: covers most clusters.
SCAN_PAGE_SIZE = css.MAX_LIMIT
IF_RUNNING = ("attach", "fail")
IfRunning = Literal["attach", "fail"]


class LogBackupRunningError(HuaweiCloudError):
    """A log backup is already running on the cluster (HTTP 409) and ``if_running="fail"``."""


class LogBackupNotEnabledError(HuaweiCloudError):
    """The cluster's log backup setting is off (HTTP 412): nothing can be backed up."""


@dataclass(frozen=True)
class BackupBaseline:
    """What a cluster's records were just before a backup was requested.

    The start call returns no id: the backup's record is the Manual one that is not ``known``
    and was created after ``requested_at_ms`` (see ``services.css.started_record``). Only the
    records created within the clock-skew margin before the request matter for that test, so
    only their keys are kept: the baseline stays small enough for Airflow's task state store.

    :param cluster_id: the cluster.
    :param requested_at_ms: this machine's clock just before the start call, epoch ms.
    :param known: ids and job ids of the records that could pass for new ones.
    """

    cluster_id: str
    requested_at_ms: int
    known: frozenset[str] = frozenset()

    @property
    def created_after_ms(self) -> int:
        """The earliest ``createAt`` (epoch ms) the new record may have: the request time less the
        clock-skew margin."""
        return self.requested_at_ms - CLOCK_SKEW_MS

    def to_json(self) -> dict[str, Any]:
        """A JSON-serializable dict (``known`` sorted), for Airflow's task state store."""
        return {"cluster_id": self.cluster_id, "requested_at_ms": self.requested_at_ms, "known": sorted(self.known)}

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> BackupBaseline:
        """Rebuild a baseline from ``to_json``'s dict.

        :param value: the dict ``to_json`` returned.
        :raises InvalidInputError: a field is missing or of the wrong type.
        """
        cluster_id, requested, known = value.get("cluster_id"), value.get("requested_at_ms"), value.get("known", [])
        if not isinstance(cluster_id, str) or isinstance(requested, bool) or not isinstance(requested, int):
            raise InvalidInputError("baseline", value, "needs cluster_id (text) and requested_at_ms (integer)")
        if not isinstance(known, list) or not all(isinstance(key, str) for key in known):
            raise InvalidInputError("baseline.known", known, "must be a list of record ids")
        return cls(cluster_id, requested, frozenset(known))


class CssHook(HuaweiCloudHook):
    """CSS cluster log backups: start one, find its record, read the records.

    :param huaweicloud_conn_id: the ``huaweicloud`` connection.
    """

    hook_name = "Huawei Cloud CSS"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._log_buckets: dict[str, str] = {}

    def create_log_backup(self, cluster_id: str) -> None:
        """Start a manual log backup. The API returns no id: use ``start_log_backup`` to get the record.

        :param cluster_id: the cluster.
        """
        self.run(css.create_log_backup(self.project_id, cluster_id))

    def get_log_backup_record_page(
        self, cluster_id: str, *, status: str | None = None, offset: int = 1, limit: int = 10
    ) -> LogRecordPage:
        """One page of the cluster's log backup records, with the total count.

        :param cluster_id: the cluster.
        :param status: ``FAIL`` or ``NOT_FAIL`` to filter, or None for all.
        :param offset: 1-based index of the page's first record (the API's ``start``, 1-1000).
        :param limit: records per page (1-1000).
        """
        return self.run(
            css.get_log_backup_record_page(self.project_id, cluster_id, status=status, offset=offset, limit=limit)
        )

    def list_log_backup_records(
        self, cluster_id: str, *, status: str | None = None, **page: Any
    ) -> list[ClusterLogRecord]:
        """The cluster's log backup records: every one the API lets a client reach (see
        ``iter_log_backup_records``). A page with its total comes from ``get_log_backup_record_page``.

        :param cluster_id: the cluster.
        :param status: ``FAIL`` or ``NOT_FAIL`` to filter, or None for all.
        """
        if page:
            unknown = sorted(set(page) - {"offset", "limit"})
            if unknown:
                raise TypeError(f"list_log_backup_records() got unexpected keyword arguments: {', '.join(unknown)}")
            warn_page_arguments("CssHook.list_log_backup_records", "CssHook.get_log_backup_record_page")
            return list(self.get_log_backup_record_page(cluster_id, status=status, **page).cluster_log_record)
        return list(self.iter_log_backup_records(cluster_id, status=status))

    def iter_log_backup_records(
        self, cluster_id: str, *, status: str | None = None, page_size: int = 100
    ) -> Iterator[ClusterLogRecord]:
        """Every record the API lets a client reach, page by page.

        Pages start at 1, 1+page_size, ... within the documented ``start`` range 1-1000 (see
        ``services.css.page_starts``); the scan stops at an empty or short page or at ``totalSize``.

        :param cluster_id: the cluster.
        :param status: ``FAIL`` or ``NOT_FAIL`` to filter, or None for all.
        :param page_size: records per request (1-1000).
        """
        seen = set[str]()
        for offset in css.page_starts(page_size):
            page = self.get_log_backup_record_page(cluster_id, status=status, offset=offset, limit=page_size)
            fresh = [record for record in page.cluster_log_record if record.id not in seen]
            yield from fresh
            seen.update(record.id for record in fresh)
            if not fresh or len(page.cluster_log_record) < page_size:
                return
            if page.total_size is not None and len(seen) >= page.total_size:
                return

    def get_log_bucket(self, cluster_id: str) -> str:
        """The OBS bucket of the cluster's log backups (``ShowGetLogSetting``: ``logConfiguration.obsBucket``),
        read once per hook: a run that locates the backup's files and fills its outlets asks twice.

        :param cluster_id: the CSS cluster.
        :raises BadResponseError: the cluster's log settings name no bucket.
        """
        if cluster_id not in self._log_buckets:
            self._log_buckets[cluster_id] = self.run(css_log_bucket(self.project_id, cluster_id))
        return self._log_buckets[cluster_id]

    def get_log_backup_record(
        self, cluster_id: str, *, record_id: str | None = None, job_id: str | None = None
    ) -> ClusterLogRecord:
        """One log backup record, found by paging through the records (the API has no "get one").

        :param cluster_id: the cluster.
        :param record_id: the record's ``id``; give exactly one of ``record_id`` and ``job_id``.
        :param job_id: the record's ``jobId``.
        :raises NotFoundError: no reachable record matches.
        """
        return self.run(css.get_log_backup_record(self.project_id, cluster_id, record_id=record_id, job_id=job_id))

    def log_backup_baseline(self, cluster_id: str) -> BackupBaseline:
        """Note the records that exist now, just before a backup is requested."""
        requested_ms = _now_ms()
        records = list(self.iter_log_backup_records(cluster_id, page_size=SCAN_PAGE_SIZE))
        after = requested_ms - CLOCK_SKEW_MS
        recent = [r for r in records if r.create_at_ms is None or r.create_at_ms >= after]
        known = {r.id for r in recent} | {r.job_id for r in recent if r.job_id}
        return BackupBaseline(cluster_id, requested_ms, frozenset(known))

    def find_started_backup(self, baseline: BackupBaseline) -> ClusterLogRecord | None:
        """The record the backup requested after ``baseline`` created, if it is listed yet."""
        records = self.iter_log_backup_records(baseline.cluster_id, page_size=SCAN_PAGE_SIZE)
        return css.started_record(records, baseline.known, baseline.created_after_ms)

    def start_log_backup(
        self,
        cluster_id: str,
        *,
        if_running: IfRunning = "attach",
        baseline: BackupBaseline | None = None,
        find_timeout: float = 120.0,
        poll_interval: float = 3.0,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], float] | None = None,
        on_started: Callable[[], None] | None = None,
    ) -> ClusterLogRecord:
        """Start a backup and return the record it created.

        The start call returns no id, so the records are noted before the call (``baseline``,
        taken now unless given) and the new Manual record is looked for after it, for at most
        ``find_timeout`` seconds.

        :param if_running: what to do when the cluster is already running a backup (HTTP 409,
            whoever started it: an automatic backup, another DAG, the console): ``attach`` returns
            that backup's record, to be waited for like our own, looking for it for at most
            ``find_timeout`` seconds (the record may not be listed yet); ``fail`` raises
            ``LogBackupRunningError``.
        :param find_timeout: how long to look for the record, in seconds.
        :param poll_interval: seconds between looks.
        :raises LogBackupNotEnabledError: the cluster's log backup setting is off (HTTP 412).
        """
        if if_running not in IF_RUNNING:
            raise InvalidInputError("if_running", if_running, f"must be one of {', '.join(IF_RUNNING)}")
        baseline = baseline or self.log_backup_baseline(cluster_id)
        sleep = sleep or time.sleep
        clock = clock or time.monotonic
        try:
            self.create_log_backup(cluster_id)
        except ApiError as exc:
            if exc.status == 409:
                look_for = find_timeout if if_running == "attach" else 0.0  # "fail" only names it
                return self._running_backup(cluster_id, if_running, exc, look_for, poll_interval, sleep, clock)
            if exc.status == 412:
                raise LogBackupNotEnabledError(_not_enabled(cluster_id, exc)) from exc
            raise
        if on_started is not None:
            on_started()
        deadline = clock() + find_timeout
        while True:
            record = self.find_started_backup(baseline)
            if record is not None:
                log.info("CSS log backup %s started on cluster %s (job %s)", record.id, cluster_id, record.job_id)
                return record
            if clock() >= deadline:
                raise HuaweiCloudError(
                    f"css: log backup of cluster {cluster_id!r} was started but its record did not appear "
                    f"within {find_timeout:.0f} s"
                )
            sleep(poll_interval)

    def _running_backup(
        self,
        cluster_id: str,
        if_running: IfRunning,
        exc: ApiError,
        find_timeout: float,
        poll_interval: float,
        sleep: Callable[[float], None],
        clock: Callable[[], float],
    ) -> ClusterLogRecord:
        """The backup the cluster is running, looked for for at most ``find_timeout`` seconds: the 409
        can come before the running backup's record is listed (a backup that was just started), as
        our own backup's record can come after the start call."""
        deadline = clock() + find_timeout
        while True:
            running = css.running_record(self.iter_log_backup_records(cluster_id, page_size=SCAN_PAGE_SIZE))
            if running is not None or clock() >= deadline:
                break
            sleep(poll_interval)
        if running is not None:
            who = f"record {running.id}, job {running.job_id}, {running.job_types or 'unknown'} backup"
        elif find_timeout > 0:
            who = f"its record was not listed as RUNNING within {find_timeout:.0f} s"
        else:
            who = "its record is not listed"
        if if_running == "fail" or running is None:
            raise LogBackupRunningError(
                f"css: cluster {cluster_id!r} is already running a log backup ({who}; HTTP 409"
                f"{', code ' + exc.error_code if exc.error_code else ''}); "
                + (
                    "if_running='fail' was asked"
                    if if_running == "fail"
                    else "wait for it to end, or use CssLogBackupSensor"
                )
            ) from exc
        log.info(
            "CSS cluster %s is already running a log backup (%s): waiting for that backup instead of starting one",
            cluster_id,
            who,
        )
        return running


def _not_enabled(cluster_id: str, exc: ApiError) -> str:
    code = f", code {exc.error_code}" if exc.error_code else ""
    return (
        f"css: log backup is not enabled for cluster {cluster_id!r} (HTTP 412{code}). Enable it first: in the "
        "CSS console (cluster > Logs > enable log backup, with an OBS bucket and an IAM agency), or with the "
        "StartLogs API (POST /v1.0/{project_id}/clusters/{cluster_id}/logs/open)"
    )


def _now_ms() -> int:
    return int(datetime.now(timezone.utc).timestamp() * 1000)


allow_in_xcom(css.ClusterLogRecord, css.LogRecordPage, BackupBaseline)
