"""DCS Redis run logs: collect (``CreateRedislog``), list (``ListRedislog``), download link.

Shapes from the SDK (``DcsClient.create_redislog``, ``list_redislog``,
``create_redislog_download_link``; ``RunlogItem``, ``CreateRedislogDownloadLinkResponse``) and the
API pages (CreateRedislog, ListRedislog: 204 when no log exists):

* ``POST .../redislog?query_time=0|1|3|7&log_type=run&replication_id=`` answers 204 with no body;
  ``replication_id`` is mandatory unless the instance is single-node (the emulated instances are);
* ``GET .../redislog?offset&limit&log_type=run`` lists ``{total_num, file_list[RunlogItem]}``;
* ``POST .../redislog/{id}/links`` answers ``{id, backup_id, link}``, ``backup_id`` being a
  background task id and the link valid for 24 hours (SDK docstrings).

No source says which background task a collection shows, or when its log is listed: quirk
``dcs_redislog_task``. ``listed``: the collection is a background task (``CollectRedisRunLog``,
the emulator's name) and its log is listed once the task ends; ``unlisted``: no task is listed
and the log appears once collected. The link is a pre-signed URL in reality (an OBS object); here
the emulator serves it under ``/_emulator/links/`` with an expiry and a signature.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from airflow_provider.emulator.archive import fake_log, tar_gz
from airflow_provider.emulator.responses import dcs_error, json_response
from airflow_provider.emulator.services.common import int_param
from airflow_provider.emulator.services.dcs import BackgroundTask

if TYPE_CHECKING:
    from airflow_provider.emulator.state import EmulatorState

PREFIX = "/v2/{project_id}/instances/{instance_id}/redislog"
LINK_PREFIX = "/_emulator/links/redislog"
TASK_NAME = "CollectRedisRunLog"
QUERY_TIMES = ("0", "1", "3", "7")
LINK_SECONDS = 24 * 3600
_LINK_KEY = b"emulator-redislog-links"


@dataclass
class RunLog:
    """One collection: listed once ``ready_at`` passed (emulated clock)."""

    id: str
    instance_id: str
    requested: float
    ready_at: float
    backup_id: str
    task: BackgroundTask | None
    query_time: int

    def item(self) -> dict[str, Any]:
        day = time.strftime("%Y-%m-%d", time.gmtime(self.requested))
        return {
            "id": self.id,
            "file_name": f"redis-run-{day}-{self.id[:8]}.log",
            "group_name": "group-0",
            "replication_ip": "192.168.0.10",
            # No source enumerates RunlogItem.status: the emulator's word for a collected log.
            "status": "succeed",
            "time": day,
            "backup_id": self.backup_id,
        }


def _signature(path: str, expires: int) -> str:
    return hmac.new(_LINK_KEY, f"{path}\n{expires}".encode(), hashlib.sha256).hexdigest()


class RedislogStore:
    """The run logs collected on every instance (rebuilt with the emulator's state on reset)."""

    def __init__(self) -> None:
        self.logs: dict[str, RunLog] = {}


def build_router(state: EmulatorState) -> APIRouter:  # noqa: PLR0915 - one short handler per endpoint
    router = APIRouter()

    def instance(project_id: str, instance_id: str) -> Response | None:
        if project_id != state.config.identities.project_id:
            return dcs_error(401, "DCS.1004", "Project ID does not match the token.")
        if instance_id not in state.dcs.instances:
            return dcs_error(404, "DCS.3022", "This DCS instance does not exist.")
        return None

    def visible(instance_id: str) -> list[RunLog]:
        now = state.runtime.clock.now()
        with state.runtime.lock:
            mine = [
                log for log in state.redislog.logs.values() if log.instance_id == instance_id and now >= log.ready_at
            ]
        return sorted(mine, key=lambda log: log.requested, reverse=True)

    @router.post(PREFIX)
    async def collect(project_id: str, instance_id: str, request: Request) -> Response:
        error = instance(project_id, instance_id)
        if error is not None:
            return error
        params = request.query_params
        if params.get("log_type") != "run":
            return dcs_error(400, "DCS.4800", "log_type must be run")
        query_time = params.get("query_time") or "0"
        if query_time not in QUERY_TIMES:
            return dcs_error(400, "DCS.4800", "query_time must be one of 0, 1, 3, 7")
        rt = state.runtime
        now = rt.clock.now()
        task: BackgroundTask | None = None
        if rt.quirks.dcs_redislog_task == "listed":
            task = state.dcs.add_task(instance_id, name=TASK_NAME)
            ready = task.finished_at
            backup = task.id
        else:
            plan = rt.next_plan("dcs")
            ready, backup = now + plan.duration, rt.hex_id(32)
        with rt.lock:
            log = RunLog(rt.uuid(), instance_id, now, ready, backup, task, int(query_time))
            state.redislog.logs[log.id] = log
        return Response(status_code=204)

    @router.get(PREFIX)
    async def list_logs(project_id: str, instance_id: str, request: Request) -> Response:
        error = instance(project_id, instance_id)
        if error is not None:
            return error
        params = request.query_params
        offset = int_param(params.get("offset"), 0, 0, 100_000)
        limit = int_param(params.get("limit"), 10, 1, 1000)
        if params.get("log_type") != "run" or offset is None or limit is None:
            return dcs_error(400, "DCS.4800", "log_type must be run; offset >= 0, limit 1-1000")
        # A failed collection leaves no log (its background task says why).
        found = [log for log in visible(instance_id) if log.task is None or log.task.outcome != "fail"]
        if not found:
            return Response(status_code=204)  # "Queried successfully and no log is found."
        page = [log.item() for log in found[offset : offset + limit]]
        return json_response({"total_num": len(found), "file_list": page})

    @router.post(PREFIX + "/{log_id}/links")
    async def link(project_id: str, instance_id: str, log_id: str, request: Request) -> Response:
        error = instance(project_id, instance_id)
        if error is not None:
            return error
        log = state.redislog.logs.get(log_id)
        if log is None or log.instance_id != instance_id or log not in visible(instance_id):
            return dcs_error(404, "DCS.4001", "The requested URL does not exist.")
        path = f"{LINK_PREFIX}/{instance_id}/{log.id}"
        expires = int(time.time()) + LINK_SECONDS
        base = str(request.base_url).rstrip("/")
        url = f"{base}{path}?Expires={expires}&Signature={_signature(path, expires)}"
        return json_response({"id": log.id, "backup_id": log.backup_id, "link": url})

    @router.get(LINK_PREFIX + "/{instance_id}/{log_id}")
    async def download(instance_id: str, log_id: str, request: Request) -> Response:
        path = f"{LINK_PREFIX}/{instance_id}/{log_id}"
        expires = request.query_params.get("Expires", "")
        signature = request.query_params.get("Signature", "")
        if not expires.isdigit() or not hmac.compare_digest(signature, _signature(path, int(expires))):
            return Response(status_code=403, content=b"<Error><Code>SignatureDoesNotMatch</Code></Error>")
        if int(expires) < time.time():
            return Response(
                status_code=403, content=b"<Error><Code>AccessDenied</Code><Message>expired</Message></Error>"
            )
        log = state.redislog.logs.get(log_id)
        if log is None:
            return Response(status_code=404, content=b"<Error><Code>NoSuchKey</Code></Error>")
        name = log.item()["file_name"]
        body = tar_gz({name: fake_log(f"redis-{instance_id[:8]}", 40, log.requested)}, log.ready_at)
        return Response(content=body, media_type="application/octet-stream")

    return router
