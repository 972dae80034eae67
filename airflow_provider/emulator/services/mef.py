"""MEF Center edge manager: log dump tasks and the ``edgeNodes.tar.gz`` download.

Only one dump task runs at a time, errors come back in the MEF envelope with HTTP 400,
and starting a task discards the previous archive, as the product documents.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from airflow_provider.emulator.archive import fake_log, tar_gz
from airflow_provider.emulator.responses import mef_error, mef_ok
from airflow_provider.emulator.runtime import Runtime, TimedTask
from airflow_provider.emulator.services.common import json_body
from airflow_provider.emulator.timefmt import go_rfc3339_nano

if TYPE_CHECKING:
    from airflow_provider.emulator.state import EmulatorState

PREFIX = "/edgemanager/v1/logmgmt/dump"
FILE_NAME = "edgeNodes.tar.gz"
WAITING_FRACTION = 0.1
_TASK_ID = re.compile(r"^dumpMultiNodesLog[-_a-zA-Z0-9.]{1,128}$")
_MAX_NODE = 2**32 - 1


@dataclass
class DumpTask(TimedTask):
    nodes: list[int] = field(default_factory=list)

    @property
    def failed_nodes(self) -> list[int]:
        if self.outcome == "fail":
            return list(self.nodes)
        if self.outcome == "partial":
            return self.nodes[(len(self.nodes) + 1) // 2 :]
        return []

    def status(self, now: float) -> str:
        fraction = self.fraction(now)
        if fraction < WAITING_FRACTION and not self.finished(now):
            return "waiting"
        if not self.finished(now):
            return "processing"
        return {"succeed": "succeed", "fail": "failed", "partial": "partiallyFailed"}[self.outcome]


class MefService:
    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime
        self.nodes: set[int] = set()
        self.tasks: dict[str, DumpTask] = {}
        self.latest: DumpTask | None = None
        self._archive: bytes | None = None

    def add_nodes(self, ids: list[int]) -> None:
        with self.rt.lock:
            self.nodes.update(ids)

    def create(self, nodes: list[int]) -> DumpTask | Response:
        now = self.rt.clock.now()
        with self.rt.lock:
            missing = [n for n in nodes if n not in self.nodes]
            if missing:
                return mef_error("40051002", f"node ({missing[0]}) not found")
            if self.latest is not None and not self.latest.finished(now):
                return mef_error("40052001", "log dump busy, only one task can run at a time")
            plan = self.rt.next_plan("mef")
            task = DumpTask(
                id="dumpMultiNodesLog." + self.rt.hex_id(24),
                created=now,
                duration=plan.duration,
                outcome=plan.outcome,
                nodes=list(nodes),
            )
            self.tasks[task.id] = task
            self.latest = task
            self._archive = None
            return task

    def view(self, task: DumpTask) -> dict[str, Any]:
        now = self.rt.clock.now()
        status = task.status(now)
        started = task.created + task.duration * WAITING_FRACTION
        if status == "waiting":
            progress, reason = 0, "task is waiting"
        elif status == "processing":
            progress, reason = min(99, int(task.fraction(now) * 100)), "task is processing"
        elif status == "succeed":
            progress, reason = 100, "task succeeded"
        else:
            progress = 100
            reason = "failed to dump log for following nodes:" + "".join(
                f"({n})dump log timeout;" for n in task.failed_nodes
            )
        downloadable = status in ("succeed", "partiallyFailed")
        return {
            "createdAt": go_rfc3339_nano(task.created),
            "data": {"fileName": FILE_NAME} if downloadable else None,
            "finishedAt": go_rfc3339_nano(task.finished_at) if task.finished(now) else None,
            "progress": progress,
            "reason": reason,
            "startedAt": None if status == "waiting" else go_rfc3339_nano(started),
            "status": status,
            "taskId": task.id,
        }

    def archive(self) -> bytes | None:
        now = self.rt.clock.now()
        with self.rt.lock:
            task = self.latest
            if task is None or task.status(now) not in ("succeed", "partiallyFailed"):
                return None
            if self._archive is None:
                failed = set(task.failed_nodes)
                files = {
                    f"edge-node-{n}.log": fake_log(f"edge-node-{n}", 20, task.created)
                    for n in task.nodes
                    if n not in failed
                }
                self._archive = tar_gz(files, task.finished_at)
            return self._archive


def _valid_nodes(value: Any) -> list[int] | None:
    if not isinstance(value, list) or not 1 <= len(value) <= 100:
        return None
    if any(isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= _MAX_NODE for n in value):
        return None
    if len(set(value)) != len(value):
        return None
    return value


def build_router(state: EmulatorState) -> APIRouter:
    router = APIRouter()

    @router.post(PREFIX + "/task")
    async def create_task(request: Request) -> Response:
        body = await json_body(request)
        if not isinstance(body, dict):
            return mef_error("00001006", "parameter convert error")
        # MEF documents JSON parameter names as case-insensitive.
        lowered = {str(k).lower(): v for k, v in body.items()}
        if lowered.get("module") != "edgeNode":
            return mef_error("00001005", "invalid parameter: module must be edgeNode")
        nodes = _valid_nodes(lowered.get("edgenodes"))
        if nodes is None:
            return mef_error("00001005", "invalid parameter: edgeNodes must be 1-100 unique ids in [1, 2^32-1]")
        result = state.mef.create(nodes)
        if isinstance(result, Response):
            return result
        return mef_ok({"taskId": result.id})

    @router.get(PREFIX + "/task")
    @router.get(PREFIX + "/task/")
    async def query_task(request: Request) -> Response:
        task_id = request.query_params.get("taskId", "")
        if not _TASK_ID.match(task_id):
            return mef_error("00001006", "invalid task Id")
        task = state.mef.tasks.get(task_id)
        if task is None:
            return mef_error("40052002", f"log dump business error: task {task_id} not found")
        return mef_ok(state.mef.view(task))

    @router.get(PREFIX + "/download/" + FILE_NAME)
    async def download() -> Response:
        content = state.mef.archive()
        if content is None:
            return mef_error("40052002", "no log file to download: no task finished with logs")
        return Response(
            content=content,
            media_type="application/octet-stream",
            headers={"Content-Disposition": f"attachment; filename={FILE_NAME}"},
        )

    return router
