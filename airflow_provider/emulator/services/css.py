"""CSS cluster log backups: ``logs/collect`` (no id back) and ``logs/records`` (newest first)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from airflow_provider.emulator.responses import css_error, json_response
from airflow_provider.emulator.runtime import Runtime, TimedTask
from airflow_provider.emulator.services.common import int_param
from airflow_provider.emulator.timefmt import epoch_ms

if TYPE_CHECKING:
    from airflow_provider.emulator.state import EmulatorState

PREFIX = "/v1.0/{project_id}/clusters/{cluster_id}/logs"
FAILED_MSG = "Failed to back up logs: the OBS bucket is not accessible with the agency"


@dataclass
class LogRecord(TimedTask):
    cluster_id: str = ""
    job_id: str = ""
    job_types: str = "Manual"
    log_path: str = ""

    def status(self, now: float) -> str:
        if not self.finished(now):
            return "RUNNING"
        return "FAIL" if self.outcome == "fail" else "SUCCESS"


@dataclass
class Cluster:
    id: str
    log_backup: bool = True
    records: list[LogRecord] = field(default_factory=list)


class CssService:
    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime
        self.clusters: dict[str, Cluster] = {}

    def add_cluster(self, cluster_id: str, *, log_backup: bool = True) -> Cluster:
        with self.rt.lock:
            cluster = Cluster(cluster_id, log_backup)
            self.clusters[cluster_id] = cluster
            return cluster

    def start_backup(self, cluster: Cluster, *, job_types: str = "Manual", started_ago: float = 0.0) -> LogRecord:
        with self.rt.lock:
            plan = self.rt.next_plan("css")
            record = LogRecord(
                id=self.rt.uuid(),
                created=self.rt.clock.now() - started_ago,
                duration=plan.duration,
                outcome=plan.outcome,
                cluster_id=cluster.id,
                job_id=self.rt.hex_id(32),
                job_types=job_types,
                log_path=f"css-backup-{epoch_ms(self.rt.clock.now())}/css/log",
            )
            cluster.records.append(record)
            return record

    def view(self, record: LogRecord, now: float) -> dict[str, Any]:
        status = record.status(now)
        created = epoch_ms(record.created)
        return {
            "id": record.id,
            "clusterId": record.cluster_id,
            "createAt": str(created) if self.rt.quirks.css_create_at == "string" else created,
            "logPath": record.log_path,
            "status": status,
            "finishedAt": None if status == "RUNNING" else epoch_ms(record.finished_at),
            "jobTypes": record.job_types,
            "failedMsg": FAILED_MSG if status == "FAIL" else None,
            "jobId": record.job_id,
        }


def build_router(state: EmulatorState) -> APIRouter:
    router = APIRouter()

    def find(project_id: str, cluster_id: str) -> Cluster | Response:
        if project_id != state.config.identities.project_id:
            return css_error(403, "CSS.0003", f"project {project_id} does not match the credentials")
        cluster = state.css.clusters.get(cluster_id)
        if cluster is None:
            return css_error(404, "CSS.0015", f"cluster {cluster_id} does not exist")
        return cluster

    @router.post(PREFIX + "/collect")
    async def collect(project_id: str, cluster_id: str) -> Response:
        cluster = find(project_id, cluster_id)
        if isinstance(cluster, Response):
            return cluster
        if not cluster.log_backup:
            return css_error(412, "CSS.0032", "log backup is not enabled for this cluster")
        now = state.runtime.clock.now()
        if any(r.status(now) == "RUNNING" for r in cluster.records):
            return css_error(409, "CSS.0033", "a log backup task is already running for this cluster")
        state.css.start_backup(cluster)
        return Response(status_code=200)

    @router.post(PREFIX + "/open")
    async def open_logs(project_id: str, cluster_id: str) -> Response:
        cluster = find(project_id, cluster_id)
        if isinstance(cluster, Response):
            return cluster
        cluster.log_backup = True
        return Response(status_code=200)

    @router.post(PREFIX + "/close")
    async def close_logs(project_id: str, cluster_id: str) -> Response:
        cluster = find(project_id, cluster_id)
        if isinstance(cluster, Response):
            return cluster
        cluster.log_backup = False
        return Response(status_code=200)

    @router.get(PREFIX + "/records")
    async def records(project_id: str, cluster_id: str, request: Request) -> Response:
        cluster = find(project_id, cluster_id)
        if isinstance(cluster, Response):
            return cluster
        params = request.query_params
        # The seed names the paging parameter ``start``; the newer docs and the SDK say ``offset``.
        start = int_param(params.get("start", params.get("offset")), 1, 0, 1000)
        limit = int_param(params.get("limit"), 10, 1, 1000)
        status_filter = params.get("status") or None
        if start is None or limit is None or status_filter not in (None, "FAIL", "NOT_FAIL"):
            return css_error(400, "CSS.0001", "invalid start/offset, limit or status")
        now = state.runtime.clock.now()
        with state.runtime.lock:
            newest_first = state.runtime.quirks.css_record_order == "newest_first"
            items = sorted(cluster.records, key=lambda r: r.created, reverse=newest_first)
        if status_filter is not None:
            want_fail = status_filter == "FAIL"
            items = [r for r in items if (r.status(now) == "FAIL") == want_fail]
        first = max(start, 1) - 1
        page = [state.css.view(r, now) for r in items[first : first + limit]]
        return json_response({"clusterLogRecord": page, "totalSize": len(items)})

    return router
