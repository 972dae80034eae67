"""CSS cluster logs: backups (``logs/collect``, no id back), their records (newest first), and the
log settings and auto-backup policy the SDK's ``CssClient`` log methods read and change."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from airflow_provider.emulator.archive import fake_log
from airflow_provider.emulator.responses import css_error, json_response
from airflow_provider.emulator.runtime import Runtime, TimedTask
from airflow_provider.emulator.services.common import int_param, json_body
from airflow_provider.emulator.timefmt import epoch_ms

if TYPE_CHECKING:
    from airflow_provider.emulator.obs import ObsStore
    from airflow_provider.emulator.state import EmulatorState

PREFIX = "/v1.0/{project_id}/clusters/{cluster_id}/logs"
FAILED_MSG = "Failed to back up logs: the OBS bucket is not accessible with the agency"
#: CSS.0015's text, as terraform-provider-huaweicloud quotes it.
NOT_ACCESSIBLE = "No resources are found or the access is denied."
#: The log files a backup copies to OBS, ``clustername`` being the cluster's name (CSS user guide,
#: "Managing Elasticsearch Cluster Logs", usermanual-css/css_01_0077.html, log backup table).
BACKUP_LOG_FILES = (
    "{name}_deprecation.log",
    "{name}_index_indexing_slowlog.log",
    "{name}_index_search_slowlog.log",
    "{name}.log",
    "{name}_access.log",
)
#: The CSS error code table's texts (API reference, Error Codes); ``externalMessage`` is
#: "<code> : <text> (<detail>)", the form terraform quotes for CSS.0004; each detail is the emulator's.
CODE_TEXTS = {
    "CSS.0001": "Incorrect parameters.",
    "CSS.0004": "Invalid operation.",
    "CSS.0011": (
        "This operation cannot be performed because another operation is being performed on the instance "
        "or the instance is faulty. Please try again later."
    ),
    "CSS.3004": "Backup is in progress.",
    "CSS.5090": "In this status, the current operation is not allowed.",
}
#: ListLogsJob's offset (start) and limit: "1-1000" (API reference, Querying the Log Backup Task List).
PAGE_RANGE = (1, 1000)


def coded(status: int, code: str, detail: str) -> Response:
    return css_error(status, code, f"{code} : {CODE_TEXTS[code]} ({detail})")


def bad_parameters(detail: str) -> Response:
    """400 CSS.0001, the code table's "Incorrect parameters."."""
    return coded(400, "CSS.0001", detail)


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
class LogSettings:
    """``logConfiguration`` (base log backup) and ``realTimeLogCollectRecord`` of one cluster."""

    log_switch: bool = True
    agency: str = "css_obs_agency"
    obs_bucket: str = "css-log-backup"
    base_path: str = "css/log"
    auto_enable: bool = False
    period: str | None = None
    updated: float = 0.0
    real_time: dict[str, Any] | None = None


@dataclass
class Cluster:
    id: str
    settings: LogSettings = field(default_factory=LogSettings)
    records: list[LogRecord] = field(default_factory=list)

    @property
    def log_backup(self) -> bool:
        return self.settings.log_switch


def cluster_name(cluster_id: str) -> str:
    """The emulator's name of a cluster (it keeps ids only): the ``clustername`` of its log files."""
    return f"css-{cluster_id[:8]}"


def _text(body: dict[str, Any], *names: str) -> str | None:
    """The first of ``names`` present: the SDK sends snake_case (``StartLogsReq``), terraform
    camelCase (``logBasePath``), for the same fields."""
    for name in names:
        value = body.get(name)
        if isinstance(value, str) and value:
            return value
    return None


class CssService:
    def __init__(self, runtime: Runtime, obs: ObsStore | None = None) -> None:
        self.rt = runtime
        self.obs = obs
        self.clusters: dict[str, Cluster] = {}
        self._published: set[str] = set()

    def publish(self, cluster: Cluster, now: float) -> None:
        """Write the log files of every backup of ``cluster`` that succeeded by ``now`` to OBS.

        The emulated clock is read lazily, so a backup's files are written when its end is first
        seen (by any call), before that call is answered: no client sees a SUCCESS record whose
        files are missing.
        """
        if self.obs is None:
            return
        with self.rt.lock:
            due = [r for r in cluster.records if r.id not in self._published and r.status(now) == "SUCCESS"]
            self._published.update(r.id for r in due)
            bucket = cluster.settings.obs_bucket
        for record in due:
            name = cluster_name(cluster.id)
            for template in BACKUP_LOG_FILES:
                file_name = template.format(name=name)
                body = fake_log(f"{name}/{file_name}", 20, record.created)
                self.obs.put(bucket, f"{record.log_path}/{file_name}", body)

    def add_cluster(self, cluster_id: str, *, log_backup: bool = True) -> Cluster:
        with self.rt.lock:
            cluster = Cluster(cluster_id, LogSettings(log_switch=log_backup, updated=self.rt.clock.now()))
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
                # The API example's "css-backup-1610678043608/css/log": the default base path under a
                # folder per backup (the base path's part is inferred; the provider reads logPath).
                log_path=f"css-backup-{epoch_ms(self.rt.clock.now())}/{cluster.settings.base_path.strip('/')}",
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

    def settings_view(self, cluster: Cluster) -> dict[str, Any]:
        """``ShowGetLogSetting``'s body: the SDK's ``LogConfiguration`` and ``RealTimeLogCollect``."""
        conf = cluster.settings
        return {
            "logConfiguration": {
                "id": cluster.id,
                "clusterId": cluster.id,
                "obsBucket": conf.obs_bucket,
                "agency": conf.agency,
                "updateAt": epoch_ms(conf.updated),
                "basePath": conf.base_path,
                "autoEnable": conf.auto_enable,
                # "null when autoEnable is false" (SDK LogConfiguration docstring)
                "period": conf.period if conf.auto_enable else None,
                "logSwitch": conf.log_switch,
            },
            "realTimeLogCollectRecord": conf.real_time,
        }

    def configure(self, cluster: Cluster, body: dict[str, Any], *, real_time: bool) -> None:
        """Apply a ``StartLogs``/``UpdateLogSetting`` body to the cluster's settings."""
        conf = cluster.settings
        now = self.rt.clock.now()
        with self.rt.lock:
            if real_time:
                previous = conf.real_time or {"id": self.rt.uuid(), "createAt": epoch_ms(now)}
                keep_days = body.get("keep_days", body.get("keepDays", previous.get("keepDays", 7)))
                conf.real_time = {
                    "id": previous["id"],
                    "clusterId": cluster.id,
                    "indexPrefix": _text(body, "index_prefix", "indexPrefix") or previous.get("indexPrefix"),
                    "keepDays": keep_days if isinstance(keep_days, int) else 7,
                    "targetClusterId": _text(body, "target_cluster_id", "targetClusterId") or cluster.id,
                    # terraform waits for "200" (done); 100/150 are pending (resource_huaweicloud_css_log_setting.go)
                    "status": "200",
                    "createAt": previous["createAt"],
                    "updateAt": epoch_ms(now),
                }
                return
            conf.agency = _text(body, "agency") or conf.agency
            conf.base_path = _text(body, "log_base_path", "logBasePath") or conf.base_path
            conf.obs_bucket = _text(body, "log_bucket", "logBucket") or conf.obs_bucket
            if isinstance(body.get("auto_enable"), bool):
                conf.auto_enable = body["auto_enable"]
            period = _text(body, "period")
            if period is not None:
                conf.period = period
            conf.log_switch = True
            conf.updated = now


def _action(request: Request) -> str | None:
    """``action`` is optional and defaults to base_log_collect (SDK ``StartLogsRequest`` docstring)."""
    action = request.query_params.get("action") or "base_log_collect"
    return action if action in ("base_log_collect", "real_time_log_collect") else None


def build_router(state: EmulatorState) -> APIRouter:  # noqa: PLR0915 - one short handler per endpoint
    router = APIRouter()

    def find(project_id: str, cluster_id: str) -> Cluster | Response:
        # A cluster that does not exist (or is not this project's) is 403 CSS.0015 (CSS error code
        # page css_03_0076; terraform resource_huaweicloud_css_log_setting.go: "Status code is 403").
        cluster = state.css.clusters.get(cluster_id) if project_id == state.config.identities.project_id else None
        if cluster is None:
            return css_error(403, "CSS.0015", NOT_ACCESSIBLE)
        return cluster

    async def body_of(request: Request) -> dict[str, Any] | Response:
        body = await json_body(request)
        if body is None:
            body = {}
        if not isinstance(body, dict):
            return bad_parameters("body must be a JSON object")
        return body

    def log_off(cluster: Cluster) -> Response:
        # 412 "did not meet one of the preconditions" (CreateLogBackup and policy/update status
        # codes); which code comes with it is not documented: a quirk.
        return coded(412, state.runtime.quirks.css_log_off_code, f"log backup of cluster {cluster.id} is not enabled")

    @router.post(PREFIX + "/collect")
    async def collect(project_id: str, cluster_id: str) -> Response:
        cluster = find(project_id, cluster_id)
        if isinstance(cluster, Response):
            return cluster
        if not cluster.log_backup:
            return log_off(cluster)
        now = state.runtime.clock.now()
        if any(r.status(now) == "RUNNING" for r in cluster.records):
            # 409 (CreateLogBackup status codes); the code is not documented: a quirk.
            return coded(409, state.runtime.quirks.css_busy_code, "a log backup is already running")
        state.css.start_backup(cluster)
        return Response(status_code=200)

    # StartLogs (open) and UpdateLogSetting (POST settings) take the same fields (SDK StartLogsReq,
    # UpdateLogSettingReq; terraform openLogBackup, updateLogBackupSetting).
    @router.post(PREFIX + "/open")
    @router.post(PREFIX + "/settings")
    async def configure(project_id: str, cluster_id: str, request: Request) -> Response:
        cluster = find(project_id, cluster_id)
        if isinstance(cluster, Response):
            return cluster
        action, body = _action(request), await body_of(request)
        if isinstance(body, Response):
            return body
        if action is None:
            return bad_parameters("action must be base_log_collect or real_time_log_collect")
        state.css.configure(cluster, body, real_time=action == "real_time_log_collect")
        return Response(status_code=200)

    @router.get(PREFIX + "/settings")
    async def get_settings(project_id: str, cluster_id: str) -> Response:
        cluster = find(project_id, cluster_id)
        if isinstance(cluster, Response):
            return cluster
        return json_response(state.css.settings_view(cluster))

    # PUT, as the SDK (StopLogs) and terraform (closeLogBackup) call it.
    @router.put(PREFIX + "/close")
    async def close_logs(project_id: str, cluster_id: str, request: Request) -> Response:
        cluster = find(project_id, cluster_id)
        if isinstance(cluster, Response):
            return cluster
        action = _action(request)
        if action is None:
            return bad_parameters("action must be base_log_collect or real_time_log_collect")
        conf = cluster.settings
        closing_real_time = action == "real_time_log_collect"
        if conf.real_time is None if closing_real_time else not conf.log_switch:
            # terraform: {"errCode":"CSS.0004","externalMessage":"CSS.0004 : Invalid operation. (Illegal operation)"}
            return css_error(415, "CSS.0004", "CSS.0004 : Invalid operation. (Illegal operation)")
        with state.runtime.lock:
            if closing_real_time:
                conf.real_time = None
            else:
                conf.log_switch = conf.auto_enable = False
                conf.updated = state.runtime.clock.now()
        return Response(status_code=200)

    @router.post(PREFIX + "/policy/update")
    async def update_policy(project_id: str, cluster_id: str, request: Request) -> Response:
        cluster = find(project_id, cluster_id)
        if isinstance(cluster, Response):
            return cluster
        body = await body_of(request)
        if isinstance(body, Response):
            return body
        period = _text(body, "period")
        if period is None:
            return bad_parameters("period is required")
        if not cluster.log_backup:
            return log_off(cluster)
        state.css.configure(cluster, {"auto_enable": True, "period": period}, real_time=False)
        return Response(status_code=200)

    @router.put(PREFIX + "/policy/close")
    async def close_policy(project_id: str, cluster_id: str) -> Response:
        cluster = find(project_id, cluster_id)
        if isinstance(cluster, Response):
            return cluster
        if not cluster.settings.auto_enable and state.runtime.quirks.css_close_closed_policy == "refused":
            # No source says what closing a closed policy answers; this form answers as closing
            # closed logs does (terraform's quoted 415 CSS.0004 "Invalid operation. (Illegal operation)").
            return css_error(415, "CSS.0004", "CSS.0004 : Invalid operation. (Illegal operation)")
        with state.runtime.lock:
            cluster.settings.auto_enable = False
            cluster.settings.updated = state.runtime.clock.now()
        return Response(status_code=200)

    @router.get(PREFIX + "/records")
    async def records(project_id: str, cluster_id: str, request: Request) -> Response:
        cluster = find(project_id, cluster_id)
        if isinstance(cluster, Response):
            return cluster
        params = request.query_params
        # The seed, older docs and terraform's data source page with ``start``; the SDK and the
        # newer docs with ``offset``.
        start = int_param(params.get("start", params.get("offset")), 1, *PAGE_RANGE)
        limit = int_param(params.get("limit"), 10, *PAGE_RANGE)
        status_filter = params.get("status") or None
        if start is None or limit is None or status_filter not in (None, "FAIL", "NOT_FAIL"):
            return bad_parameters("start/offset and limit must be within 1-1000, status FAIL or NOT_FAIL")
        now = state.runtime.clock.now()
        state.css.publish(cluster, now)
        with state.runtime.lock:
            newest_first = state.runtime.quirks.css_record_order == "newest_first"
            items = sorted(cluster.records, key=lambda r: r.created, reverse=newest_first)
        if status_filter is not None:
            want_fail = status_filter == "FAIL"
            items = [r for r in items if (r.status(now) == "FAIL") == want_fail]
        first = start - 1
        page = [state.css.view(r, now) for r in items[first : first + limit]]
        return json_response({"clusterLogRecord": page, "totalSize": len(items)})

    return router
