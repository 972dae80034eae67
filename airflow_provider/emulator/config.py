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
SERVICE_ONLY_OUTCOMES = {"abort": ("mef",)}
SERVICES = ("mef", "clouddc", "dis", "css", "dcs")

DIS_LOG_LIST_FORMS = ("object_when_single", "array")
CSS_CREATE_AT_FORMS = ("int", "string")
DCS_TIME_FORMS = ("seed", "iso")
CLOUDDC_STATUS_FORMS = ("Running", "processing")
CLOUDDC_CREATED_AT_FORMS = ("Z", "+00:00")
#: ListLogsJob documents no order for ``clusterLogRecord`` (the seed's example has one record).
CSS_RECORD_ORDERS = ("newest_first", "oldest_first")


@dataclass(frozen=True)
class Quirks:
    """Which of the two documented forms to send where the seeds and docs disagree.

    Defaults follow the seed examples, because real responses looked like those.
    """

    dis_log_list: str = "object_when_single"
    css_create_at: str = "int"
    dcs_time: str = "seed"
    clouddc_status: str = "Running"
    clouddc_created_at: str = "Z"
    css_record_order: str = "newest_first"

    def updated(self, **changes: Any) -> Quirks:
        allowed = {
            "dis_log_list": DIS_LOG_LIST_FORMS,
            "css_create_at": CSS_CREATE_AT_FORMS,
            "dcs_time": DCS_TIME_FORMS,
            "clouddc_status": CLOUDDC_STATUS_FORMS,
            "clouddc_created_at": CLOUDDC_CREATED_AT_FORMS,
            "css_record_order": CSS_RECORD_ORDERS,
        }
        for name, value in changes.items():
            if name not in allowed:
                raise ValueError(f"unknown quirk {name!r}; known: {', '.join(sorted(allowed))}")
            if value not in allowed[name]:
                raise ValueError(f"quirk {name} must be one of {allowed[name]}, not {value!r}")
        return replace(self, **changes)

    def as_dict(self) -> dict[str, str]:
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

    mef: float = 10.0
    clouddc: float = 30.0
    css: float = 20.0
    dcs: float = 120.0
    dis_period: float = 60.0

    def for_service(self, service: str) -> float:
        return float(getattr(self, "dis_period" if service == "dis" else service))


@dataclass(frozen=True)
class EmulatorConfig:
    speed: float = 1.0
    seed: int = 0
    token_lifetime: float = 24 * 3600.0
    max_clock_skew: float = 15 * 60.0
    request_log_size: int = 10_000
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
            kwargs[key] = nested[key](**value) if key in nested else value
        kwargs.update(overrides)
        return cls(**kwargs)
