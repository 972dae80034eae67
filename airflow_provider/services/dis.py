"""DIS dump (transfer) task logs, plus the transfer-task list and start/stop actions.

A dump task never "finishes": it writes one log entry per dump period. A sensor therefore
waits for periods that ended after a point in time (and, optionally, moved enough records).
Only a period whose ``state`` is 0 (the doc example's normal entry) counts as dumped.
The transfer-task log may report errors inside an HTTP 200 body (``errorCode``/``message``,
Showtransfertasklog doc), so those are raised here as ``ApiError`` like any other service error.

``pageInfo`` is an object in the doc's parameter table and an array in its example request:
the object is sent first and, if the service rejects the request as invalid, the array; the
form that worked is kept for the rest of the process.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BeforeValidator, Field

from airflow_provider.core.errors import ApiError, BadResponseError, InvalidInputError, NotFoundError, api_error
from airflow_provider.core.request import ApiRequest
from airflow_provider.core.status import TaskState, TaskStatus
from airflow_provider.core.validation import build_path, check_choice, check_dis_task_id, check_int_range
from airflow_provider.services._inputs import option_int, optional_datetime, require_id, require_project_id
from airflow_provider.services._parsing import (
    LenientInt,
    MsTimestamp,
    ServiceModel,
    Text,
    as_list,
    format_iso,
    parse_model,
    to_ms,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence

    from airflow_provider.core.exchange import Exchange

SERVICE = "dis"
LOG_PATH = "/v1/transfertasklog/{transfer_task_id}"
TASKS_PATH = "/v2/{project_id}/streams/{stream_name}/transfer-tasks"
ACTION_PATH = TASKS_PATH + "/action"
ORDERS = ("asc", "desc")
SORT_FIELDS = ("createTimeStr", "startTime", "endTime", "state", "records", "readRecords", "dataSize")
MAX_PAGE_SIZE = 100
MAX_PAGE_INDEX = 1_000_000
NO_ERROR_CODES = (None, -1, "-1", 0, "0", "")
#: Transfer task states (ListTransferTasks doc) in which the task dumps nothing, so no wait for a
#: new period can end: ERROR, ABNORMAL and DELETE are failures, PAUSED needs a start action.
TASK_ERROR_STATES = frozenset({"ERROR", "ABNORMAL", "DELETE", "PAUSED"})
#: The doc example's state of a normal (dumped) period; no source gives the others.
DUMPED_STATES = (None, 0, "0")
#: "Invalid request." and "Request error." (DIS error code appendix): what a rejected pageInfo gets.
INVALID_REQUEST_CODES = frozenset({"DIS.4200", "DIS.4300"})
PAGE_INFO_FORMS = ("object", "array")


class TransferTaskLogEntry(ServiceModel):
    """One dump period of a transfer task: its times, bytes and records moved, file name and ``state``."""

    transfer_task_id: Text = Field(default=None, alias="transferTaskId")
    destination_type: Text = Field(default=None, alias="destinationType")
    start_time: MsTimestamp = Field(default=None, alias="startTime")
    end_time: MsTimestamp = Field(default=None, alias="endTime")
    transfer_bytes: LenientInt = Field(default=None, alias="transferBytes", ge=0)
    transfer_records_num: LenientInt = Field(default=None, alias="transferRecordsNum", ge=0)
    stream_id: Text = Field(default=None, alias="streamId")
    project_id: Text = Field(default=None, alias="projectId")
    transfer_file_name: Text = Field(default=None, alias="transferFileName")
    state: int | str | None = None

    @property
    def dumped(self) -> bool:
        """True for a period that was dumped: state 0 (or none given), never a failed period."""
        return self.state in DUMPED_STATES

    def key(self) -> tuple[Any, ...]:
        """Identity of one dump period, to drop duplicates a server that ignores paging repeats."""
        return (self.transfer_file_name, self.start_time, self.end_time, self.transfer_task_id)


class TransferTaskLogPage(ServiceModel):
    """One page of the transfer-task log (``ShowTransferTaskLog``): ``totalNum`` and the entries."""

    total_num: LenientInt = Field(default=None, alias="totalNum", ge=0)
    message: Text = None
    error_code: Text = Field(default=None, alias="errorCode")
    transfer_task_log_list: Annotated[list[TransferTaskLogEntry], BeforeValidator(as_list)] = Field(
        default_factory=list, alias="transferTaskLogList"
    )


class TransferTask(ServiceModel):
    """One entry of the transfer-task list, read from raw JSON: the SDK model drops ``task_id``."""

    task_id: Text = None
    task_name: Text = None
    state: Text = None
    destination_type: Text = None
    create_time: MsTimestamp = None
    last_transfer_timestamp: MsTimestamp = None


class _TransferTaskList(ServiceModel):
    tasks: Annotated[list[TransferTask], BeforeValidator(as_list)] | None = None
    transfer_tasks: Annotated[list[TransferTask], BeforeValidator(as_list)] | None = None
    total_number: LenientInt = None


def raise_for_body_error(body: Mapping[str, Any]) -> None:
    """DIS answers errors with HTTP 200 and ``errorCode``/``message``; ``-1`` means success.

    A code alone, next to log entries, is not treated as an error: only a code with a message,
    or a code with no entries at all, is.
    """
    code = body.get("errorCode")
    if isinstance(code, bool) or code in NO_ERROR_CODES:
        return
    message = body.get("message")
    entries = body.get("transferTaskLogList")
    if message or not entries:
        raise api_error(SERVICE, 200, str(code), None if message is None else str(message))


def parse_log_page(body: object) -> TransferTaskLogPage:
    """A transfer-task log body as a ``TransferTaskLogPage``.

    :raises ApiError: the 200 body carries an error (``raise_for_body_error``).
    :raises BadResponseError: the body does not have the documented shape.
    """
    if isinstance(body, dict):
        raise_for_body_error(body)
    return parse_model(SERVICE, TransferTaskLogPage, body)


class _PageInfoForm:
    """The ``pageInfo`` form the service accepted last (per process); "object" until it refuses it."""

    current = PAGE_INFO_FORMS[0]


def page_info(page_index: int, page_size: int, form: str) -> Any:
    """``{"pageIndex", "pageTotal"}`` (the doc's table) or the doc example's array
    ``[{"pageIndex": index}, {"pageIndex": size}]``."""
    if form == "array":
        return [{"pageIndex": page_index}, {"pageIndex": page_size}]
    return {"pageIndex": page_index, "pageTotal": page_size}


def transfer_task_log_request(
    transfer_task_id: str,
    *,
    order: str = "desc",
    sort_by: str = "createTimeStr",
    page_index: int = 1,
    page_size: int = 10,
    page_info_form: str | None = None,
) -> ApiRequest:
    """A POST that only reads, so it is safe to retry."""
    task_id = check_dis_task_id(transfer_task_id)
    form = check_choice("page_info_form", page_info_form or _PageInfoForm.current, PAGE_INFO_FORMS)
    body = {
        "order": check_choice("order", order, ORDERS),
        "sortBy": check_choice("sort_by", sort_by, SORT_FIELDS),
        "pageInfo": page_info(
            check_int_range("page_index", page_index, 1, MAX_PAGE_INDEX),
            check_int_range("page_size", page_size, 1, MAX_PAGE_SIZE),
            form,
        ),
    }
    return ApiRequest(service=SERVICE, method="POST", path=build_path(LOG_PATH, transfer_task_id=task_id), body=body)


def get_transfer_task_log_page(
    transfer_task_id: str,
    *,
    order: str = "desc",
    sort_by: str = "createTimeStr",
    page_index: int = 1,
    page_size: int = 10,
) -> Exchange[TransferTaskLogPage]:
    """One page of a transfer task's log (``POST /v1/transfertasklog/{transfer_task_id}``).

    When the service refuses the request as invalid (DIS.4200 or DIS.4300), it is sent once more with the other
    ``pageInfo`` form, which is then kept for the process.

    :param order: ``asc`` or ``desc``.
    :param sort_by: the field to sort by (``SORT_FIELDS``).
    :param page_index: the 1-based page.
    :param page_size: entries per page, 1 to 100.
    :raises InvalidInputError: an argument out of range, before anything is sent.
    """
    first = transfer_task_log_request(
        transfer_task_id, order=order, sort_by=sort_by, page_index=page_index, page_size=page_size
    )
    return _get_page(first, transfer_task_id, order, sort_by, page_index, page_size)


def _get_page(
    first: ApiRequest, task_id: str, order: str, sort_by: str, page_index: int, page_size: int
) -> Exchange[TransferTaskLogPage]:
    form = _PageInfoForm.current
    try:
        response = yield first
        return parse_log_page(response.json())
    except ApiError as exc:
        if exc.status not in (200, 400) or exc.error_code not in INVALID_REQUEST_CODES:
            raise
        refused = exc
    other = PAGE_INFO_FORMS[1] if form == PAGE_INFO_FORMS[0] else PAGE_INFO_FORMS[0]
    retry = transfer_task_log_request(
        task_id, order=order, sort_by=sort_by, page_index=page_index, page_size=page_size, page_info_form=other
    )
    try:
        response = yield retry
        page = parse_log_page(response.json())
    except ApiError as exc:
        if exc.error_code in INVALID_REQUEST_CODES:
            raise refused from None  # both forms refused: the request is wrong for another reason
        raise
    _PageInfoForm.current = other
    return page


def list_transfer_task_logs(
    transfer_task_id: str,
    order: str = "desc",
    sort_by: str = "createTimeStr",
    page_size: int = MAX_PAGE_SIZE,
    max_pages: int = 1000,
) -> Exchange[list[TransferTaskLogEntry]]:
    """Every log entry, page by page, until ``totalNum`` is reached or a page adds nothing new."""
    check_int_range("max_pages", max_pages, 1, MAX_PAGE_INDEX)
    first = get_transfer_task_log_page(transfer_task_id, order=order, sort_by=sort_by, page_size=page_size)
    return _all_pages(first, transfer_task_id, order, sort_by, page_size, max_pages)


def _all_pages(
    first: Exchange[TransferTaskLogPage], task_id: str, order: str, sort_by: str, page_size: int, max_pages: int
) -> Exchange[list[TransferTaskLogEntry]]:
    entries, _ = yield from _walk_pages(first, task_id, order, sort_by, page_size, max_pages)
    return entries


def _walk_pages(
    first: Exchange[TransferTaskLogPage],
    task_id: str,
    order: str,
    sort_by: str,
    page_size: int,
    max_pages: int,
    enough: Callable[[list[TransferTaskLogEntry]], bool] | None = None,
) -> Exchange[tuple[list[TransferTaskLogEntry], str]]:
    """The entries of the pages from ``first`` on, each once (pages may overlap as entries are added),
    and why the walk stopped: ``"end"`` (the list ended), ``"enough"`` (``enough`` said so of a page's
    new entries) or ``"max_pages"``."""
    entries: list[TransferTaskLogEntry] = []
    seen: set[tuple[Any, ...]] = set()
    fetch = first
    for page_index in range(1, max_pages + 1):
        if page_index > 1:
            fetch = get_transfer_task_log_page(
                task_id, order=order, sort_by=sort_by, page_index=page_index, page_size=page_size
            )
        page = yield from fetch
        new = [entry for entry in page.transfer_task_log_list if entry.key() not in seen]
        seen.update(entry.key() for entry in new)
        entries.extend(new)
        if not new or len(page.transfer_task_log_list) < page_size:
            return entries, "end"
        if page.total_num is not None and len(entries) >= page.total_num:
            return entries, "end"
        if enough is not None and enough(new):
            return entries, "enough"
    return entries, "max_pages"


def _tasks_path(project_id: str | None, stream_name: str, template: str = TASKS_PATH) -> str:
    return build_path(template, project_id=require_project_id(project_id), stream_name=stream_name)


def list_transfer_tasks_request(project_id: str | None, stream_name: str) -> ApiRequest:
    """``GET /v2/{project_id}/streams/{stream_name}/transfer-tasks`` (``ListTransferTasks``)."""
    return ApiRequest(service=SERVICE, method="GET", path=_tasks_path(project_id, stream_name))


def parse_transfer_tasks(body: object) -> list[TransferTask]:
    """The docs name the list ``tasks``; ``transfer_tasks`` is accepted too. A body with neither
    is an error unless it says there are none: an empty list would wrongly mean "no task"."""
    parsed = parse_model(SERVICE, _TransferTaskList, body)
    if parsed.tasks is not None:
        return parsed.tasks
    if parsed.transfer_tasks is not None:
        return parsed.transfer_tasks
    if parsed.total_number == 0:
        return []
    raise BadResponseError(SERVICE, "tasks", "missing (neither 'tasks' nor 'transfer_tasks' present)")


def list_transfer_tasks(project_id: str | None, stream_name: str) -> Exchange[list[TransferTask]]:
    """The stream's transfer tasks (``ListTransferTasks``), parsed by ``parse_transfer_tasks``."""
    return _list_tasks(list_transfer_tasks_request(project_id, stream_name))


def _list_tasks(request: ApiRequest) -> Exchange[list[TransferTask]]:
    response = yield request
    return parse_transfer_tasks(response.json())


def transfer_task_action_request(
    project_id: str | None, stream_name: str, action: str, task_ids: Iterable[str]
) -> ApiRequest:
    """Not idempotent for the retry policy: a repeated start may fail on an already running task."""
    check_choice("action", action, ("start", "stop"))
    if isinstance(task_ids, str):
        raise InvalidInputError("task_ids", task_ids, "must be a list of task ids, not a string")
    ids = [check_dis_task_id(task_id, "task_ids") for task_id in task_ids]
    if not ids:
        raise InvalidInputError("task_ids", ids, "must name at least one task")
    if len(set(ids)) != len(ids):
        raise InvalidInputError("task_ids", ids, "task ids must be unique")
    return ApiRequest(
        service=SERVICE,
        method="POST",
        path=_tasks_path(project_id, stream_name, ACTION_PATH),
        body={"action": action, "tasks": [{"id": task_id} for task_id in ids]},
        idempotent=False,
        expected=(200, 201, 202, 204),
    )


def start_transfer_tasks(project_id: str | None, stream_name: str, task_ids: Iterable[str]) -> Exchange[None]:
    """Start the stream's transfer tasks ``task_ids`` (``POST .../transfer-tasks/action``, ``start``)."""
    return _action(transfer_task_action_request(project_id, stream_name, "start", task_ids))


def stop_transfer_tasks(project_id: str | None, stream_name: str, task_ids: Iterable[str]) -> Exchange[None]:
    """Pause the stream's transfer tasks ``task_ids`` (``POST .../transfer-tasks/action``, ``stop``)."""
    return _action(transfer_task_action_request(project_id, stream_name, "stop", task_ids))


def _action(request: ApiRequest) -> Exchange[None]:
    response = yield request
    if response.content.strip():
        try:
            body = response.json()
        except BadResponseError:  # the SDK types this body as a plain string
            return None
        if isinstance(body, dict):
            raise_for_body_error(body)
    return None


def _period(entry: TransferTaskLogEntry) -> dict[str, Any]:
    return {
        "start": format_iso(entry.start_time),
        "end": format_iso(entry.end_time),
        "bytes": entry.transfer_bytes,
        "records": entry.transfer_records_num,
        "file_name": entry.transfer_file_name,
    }


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=timezone.utc)


def periods_status(
    transfer_task_id: str,
    entries: Sequence[TransferTaskLogEntry],
    completed_after: datetime | None,
    min_records: int = 0,
) -> TaskStatus:
    """SUCCEEDED once periods ending at or after ``completed_after`` moved ``min_records``
    records in total; RUNNING while such periods exist but moved fewer; WAITING before any."""
    after = _aware(completed_after)
    ended = sorted(
        (e for e in entries if e.end_time is not None and (after is None or e.end_time >= after)),
        key=lambda e: (e.end_time, e.start_time or e.end_time),
    )
    matching = [e for e in ended if e.dumped]
    failed = [e for e in ended if not e.dumped]
    records = sum(e.transfer_records_num or 0 for e in matching)
    total_bytes = sum(e.transfer_bytes or 0 for e in matching)
    done = bool(matching) and records >= min_records
    if done:
        state = TaskState.SUCCEEDED
    elif matching:
        state = TaskState.RUNNING
    else:
        state = TaskState.WAITING
    progress = None
    if state is TaskState.RUNNING and min_records > 0:
        progress = min(100.0, 100.0 * records / min_records)
    elif done:
        progress = 100.0
    starts = [e.start_time for e in matching if e.start_time is not None]
    since = format_iso(after) or "the start"
    if matching:
        message = f"{len(matching)} dump period(s) since {since}: {records} records"
    else:
        message = f"no dump period has ended since {since}"
    if failed:
        states = ", ".join(sorted({str(e.state) for e in failed}))
        message += f"; {len(failed)} period(s) failed (state {states}) and do not count as dumped"
    return TaskStatus(
        service=SERVICE,
        task_id=transfer_task_id,
        state=state,
        progress=progress,
        message=message,
        started_at=min(starts) if starts else None,
        finished_at=matching[-1].end_time if done else None,
        result={
            "transfer_task_id": transfer_task_id,
            "completed_after": format_iso(after),
            "min_records": min_records,
            "periods": [_period(e) for e in matching],
            "total_records": records,
            "total_bytes": total_bytes,
            "file_names": [e.transfer_file_name for e in matching if e.transfer_file_name],
            "failed_periods": [{**_period(e), "state": e.state} for e in failed],
        },
    )


def task_state_status(task: TransferTask | None, transfer_task_id: str, stream_name: str) -> TaskStatus | None:
    """A FAILED status when the transfer task cannot dump a new period (not in the stream's list,
    or ERROR/ABNORMAL/DELETE/PAUSED), else None: waiting for it would last until the timeout."""
    if task is None:
        reason = f"is not in stream {stream_name!r}'s transfer task list (deleted, or another stream)"
        raw = None
    elif task.state and task.state.upper() in TASK_ERROR_STATES:
        reason = f"is in state {task.state}"
        if task.state.upper() == "PAUSED":
            reason += ": it dumps nothing until it is started again (transfer task action start)"
        raw = task.state
    else:
        return None
    name = task.task_name if task is not None and task.task_name else transfer_task_id
    return TaskStatus(
        service=SERVICE,
        task_id=transfer_task_id,
        state=TaskState.FAILED,
        raw_status=raw,
        message=f"transfer task {name} {reason}",
        result={"transfer_task_id": transfer_task_id, "task_name": None if task is None else task.task_name},
    )


#: What a wait says when the stream's list cannot name the task: the SDK's ``TransferTask`` model
#: (ListTransferTasks) has no ``task_id``, only the doc example shows one.
UNMATCHED_WARNING = (
    "the transfer task list of stream {stream!r} carries no task_id, so this task's own state (ERROR, "
    "ABNORMAL, PAUSED) cannot be checked and such a task keeps the wait going until its timeout; pass "
    "task_name (the name the list and ShowTransferTask know the task by) to check it"
)


def find_task(
    tasks: Sequence[TransferTask], transfer_task_id: str, task_name: str | None
) -> tuple[bool, TransferTask | None]:
    """(whether the list can tell, the task): by ``task_id`` when the list carries ids (the doc
    examples), else by ``task_name`` (the SDK's ``TransferTask`` has only the name). An empty list
    tells too: the task is not in it."""
    if not tasks or any(t.task_id for t in tasks):
        return True, next((t for t in tasks if t.task_id == transfer_task_id), None)
    if task_name:
        return True, next((t for t in tasks if t.task_name == task_name), None)
    return False, None


def status_exchange(project_id: str | None, ids: Mapping[str, str], **options: Any) -> Exchange[TaskStatus]:
    """Newest periods first (by ``endTime``), paging only until periods end before
    ``completed_after``. With ``stream_name`` in ids (and a project), the task's own state is read
    from the stream's transfer-task list, matched by ``task_id`` or, where the list carries no ids,
    by ``task_name``: periods already dumped satisfy the wait whatever that state, and a wait they
    do not satisfy yet fails when the task cannot dump (ERROR/ABNORMAL/DELETE/PAUSED, or gone)
    instead of waiting forever."""
    transfer_task_id = check_dis_task_id(require_id(ids, "transfer_task_id"))
    completed_after = optional_datetime("completed_after", options.get("completed_after"))
    min_records = option_int("min_records", options.get("min_records"), 0, 0, 2**63 - 1)
    page_size = option_int("page_size", options.get("page_size"), MAX_PAGE_SIZE, 1, MAX_PAGE_SIZE)
    max_pages = option_int("max_pages", options.get("max_pages"), 10, 1, MAX_PAGE_INDEX)
    stream_name = ids.get("stream_name")
    task_name = ids.get("task_name")
    if task_name and not stream_name:
        raise InvalidInputError(
            "task_name", task_name, "needs stream_name: the task's state is read from its stream's transfer task list"
        )
    task_check = (stream_name, task_name, list_transfer_tasks(project_id, stream_name)) if stream_name else None
    return _status(transfer_task_id, completed_after, min_records, page_size, max_pages, task_check)


def _status(
    transfer_task_id: str,
    completed_after: datetime | None,
    min_records: int,
    page_size: int,
    max_pages: int,
    task_check: tuple[str, str | None, Exchange[list[TransferTask]]] | None,
) -> Exchange[TaskStatus]:
    cannot_dump: TaskStatus | None = None
    warning: str | None = None
    if task_check is not None:
        stream_name, task_name, listing = task_check
        tasks = yield from listing
        told, task = find_task(tasks, transfer_task_id, task_name)
        if not told:
            warning = UNMATCHED_WARNING.format(stream=stream_name)
        elif task is None:
            # Gone from its stream: its log is gone too (DIS.4354), nothing can satisfy the wait.
            missing = task_state_status(None, transfer_task_id, stream_name)
            assert missing is not None
            return missing
        else:
            cannot_dump = task_state_status(task, transfer_task_id, stream_name)
    try:
        entries = yield from _entries(transfer_task_id, completed_after, min_records, page_size, max_pages)
    except NotFoundError:
        if cannot_dump is not None:
            return cannot_dump  # a DELETE task's log may be gone already: its state says more
        raise
    periods = periods_status(transfer_task_id, entries, completed_after, min_records)
    if cannot_dump is not None:
        if periods.state is not TaskState.SUCCEEDED:
            return cannot_dump
        # The periods the wait asked for were dumped before the task stopped: that answers it.
        periods = periods.model_copy(
            update={"message": f"{periods.message}; the task is now in state {cannot_dump.raw_status}"}
        )
    if warning is not None:
        return periods.model_copy(update={"warning": warning})
    return periods


def _entries(
    transfer_task_id: str, completed_after: datetime | None, min_records: int, page_size: int, max_pages: int
) -> Exchange[list[TransferTaskLogEntry]]:
    entries: list[TransferTaskLogEntry] = []
    seen: set[tuple[Any, ...]] = set()
    for page_index in range(1, max_pages + 1):
        page = yield from get_transfer_task_log_page(
            transfer_task_id, order="desc", sort_by="endTime", page_index=page_index, page_size=page_size
        )
        new = [e for e in page.transfer_task_log_list if e.key() not in seen]
        seen.update(e.key() for e in new)
        entries.extend(new)
        if not new or len(page.transfer_task_log_list) < page_size:
            break
        if page.total_num is not None and len(entries) >= page.total_num:
            break
        if completed_after is not None and all(e.end_time is not None and e.end_time < completed_after for e in new):
            break
        if completed_after is None and sum(e.transfer_records_num or 0 for e in entries) >= min_records:
            break
    return entries


def recent_periods(
    transfer_task_id: str, *, since_ms: int | None = None, page_size: int = MAX_PAGE_SIZE, max_pages: int = 10
) -> Exchange[tuple[list[TransferTaskLogEntry], bool, bool]]:
    """The newest log entries (by ``endTime``), read page by page until one reaches back to a period
    that ended at or before ``since_ms`` (None: the first page only).

    Returns the entries, whether they are the whole log (nothing older exists), and whether
    ``max_pages`` ran out before the listing reached back to ``since_ms``.
    """
    task_id = check_dis_task_id(transfer_task_id)
    check_int_range("max_pages", max_pages, 1, MAX_PAGE_INDEX)
    first = get_transfer_task_log_page(task_id, order="desc", sort_by="endTime", page_size=page_size)
    return _recent(first, task_id, since_ms, page_size, max_pages)


def _recent(
    first: Exchange[TransferTaskLogPage], task_id: str, since_ms: int | None, page_size: int, max_pages: int
) -> Exchange[tuple[list[TransferTaskLogEntry], bool, bool]]:
    def reached_since(new: list[TransferTaskLogEntry]) -> bool:
        ends = [e.end_time for e in new if e.end_time is not None]
        return since_ms is None or bool(ends and to_ms(min(ends)) <= since_ms)

    entries, why = yield from _walk_pages(first, task_id, "desc", "endTime", page_size, max_pages, reached_since)
    return entries, why == "end", why == "max_pages"
