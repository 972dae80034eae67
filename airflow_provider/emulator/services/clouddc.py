"""CloudDC physical-server log export: start (202), status with ``"NN%"``, download."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from starlette.responses import Response, StreamingResponse

from airflow_provider.emulator.archive import fake_log, tar_gz
from airflow_provider.emulator.responses import cloud_error, json_response
from airflow_provider.emulator.runtime import Runtime, TimedTask
from airflow_provider.emulator.timefmt import iso_seconds

if TYPE_CHECKING:
    from collections.abc import Iterator

    from airflow_provider.emulator.state import EmulatorState

PREFIX = "/v1/{project_id}/physicalservers/{server_id}/logs/exports"
_ZEROS = bytes(1 << 20)


class PaddedArchive:
    """A download body: the archive, then zero bytes up to ``size`` (``--download-bytes``; gzip
    readers skip zero padding after the last member), streamed without holding it in memory.

    :param content: the archive.
    :param size: the body's length; at least the archive's.
    """

    def __init__(self, content: bytes, size: int) -> None:
        self.content = content
        self.size = max(len(content), size)
        self.etag = '"' + hashlib.sha256(content).hexdigest()[:32] + f'-{self.size}"'

    def range_start(self, range_header: str | None, if_range: str | None) -> int:
        """The first byte a ``Range: bytes=N-`` asks for (0: the whole body). A ``Range`` whose
        ``If-Range`` names another version, or that the body cannot satisfy, gets the whole body."""
        if not range_header or (if_range is not None and if_range != self.etag):
            return 0
        unit, _, spec = range_header.partition("=")
        first, dash, _last = spec.partition("-")
        if unit.strip() != "bytes" or not dash or not first.strip().isdigit():
            return 0
        start = int(first)
        return start if start < self.size else 0

    def chunks(self, start: int) -> Iterator[bytes]:
        position = start
        if position < len(self.content):
            yield self.content[position:]
            position = len(self.content)
        while position < self.size:
            piece = min(len(_ZEROS), self.size - position)
            yield _ZEROS if piece == len(_ZEROS) else _ZEROS[:piece]
            position += piece


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


class CloudDCService:
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
    async def download(project_id: str, server_id: str, export_id: str, request: Request) -> Response:
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
        # DownloadServerLogs doc; the SDK's DownloadServerLogsResponse reads these three headers.
        headers = {
            "Content-Disposition": f"attachment; filename={server_id}-dump.tar.gz",
            "Content-Transfer-Encoding": "binary",
        }
        body = PaddedArchive(content, state.config.download_bytes)
        first = 0
        if state.runtime.quirks.clouddc_download_range == "bytes":
            headers.update({"Accept-Ranges": "bytes", "ETag": body.etag})
            first = body.range_start(request.headers.get("range"), request.headers.get("if-range"))
        status = 200
        if first:
            status = 206
            headers["Content-Range"] = f"bytes {first}-{body.size - 1}/{body.size}"
        headers["Content-Length"] = str(body.size - first)
        return StreamingResponse(
            body.chunks(first), status_code=status, media_type="application/octet-stream;charset=UTF-8", headers=headers
        )

    return router
