"""CloudDC physical-server log export: start (202), status with ``"NN%"``, download."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter
from starlette.responses import Response

from airflow_provider.emulator.archive import fake_log, tar_gz
from airflow_provider.emulator.responses import cloud_error, json_response
from airflow_provider.emulator.runtime import Runtime, TimedTask
from airflow_provider.emulator.timefmt import iso_seconds

if TYPE_CHECKING:
    from airflow_provider.emulator.state import EmulatorState

PREFIX = "/v1/{project_id}/physicalservers/{server_id}/logs/exports"


@dataclass
class Export(TimedTask):
    server_id: str = ""

    def status(self, now: float, form: str) -> str:
        if not self.finished(now):
            return form  # "Running" (seed example) or "processing" (Chinese docs)
        # No failure value is documented; "failed" is the emulator's guess for a failed export.
        return "failed" if self.outcome == "fail" else "completed"


class CloudDcService:
    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime
        self.servers: set[str] = set()
        self.exports: dict[tuple[str, str], Export] = {}
        self._next_id = 1

    def add_server(self, server_id: str) -> None:
        with self.rt.lock:
            self.servers.add(server_id)

    def start(self, server_id: str) -> Export:
        with self.rt.lock:
            plan = self.rt.next_plan("clouddc")
            export = Export(
                id=str(self._next_id),
                created=self.rt.clock.now(),
                duration=plan.duration,
                outcome=plan.outcome,
                server_id=server_id,
            )
            self._next_id += 1
            self.exports[(server_id, export.id)] = export
            return export

    def view(self, export: Export) -> dict[str, Any]:
        now = self.rt.clock.now()
        quirks = self.rt.quirks
        status = export.status(now, quirks.clouddc_status)
        if status == "completed":
            percent = 100
        elif status == "failed":
            percent = int(export.fraction(now) * 60)
        else:
            percent = min(99, int(export.fraction(now) * 100))
        return {
            "export_id": export.id,
            "status": status,
            "percentage": f"{percent}%",
            "created_at": iso_seconds(export.created, quirks.clouddc_created_at),
        }


def build_router(state: EmulatorState) -> APIRouter:
    router = APIRouter()

    def not_found(project_id: str, server_id: str) -> Response | None:
        if project_id != state.config.identities.project_id:
            return cloud_error(404, "CLOUDDC.0404", f"project {project_id} not found")
        if server_id not in state.clouddc.servers:
            return cloud_error(404, "CLOUDDC.0404", f"physical server {server_id} not found")
        return None

    @router.post(PREFIX)
    async def export_logs(project_id: str, server_id: str) -> Response:
        error = not_found(project_id, server_id)
        if error is not None:
            return error
        export = state.clouddc.start(server_id)
        return json_response(state.clouddc.view(export), 202)

    @router.get(PREFIX + "/{export_id}")
    async def export_status(project_id: str, server_id: str, export_id: str) -> Response:
        error = not_found(project_id, server_id)
        if error is not None:
            return error
        export = state.clouddc.exports.get((server_id, export_id))
        if export is None:
            return cloud_error(404, "CLOUDDC.0404", f"log export {export_id} not found")
        return json_response(state.clouddc.view(export))

    @router.get(PREFIX + "/{export_id}/content")
    async def download(project_id: str, server_id: str, export_id: str) -> Response:
        error = not_found(project_id, server_id)
        if error is not None:
            return error
        export = state.clouddc.exports.get((server_id, export_id))
        if export is None:
            return cloud_error(404, "CLOUDDC.0404", f"log export {export_id} not found")
        now = state.runtime.clock.now()
        if export.status(now, "processing") != "completed":
            return cloud_error(400, "CLOUDDC.0400", f"log export {export_id} is not completed")
        content = tar_gz({f"{server_id}-bmc.log": fake_log(server_id, 50, export.created)}, export.finished_at)
        return Response(
            content=content,
            media_type="application/octet-stream;charset=UTF-8",
            headers={
                "Content-Disposition": f"attachment; filename={server_id}-dump.tar.gz",
                "Content-Transfer-Encoding": "binary",
            },
        )

    return router
