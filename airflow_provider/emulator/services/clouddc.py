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

    def status(self, now: float, form: str, failure: str = "failed") -> str:
        """``form`` while running: "Running" (the API reference example) or "processing" (docs). The docs list
        no failure value (only processing and completed), so ``failure`` (a quirk) is either a
        word or "stalled": the export never ends and keeps saying it is running."""
        if not self.finished(now) or (self.outcome == "fail" and failure == "stalled"):
            return form
        return failure if self.outcome == "fail" else "completed"


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
            # The doc example's export_id is "1": a sequence per emulator, or (a quirk) an opaque id.
            export = Export(
                id=str(self._next_id) if self.rt.quirks.clouddc_export_id == "sequential" else self.rt.uuid(),
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
        status = export.status(now, quirks.clouddc_status, quirks.clouddc_failure)
        if status == "completed":
            percent = 100
        elif export.outcome == "fail" and status != quirks.clouddc_status and quirks.clouddc_failed_percentage == "100":
            percent = 100  # no source gives a failed export's percentage: this form reports it done
        elif export.outcome == "fail":
            # a failed (or stalled) export stops where it broke, at 60% of the way
            percent = int(min(export.fraction(now), 0.6) * 100)
        else:
            percent = min(99, int(export.fraction(now) * 100))
        return {
            "export_id": export.id,
            "status": status,
            # String "30%" (SDK docstring, seed) or Integer (one version of the doc's table).
            "percentage": percent if quirks.clouddc_percentage == "int" else f"{percent}%",
            "created_at": iso_seconds(export.created, quirks.clouddc_created_at),
        }


def build_router(state: EmulatorState) -> APIRouter:
    router = APIRouter()

    # The docs list only 401, 429 and 500 error bodies ({error_code, error_msg}); an unknown
    # project, server or export and a download before completion have no documented answer: the
    # clouddc_errors quirk sends 404/400 or the documented 500, with the emulator's own codes.
    def refuse(status: int, code: str, message: str) -> Response:
        if state.runtime.quirks.clouddc_errors == "500":
            return cloud_error(500, "CLOUDDC.0500", message)
        return cloud_error(status, code, message)

    def not_found(project_id: str, server_id: str) -> Response | None:
        if project_id != state.config.identities.project_id:
            return refuse(404, "CLOUDDC.0404", f"project {project_id} not found")
        if server_id not in state.clouddc.servers:
            return refuse(404, "CLOUDDC.0404", f"physical server {server_id} not found")
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
            return refuse(404, "CLOUDDC.0404", f"log export {export_id} not found")
        return json_response(state.clouddc.view(export))

    @router.get(PREFIX + "/{export_id}/content")
    async def download(project_id: str, server_id: str, export_id: str) -> Response:
        error = not_found(project_id, server_id)
        if error is not None:
            return error
        export = state.clouddc.exports.get((server_id, export_id))
        if export is None:
            return refuse(404, "CLOUDDC.0404", f"log export {export_id} not found")
        now = state.runtime.clock.now()
        if export.status(now, "processing", "failed") != "completed":
            return refuse(400, "CLOUDDC.0400", f"log export {export_id} is not completed")
        content = tar_gz({f"{server_id}-bmc.log": fake_log(server_id, 50, export.created)}, export.finished_at)
        return Response(
            content=content,
            media_type="application/octet-stream;charset=UTF-8",
            # DownloadServerLogs doc; the SDK's DownloadServerLogsResponse reads these three headers.
            headers={
                "Content-Disposition": f"attachment; filename={server_id}-dump.tar.gz",
                "Content-Transfer-Encoding": "binary",
            },
        )

    return router
