"""CSS cluster log backups (ListLogsJob, CreateLogBackup): start a backup, find its record, poll the record.

The start call returns no id, so the operator notes the record ids, starts the backup and picks
the Manual record the call created (``started_record``). The records query parameter is
``start`` in the seed and ``offset`` in newer docs and the SDK; both are sent with one value.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BeforeValidator, Field

from airflow_provider.core.errors import InvalidInputError, NotAccessibleError, NotFoundError
from airflow_provider.core.request import ApiRequest, query_pairs
from airflow_provider.core.status import TaskState, TaskStatus
from airflow_provider.core.validation import build_path, check_choice, check_int_range
from airflow_provider.services._inputs import option_int, require_id, require_project_id
from airflow_provider.services._parsing import (
    LenientInt,
    ServiceModel,
    Text,
    Timestamp,
    as_list,
    format_iso,
    parse_model,
    parse_text,
    to_ms,
)

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable, Mapping

    from airflow_provider.core.exchange import Exchange
    from airflow_provider.core.response import ApiResponse

SERVICE = "css"
COLLECT_PATH = "/v1.0/{project_id}/clusters/{cluster_id}/logs/collect"
RECORDS_PATH = "/v1.0/{project_id}/clusters/{cluster_id}/logs/records"
STATUS_FILTERS = ("FAIL", "NOT_FAIL")
MAX_LIMIT = 1000
MAX_START = 1000

STATE_MAP: Mapping[str, TaskState] = {
    "RUNNING": TaskState.RUNNING,
    "SUCCESS": TaskState.SUCCEEDED,
    "FAIL": TaskState.FAILED,
}


class ClusterLogRecord(ServiceModel):
    """One record of the cluster's log backups (``ListLogsJob``: ``clusterLogRecord``).

    ``status`` is ``RUNNING``, ``SUCCESS`` or ``FAIL``; ``id`` names the backup, ``jobId`` its job.
    """

    id: Annotated[str, BeforeValidator(parse_text), Field(min_length=1)]
    cluster_id: Text = Field(default=None, alias="clusterId")
    create_at: Timestamp = Field(default=None, alias="createAt")
    log_path: Text = Field(default=None, alias="logPath")
    status: str
    finished_at: Timestamp = Field(default=None, alias="finishedAt")
    job_types: Text = Field(default=None, alias="jobTypes")
    failed_msg: Text = Field(default=None, alias="failedMsg")
    job_id: Text = Field(default=None, alias="jobId")

    @property
    def create_at_ms(self) -> int | None:
        """``createAt`` in epoch milliseconds, or None."""
        return None if self.create_at is None else to_ms(self.create_at)


class LogRecordPage(ServiceModel):
    """One page of ``ListLogsJob``: the records and ``totalSize``."""

    cluster_log_record: Annotated[list[ClusterLogRecord], BeforeValidator(as_list)] = Field(
        default_factory=list, alias="clusterLogRecord"
    )
    total_size: LenientInt = Field(default=None, alias="totalSize", ge=0)


def _path(template: str, project_id: str | None, cluster_id: str) -> str:
    return build_path(template, project_id=require_project_id(project_id), cluster_id=cluster_id)


def _send(request: ApiRequest, cluster_id: str) -> Exchange[ApiResponse]:
    """One request about ``cluster_id``: CSS answers a missing cluster (or one the credentials may
    not see) with 403 CSS.0015, which is reported naming the cluster, not as an auth failure."""
    try:
        response = yield request
    except NotAccessibleError as exc:
        raise exc.naming("cluster", cluster_id) from None
    return response


def create_log_backup_request(project_id: str | None, cluster_id: str) -> ApiRequest:
    """``POST /v1.0/{project_id}/clusters/{cluster_id}/logs/collect`` (``CreateLogBackup``; not idempotent)."""
    return ApiRequest(
        service=SERVICE,
        method="POST",
        path=_path(COLLECT_PATH, project_id, cluster_id),
        idempotent=False,
        expected=(200, 201, 202, 204),
    )


def create_log_backup(project_id: str | None, cluster_id: str) -> Exchange[None]:
    """Start a manual backup. The response has no id: correlate with ``started_record``."""
    return _create(create_log_backup_request(project_id, cluster_id), cluster_id)


def _create(request: ApiRequest, cluster_id: str) -> Exchange[None]:
    yield from _send(request, cluster_id)
    return None


def log_backup_record_page_request(
    project_id: str | None,
    cluster_id: str,
    *,
    status: str | None = None,
    offset: int = 1,
    limit: int = 10,
) -> ApiRequest:
    """One page of records. ``offset`` is the 1-based index of the first record (the API's
    ``start``/``offset``, documented as 1-1000; terraform-provider-huaweicloud pages with it by
    adding each page's length, ``data_source_huaweicloud_css_log_backup_records.go``)."""
    check_int_range("offset", offset, 1, MAX_START)
    check_int_range("limit", limit, 1, MAX_LIMIT)
    if status is not None:
        check_choice("status", status, STATUS_FILTERS)
    return ApiRequest(
        service=SERVICE,
        method="GET",
        path=_path(RECORDS_PATH, project_id, cluster_id),
        query=query_pairs(start=offset, offset=offset, limit=limit, status=status),
    )


def page_starts(page_size: int) -> list[int]:
    """The ``start`` of every page a scan may ask for while staying within the documented 1-1000:
    ``1, 1+n, 1+2n, ...`` and, when that grid stops short of 1000, one last page at 1000, which
    reaches the record at ``999 + page_size``. Which end of the list is newest is not documented,
    so a scan reads every reachable page rather than assuming the new record is on the first."""
    check_int_range("page_size", page_size, 1, MAX_LIMIT)
    starts = list(range(1, MAX_START + 1, page_size))
    if starts[-1] != MAX_START:
        starts.append(MAX_START)
    return starts


def get_log_backup_record_page(
    project_id: str | None,
    cluster_id: str,
    *,
    status: str | None = None,
    offset: int = 1,
    limit: int = 10,
) -> Exchange[LogRecordPage]:
    """One page of the cluster's log backup records (``ListLogsJob``), as a ``LogRecordPage``.

    :param status: ``FAIL`` or ``NOT_FAIL`` to filter; all records by default.
    :param offset: the 1-based index of the first record, at most 1000.
    :param limit: records per page, 1 to 1000.
    :raises InvalidInputError: an argument out of range.
    :raises NotAccessibleError: CSS.0015, naming the cluster.
    """
    request = log_backup_record_page_request(project_id, cluster_id, status=status, offset=offset, limit=limit)
    return _list(request, cluster_id)


def _list(request: ApiRequest, cluster_id: str) -> Exchange[LogRecordPage]:
    response = yield from _send(request, cluster_id)
    return parse_model(SERVICE, LogRecordPage, response.json())


def get_log_backup_record(
    project_id: str | None,
    cluster_id: str,
    *,
    record_id: str | None = None,
    job_id: str | None = None,
    page_size: int = 100,
    max_pages: int = 20,
) -> Exchange[ClusterLogRecord]:
    """The API has no "get one record": page through the list until the record shows up."""
    if (record_id is None) == (job_id is None):
        raise InvalidInputError("record_id", record_id, "give exactly one of record_id and job_id")
    field, wanted = ("record_id", record_id) if record_id is not None else ("job_id", job_id)
    if not isinstance(wanted, str) or not wanted:
        raise InvalidInputError(field, wanted, "must be a non-empty string")
    check_int_range("max_pages", max_pages, 1, 10_000)
    first = log_backup_record_page_request(project_id, cluster_id, offset=1, limit=page_size)
    return _find(first, project_id, cluster_id, field, wanted, page_size, max_pages)


def _find(
    first: ApiRequest,
    project_id: str | None,
    cluster_id: str,
    field: str,
    wanted: str,
    page_size: int,
    max_pages: int,
) -> Exchange[ClusterLogRecord]:
    seen: set[str] = set()
    request = first
    for page_number, start in enumerate(page_starts(page_size)[:max_pages]):
        if page_number:
            request = log_backup_record_page_request(project_id, cluster_id, offset=start, limit=page_size)
        response = yield from _send(request, cluster_id)
        page = parse_model(SERVICE, LogRecordPage, response.json())
        for record in page.cluster_log_record:
            if (record.id if field == "record_id" else record.job_id) == wanted:
                return record
        new = {record.id for record in page.cluster_log_record} - seen
        seen |= new
        if not new or len(page.cluster_log_record) < page_size:
            break
        if page.total_size is not None and len(seen) >= page.total_size:
            break
    raise NotFoundError(
        service=SERVICE,
        status=404,
        error_msg=f"log backup record with {field}={wanted!r} not found in cluster {cluster_id!r} "
        f"(searched {len(seen)} records)",
    )


def started_record(
    records: Iterable[ClusterLogRecord], known: Collection[str], created_after_ms: int | None
) -> ClusterLogRecord | None:
    """The backup a start call created: a Manual record whose id and job id were not ``known``
    before the call, created at or after ``created_after_ms``.

    CSS runs at most one log backup of a cluster at a time (a second start is refused with 409;
    terraform-provider-huaweicloud's ``resource_huaweicloud_css_manual_log_backup.go`` finds its
    job as the one RUNNING record for that reason), so the earliest such record is the one the
    call created; a later one can only be a backup someone started after it ended. The list's
    order is not relied on.
    """
    best: ClusterLogRecord | None = None
    for record in records:
        if (record.job_types or "").lower() != "manual":
            continue
        if record.id in known or (record.job_id is not None and record.job_id in known):
            continue
        created = record.create_at_ms
        if created_after_ms is not None and (created is None or created < created_after_ms):
            continue
        if best is None or (created or 0) < (best.create_at_ms or 0):
            best = record
    return best


def running_record(records: Iterable[ClusterLogRecord]) -> ClusterLogRecord | None:
    """The backup a cluster is running (at most one: see ``started_record``), whoever started it."""
    return next((record for record in records if record.status.strip().upper() == "RUNNING"), None)


def to_status(record: ClusterLogRecord) -> TaskStatus:
    """A log backup record as a ``TaskStatus``; its ``failedMsg`` is the message of a failed backup."""
    state = STATE_MAP.get(record.status.strip().upper())
    if state is TaskState.FAILED:
        message = record.failed_msg or "log backup failed (no failedMsg given)"
    elif state is None:
        message = f"unrecognized status {record.status!r}"
    else:
        message = None
    return TaskStatus(
        service=SERVICE,
        task_id=record.id,  # the record's id names the backup everywhere; the job id is in the result
        state=state or TaskState.RUNNING,
        raw_status=record.status,
        progress=100.0 if state is TaskState.SUCCEEDED else None,
        message=message,
        started_at=record.create_at,
        finished_at=record.finished_at,
        recognized=state is not None,
        result={
            "record_id": record.id,
            "job_id": record.job_id,
            "cluster_id": record.cluster_id,
            "log_path": record.log_path,
            "job_types": record.job_types,
            "created_at": format_iso(record.create_at),
        },
    )


def status_exchange(project_id: str | None, ids: Mapping[str, str], **options: Any) -> Exchange[TaskStatus]:
    """One status check of the backup ``ids`` name: ``cluster_id`` and ``record_id`` or ``job_id``.

    The record is found by paging through ``ListLogsJob`` (options ``page_size`` and ``max_pages``). Raises
    ``InvalidInputError`` before anything is sent for a missing id or a bad option; the exchange raises
    ``NotFoundError`` when the record is not in the pages read.
    """
    cluster_id = require_id(ids, "cluster_id")
    page_size = option_int("page_size", options.get("page_size"), 100, 1, MAX_LIMIT)
    max_pages = option_int("max_pages", options.get("max_pages"), 20, 1, 10_000)
    if ids.get("record_id"):
        record_id, job_id = require_id(ids, "record_id"), None
    elif ids.get("job_id"):
        record_id, job_id = None, require_id(ids, "job_id")
    else:
        raise InvalidInputError("record_id", None, "one of record_id or job_id is required")
    found = get_log_backup_record(
        project_id, cluster_id, record_id=record_id, job_id=job_id, page_size=page_size, max_pages=max_pages
    )
    return _status(found)


def _status(found: Exchange[ClusterLogRecord]) -> Exchange[TaskStatus]:
    record = yield from found
    return to_status(record)


def all_records(
    project_id: str | None, cluster_id: str, *, page_size: int = 100, max_pages: int = 10
) -> Exchange[tuple[list[ClusterLogRecord], bool]]:
    """Every record the API lets a client reach (the pages of ``page_starts``), and whether the scan
    reached the end of the list: False when ``max_pages`` ran out first. Which end of the list is
    newest is not documented, so nothing is inferred from the order."""
    check_int_range("max_pages", max_pages, 1, 10_000)
    starts = page_starts(page_size)[:max_pages]
    first = log_backup_record_page_request(project_id, cluster_id, offset=starts[0], limit=page_size)
    return _all(first, project_id, cluster_id, starts, page_size)


def _all(
    first: ApiRequest, project_id: str | None, cluster_id: str, starts: list[int], page_size: int
) -> Exchange[tuple[list[ClusterLogRecord], bool]]:
    records: list[ClusterLogRecord] = []
    seen: set[str] = set()
    request = first
    for number, start in enumerate(starts):
        if number:
            request = log_backup_record_page_request(project_id, cluster_id, offset=start, limit=page_size)
        response = yield from _send(request, cluster_id)
        page = parse_model(SERVICE, LogRecordPage, response.json())
        fresh = [record for record in page.cluster_log_record if record.id not in seen]
        seen.update(record.id for record in fresh)
        records.extend(fresh)
        if not fresh or len(page.cluster_log_record) < page_size:
            return records, True
        if page.total_size is not None and len(seen) >= page.total_size:
            return records, True
    return records, False
