from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import Field

from airflow_provider.core.errors import BadResponseError
from airflow_provider.services._parsing import (
    Percent,
    ServiceModel,
    Timestamp,
    as_list,
    format_iso,
    parse_datetime,
    parse_int,
    parse_model,
    parse_ms_epoch,
    parse_percent,
    parse_text,
    to_ms,
)
from tests.services._support import json_values, property_settings

UTC = timezone.utc


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("30%", 30.0), (" 30 % ", 30.0), ("30", 30.0), (30, 30.0), (45.5, 45.5), ("0%", 0.0), ("100", 100.0)],
)
def test_percent_forms(raw, expected):
    assert parse_percent(raw) == expected


@pytest.mark.parametrize("raw", [None, "", "  "])
def test_percent_blank_is_unknown(raw):
    assert parse_percent(raw) is None


@pytest.mark.parametrize("raw", ["101%", -1, "abc", "30%%", True, [30], float("nan"), float("inf"), 10**400])
def test_percent_rejects_garbage_and_out_of_range(raw):
    with pytest.raises(ValueError):
        parse_percent(raw)


def test_ms_epoch_number_and_string_agree():
    expected = datetime(2022, 6, 24, 3, 53, 57, tzinfo=UTC)
    assert parse_ms_epoch(1656042837000) == expected
    assert parse_ms_epoch("1656042837000") == expected
    assert parse_ms_epoch(None) is None


@pytest.mark.parametrize("raw", [10**20, -(10**20), "1e5", "soon", True])
def test_ms_epoch_rejects(raw):
    with pytest.raises(ValueError):
        parse_ms_epoch(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2023-08-23T17:06:56.28075167Z", datetime(2023, 8, 23, 17, 6, 56, 280751, tzinfo=UTC)),
        ("2024-07-01T11:32:49Z", datetime(2024, 7, 1, 11, 32, 49, tzinfo=UTC)),
        ("2025-03-20T02:48:06+00:00", datetime(2025, 3, 20, 2, 48, 6, tzinfo=UTC)),
        ("2022-09-01 11:52:24", datetime(2022, 9, 1, 11, 52, 24, tzinfo=UTC)),
        ("2020-06-17T07:38:42.503Z", datetime(2020, 6, 17, 7, 38, 42, 503000, tzinfo=UTC)),
        ("2020-06-17T15:38:42+0800", datetime(2020, 6, 17, 7, 38, 42, tzinfo=UTC)),
        (1656042837000, datetime(2022, 6, 24, 3, 53, 57, tzinfo=UTC)),
        ("1656042837000", datetime(2022, 6, 24, 3, 53, 57, tzinfo=UTC)),
    ],
)
def test_datetime_forms(raw, expected):
    parsed = parse_datetime(raw)
    assert parsed == expected
    assert parsed is not None and parsed.utcoffset() is not None


@pytest.mark.parametrize("raw", [None, "", "0001-01-01T00:00:00Z"])
def test_datetime_unset(raw):
    assert parse_datetime(raw) is None


@pytest.mark.parametrize("raw", ["yesterday", "2022-13-01 00:00:00", "2022-09-01", {"t": 1}, True])
def test_datetime_rejects(raw):
    with pytest.raises(ValueError):
        parse_datetime(raw)


def test_int_text_and_list_helpers():
    assert parse_int("3") == 3
    assert parse_int(4.0) == 4
    with pytest.raises(ValueError):
        parse_int(4.5)
    assert parse_text(-1) == "-1"
    assert as_list(None) == []
    assert as_list({"a": 1}) == [{"a": 1}]
    with pytest.raises(ValueError):
        as_list("x")


def test_format_iso_and_to_ms_round_trip():
    moment = datetime(2025, 8, 30, 7, 42, 33, 280000, tzinfo=UTC)
    assert format_iso(moment) == "2025-08-30T07:42:33.280000Z"
    assert to_ms(moment) == 1756539753280
    assert format_iso(moment.astimezone(timezone(timedelta(hours=8)))) == "2025-08-30T07:42:33.280000Z"


class _Sample(ServiceModel):
    percent: Percent = None
    when: Timestamp = Field(default=None, alias="whenAt")


def test_parse_model_names_the_example_field():
    with pytest.raises(BadResponseError) as info:
        parse_model("css", _Sample, {"whenAt": "not a time"})
    assert info.value.field == "whenAt"
    assert info.value.service == "css"
    assert "whenAt" in str(info.value)


def test_parse_model_rejects_non_object_body():
    with pytest.raises(BadResponseError) as info:
        parse_model("dcs", _Sample, [1, 2])
    assert info.value.field == "<body>"


def test_parse_model_accepts_snake_case_names_and_ignores_extras():
    parsed = parse_model("css", _Sample, {"when": 0, "percent": "5%", "unknown": {"x": 1}})
    assert parsed.when == datetime(1970, 1, 1, tzinfo=UTC)
    assert parsed.percent == 5.0


@property_settings
@given(json_values)
def test_datetime_parser_only_raises_value_error(value):
    try:
        parsed = parse_datetime(value)
    except ValueError:
        return
    assert parsed is None or parsed.tzinfo is not None


@property_settings
@given(st.fixed_dictionaries({}, optional={"percent": json_values, "whenAt": json_values}))
def test_parse_model_never_leaks_other_exceptions(body):
    try:
        parsed = parse_model("css", _Sample, body)
    except BadResponseError:
        return
    assert parsed.percent is None or 0 <= parsed.percent <= 100
