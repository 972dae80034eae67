"""MEF Center edge manager log dump (mefapiref_0042-0044): start a dump, poll it, download the archive.

Every MEF body is the envelope ``{status, msg, data}``. MEF sends errors as HTTP 400, which the
transport raises; an error envelope inside a 200 is raised here as the same error class with
the same (HTTP 400) status, so callers handle one exception type whatever the server chose.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BeforeValidator, Field

from airflow_provider.core.errors import (
    MEF_SUCCESS,
    BadResponseError,
    InvalidInputError,
    mef_error_class,
)
from airflow_provider.core.request import ApiRequest, query_pairs
from airflow_provider.core.status import TaskState, TaskStatus
from airflow_provider.core.validation import check_edge_node_ids, check_edge_task_id
from airflow_provider.services._inputs import require_id
from airflow_provider.services._parsing import (
    ServiceModel,
    Text,
    Timestamp,
    format_iso,
    parse_model,
    parse_percent,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from airflow_provider.core.exchange import Exchange
    from airflow_provider.core.response import ApiResponse

SERVICE = "edge"
TASK_PATH = "/edgemanager/v1/logmgmt/dump/task"
DOWNLOAD_PATH = "/edgemanager/v1/logmgmt/dump/download/edgeNodes.tar.gz"
DUMP_MODULE = "edgeNode"

STATE_MAP: Mapping[str, TaskState] = {
    "waiting": TaskState.WAITING,
    "processing": TaskState.RUNNING,
    "aborting": TaskState.ABORTING,
    "succeed": TaskState.SUCCEEDED,
    "failed": TaskState.FAILED,
    "partiallyFailed": TaskState.PARTIALLY_FAILED,
}

_MEF_CODE_RE = re.compile(r"[0-9]{8}")
_FAILED_PREFIX = "failed to dump log for following nodes:"
_FAILED_NODE_RE = re.compile(r"\((?P<node>[^()]*)\)(?P<msg>.*?)(?=;\s*\([^()]*\)|;?\s*$)", re.DOTALL)


def _envelope_status(value: object) -> object:
    """MEF codes are 8-digit strings; a number would lose its leading zeros, so restore them."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**8:
        return f"{value:08d}"
    return value


class MefEnvelope(ServiceModel):
    """The envelope of every MEF body: ``status`` (an 8-digit code, ``00000000`` for success), ``msg`` and ``data``."""

    status: Annotated[str, BeforeValidator(_envelope_status)]
    msg: Text = None
    data: Any = None


class EdgeDumpResult(ServiceModel):
    """``data`` of a finished dump: the archive's ``fileName``."""

    file_name: str | None = Field(default=None, alias="fileName")


class EdgeDumpTask(ServiceModel):
    """A log dump task as ``GET /edgemanager/v1/logmgmt/dump/task`` returns it in ``data``."""

    task_id: str = Field(alias="taskId")
    status: str
    reason: Text = None
    progress: Annotated[float | None, BeforeValidator(parse_percent)] = None
    data: EdgeDumpResult | None = None
    created_at: Timestamp = Field(default=None, alias="createdAt")
    started_at: Timestamp = Field(default=None, alias="startedAt")
    finished_at: Timestamp = Field(default=None, alias="finishedAt")


class _CreatedTask(ServiceModel):
    task_id: str = Field(alias="taskId")


def unwrap(response: ApiResponse) -> Any:
    """The envelope's ``data``, or the error a non-success envelope stands for."""
    envelope = parse_model(SERVICE, MefEnvelope, response.json())
    if not _MEF_CODE_RE.fullmatch(envelope.status):
        raise BadResponseError(SERVICE, "status", f"expected an 8-digit MEF code, got {envelope.status[:40]!r}")
    if envelope.status != MEF_SUCCESS:
        raise mef_error_class(envelope.status, envelope.msg)(
            service=SERVICE,
            status=400,
            error_code=envelope.status,
            error_msg=envelope.msg,
            request_id=response.request_id,
        )
    return envelope.data


def create_dump_task_request(node_ids: Iterable[object]) -> ApiRequest:
    """``POST /edgemanager/v1/logmgmt/dump/task`` for the ``edgeNode`` module of ``node_ids`` (not idempotent).

    :raises InvalidInputError: a node id is out of range or repeated, or there are none or too many.
    """
    nodes = check_edge_node_ids(node_ids)
    return ApiRequest(
        service=SERVICE,
        method="POST",
        path=TASK_PATH,
        body={"module": DUMP_MODULE, "edgeNodes": nodes},
        idempotent=False,
    )


def create_dump_task(node_ids: Iterable[object]) -> Exchange[str]:
    """Start a dump; returns the new task id. Inputs are checked now, before anything is sent."""
    return _create_dump_task(create_dump_task_request(node_ids))


def _create_dump_task(request: ApiRequest) -> Exchange[str]:
    response = yield request
    created = parse_model(SERVICE, _CreatedTask, unwrap(response))
    try:
        return check_edge_task_id(created.task_id, "taskId")
    except InvalidInputError as exc:
        raise BadResponseError(SERVICE, "data.taskId", exc.reason) from None


def get_dump_task_request(dump_task_id: str) -> ApiRequest:
    """``GET /edgemanager/v1/logmgmt/dump/task?taskId=...``.

    :raises InvalidInputError: ``dump_task_id`` is not a valid MEF task id.
    """
    task_id = check_edge_task_id(dump_task_id)
    return ApiRequest(service=SERVICE, method="GET", path=TASK_PATH, query=query_pairs(taskId=task_id))


def get_dump_task(dump_task_id: str) -> Exchange[EdgeDumpTask]:
    """Read a dump task (``get_dump_task_request``); an error envelope raises its ``EdgeManagerError`` subclass."""
    return _get_dump_task(get_dump_task_request(dump_task_id))


def _get_dump_task(request: ApiRequest) -> Exchange[EdgeDumpTask]:
    response = yield request
    return parse_model(SERVICE, EdgeDumpTask, unwrap(response))


def download_request() -> ApiRequest:
    """MEF keeps one archive (the last succeeded or partially failed dump) at a fixed path."""
    return ApiRequest(service=SERVICE, method="GET", path=DOWNLOAD_PATH, stream=True)


def parse_failed_nodes(reason: str | None) -> list[dict[str, Any]]:
    """Split MEF's ``failed to dump log for following nodes:(<id>)<msg>;...`` into entries."""
    if not reason or not reason.startswith(_FAILED_PREFIX):
        return []
    entries: list[dict[str, Any]] = []
    for match in _FAILED_NODE_RE.finditer(reason[len(_FAILED_PREFIX) :]):
        node = match["node"].strip()
        entries.append({"node_id": int(node) if node.isdigit() else node, "message": match["msg"].strip()})
    return entries


def to_status(task: EdgeDumpTask) -> TaskStatus:
    """A dump task as a ``TaskStatus``; nodes that failed are parsed from ``reason`` (``result['failed_nodes']``)."""
    state = STATE_MAP.get(task.status)
    failed_nodes = parse_failed_nodes(task.reason)
    return TaskStatus(
        service=SERVICE,
        task_id=task.task_id,
        state=state or TaskState.RUNNING,
        raw_status=task.status,
        progress=task.progress,
        message=task.reason or (None if state else f"unrecognized status {task.status!r}"),
        started_at=task.started_at or task.created_at,
        finished_at=task.finished_at,
        recognized=state is not None,
        result={
            "task_id": task.task_id,
            "file_name": task.data.file_name if task.data else None,
            "failed_nodes": failed_nodes,
            "created_at": format_iso(task.created_at),
        },
    )


def status_exchange(project_id: str | None, ids: Mapping[str, str], **options: object) -> Exchange[TaskStatus]:
    """The generic sensor's probe; MEF has no project, so ``project_id`` is ignored."""
    dump_task_id = require_id(ids, "dump_task_id")
    return _status(get_dump_task(dump_task_id))


def _status(fetch: Exchange[EdgeDumpTask]) -> Exchange[TaskStatus]:
    task = yield from fetch
    return to_status(task)
