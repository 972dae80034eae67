"""The unauthenticated control API under ``/_emulator/``: what tests use to steer the emulator."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter
from pydantic import AfterValidator, BaseModel, Field
from starlette.responses import Response

from airflow_provider.emulator.config import SERVICES, service_name
from airflow_provider.emulator.responses import json_response
from airflow_provider.emulator.runtime import Plan, TimedTask, check_outcome

if TYPE_CHECKING:
    from airflow_provider.emulator.state import EmulatorState

PREFIX = "/_emulator"


class OutcomeSpec(BaseModel):
    service: Annotated[str, AfterValidator(service_name)]
    outcome: str = "succeed"
    duration: float | None = Field(default=None, ge=0)
    task_id: str | None = None


class ResourceSpec(BaseModel):
    id: str | None = None
    name: str | None = None
    log_backup: bool = True
    stream_id: str | None = None
    transfer_task_name: str | None = None
    transfer_task_id: str | None = None
    running: bool = True
    ids: list[int] = Field(default_factory=list)


class TaskSpec(BaseModel):
    outcome: str | None = None
    duration: float | None = Field(default=None, ge=0)
    started_ago: float = Field(default=0.0, ge=0)
    cluster_id: str | None = None
    job_types: str = "Manual"
    instance_id: str | None = None
    name: str | None = None
    server_id: str | None = None
    nodes: list[int] = Field(default_factory=list)
    stream: str | None = None
    id: str | None = None


class Seconds(BaseModel):
    seconds: float = Field(ge=0)


class Speed(BaseModel):
    speed: float = Field(gt=0)


class ExpireSpec(BaseModel):
    temporary_keys: bool = True


class FaultSpec(BaseModel):
    kind: str = "status"
    path_regex: str | None = None
    path_glob: str | None = None
    method: str | None = None
    status: int | None = None
    retry_after: int | str | None = None
    latency: float = Field(default=0.0, ge=0)
    count: int | None = Field(default=None, ge=1)
    rate: float | None = Field(default=None, ge=0, le=1)
    skip: int = Field(default=0, ge=0)
    body: Any = None


def _bad(message: str, status: int = 400) -> Response:
    return json_response({"error": message}, status)


def _find_task(state: EmulatorState, service: str, task_id: str) -> TimedTask | None:
    if service == "edge":
        return state.edge.tasks.get(task_id)
    if service == "dis":
        return state.dis.by_id.get(task_id)
    if service == "clouddc":
        return next((e for e in state.clouddc.exports.values() if e.id == task_id), None)
    if service == "css":
        records = (r for c in state.css.clusters.values() for r in c.records)
        return next((r for r in records if task_id in (r.id, r.job_id)), None)
    tasks = (t for ts in state.dcs.instances.values() for t in ts.values())
    return next((t for t in tasks if t.id == task_id), None)


def build_router(state: EmulatorState) -> APIRouter:  # noqa: PLR0915 - one small handler per endpoint
    router = APIRouter(prefix=PREFIX)

    @router.get("/health")
    async def health() -> Response:
        return json_response({"status": "ok"})

    @router.get("/info")
    async def info() -> Response:
        ids = state.config.identities
        return json_response(
            {
                "project_id": ids.project_id,
                "region": ids.region,
                "access_key": ids.access_key,
                "domain_name": ids.domain_name,
                "user_name": ids.user_name,
                "speed": state.runtime.clock.speed,
                "seed": state.config.seed,
                "resources": state.resources(),
                "quirks": state.runtime.quirks.as_dict(),
            }
        )

    @router.post("/reset")
    async def reset() -> Response:
        state.reset()
        return json_response({"status": "reset", "resources": state.resources()})

    @router.get("/resources")
    async def resources() -> Response:
        return json_response(state.resources())

    @router.post("/resources/{kind}")
    async def create_resource(kind: str, spec: ResourceSpec) -> Response:
        rt = state.runtime
        if kind == "css_clusters":
            cluster = state.css.add_cluster(spec.id or rt.uuid(), log_backup=spec.log_backup)
            return json_response({"id": cluster.id}, 201)
        if kind == "dcs_instances":
            instance_id = spec.id or rt.uuid()
            state.dcs.add_instance(instance_id)
            return json_response({"id": instance_id}, 201)
        if kind == "clouddc_servers":
            server_id = spec.id or rt.uuid()
            state.clouddc.add_server(server_id)
            return json_response({"id": server_id}, 201)
        if kind == "dis_streams":
            if not spec.name:
                return _bad("name is required for a DIS stream")
            stream = state.dis.add_stream(spec.name, spec.stream_id)
            out: dict[str, Any] = {"name": stream.name, "stream_id": stream.stream_id}
            if spec.transfer_task_name:
                task = state.dis.add_task(
                    stream, spec.transfer_task_name, task_id=spec.transfer_task_id, running=spec.running
                )
                out["transfer_task_id"] = task.id
            return json_response(out, 201)
        if kind in ("edge_nodes", "mef_nodes"):  # mef_nodes: the earlier name
            if not spec.ids or any(not 1 <= n <= 2**32 - 1 for n in spec.ids):
                return _bad("ids must be node ids in [1, 2^32-1]")
            state.edge.add_nodes(spec.ids)
            return json_response({"ids": sorted(state.edge.nodes)}, 201)
        return _bad(f"unknown resource kind {kind!r}", 404)

    @router.post("/tasks/{service}")
    async def create_task(service: str, spec: TaskSpec) -> Response:
        service = service_name(service)
        if service not in SERVICES:
            return _bad(f"service must be one of {SERVICES}", 404)
        rt = state.runtime
        with rt.lock:
            if spec.outcome is not None or spec.duration is not None:
                try:
                    outcome = check_outcome(spec.outcome or "succeed", service)
                except ValueError as exc:
                    return _bad(str(exc))
                duration = rt.config.durations.for_service(service) if spec.duration is None else spec.duration
                rt.queue_plan(service, Plan(outcome, duration))
            return _create_task(state, service, spec)

    @router.post("/outcomes")
    async def set_outcome(spec: OutcomeSpec) -> Response:
        if spec.service not in SERVICES:
            return _bad(f"service must be one of {SERVICES}")
        try:
            outcome = check_outcome(spec.outcome, spec.service)
        except ValueError as exc:
            return _bad(str(exc))
        rt = state.runtime
        if spec.task_id is None:
            duration = rt.config.durations.for_service(spec.service) if spec.duration is None else spec.duration
            rt.queue_plan(spec.service, Plan(outcome, duration))
            return json_response({"queued": rt.pending_plans()})
        with rt.lock:
            task = _find_task(state, spec.service, spec.task_id)
            if task is None:
                return _bad(f"no {spec.service} task {spec.task_id}", 404)
            task.replan(Plan(outcome, task.duration if spec.duration is None else spec.duration))
        return json_response({"task_id": spec.task_id, "outcome": outcome, "duration": task.duration})

    @router.post("/edge/restart")
    @router.post("/mef/restart")  # the earlier path
    async def restart_edge_manager() -> Response:
        """MEF Center restarts: every dump task and the archive are gone."""
        return json_response({"deleted_tasks": state.edge.restart()})

    @router.get("/requests")
    async def requests(service: str | None = None, limit: int | None = None) -> Response:
        return json_response({"requests": state.log.entries(service, limit)})

    @router.delete("/requests")
    async def clear_requests() -> Response:
        state.log.clear()
        return Response(status_code=204)

    @router.post("/tokens/expire")
    async def expire_tokens(spec: ExpireSpec | None = None) -> Response:
        count = state.identity.expire_all(temporary_keys=True if spec is None else spec.temporary_keys)
        return json_response({"expired": count})

    @router.put("/tokens/lifetime")
    async def token_lifetime(spec: Seconds) -> Response:
        state.runtime.token_lifetime = spec.seconds
        state.identity.token_lifetime = spec.seconds
        return json_response({"seconds": spec.seconds})

    @router.get("/clock")
    async def clock() -> Response:
        return json_response({"now": state.runtime.clock.now(), "speed": state.runtime.clock.speed})

    @router.post("/clock/advance")
    async def advance(spec: Seconds) -> Response:
        return json_response({"now": state.runtime.clock.advance(spec.seconds)})

    @router.put("/clock/speed")
    async def speed(spec: Speed) -> Response:
        state.runtime.clock.set_speed(spec.speed)
        return json_response({"speed": spec.speed})

    @router.get("/faults")
    async def list_faults() -> Response:
        return json_response({"faults": state.faults.list()})

    @router.post("/faults")
    async def add_fault(spec: FaultSpec) -> Response:
        try:
            rule = state.faults.add(spec.model_dump(exclude_none=True))
        except (ValueError, TypeError) as exc:
            return _bad(str(exc))
        return json_response(rule.describe(), 201)

    @router.delete("/faults")
    async def clear_faults() -> Response:
        return json_response({"removed": state.faults.remove()})

    @router.delete("/faults/{rule_id}")
    async def delete_fault(rule_id: int) -> Response:
        return json_response({"removed": state.faults.remove(rule_id)})

    @router.get("/quirks")
    async def get_quirks() -> Response:
        return json_response(state.runtime.quirks.as_dict())

    @router.put("/quirks")
    async def set_quirks(changes: dict[str, str]) -> Response:
        try:
            state.runtime.quirks = state.runtime.quirks.updated(**changes)
        except ValueError as exc:
            return _bad(str(exc))
        return json_response(state.runtime.quirks.as_dict())

    return router


def _create_task(state: EmulatorState, service: str, spec: TaskSpec) -> Response:
    if service == "css":
        cluster = state.css.clusters.get(spec.cluster_id or "")
        if cluster is None:
            return _bad("cluster_id must name an existing CSS cluster")
        record = state.css.start_backup(cluster, job_types=spec.job_types, started_ago=spec.started_ago)
        return json_response({"id": record.id, "job_id": record.job_id}, 201)
    if service == "dcs":
        if spec.instance_id not in state.dcs.instances:
            return _bad("instance_id must name an existing DCS instance")
        assert spec.instance_id is not None
        task = state.dcs.add_task(
            spec.instance_id, name=spec.name or "ChangeInstanceSpec", started_ago=spec.started_ago, task_id=spec.id
        )
        return json_response({"id": task.id}, 201)
    if service == "clouddc":
        if spec.server_id not in state.clouddc.servers:
            return _bad("server_id must name an existing CloudDC server")
        assert spec.server_id is not None
        export = state.clouddc.start(spec.server_id)
        export.created -= spec.started_ago
        return json_response({"id": export.id}, 201)
    if service == "edge":
        result = state.edge.create(spec.nodes or [1])
        if isinstance(result, Response):
            return result
        result.created -= spec.started_ago
        return json_response({"id": result.id}, 201)
    stream = state.dis.streams.get(spec.stream or "")
    if stream is None or not spec.name:
        return _bad("stream must name an existing DIS stream and name is required")
    transfer = state.dis.add_task(stream, spec.name, task_id=spec.id, started_ago=spec.started_ago)
    return json_response({"id": transfer.id}, 201)
