"""The time spellings the real services use, each in one place."""

from __future__ import annotations

from datetime import datetime, timezone


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=timezone.utc)


def epoch_ms(epoch: float) -> int:
    return int(epoch * 1000)


def go_rfc3339_nano(epoch: float) -> str:
    """Go's RFC3339Nano as MEF sends it: nanoseconds with trailing zeros trimmed."""
    moment = _utc(epoch)
    nanos = round((epoch - int(epoch)) * 1e9) % 1_000_000_000
    frac = f"{nanos:09d}".rstrip("0")
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + (f".{frac}" if frac else "") + "Z"


def dcs_time(epoch: float, form: str) -> str:
    """Seed form ``2022-09-01 11:52:24`` or the documented ``2022-09-01T11:52:24.503Z``."""
    moment = _utc(epoch)
    if form == "iso":
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def iso_seconds(epoch: float, suffix: str) -> str:
    """CloudDC ``created_at``: ``...Z`` (the API reference example) or ``...+00:00`` (doc range text)."""
    return _utc(epoch).strftime("%Y-%m-%dT%H:%M:%S") + suffix


def iam_expiry(epoch: float) -> str:
    moment = _utc(epoch)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}000Z"


def parse_dcs_filter_time(value: str) -> float:
    """``yyyyMMddHHmmss``, the form of the DCS task-list ``start_time``/``end_time`` filters."""
    return datetime.strptime(value, "%Y%m%d%H%M%S").replace(tzinfo=timezone.utc).timestamp()
