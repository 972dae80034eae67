"""DIS streams, their OBS transfer (dump) tasks, and the transfer-task log.

A dump task is continuous: while RUNNING it closes one dump period every
``durations.dis_period`` emulated seconds, and each closed period is one log entry.
A task planned to ``fail`` turns ERROR (or ABNORMAL, a quirk) after its duration and stops
producing periods; one planned ``partial`` fails every second period.

Error codes are the DIS error code appendix's (api-ref/source/appendix/error_codes.rst).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from airflow_provider.emulator.responses import cloud_error, json_response
from airflow_provider.emulator.runtime import Runtime, TimedTask
from airflow_provider.emulator.services.common import json_body
from airflow_provider.emulator.timefmt import epoch_ms

if TYPE_CHECKING:
    from airflow_provider.emulator.obs import ObsStore
    from airflow_provider.emulator.state import EmulatorState

STREAMS = "/v2/{project_id}/streams/{stream_name}/transfer-tasks"
SORT_KEYS = {
    "createTimeStr": "startTime",
    "startTime": "startTime",
    "endTime": "endTime",
    "state": "state",
    "records": "transferRecordsNum",
    "readRecords": "transferRecordsNum",
    "dataSize": "transferBytes",
}


@dataclass
class TransferTask(TimedTask):
    name: str = ""
    stream: str = ""
    period: float = 60.0
    runs: list[list[float | None]] = field(default_factory=list)
    descriptor: dict[str, Any] = field(default_factory=dict)
    #: How many periods' files were written to OBS (``DisService.publish``).
    published: int = 0

    def failed(self, now: float) -> bool:
        return self.outcome == "fail" and now >= self.finished_at

    def state(self, now: float, failed_state: str = "ERROR") -> str:
        if self.failed(now):
            return failed_state
        return "RUNNING" if self.runs and self.runs[-1][1] is None else "PAUSED"

    def period_failed(self, index: int) -> bool:
        """A ``partial`` task fails every second dump period (the OBS write of that period)."""
        return self.outcome == "partial" and index % 2 == 1

    def periods(self, now: float) -> list[tuple[float, float]]:
        horizon = min(now, self.finished_at) if self.outcome == "fail" else now
        out: list[tuple[float, float]] = []
        for start, stop in self.runs:
            assert start is not None
            end = horizon if stop is None else min(stop, horizon)
            k = 1
            while start + k * self.period <= end:
                out.append((start + (k - 1) * self.period, start + k * self.period))
                k += 1
        return out


@dataclass
class Stream:
    name: str
    stream_id: str
    tasks: dict[str, TransferTask] = field(default_factory=dict)


def _record_line(task: TransferTask, index: int, record: int) -> bytes:
    return f"{task.id} {task.stream} period {index:06d} record {record:06d}\n".encode()


def period_records(task: TransferTask, index: int) -> int:
    digest = hashlib.sha256(f"{task.id}:{index}".encode()).digest()
    return 20 + int.from_bytes(digest[:3], "big") % 200


def dump_file(task: TransferTask, index: int) -> bytes:
    """The text file a dump period wrote: one line per record (``destination_file_type`` text)."""
    return b"".join(_record_line(task, index, i) for i in range(period_records(task, index)))


def _partition(form: str, moment: float) -> str:
    """``yyyy/MM/dd/HH/mm`` (or a leading part of it) of ``moment``; "" for none (N/A)."""
    import time

    fields = {"yyyy": "%Y", "MM": "%m", "dd": "%d", "HH": "%H", "mm": "%M"}
    parts = [fields[p] for p in form.split("/") if p in fields]
    return time.strftime("/".join(parts), time.gmtime(moment)) if parts else ""


class DisService:
    def __init__(self, runtime: Runtime, obs: ObsStore | None = None) -> None:
        self.rt = runtime
        self.obs = obs
        self.streams: dict[str, Stream] = {}
        self.by_id: dict[str, TransferTask] = {}

    def add_stream(self, name: str, stream_id: str | None = None) -> Stream:
        with self.rt.lock:
            stream = Stream(name, stream_id or self.rt.alnum_id(19))
            self.streams[name] = stream
            return stream

    def add_task(
        self,
        stream: Stream,
        name: str,
        *,
        task_id: str | None = None,
        running: bool = True,
        started_ago: float = 0.0,
        descriptor: dict[str, Any] | None = None,
    ) -> TransferTask:
        with self.rt.lock:
            plan = self.rt.next_plan("dis")
            created = self.rt.clock.now() - started_ago
            # A task created through the API dumps every deliver_time_interval seconds ("User-defined
            # interval at which data is imported ... into OBS", Adding OBS Dump Tasks doc).
            interval = (descriptor or {}).get("deliver_time_interval")
            if isinstance(interval, int) and not isinstance(interval, bool) and interval > 0:
                period = float(interval)
            else:
                period = self.rt.config.durations.dis_period
            task = TransferTask(
                id=task_id or self.rt.alnum_id(19),
                created=created,
                # For a continuous task the plan's duration is the time to failure, if it fails.
                duration=plan.duration if plan.outcome == "fail" else float("inf"),
                outcome=plan.outcome,
                name=name,
                stream=stream.name,
                period=period,
                runs=[[created, None]] if running else [],
                descriptor=descriptor or {},
            )
            stream.tasks[name] = task
            self.by_id[task.id] = task
            return task

    def set_running(self, task: TransferTask, running: bool) -> None:
        now = self.rt.clock.now()
        with self.rt.lock:
            is_running = bool(task.runs) and task.runs[-1][1] is None
            if running and not is_running:
                task.runs.append([now, None])
            elif not running and is_running:
                task.runs[-1][1] = now

    def entries(self, task: TransferTask, now: float) -> list[dict[str, Any]]:
        """The log entries of every closed period; how a failed period shows is a quirk."""
        omit_failed = self.rt.quirks.dis_failed_period == "omitted"
        return [
            self.entry(task, i, start, end)
            for i, (start, end) in enumerate(task.periods(now))
            if not (omit_failed and task.period_failed(i))
        ]

    def entry(self, task: TransferTask, index: int, start: float, end: float) -> dict[str, Any]:
        records = period_records(task, index)
        start_ms = epoch_ms(start)
        return {
            "transferTaskId": task.id,
            # The seed's normal entry has state 0; no source gives a failed period's value.
            "state": 1 if task.period_failed(index) else 0,
            "destinationType": "OBS",
            "startTime": start_ms,
            "endTime": epoch_ms(end),
            # The size of the file the period wrote (``dump_file``).
            "transferBytes": records * len(_record_line(task, index, 0)),
            "transferRecordsNum": records,
            "transformRecordsNum": 0,
            "streamId": self.streams[task.stream].stream_id,
            "projectId": self.rt.config.identities.project_id,
            "transferFileName": f"{task.id}.{task.stream}.0.{start_ms + 10}",
            "num": 0,
        }

    def publish(self, task: TransferTask, now: float) -> None:
        """Write the file of every dumped period of ``task`` ended by ``now`` to OBS.

        The files land where the SDK's ``OBSDestinationDescriptorRequest.partition_format`` says:
        "obs_bucket_path/file_prefix/partition_format", the partition being the file's generation
        time (the period's end; in which time zone is the ``dis_obs_partition_zone`` quirk), named
        by the log entry's ``transferFileName``. Like CSS backups, a period's file is written when
        the period's end is first seen, before that call is answered.
        """
        descriptor = task.descriptor
        bucket = descriptor.get("obs_bucket_path")
        if self.obs is None or not isinstance(bucket, str) or not bucket:
            return
        with self.rt.lock:
            periods = task.periods(now)
            due = [i for i in range(task.published, len(periods)) if not task.period_failed(i)]
            task.published = len(periods)
        offset = 8 * 3600 if self.rt.quirks.dis_obs_partition_zone == "+08:00" else 0
        prefix = str(descriptor.get("file_prefix") or "").strip("/")
        partition = str(descriptor.get("partition_format") or "")
        for index in due:
            start, end = periods[index]
            name = self.entry(task, index, start, end)["transferFileName"]
            folder = _partition(partition, end + offset)
            key = "/".join(part for part in (prefix, folder, name) if part)
            self.obs.put(bucket, key, dump_file(task, index))

    def describe(self, task: TransferTask) -> dict[str, Any]:
        now = self.rt.clock.now()
        periods = task.periods(now)
        last = periods[-1][1] if periods else task.created
        shown: dict[str, Any] = {
            "task_name": task.name,
            "task_id": task.id,
            "destination_type": "OBS",
            "state": task.state(now, self.rt.quirks.dis_failed_task_state),
            "create_time": epoch_ms(task.created),
            "last_transfer_timestamp": epoch_ms(last),
        }
        if self.rt.quirks.dis_task_id_in_list == "absent":
            del shown["task_id"]
        return shown


def _page(body: dict[str, Any], accepted: str) -> tuple[int, int] | None:
    """``pageInfo`` as the doc's table has it (an object with pageIndex and pageTotal) or as its
    example request sends it (an array); which one the real service takes is the quirk."""
    info = body.get("pageInfo")
    if info is None:
        # pageInfo is optional and pageTotal defaults to 10 (the doc's table); with no pageInfo
        # the first page is the reading the table allows.
        return 1, 10
    if accepted != "both" and isinstance(info, list) != (accepted == "array"):
        return None
    if isinstance(info, list):
        # The doc's example sends [{"pageIndex": 1}, {"pageIndex": 10}]: index, then size.
        values = [item.get("pageIndex") for item in info if isinstance(item, dict)]
        index = values[0] if values else 1
        size = values[1] if len(values) > 1 else 10
    elif isinstance(info, dict):
        # pageIndex is mandatory, pageTotal defaults to 10 (the doc's table).
        index, size = info.get("pageIndex"), info.get("pageTotal", 10)
    else:
        return None
    if not isinstance(index, int) or not isinstance(size, int) or index < 1 or size < 1:
        return None
    return index, size


NO_STREAM = "DIS.4301", "The stream does not exist."
NO_TASK = "DIS.4354", "The transfer task does not exist."
#: The code table's "Invalid request. %s": the %s filled with what is wrong (the emulator's words).
BAD_REQUEST = "DIS.4200", "Invalid request."


def bad_request(detail: str) -> tuple[str, str]:
    return BAD_REQUEST[0], f"{BAD_REQUEST[1]} {detail}"


def build_router(state: EmulatorState) -> APIRouter:  # noqa: PLR0915 - one short handler per endpoint
    router = APIRouter()

    def dis_error(status: int, code: str, message: str) -> Response:
        return cloud_error(status, code, message)

    def log_error(code: str, message: str) -> Response:
        """The transfertasklog doc has only a 200 body whose ``message`` carries "the details of the
        error"; every other DIS API answers 400 with error_code/error_msg: the quirk picks."""
        if state.runtime.quirks.dis_log_errors == "status":
            return dis_error(400, code, message)
        return json_response({"errorCode": code, "totalNum": 0, "message": message, "transferTaskLogList": None}, 200)

    @router.post("/v1/transfertasklog/{task_id}")
    async def transfer_task_log(task_id: str, request: Request) -> Response:
        body = await json_body(request)
        body = {} if body is None else body
        if not isinstance(body, dict):
            return log_error(*bad_request("the body must be a JSON object"))
        task = state.dis.by_id.get(task_id)
        # The path has no project: the signed X-Project-Id names it (BasicCredentials.sign_request),
        # or the token's scope; a task of another project is not found.
        project = request.headers.get("x-project-id")
        signed = "x-auth-token" not in request.headers
        if project is None and signed and state.runtime.quirks.dis_log_without_project == "refused":
            # No source says what the gateway does with an AK/SK call that names no project: the
            # quirk's other form refuses it as the code table's "Invalid Project Id.".
            return log_error("DIS.4117", "Invalid Project Id.")
        if task is None or (project is not None and project != state.config.identities.project_id):
            return log_error(*NO_TASK)
        order = body.get("order", "desc")
        sort_by = body.get("sortBy", "createTimeStr")
        page = _page(body, state.runtime.quirks.dis_page_info)
        # order defaults to desc, sortBy to createTimeStr (the doc's table); other values are refused.
        if order not in ("asc", "desc"):
            return log_error(*bad_request(f"order {order!r}"))
        if sort_by not in SORT_KEYS:
            return log_error(*bad_request(f"sortBy {sort_by!r}"))
        if page is None:
            return log_error(*bad_request("pageInfo"))
        now = state.runtime.clock.now()
        state.dis.publish(task, now)
        entries = state.dis.entries(task, now)
        key = SORT_KEYS[sort_by]
        entries.sort(key=lambda item: (item[key], item["startTime"]), reverse=order == "desc")
        index, size = page
        chunk = entries[(index - 1) * size : index * size]
        listed: Any = chunk
        if state.runtime.quirks.dis_log_list == "object_when_single" and len(chunk) == 1:
            listed = chunk[0]
        return json_response(
            {
                "errorCode": -1,
                "totalNum": len(entries),
                "message": None,
                "isStreamFound": None,
                "streamData": None,
                "streamDataList": None,
                "transferTaskList": None,
                "monitorData": None,
                "transferTaskLogList": listed,
            }
        )

    def find_stream(project_id: str, stream_name: str) -> Stream | Response:
        if project_id != state.config.identities.project_id:
            return dis_error(400, "DIS.4117", f"Invalid Project Id. {project_id}")
        stream = state.dis.streams.get(stream_name)
        if stream is None:
            return dis_error(400, NO_STREAM[0], f"{NO_STREAM[1]} {stream_name}")
        return stream

    @router.get(STREAMS)
    async def list_tasks(project_id: str, stream_name: str) -> Response:
        stream = find_stream(project_id, stream_name)
        if isinstance(stream, Response):
            return stream
        tasks = [state.dis.describe(t) for t in stream.tasks.values()]
        # quota: "A maximum of five dump tasks can be created for one stream" (DIS.4357).
        return json_response({"total_number": len(tasks), "quota": 5, "tasks": tasks})

    @router.post(STREAMS)
    async def create_task(project_id: str, stream_name: str, request: Request) -> Response:
        stream = find_stream(project_id, stream_name)
        if isinstance(stream, Response):
            return stream
        body = await json_body(request)
        descriptor = body.get("obs_destination_descriptor") if isinstance(body, dict) else None
        name = descriptor.get("task_name") if isinstance(descriptor, dict) else None
        if not isinstance(name, str) or not name:
            return dis_error(400, *bad_request("obs_destination_descriptor.task_name is required"))
        if name in stream.tasks:
            return dis_error(400, "DIS.4355", "The transfer task already exists.")
        if len(stream.tasks) >= 5:
            return dis_error(400, "DIS.4357", "Exceeded transfer task quota.")
        assert isinstance(descriptor, dict)
        state.dis.add_task(stream, name, descriptor=descriptor)
        return Response(status_code=201)

    @router.get(STREAMS + "/{task_name}")
    async def show_task(project_id: str, stream_name: str, task_name: str) -> Response:
        stream = find_stream(project_id, stream_name)
        if isinstance(stream, Response):
            return stream
        task = stream.tasks.get(task_name)
        if task is None:
            return dis_error(400, *NO_TASK)
        shown = {"stream_name": stream.name, **state.dis.describe(task)}
        shown["obs_destination_description"] = task.descriptor
        return json_response(shown)

    @router.delete(STREAMS + "/{task_name}")
    async def delete_task(project_id: str, stream_name: str, task_name: str) -> Response:
        stream = find_stream(project_id, stream_name)
        if isinstance(stream, Response):
            return stream
        with state.runtime.lock:
            task = stream.tasks.pop(task_name, None)
            if task is not None:
                state.dis.by_id.pop(task.id, None)
        if task is None:
            return dis_error(400, *NO_TASK)
        return Response(status_code=204)

    @router.post(STREAMS + "/action")
    async def start_stop(project_id: str, stream_name: str, request: Request) -> Response:
        stream = find_stream(project_id, stream_name)
        if isinstance(stream, Response):
            return stream
        body = await json_body(request)
        if not isinstance(body, dict) or body.get("action") not in ("start", "stop"):
            return dis_error(400, *bad_request("action must be start or stop"))
        ids = [str(t.get("id")) for t in body.get("tasks") or [] if isinstance(t, dict)]
        by_id = {t.id: t for t in stream.tasks.values()}
        unknown = [i for i in ids if i not in by_id]
        if not ids or unknown:
            return dis_error(400, *NO_TASK)
        for task_id in ids:
            state.dis.set_running(by_id[task_id], body["action"] == "start")
        return Response(status_code=200)

    return router
