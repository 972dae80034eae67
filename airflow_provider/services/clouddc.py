"""CloudDC physical server log export: start an export, poll it, download it.

The status casing is undocumented ("Running" in the example, "processing"/"completed" in the
docs), so states compare case-insensitively. The docs list no failure value at all, so any word
that says failure ("failed", "error", "abnormal", "export_failed", ...) fails the wait; anything
else unknown keeps the sensor waiting (bounded by its timeout) instead of failing or, worse,
succeeding.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_provider.core.errors import BadResponseError
from airflow_provider.core.request import ApiRequest
from airflow_provider.core.status import TaskState, TaskStatus
from airflow_provider.core.validation import build_path
from airflow_provider.services._inputs import require_id, require_project_id
from airflow_provider.services._parsing import (
    Percent,
    ServiceModel,
    Text,
    Timestamp,
    format_iso,
    parse_model,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from airflow_provider.core.exchange import Exchange

SERVICE = "clouddc"
EXPORTS_PATH = "/v1/{project_id}/physicalservers/{server_id}/logs/exports"
EXPORT_PATH = EXPORTS_PATH + "/{export_id}"
CONTENT_PATH = EXPORT_PATH + "/content"

STATE_MAP: Mapping[str, TaskState] = {
    "completed": TaskState.SUCCEEDED,
    "running": TaskState.RUNNING,
    "processing": TaskState.RUNNING,
    "exporting": TaskState.RUNNING,
    "failed": TaskState.FAILED,
    "error": TaskState.FAILED,
    "abnormal": TaskState.FAILED,
}
#: Parts of a status word that mean failure whatever surrounds them ("export_failed", "ERROR_TIMEOUT").
FAILURE_PARTS = ("fail", "error", "abnormal")


def state_of(raw: str | None) -> TaskState | None:
    """The state a status word names, or None if it names none we know."""
    if not raw:
        return None
    word = raw.strip().lower()
    state = STATE_MAP.get(word)
    if state is None and any(part in word for part in FAILURE_PARTS):
        return TaskState.FAILED
    return state


class ServerLogExport(ServiceModel):
    """A CloudDC log export as the start and get calls return it (``status`` words are matched case-insensitively)."""

    export_id: Text = None
    status: Text = None
    percentage: Percent = None
    created_at: Timestamp = None


def _path(template: str, project_id: str | None, server_id: str, **extra: str) -> str:
    return build_path(template, project_id=require_project_id(project_id), server_id=server_id, **extra)


def start_export_request(project_id: str | None, server_id: str) -> ApiRequest:
    """``POST /v1/{project_id}/physicalservers/{server_id}/logs/exports`` (not idempotent)."""
    return ApiRequest(
        service=SERVICE,
        method="POST",
        path=_path(EXPORTS_PATH, project_id, server_id),
        idempotent=False,
        expected=(200, 202),
    )


def get_export_request(project_id: str | None, server_id: str, export_id: str) -> ApiRequest:
    """``GET .../physicalservers/{server_id}/logs/exports/{export_id}``: the export's status."""
    return ApiRequest(
        service=SERVICE, method="GET", path=_path(EXPORT_PATH, project_id, server_id, export_id=export_id)
    )


def download_request(project_id: str | None, server_id: str, export_id: str) -> ApiRequest:
    """``GET .../logs/exports/{export_id}/content``, streamed: the exported log archive."""
    return ApiRequest(
        service=SERVICE,
        method="GET",
        path=_path(CONTENT_PATH, project_id, server_id, export_id=export_id),
        stream=True,
    )


def start_export(project_id: str | None, server_id: str) -> Exchange[ServerLogExport]:
    """Start an export; the id to poll is ``export_id`` of the result (required here)."""
    return _start(start_export_request(project_id, server_id))


def _start(request: ApiRequest) -> Exchange[ServerLogExport]:
    response = yield request
    export = parse_model(SERVICE, ServerLogExport, response.json_object())
    if not export.export_id:
        raise BadResponseError(SERVICE, "export_id", "missing: the export cannot be polled without it")
    return export


def get_export(project_id: str | None, server_id: str, export_id: str) -> Exchange[ServerLogExport]:
    """Read an export's status (``get_export_request``), parsed as a ``ServerLogExport``."""
    return _get(get_export_request(project_id, server_id, export_id))


def _get(request: ApiRequest) -> Exchange[ServerLogExport]:
    response = yield request
    return parse_model(SERVICE, ServerLogExport, response.json_object())


def to_status(export: ServerLogExport, *, export_id: str | None = None, server_id: str | None = None) -> TaskStatus:
    """``export_id`` falls back to the id we asked for: the response's is informational."""
    raw = export.status
    state = state_of(raw)
    progress = export.percentage
    if state is TaskState.SUCCEEDED and progress is None:
        progress = 100.0
    task_id = export.export_id or export_id or ""
    return TaskStatus(
        service=SERVICE,
        task_id=task_id,
        state=state or TaskState.RUNNING,
        raw_status=raw,
        progress=progress,
        message=_message(state, raw, progress),
        started_at=export.created_at,
        recognized=state is not None,
        result={"export_id": task_id, "server_id": server_id, "created_at": format_iso(export.created_at)},
    )


def _message(state: TaskState | None, raw: str | None, progress: float | None) -> str | None:
    if state is None:
        return f"unrecognized status {raw!r}"
    if state is TaskState.FAILED:
        at = "" if progress is None else f" at {progress:g}%"
        return f"log export ended with status {raw!r}{at}"
    return None


def status_exchange(project_id: str | None, ids: Mapping[str, str], **options: object) -> Exchange[TaskStatus]:
    """One status check of the export that ``ids`` name (``server_id``, ``export_id``), as a ``TaskStatus``.

    Options are accepted and ignored. Raises ``InvalidInputError`` for a missing id or project before anything is sent.
    """
    server_id = require_id(ids, "server_id")
    export_id = require_id(ids, "export_id")
    return _status(get_export(project_id, server_id, export_id), export_id, server_id)


def _status(fetch: Exchange[ServerLogExport], export_id: str, server_id: str) -> Exchange[TaskStatus]:
    export = yield from fetch
    return to_status(export, export_id=export_id, server_id=server_id)
