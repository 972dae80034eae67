"""MEF Center edge manager: log dump tasks and the ``edgeNodes.tar.gz`` download.

Each behaviour follows the MEF sources (Ascend/MEF, ``src/mef-center``) and the product's API
reference (hiascend ``mefapiref_0040``-``0044``); ``docs/fidelity.md`` has a row per behaviour:

* one dump at a time: the dump pool has one worker and no queue, so a create call while a dump
  runs fails in ``SubmitTask`` with "task queue is full", which ``create_task_handler.go``
  answers with 40052002 in the envelope (HTTP 400, like every non-success envelope);
* a created dump is ``waiting`` only until the pool's free worker takes it (``goroutinepool.go``
  sets ``processing`` and ``startedAt``): here, until the emulated clock moves;
* while processing, the master task reports "receiving (k/n) files" at ``50*k/n`` percent as node
  dumps come back, then "start to create tar gz" at 50, then "task succeeded" at 100
  (``dump_multi_nodes_log.go``); a finished dump that is not a success keeps the last progress
  (GORM ``Updates`` skips zero fields) and its ``reason`` lists the failed nodes with their
  sub-task messages (``query_progress_handler.go``);
* a query of a task MEF does not know answers 40052002 "no such task"; a restart of MEF Center
  deletes every task (``restart``);
* a dump that overruns its execute timeout goes ``aborting`` for the graceful-shutdown period
  and then ``failed`` (``taskschedule/context_impl.go``, ``tasks/tasks.go``);
* starting a dump deletes the previous archive; the download serves the latest finished one as
  gin's ``Context.File`` (Go's ``http.ServeFile``) does: ``Last-Modified``, conditional requests
  and byte ranges (``emulator/servefile.py``), and answers HTTP 400 with the JSON string
  "file is abnormal" when there is none (``download_server.go``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from airflow_provider.emulator.archive import fake_log, tar_gz
from airflow_provider.emulator.responses import json_response, mef_error, mef_ok
from airflow_provider.emulator.runtime import Runtime, TimedTask
from airflow_provider.emulator.servefile import serve_content
from airflow_provider.emulator.services.common import json_body
from airflow_provider.emulator.timefmt import go_rfc3339_nano

if TYPE_CHECKING:
    from airflow_provider.emulator.state import EmulatorState

PREFIX = "/edgemanager/v1/logmgmt/dump"
FILE_NAME = "edgeNodes.tar.gz"
#: The share of a dump spent receiving the node dumps; the rest creates the tar.gz. MEF's own
#: timing depends on the nodes: this split is the emulator's.
RECEIVING_FRACTION = 0.8
#: ``progressStartCreateTarGz`` (dump_multi_nodes_log.go): receiving fills 0-50, the tar.gz starts at 50.
TAR_GZ_PROGRESS = 50
#: What a node's failed sub-task reports when its edge did not take the dump request
#: (``dump_single_node_log.go``), listed per node in the master task's ``reason``.
NODE_FAILURE = "failed to send message to edge"
#: The archive is renamed into place, then the task is marked finished (dump_multi_nodes_log.go).
ARCHIVE_WRITTEN_BEFORE_FINISH = 0.5
_TASK_ID = re.compile(r"^dumpMultiNodesLog[-_a-zA-Z0-9.]{1,128}$")
_MAX_NODE = 2**32 - 1
#: ``dumpMultiNodesLogTaskGracefulShutdownTimeout`` (tasks/tasks.go): how long a dump stays
#: ``aborting`` after its execute timeout before it is failed.
GRACEFUL_SHUTDOWN_SECONDS = 5 * 60.0
#: What a dump that went through ``aborting`` reports as its reason: the error
#: ``dumpMultiNodesLog`` returns when the node dumps were cut short (dump_multi_nodes_log.go).
ABORTED_REASON = "failed to dump edge logs"


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

    @property
    def finished_at(self) -> float:
        extra = GRACEFUL_SHUTDOWN_SECONDS if self.outcome == "abort" else 0.0
        return self.created + self.duration + extra

    def finished(self, now: float) -> bool:
        return now >= self.finished_at

    def status(self, now: float) -> str:
        if self.finished(now):
            return {"succeed": "succeed", "fail": "failed", "partial": "partiallyFailed", "abort": "failed"}[
                self.outcome
            ]
        if now <= self.created:
            return "waiting"  # until the pool's worker takes it: the next instant
        return "processing" if now < self.created + self.duration else "aborting"


class EdgeManagerService:
    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime
        self.nodes: set[int] = set()
        self.tasks: dict[str, DumpTask] = {}
        self.latest: DumpTask | None = None
        self._archive: bytes | None = None

    def restart(self) -> int:
        """MEF Center restarted: every task is deleted, and with them the archive (mefapiref_0040)."""
        with self.rt.lock:
            dropped = len(self.tasks)
            self.tasks.clear()
            self.latest = None
            self._archive = None
            return dropped

    def add_nodes(self, ids: list[int]) -> None:
        with self.rt.lock:
            self.nodes.update(ids)

    def create(self, nodes: list[int]) -> DumpTask | Response:
        now = self.rt.clock.now()
        with self.rt.lock:
            missing = [n for n in nodes if n not in self.nodes]
            if missing:
                # create_task_handler.go: every unknown id, joined by "," (from a set: no order promised).
                return mef_error("40051002", f"node ({','.join(str(n) for n in sorted(missing))}) not found")
            if self.latest is not None and not self.latest.finished(now):
                return mef_error("40052002", "task queue is full")
            plan = self.rt.next_plan("edge")
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

    def progress(self, task: DumpTask, now: float) -> tuple[int, str]:
        """The master task's ``progress`` and ``message`` at ``now`` (dump_multi_nodes_log.go)."""
        if (now <= task.created and task.duration > 0) or task.outcome == "abort":
            return 0, ""  # nothing received yet; an aborted dump got no node's answer
        nodes = len(task.nodes)
        receiving = task.duration * (1.0 if task.outcome == "fail" else RECEIVING_FRACTION)
        elapsed = min(now, task.created + task.duration) - task.created
        received = nodes if receiving <= 0 else min(nodes, int(nodes * elapsed / receiving))
        if elapsed < receiving and received < nodes:
            if received == 0:
                return 0, ""
            return TAR_GZ_PROGRESS * received // nodes, f"receiving ({received}/{nodes}) files"
        if task.outcome == "fail":
            return TAR_GZ_PROGRESS, f"receiving ({nodes}/{nodes}) files"
        return TAR_GZ_PROGRESS, "start to create tar gz"

    def view(self, task: DumpTask) -> dict[str, Any]:
        now = self.rt.clock.now()
        status = task.status(now)
        progress, reason = self.progress(task, now)
        if status == "succeed":
            progress, reason = 100, "task succeeded"
        elif status in ("failed", "partiallyFailed"):
            failed = task.failed_nodes
            if task.outcome == "abort":
                reason = ABORTED_REASON
            elif failed:
                # query_progress_handler.go: one "(<node id>)<message>" per failed node, joined by ";".
                reason = "failed to dump log for following nodes:" + ";".join(f"({n}){NODE_FAILURE}" for n in failed)
        downloadable = status in ("succeed", "partiallyFailed")
        return {
            "createdAt": go_rfc3339_nano(task.created),
            "data": {"fileName": FILE_NAME} if downloadable else None,
            "finishedAt": go_rfc3339_nano(task.finished_at) if task.finished(now) else None,
            "progress": progress,
            "reason": reason,
            "startedAt": None if status == "waiting" else go_rfc3339_nano(task.created),
            "status": status,
            "taskId": task.id,
        }

    def archive(self) -> tuple[bytes, float] | None:
        """The latest finished dump's archive and when it was written, if there is one."""
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
            # Written (and renamed into place) just before the task is marked finished.
            return self._archive, max(task.created, task.finished_at - ARCHIVE_WRITTEN_BEFORE_FINISH)


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
        # create_task_handler.go answers every argument problem with ErrorParamConvert (00001006):
        # "parse content failed" when the body does not decode, "check request failed, <reason>"
        # when the checkers (checkers.go) refuse it.
        if not isinstance(body, dict):
            return mef_error("00001006", "parse content failed")
        # Go's encoding/json matches field names case-insensitively.
        lowered = {str(k).lower(): v for k, v in body.items()}
        if lowered.get("module") != "edgeNode":
            return mef_error("00001006", "check request failed, Module is not in the choices [edgeNode]")
        nodes = _valid_nodes(lowered.get("edgenodes"))
        if nodes is None:
            return mef_error("00001006", "check request failed, EdgeNodes must be 1-100 unique ids in [1, 4294967295]")
        result = state.edge.create(nodes)
        if isinstance(result, Response):
            return result
        return mef_ok({"taskId": result.id})

    @router.get(PREFIX + "/task/")
    async def query_task_with_slash(request: Request) -> Response:
        # Only ".../task" is routed; gin.New() redirects a trailing slash (RedirectTrailingSlash,
        # 301 for GET) to the path without it, query kept.
        target = PREFIX + "/task" + (f"?{request.url.query}" if request.url.query else "")
        return Response(status_code=301, headers={"Location": target})

    @router.get(PREFIX + "/task")
    async def query_task(request: Request) -> Response:
        task_id = request.query_params.get("taskId", "")
        if not _TASK_ID.match(task_id):
            return mef_error("00001006", "invalid task Id")
        task = state.edge.tasks.get(task_id)
        if task is None:
            return mef_error("40052002", "no such task")
        return mef_ok(state.edge.view(task))

    @router.get(PREFIX + "/download/" + FILE_NAME)
    async def download(request: Request) -> Response:
        found = state.edge.archive()
        if found is None:
            return json_response("file is abnormal", 400)
        content, written = found
        # http.ServeFile: Last-Modified from the file's mtime, conditional requests and ranges; the
        # type sniffed from the content (Go's DetectContentType reads gzip as application/x-gzip).
        return serve_content(request.headers, request.method, content, written, "application/x-gzip")

    return router
