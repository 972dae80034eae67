"""DCS background task progress and the background task list.

The progress API has no overall status, so one is derived from the steps. ``error_code`` is
set on FINISH steps too ("DCS.4064" in the API example), so it is reported but never read as failure.

Every step FINISH at 100% is a success. Every step FINISH short of 100 (or with no progress)
does not settle the outcome (nothing says progress reaches 100; the API example shows it
lagging the steps), so then the task's own ``status`` in the background task list (SDK
``SingleBackgroundTask.status``) is read as a second source: a failure there wins, then a
success; anything else is still running. The list is read only in that case: a page of up to
100 tasks per wait's last poll cost a deferred wait twice the memory and CPU (benchmark 1).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BeforeValidator, Field

from airflow_provider.core.errors import InvalidInputError
from airflow_provider.core.request import ApiRequest, query_pairs
from airflow_provider.core.status import TaskState, TaskStatus
from airflow_provider.core.validation import build_path, check_int_range
from airflow_provider.services._inputs import require_id, require_project_id
from airflow_provider.services._parsing import (
    LenientInt,
    Percent,
    ServiceModel,
    Text,
    Timestamp,
    as_list,
    format_iso,
    parse_model,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from airflow_provider.core.exchange import Exchange

SERVICE = "dcs"
PROGRESS_PATH = "/v2/{project_id}/instances/{instance_id}/tasks/{task_id}/progress"
TASKS_PATH = "/v2/{project_id}/instances/{instance_id}/tasks"
QUERY_TIME_FORMAT = "%Y%m%d%H%M%S"
MAX_LIMIT = 1000
MAX_REMAIN_SECONDS = 2**31 - 1  # ~68 years, a Java int: anything larger is a misread body, not an ETA

FINISH, FAILED, EXECUTING, WAITING = "FINISH", "FAILED", "EXECUTING", "WAITING"
KNOWN_STEP_STATES = frozenset({FINISH, FAILED, EXECUTING, WAITING})
#: ``SingleBackgroundTask.status`` words. SUCCESS is the ListBackgroundTask doc's example; the
#: failure words are those of the sibling DMS task lists (no DCS source enumerates them).
LIST_SUCCESS = frozenset({"SUCCESS"})
LIST_FAILURE = frozenset({"FAILED", "CANCELLED", "DELETED"})
#: How far the task list is searched for the task (newest first, 100 a page).
LIST_PAGE_SIZE = 100
LIST_MAX_PAGES = 10


def _non_negative_or_none(value: object) -> object:
    """A negative remaining time carries no information; it is dropped, not an error."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
        return None
    if isinstance(value, str) and value.strip().startswith("-"):
        return None
    return value


class SubStepDetail(ServiceModel):
    """A sub-step of a DCS background task step (``sub_step_details``)."""

    sub_step_id: Text = None
    sub_step_name: Text = None
    sub_step_status: Text = None
    begin_time: Timestamp = None
    end_time: Timestamp = None
    detail: Text = None
    error_code: Text = None


class StepDetail(ServiceModel):
    """A step of a DCS background task (``step_details``): ``step_status`` is FINISH, FAILED, EXECUTING or WAITING."""

    step_id: Text = None
    step_name: Text = None
    step_status: Text = None
    begin_time: Timestamp = None
    end_time: Timestamp = None
    error_code: Text = None
    sub_step_details: Annotated[list[SubStepDetail], BeforeValidator(as_list)] = Field(default_factory=list)

    @property
    def state(self) -> str:
        """``step_status`` upper-cased and stripped (empty when absent)."""
        return (self.step_status or "").strip().upper()


class BackgroundTaskProgress(ServiceModel):
    """The body of ``GET .../tasks/{task_id}/progress``: ``progress``, ``remain_time`` (seconds) and the steps."""

    progress: Percent = None
    remain_time: Annotated[LenientInt, BeforeValidator(_non_negative_or_none)] = Field(
        default=None, le=MAX_REMAIN_SECONDS
    )
    step_details: Annotated[list[StepDetail], BeforeValidator(as_list)] = Field(default_factory=list)


class BackgroundTask(ServiceModel):
    """An entry of the background task list (SDK ``SingleBackgroundTask``)."""

    id: Text = None
    name: Text = None
    details: Any = None  # an object in practice (SDK ``DetailsBody``), a string in some docs
    user_name: Text = None
    user_id: Text = None
    params: Any = None
    status: Text = None
    created_at: Timestamp = None
    updated_at: Timestamp = None
    enable_show: bool | None = None


class BackgroundTaskList(ServiceModel):
    """One page of the background task list (``ListBackgroundTask``): ``task_count`` and ``tasks``."""

    task_count: LenientInt = Field(default=None, ge=0)
    tasks: Annotated[list[BackgroundTask], BeforeValidator(as_list)] = Field(default_factory=list)


def _path(template: str, project_id: str | None, instance_id: str, **extra: str) -> str:
    return build_path(template, project_id=require_project_id(project_id), instance_id=instance_id, **extra)


def background_task_progress_request(project_id: str | None, instance_id: str, task_id: str) -> ApiRequest:
    """``GET /v2/{project_id}/instances/{instance_id}/tasks/{task_id}/progress``."""
    return ApiRequest(
        service=SERVICE, method="GET", path=_path(PROGRESS_PATH, project_id, instance_id, task_id=task_id)
    )


def get_background_task_progress(
    project_id: str | None, instance_id: str, task_id: str
) -> Exchange[BackgroundTaskProgress]:
    """Read a background task's progress, parsed as a ``BackgroundTaskProgress``."""
    return _get_progress(background_task_progress_request(project_id, instance_id, task_id))


def _get_progress(request: ApiRequest) -> Exchange[BackgroundTaskProgress]:
    response = yield request
    return parse_model(SERVICE, BackgroundTaskProgress, response.json())


def format_query_time(name: str, value: datetime | str | None) -> str | None:
    """``yyyyMMddHHmmss``; aware datetimes are converted to UTC, naive ones are sent as given."""
    if value is None:
        return None
    if isinstance(value, datetime):
        moment = value.astimezone(timezone.utc) if value.tzinfo else value
        return moment.strftime(QUERY_TIME_FORMAT)
    if isinstance(value, str) and len(value) == 14 and value.isdigit():
        try:
            datetime.strptime(value, QUERY_TIME_FORMAT)
        except ValueError:
            pass
        else:
            return value
    raise InvalidInputError(name, value, "must be a datetime or a 'yyyyMMddHHmmss' string")


def background_task_page_request(
    project_id: str | None,
    instance_id: str,
    *,
    offset: int = 0,
    limit: int = 10,
    start_time: datetime | str | None = None,
    end_time: datetime | str | None = None,
) -> ApiRequest:
    """``GET /v2/{project_id}/instances/{instance_id}/tasks``: one page of the background task list.

    :param offset: records to skip.
    :param limit: records per page, 1 to 1000.
    :param start_time: only tasks from then on (``format_query_time``).
    :param end_time: only tasks until then.
    :raises InvalidInputError: an argument out of range or a time in another format.
    """
    check_int_range("offset", offset, 0, 10**9)
    check_int_range("limit", limit, 1, MAX_LIMIT)
    query = query_pairs(
        offset=offset,
        limit=limit,
        start_time=format_query_time("start_time", start_time),
        end_time=format_query_time("end_time", end_time),
    )
    return ApiRequest(service=SERVICE, method="GET", path=_path(TASKS_PATH, project_id, instance_id), query=query)


def get_background_task_page(
    project_id: str | None,
    instance_id: str,
    *,
    offset: int = 0,
    limit: int = 10,
    start_time: datetime | str | None = None,
    end_time: datetime | str | None = None,
) -> Exchange[BackgroundTaskList]:
    """One page of the background task list (``background_task_page_request``), as a ``BackgroundTaskList``."""
    return _list(
        background_task_page_request(
            project_id, instance_id, offset=offset, limit=limit, start_time=start_time, end_time=end_time
        )
    )


def _list(request: ApiRequest) -> Exchange[BackgroundTaskList]:
    response = yield request
    return parse_model(SERVICE, BackgroundTaskList, response.json())


def _current_step(steps: list[StepDetail]) -> StepDetail | None:
    """The step a progress line should name: a failed one, else the executing one, else the
    first waiting one, else the last one."""
    for wanted in (FAILED, EXECUTING, WAITING):
        for step in steps:
            if step.state == wanted:
                return step
    return steps[-1] if steps else None


def _current_sub_step(step: StepDetail | None) -> SubStepDetail | None:
    if step is None or not step.sub_step_details:
        return None
    for wanted in (FAILED, EXECUTING, WAITING):
        for sub in step.sub_step_details:
            if (sub.sub_step_status or "").strip().upper() == wanted:
                return sub
    return step.sub_step_details[-1]


def derive_state(progress: BackgroundTaskProgress) -> TaskState:
    """The overall state the progress API implies.

    Any FAILED step fails; 100% with every step FINISH succeeds; all steps WAITING (or no steps and no progress)
    waits; anything else is running.
    """
    steps = progress.step_details
    states = [step.state for step in steps]
    if FAILED in states:
        return TaskState.FAILED
    if progress.progress == 100 and all(state == FINISH for state in states):
        return TaskState.SUCCEEDED
    if (steps and all(state == WAITING for state in states)) or (not steps and not progress.progress):
        return TaskState.WAITING
    return TaskState.RUNNING


def _failure_message(step: StepDetail) -> str:
    sub = next((s for s in step.sub_step_details if (s.sub_step_status or "").strip().upper() == FAILED), None)
    text = f"step {step.step_name or step.step_id!r} failed"
    if sub is not None:
        text += f" at sub-step {sub.sub_step_name or sub.sub_step_id!r}"
        if sub.detail:
            text += f" ({sub.detail})"
    code = (sub.error_code if sub is not None else None) or step.error_code
    if code:
        text += f", error code {code}"
    return text


def _step_summary(step: StepDetail) -> dict[str, Any]:
    return {
        "step_id": step.step_id,
        "step_name": step.step_name,
        "step_status": step.step_status,
        "begin_time": format_iso(step.begin_time),
        "end_time": format_iso(step.end_time),
        "error_code": step.error_code,
        "sub_steps": len(step.sub_step_details),
    }


def to_status(progress: BackgroundTaskProgress, task_id: str) -> TaskStatus:
    """The progress view of the task as a ``TaskStatus``.

    It names the current step and sub-step, takes the ETA from ``remain_time`` and, for a failed step, its error.
    """
    state = derive_state(progress)
    steps = progress.step_details
    current = _current_step(steps)
    sub = _current_sub_step(current)
    failed = next((step for step in steps if step.state == FAILED), None)
    unknown = sorted({step.state for step in steps} - KNOWN_STEP_STATES)
    begins = [step.begin_time for step in steps if step.begin_time is not None]
    ends = [step.end_time for step in steps if step.end_time is not None]
    message = None
    if failed is not None:
        message = _failure_message(failed)
    elif unknown:
        message = f"unrecognized step status {', '.join(repr(u) for u in unknown)}"
    elif current is not None and current.step_name and not state.is_terminal:
        message = current.step_name
        if sub is not None and sub.sub_step_name:
            message += f" / {sub.sub_step_name}"
    return TaskStatus(
        service=SERVICE,
        task_id=task_id,
        state=state,
        raw_status=current.step_status if current else None,
        progress=progress.progress,
        message=message,
        error_code=(failed.error_code or None) if failed else None,
        started_at=min(begins) if begins else None,
        finished_at=max(ends) if state.is_terminal and ends else None,
        eta_seconds=None if state.is_terminal else progress.remain_time,
        recognized=not unknown,
        result={
            "dcs_task_id": task_id,
            "current_step": current.step_name if current else None,
            "current_sub_step": sub.sub_step_name if sub else None,
            "remain_time": progress.remain_time,
            "steps": [_step_summary(step) for step in steps],
        },
    )


def needs_overall_status(progress: BackgroundTaskProgress) -> bool:
    """Every step FINISH (or no steps at all): unless the progress says 100, only the task list's
    own status can tell a finished task from one whose progress stopped short."""
    return all(step.state == FINISH for step in progress.step_details)


def find_background_task(
    project_id: str | None, instance_id: str, task_id: str, *, max_pages: int = LIST_MAX_PAGES
) -> Exchange[BackgroundTask | None]:
    """The task's entry in the background task list, or None if it is not in the newest pages."""
    offset = 0
    for _ in range(max_pages):
        page = yield from get_background_task_page(project_id, instance_id, offset=offset, limit=LIST_PAGE_SIZE)
        for task in page.tasks:
            if task.id == task_id:
                return task
        offset += len(page.tasks)
        if len(page.tasks) < LIST_PAGE_SIZE or (page.task_count is not None and offset >= page.task_count):
            return None
    return None


def with_overall_status(status: TaskStatus, task: BackgroundTask | None) -> TaskStatus:
    """Combine the progress view with the task list's ``status`` (the precedence is in the module
    docstring); ``raw_status`` and ``result["list_status"]`` keep the list's word."""
    if task is None:
        if status.state is TaskState.SUCCEEDED:
            return status
        return status.model_copy(
            update={"message": "every step is FINISH; the task is not in the background task list (yet)"}
        )
    word = (task.status or "").strip().upper()
    result = {**status.result, "list_status": task.status}
    if status.state is TaskState.FAILED:
        return status.model_copy(update={"result": result})
    if word in LIST_FAILURE:
        return status.model_copy(
            update={
                "state": TaskState.FAILED,
                "raw_status": task.status,
                "message": f"background task {task.name or status.task_id} ended {task.status} "
                f"(progress {_percent(status.progress)}, every step FINISH)",
                "finished_at": task.updated_at or status.finished_at,
                "eta_seconds": None,
                "result": result,
            }
        )
    if status.state is TaskState.SUCCEEDED or word in LIST_SUCCESS:
        return status.model_copy(
            update={
                "state": TaskState.SUCCEEDED,
                "progress": 100.0,
                "message": None,
                "finished_at": status.finished_at or task.updated_at,
                "eta_seconds": None,
                "result": result,
            }
        )
    message = f"every step is FINISH at {_percent(status.progress)}; the task list says {task.status or 'nothing'}"
    return status.model_copy(update={"raw_status": task.status, "message": message, "result": result})


def _percent(progress: float | None) -> str:
    return "no progress" if progress is None else f"{progress:g}%"


def status_exchange(project_id: str | None, ids: Mapping[str, str], **options: Any) -> Exchange[TaskStatus]:
    """One status check of the DCS background task ``ids`` name (``instance_id``, ``dcs_task_id``).

    Reads the progress; when every step is FINISH without a success, reads the background task list too
    (``with_overall_status``). Options are accepted and ignored.
    """
    instance_id = require_id(ids, "instance_id")
    task_id = require_id(ids, "dcs_task_id")
    # Built now, so bad ids fail before anything is sent.
    fetch = get_background_task_progress(project_id, instance_id, task_id)
    return _status(fetch, project_id, instance_id, task_id)


def _status(
    fetch: Exchange[BackgroundTaskProgress], project_id: str | None, instance_id: str, task_id: str
) -> Exchange[TaskStatus]:
    progress = yield from fetch
    status = to_status(progress, task_id)
    if status.state.is_terminal or not needs_overall_status(progress):
        return status
    task = yield from find_background_task(project_id, instance_id, task_id)
    return with_overall_status(status, task)
