"""Identities, defaults and response-shape settings of one emulator instance.

Everything a user needs to point a connection at the emulator lives here, so the CLI can
print it and the testing helpers can build connection JSON from the same values.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

Outcome = Literal["succeed", "fail", "partial", "abort"]
#: Outcomes only some services model: MEF dumps can overrun their execute timeout and abort.
SERVICE_ONLY_OUTCOMES = {"abort": ("edge",)}
#: The services' names, as the provider's ``core.catalog`` names them.
SERVICES = ("edge", "clouddc", "dis", "css", "dcs")
#: Earlier names the admin API and config files still accept.
SERVICE_ALIASES = {"mef": "edge"}


def service_name(name: str) -> str:
    """The service's name for ``name`` or its earlier alias (``mef`` is ``edge``)."""
    return SERVICE_ALIASES.get(name, name)


#: Each quirk: the forms the emulator can send where the sources disagree or say nothing.
#: ``docs/fidelity.md`` gives each one's sources; the first form is the default.
QUIRK_FORMS: dict[str, tuple[str, ...]] = {
    # DIS transfertasklog: the doc types the list as an array, its example sends one object.
    "dis_log_list": ("object_when_single", "array"),
    # DIS transfertasklog errors: the doc's 200 body has errorCode/message; other DIS APIs answer 400.
    "dis_log_errors": ("status", "body"),
    # DIS transfertasklog pageInfo: the doc's table says an object, its example an array.
    "dis_page_info": ("both", "object", "array"),
    # DIS: how a dump period that failed shows in the log (undocumented).
    "dis_failed_period": ("state", "omitted"),
    # DIS transfer-task list/show: the doc examples carry task_id, the SDK models have no such field.
    "dis_task_id_in_list": ("present", "absent"),
    # DIS: the state a failed transfer task reports (both are documented, which one is not).
    "dis_failed_task_state": ("ERROR", "ABNORMAL"),
    # CSS createAt: the doc and SDK type it String, the doc example and terraform read a number.
    "css_create_at": ("int", "string"),
    # DCS step times: the seed's "2022-09-01 11:52:24" or the documented ISO 8601 with Z.
    "dcs_time": ("seed", "iso"),
    # DCS progress once every step is FINISH: no source says it reaches 100.
    "dcs_final_progress": ("100", "99", "missing"),
    # CloudDC status while exporting: the API reference example's "Running" or the docs' "processing".
    "clouddc_status": ("Running", "processing"),
    # CloudDC created_at: "...Z" (the API reference example) or "+00:00" (doc text).
    "clouddc_created_at": ("Z", "+00:00"),
    # CloudDC percentage: String "30%" (SDK, seed, docs) or Integer (one version of the doc).
    "clouddc_percentage": ("string", "int"),
    # CloudDC failed export: no failure value is documented (only processing/completed).
    "clouddc_failure": ("failed", "error", "stalled"),
    # CSS ListLogsJob: the doc states no order for clusterLogRecord (its example has one record).
    "css_record_order": ("newest_first", "oldest_first"),
    # DIS transfertasklog signed with AK/SK but no X-Project-Id: no source says what the gateway does.
    "dis_log_without_project": ("default_project", "refused"),
    # CSS CreateLogBackup while a backup runs: 409 (doc); which code of the code table is not said.
    "css_busy_code": ("CSS.0011", "CSS.3004"),
    # CSS CreateLogBackup / policy update with log backup off: 412 (docs); the code is not said.
    "css_log_off_code": ("CSS.0004", "CSS.5090"),
    # CSS policy/close when no automatic backup policy is on: not documented.
    "css_close_closed_policy": ("ok", "refused"),
    # DCS ListBackgroundTask: the doc states no order for tasks.
    "dcs_task_order": ("newest_first", "oldest_first"),
    # DCS ListBackgroundTask status while running and after a failure: only SUCCESS is documented.
    "dcs_list_status": ("dms", "other"),
    # DCS progress: the error_code of a FAILED step (the doc shows codes on FINISH steps only).
    "dcs_failed_step_code": ("DCS.5091", "empty"),
    # DCS progress: remain_time once the task has ended (undocumented).
    "dcs_final_remain_time": ("0", "missing"),
    # CloudDC export_id: the doc example's "1" (a sequence) or an opaque id.
    "clouddc_export_id": ("sequential", "uuid"),
    # CloudDC percentage of a failed export (undocumented): where it broke (60%) or 100.
    "clouddc_failed_percentage": ("frozen", "100"),
    # CloudDC unknown server/export, download before completion: the docs list only 401/429/500.
    "clouddc_errors": ("404", "500"),
    # DIS OBS dump: the partition folder is the file's generation time; no source names the zone.
    "dis_obs_partition_zone": ("UTC", "+08:00"),
    # CloudDC DownloadServerLogs: no source says whether it serves byte ranges.
    "clouddc_download_range": ("none", "bytes"),
    # DCS CreateRedislog: no source says whether a collection is listed as a background task.
    "dcs_redislog_task": ("listed", "unlisted"),
}


@dataclass(frozen=True)
class Quirks:
    """Which form to send where the sources disagree or are silent (see ``QUIRK_FORMS``).

    Defaults follow the API reference examples where they show one, because real responses looked like
    those.
    """

    dis_log_list: str = "object_when_single"
    dis_log_errors: str = "status"
    dis_page_info: str = "both"
    dis_failed_period: str = "state"
    dis_task_id_in_list: str = "present"
    dis_failed_task_state: str = "ERROR"
    css_create_at: str = "int"
    dcs_time: str = "seed"
    dcs_final_progress: str = "100"
    clouddc_status: str = "Running"
    clouddc_created_at: str = "Z"
    clouddc_percentage: str = "string"
    clouddc_failure: str = "failed"
    css_record_order: str = "newest_first"
    dis_log_without_project: str = "default_project"
    css_busy_code: str = "CSS.0011"
    css_log_off_code: str = "CSS.0004"
    css_close_closed_policy: str = "ok"
    dcs_task_order: str = "newest_first"
    dcs_list_status: str = "dms"
    dcs_failed_step_code: str = "DCS.5091"
    dcs_final_remain_time: str = "0"
    clouddc_export_id: str = "sequential"
    clouddc_failed_percentage: str = "frozen"
    clouddc_errors: str = "404"
    dis_obs_partition_zone: str = "UTC"
    clouddc_download_range: str = "none"
    dcs_redislog_task: str = "listed"

    def updated(self, **changes: Any) -> Quirks:
        """A copy with ``changes`` applied.

        :raises ValueError: an unknown quirk, or a form not in ``QUIRK_FORMS`` for it.
        """
        for name, value in changes.items():
            if name not in QUIRK_FORMS:
                raise ValueError(f"unknown quirk {name!r}; known: {', '.join(sorted(QUIRK_FORMS))}")
            if value not in QUIRK_FORMS[name]:
                raise ValueError(f"quirk {name} must be one of {QUIRK_FORMS[name]}, not {value!r}")
        return replace(self, **changes)

    def as_dict(self) -> dict[str, str]:
        """Every quirk and its current form."""
        return asdict(self)


@dataclass(frozen=True)
class Identities:
    """The credentials the emulator accepts; printed at start so users can copy them."""

    access_key: str = "EMULATORAK0000000001"
    secret_key: str = "EmulatorSecretKey0000000000000000000001"
    domain_name: str = "emulator-domain"
    domain_id: str = "d0000000000000000000000000000001"
    user_name: str = "emulator-user"
    user_id: str = "u0000000000000000000000000000001"
    password: str = "Emulator@Pass1"
    project_id: str = "0123456789abcdef0123456789abcdef"
    region: str = "cn-north-4"


@dataclass(frozen=True)
class Durations:
    """Default emulated seconds a task runs before reaching its outcome."""

    edge: float = 10.0
    clouddc: float = 30.0
    css: float = 20.0
    dcs: float = 120.0
    dis_period: float = 60.0

    def for_service(self, service: str) -> float:
        """Seconds a task of ``service`` (or its alias) runs; for DIS, the length of a dump period."""
        name = service_name(service)
        return float(getattr(self, "dis_period" if name == "dis" else name))


@dataclass(frozen=True)
class EmulatorConfig:
    """Everything one emulator instance is built from.

    ``speed`` is emulated seconds per real second; ``seed`` seeds ids, outcomes and fault rates; ``token_lifetime`` and
    ``max_clock_skew`` are seconds (the gateway rejects an ``X-Sdk-Date`` further off than the skew);
    ``request_log_size`` bounds the admin API's request log.
    """

    speed: float = 1.0
    seed: int = 0
    token_lifetime: float = 24 * 3600.0
    max_clock_skew: float = 15 * 60.0
    request_log_size: int = 10_000
    #: The length of a CloudDC export's download: the archive padded with zero bytes (0: as is).
    #: For measuring downloads (``benchmarks/bench_download.py``).
    download_bytes: int = 0
    identities: Identities = field(default_factory=Identities)
    durations: Durations = field(default_factory=Durations)
    quirks: Quirks = field(default_factory=Quirks)

    @classmethod
    def from_file(cls, path: str | Path, **overrides: Any) -> EmulatorConfig:
        """Read identities/durations/quirks from a small JSON file; unknown keys are errors."""
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
        nested = {"identities": Identities, "durations": Durations, "quirks": Quirks}
        kwargs: dict[str, Any] = {}
        known = {f.name for f in fields(cls)}
        for key, value in raw.items():
            if key not in known:
                raise ValueError(f"unknown emulator config key {key!r}")
            given = value
            if key == "durations" and isinstance(value, dict):
                given = {service_name(name): seconds for name, seconds in value.items()}
            kwargs[key] = nested[key](**given) if key in nested else given
        kwargs.update(overrides)
        return cls(**kwargs)
