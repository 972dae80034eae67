"""Lenient value parsers shared by every service model, and the one place bodies become models.

The seeds disagree with their own docs ("30%" vs 30, ms epochs vs ISO 8601, Go nanosecond
timestamps, "2022-09-01 11:52:24" without a zone, objects where arrays are documented). Each
quirk is absorbed once here, so the service modules only declare fields. Parsers raise
``ValueError`` so pydantic reports the failing field; ``parse_model`` turns that into a
``BadResponseError`` naming the service and the field path.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError

from airflow_provider.core.errors import BadResponseError

M = TypeVar("M", bound=BaseModel)

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MS_MIN = -62_135_596_800_000  # 0001-01-01T00:00:00Z
_MS_MAX = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z
_ISO_RE = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})[T ](?P<time>\d{2}:\d{2}:\d{2})"
    r"(?:[.,](?P<frac>\d{1,12}))?\s*(?P<zone>Z|z|[+-]\d{2}:?\d{2})?"
)
_NUMBER_RE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_GO_ZERO_TIME = datetime(1, 1, 1, tzinfo=timezone.utc)
_INT_TEXT = re.compile(r"[+-]?\d{1,30}")
_MS_TEXT = re.compile(r"[+-]?\d{1,20}")
_PADDED_MS_TEXT = re.compile(r"\s*[+-]?\d{1,20}\s*")


class ServiceModel(BaseModel):
    """Base of every response model: seed names as aliases, unknown keys ignored, immutable.

    Numbers sent where strings are documented (DIS ``errorCode: -1``) become strings, as
    ``parse_text`` would make them, but inside pydantic's core: a status body has a score of
    text fields, and a Python validator per field is most of the cost of reading one.
    """

    model_config = ConfigDict(populate_by_name=True, extra="ignore", frozen=True, coerce_numbers_to_str=True)


def _is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def parse_number(value: object) -> float | None:
    """A JSON number or a numeric string (optionally ending in '%'); blank means unknown."""
    if _is_blank(value):
        return None
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got a boolean {value!r}")
    if isinstance(value, int):
        try:
            number = float(value)
        except OverflowError as exc:
            raise ValueError("number is too large") from exc
    elif isinstance(value, float):
        number = value
    elif isinstance(value, str):
        text = value.strip()
        if text.endswith("%"):
            text = text[:-1].rstrip()
        if not _NUMBER_RE.fullmatch(text):
            raise ValueError(f"expected a number, got {value[:40]!r}")
        number = float(text)
    else:
        raise ValueError(f"expected a number, got {type(value).__name__}")
    if not math.isfinite(number):
        raise ValueError(f"expected a finite number, got {value!r:.40}")
    return number


def parse_percent(value: object) -> float | None:
    """Progress as 0-100: "30%", "30", 30 or 30.5. Out of range is an error, never clamped,
    because a progress of 130 or -5 means we misread the body and must not look like success."""
    number = parse_number(value)
    if number is not None and not 0 <= number <= 100:
        raise ValueError(f"percentage {number:g} is outside 0-100")
    return number


def parse_int(value: object) -> int | None:
    """An integer or an integral numeric string ("3" for DCS ``task_count``); blank is unknown."""
    if _is_blank(value):
        return None
    if isinstance(value, bool):
        raise ValueError(f"expected an integer, got a boolean {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _INT_TEXT.fullmatch(value.strip()):
        return int(value.strip())
    raise ValueError(f"expected an integer, got {value!r:.40}")


def parse_text(value: object) -> str | None:
    """Codes documented as String but sent as numbers (DIS ``errorCode: -1``) become strings."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        raise ValueError(f"expected a string, got a boolean {value!r}")
    if isinstance(value, (int, float)):
        return str(value)
    raise ValueError(f"expected a string, got {type(value).__name__}")


def ms_to_datetime(value: int | float) -> datetime:
    """Milliseconds since the epoch, UTC; anything outside years 1-9999 is an error."""
    if not _MS_MIN <= value <= _MS_MAX:
        raise ValueError(f"epoch milliseconds {value!r:.40} are out of range")
    return _EPOCH + timedelta(milliseconds=value)


def parse_ms_epoch(value: object) -> datetime | None:
    """Epoch milliseconds as a number or a numeric string (CSS ``createAt`` is both); also the UTC
    ISO 8601 text a JSON dump of the model writes."""
    if _is_blank(value):
        return None
    if isinstance(value, bool):
        raise ValueError(f"expected epoch milliseconds, got a boolean {value!r}")
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError("epoch milliseconds must be finite")
        return ms_to_datetime(value)
    if isinstance(value, str) and _MS_TEXT.fullmatch(value.strip()):
        return ms_to_datetime(int(value.strip()))
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value
    if isinstance(value, str) and value.endswith(("Z", "+00:00")):
        # The model's own JSON dump (ISO 8601 UTC): a value that crossed XCom is validated again.
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
    raise ValueError(f"expected epoch milliseconds, got {value!r:.40}")


def parse_iso_datetime(text: str) -> datetime:
    """ISO 8601 / RFC 3339 with any number of fractional digits (Go writes nanoseconds),
    'Z' or an offset, or no zone at all (the DCS "2022-09-01 11:52:24" form), read as UTC."""
    match = _ISO_RE.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"expected an ISO 8601 time, got {text[:40]!r}")
    frac = (match["frac"] or "")[:6].ljust(6, "0")
    zone = match["zone"]
    if zone is None or zone in ("Z", "z"):
        zone = "+00:00"
    elif ":" not in zone:
        zone = f"{zone[:3]}:{zone[3:]}"
    try:
        parsed = datetime.fromisoformat(f"{match['date']}T{match['time']}.{frac}{zone}")
    except ValueError as exc:
        raise ValueError(f"invalid time {text[:40]!r}: {exc}") from exc
    return parsed


def parse_datetime(value: object) -> datetime | None:
    """Any time format the API references use: ISO 8601 variants, epoch ms (number or digits), or null/empty.

    Go's zero time (``0001-01-01T00:00:00Z``) means "not set" and is returned as None.
    """
    if isinstance(value, str):
        return _parse_datetime_text(str(value))  # str(): a str subclass as the plain text the cache keys on
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    return parse_ms_epoch(value)


@functools.lru_cache(maxsize=4096)
def _parse_datetime_text(value: str) -> datetime | None:
    """Cached (datetimes are immutable): every poll of a task re-reads the same start and step times."""
    if not value.strip():
        return None
    if not _PADDED_MS_TEXT.fullmatch(value):
        parsed = parse_iso_datetime(value)
        return None if parsed == _GO_ZERO_TIME else parsed
    return parse_ms_epoch(value)


def as_list(value: object) -> list[Any]:
    """An array documented as such but sometimes sent as one object (DIS) or null."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    if isinstance(value, Mapping):
        return [value]
    raise ValueError(f"expected a list of objects, got {type(value).__name__}")


def to_ms(moment: datetime) -> int:
    """Epoch milliseconds of an aware (or naive-as-UTC) datetime."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return (aware - _EPOCH) // timedelta(milliseconds=1)


def format_iso(moment: datetime | None) -> str | None:
    """UTC ISO 8601 with 'Z', the form every TaskStatus result uses."""
    if moment is None:
        return None
    return _format_iso(moment)


@functools.lru_cache(maxsize=4096)
def _format_iso(moment: datetime) -> str:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return aware.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


Percent = Annotated[float | None, BeforeValidator(parse_percent)]
LenientInt = Annotated[int | None, BeforeValidator(parse_int)]
Text = str | None  # numbers become strings: see ServiceModel
Timestamp = Annotated[datetime | None, BeforeValidator(parse_datetime)]


MsTimestamp = Annotated[datetime | None, BeforeValidator(parse_ms_epoch)]


def _field_path(loc: tuple[int | str, ...]) -> str:
    if not loc:
        return "<body>"
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def parse_model(service: str, model_cls: type[M], data: object) -> M:
    """Validate a decoded body; any failure is a BadResponseError naming the field (by its
    seed name), so a bad body is reported the same way by every service."""
    try:
        return model_cls.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        field = _field_path(tuple(first["loc"]))
        more = exc.error_count() - 1
        suffix = f" (and {more} more error{'s' if more > 1 else ''})" if more else ""
        raise BadResponseError(service, field, f"{first['msg']}{suffix}") from None
    except RecursionError:
        raise BadResponseError(service, "<body>", "nested too deeply") from None
