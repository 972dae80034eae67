"""DCS background tasks: the task list and per-task progress with steps and sub-steps.

Sub-steps share the task's duration equally and run one after another; a task planned to
fail stops at a sub-step in its middle step, which turns FAILED with an error code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from airflow_provider.emulator.responses import dcs_error, json_response
from airflow_provider.emulator.runtime import Runtime, TimedTask
from airflow_provider.emulator.services.common import int_param
from airflow_provider.emulator.timefmt import dcs_time, parse_dcs_filter_time

if TYPE_CHECKING:
    from airflow_provider.emulator.state import EmulatorState

PREFIX = "/v2/{project_id}/instances/{instance_id}/tasks"
STEPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Pre-check.", ("Resource check.", "Instance status check.")),
    ("Data migration.", ("Resource request.", "Resource request.")),
    ("Post-processing.", ("Status update.",)),
)
SUB_STEP_COUNT = sum(len(subs) for _, subs in STEPS)
FAIL_AT = 3  # the second sub-step of "Data migration."
# The seed shows error codes even on FINISH steps; a client must not read them as failure.
FINISH_CODE = "DCS.4064"
MAX_REMAIN = 2**31 - 1
#: A migration sub-step's detail in the ShowBackgroundTaskProgress example's form; the values are the emulator's.
FAILED_DETAIL = "{{node_id:{node},slot_range:[5461 10921],full_migration:failed,inc_migration:to start}}"
#: The list's word for a running and a failed task per form of the ``dcs_list_status`` quirk: only
#: SUCCESS is documented (ListBackgroundTask example); "dms" takes the words of the sibling DMS task
#: lists, "other" words the provider does not know.
LIST_WORDS = {"dms": ("EXECUTING", "FAILED"), "other": ("RUNNING", "ERROR")}


@dataclass
class BackgroundTask(TimedTask):
    instance_id: str = ""
    name: str = "ChangeInstanceSpec"

    @property
    def steps_run(self) -> int:
        return FAIL_AT + 1 if self.outcome == "fail" else SUB_STEP_COUNT

    @property
    def sub_step_seconds(self) -> float:
        return self.duration / self.steps_run

    def list_status(self, now: float, words: str = "dms") -> str:
        running, failed = LIST_WORDS[words]
        if not self.finished(now):
            return running
        return failed if self.outcome == "fail" else "SUCCESS"


def _sub_status(task: BackgroundTask, index: int, now: float) -> str:
    begin = task.created + index * task.sub_step_seconds
    if task.outcome == "fail" and index > FAIL_AT:
        return "WAITING"
    if now < begin:
        return "WAITING"
    if now < begin + task.sub_step_seconds:
        return "EXECUTING"
    return "FAILED" if task.outcome == "fail" and index == FAIL_AT else "FINISH"


class DcsService:
    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime
        self.instances: dict[str, dict[str, BackgroundTask]] = {}

    def add_instance(self, instance_id: str) -> None:
        with self.rt.lock:
            self.instances.setdefault(instance_id, {})

    def add_task(
        self,
        instance_id: str,
        *,
        name: str = "ChangeInstanceSpec",
        started_ago: float = 0.0,
        task_id: str | None = None,
    ) -> BackgroundTask:
        with self.rt.lock:
            plan = self.rt.next_plan("dcs")
            task = BackgroundTask(
                id=task_id or self.rt.hex_id(32),
                created=self.rt.clock.now() - started_ago,
                duration=plan.duration,
                outcome=plan.outcome,
                instance_id=instance_id,
                name=name,
            )
            self.instances.setdefault(instance_id, {})[task.id] = task
            return task

    def progress(self, task: BackgroundTask) -> dict[str, Any]:
        now = self.rt.clock.now()
        form = self.rt.quirks.dcs_time
        length = task.sub_step_seconds
        # No source gives a FAILED step's code: a code of the DCS code table, or none.
        fail_code = "" if self.rt.quirks.dcs_failed_step_code == "empty" else self.rt.quirks.dcs_failed_step_code
        steps: list[dict[str, Any]] = []
        index = 0
        for step_no, (step_name, subs) in enumerate(STEPS):
            sub_details = []
            for sub_no, sub_name in enumerate(subs):
                status = _sub_status(task, index, now)
                begin = task.created + index * length
                sub_details.append(
                    {
                        "sub_step_id": f"{task.id[:8]}-{step_no:04d}-{sub_no:04d}-{task.id[8:20]}",
                        "sub_step_name": sub_name,
                        "sub_step_status": status,
                        "begin_time": None if status == "WAITING" else dcs_time(begin, form),
                        "end_time": dcs_time(begin + length, form) if status in ("FINISH", "FAILED") else None,
                        "detail": "" if status != "FAILED" else FAILED_DETAIL.format(node=task.id[:32]),
                        "error_code": fail_code if status == "FAILED" else FINISH_CODE,
                    }
                )
                index += 1
            statuses = [s["sub_step_status"] for s in sub_details]
            if "FAILED" in statuses:
                step_status = "FAILED"
            elif all(s == "FINISH" for s in statuses):
                step_status = "FINISH"
            elif all(s == "WAITING" for s in statuses):
                step_status = "WAITING"
            else:
                step_status = "EXECUTING"
            steps.append(
                {
                    "step_id": f"{task.id[:8]}-{step_no:04d}-{task.id[8:24]}",
                    "step_name": step_name,
                    "step_status": step_status,
                    "begin_time": sub_details[0]["begin_time"],
                    "end_time": sub_details[-1]["end_time"] if step_status in ("FINISH", "FAILED") else None,
                    "error_code": fail_code if step_status == "FAILED" else FINISH_CODE,
                    "sub_step_details": sub_details,
                }
            )
        finished = task.finished(now)
        if task.outcome == "fail":
            elapsed_steps = min(FAIL_AT, (now - task.created) / length) if length > 0 else FAIL_AT
            progress = int(max(0.0, elapsed_steps) / SUB_STEP_COUNT * 100)
        else:
            progress = int(task.fraction(now) * 100)
        # remain_time is in seconds as the client lives them: the emulated clock runs ``speed``
        # times faster than the wall clock, so emulated seconds are divided by it.
        # Capped at the largest int the SDK's Java-typed field can carry (a frozen test clock).
        wall = (task.finished_at - now) / self.rt.clock.speed
        remain = 0 if finished else max(0, min(MAX_REMAIN, math.ceil(wall)))
        body: dict[str, Any] = {"progress": progress, "remain_time": remain, "step_details": steps}
        if finished and self.rt.quirks.dcs_final_remain_time == "missing":
            del body["remain_time"]  # no source says what an ended task reports
        final = self.rt.quirks.dcs_final_progress
        if finished and task.outcome != "fail" and final != "100":
            # No source says progress reaches 100 when every step is FINISH; the seed shows it
            # lagging the steps (30 with every listed sub-step FINISH).
            if final == "99":
                body["progress"] = 99
            else:
                del body["progress"]
        return body

    def summary(self, task: BackgroundTask) -> dict[str, Any]:
        now = self.rt.clock.now()
        form = self.rt.quirks.dcs_time
        ids = self.rt.config.identities
        updated = min(now, task.finished_at)
        return {
            "id": task.id,
            "name": task.name,
            "details": {},
            "user_name": ids.user_name,
            "user_id": ids.user_id,
            "params": "",
            "status": task.list_status(now, self.rt.quirks.dcs_list_status),
            "created_at": dcs_time(task.created, form),
            "updated_at": dcs_time(updated, form),
            "enable_show": True,
        }


def build_router(state: EmulatorState) -> APIRouter:
    router = APIRouter()

    def invalid(name: str) -> Response:
        return dcs_error(400, "DCS.4800", f"Invalid {name} in the request.")

    def find(project_id: str, instance_id: str) -> dict[str, BackgroundTask] | Response:
        # Codes from the DCS error code appendix (api-ref/source/appendix/error_codes.rst).
        if project_id != state.config.identities.project_id:
            return dcs_error(401, "DCS.1004", "Project ID does not match the token.")
        tasks = state.dcs.instances.get(instance_id)
        if tasks is None:
            return dcs_error(404, "DCS.3022", "This DCS instance does not exist.")
        return tasks

    @router.get(PREFIX)
    async def list_tasks(project_id: str, instance_id: str, request: Request) -> Response:
        tasks = find(project_id, instance_id)
        if isinstance(tasks, Response):
            return tasks
        params = request.query_params
        # offset "must be greater than or equal to 0" (ListBackgroundTask); limit has no documented
        # range: any positive count. A bad one is DCS.4800 "Invalid {0} in the request." (DCS code table).
        offset = int_param(params.get("offset"), 0, 0, 2**31 - 1)
        limit = int_param(params.get("limit"), 10, 1, 2**31 - 1)
        # The doc's parameter table says start_time, its example request begin_time.
        start_name = "start_time" if params.get("start_time") else "begin_time"
        start_time = params.get(start_name)
        bounds: list[float | None] = []
        for name, value in ((start_name, start_time), ("end_time", params.get("end_time"))):
            try:
                bounds.append(parse_dcs_filter_time(value) if value else None)
            except ValueError:
                return invalid(name)
        low, high = bounds
        for name, number in (("offset", offset), ("limit", limit)):
            if number is None:
                return invalid(name)
        newest_first = state.runtime.quirks.dcs_task_order == "newest_first"
        with state.runtime.lock:
            items = sorted(tasks.values(), key=lambda t: t.created, reverse=newest_first)
        items = [t for t in items if (low is None or t.created >= low) and (high is None or t.created <= high)]
        assert offset is not None and limit is not None
        page = [state.dcs.summary(t) for t in items[offset : offset + limit]]
        return json_response({"task_count": str(len(items)), "tasks": page})

    @router.get(PREFIX + "/{task_id}/progress")
    async def progress(project_id: str, instance_id: str, task_id: str) -> Response:
        tasks = find(project_id, instance_id)
        if isinstance(tasks, Response):
            return tasks
        task = tasks.get(task_id)
        if task is None:
            # The code table's 404 for a URL that names nothing: no code names a missing task.
            return dcs_error(404, "DCS.4001", "The requested URL does not exist.")
        return json_response(state.dcs.progress(task))

    @router.delete(PREFIX + "/{task_id}")
    async def delete(project_id: str, instance_id: str, task_id: str) -> Response:
        tasks = find(project_id, instance_id)
        if isinstance(tasks, Response):
            return tasks
        with state.runtime.lock:
            task = tasks.get(task_id)
            if task is None:
                return dcs_error(404, "DCS.4001", "The requested URL does not exist.")
            # "You can only delete the records of tasks in the Successful or Failed state" (DCS
            # user guide, Viewing Background Tasks).
            if not task.finished(state.runtime.clock.now()):
                return dcs_error(400, "DCS.4017", "This DCS instance job task is still running.")
            del tasks[task_id]
        # 200 with {"message": ""} is the DeleteBackgroundTask doc's example (SDK DeleteBackgroundTaskResponse).
        return json_response({"message": ""})

    return router
