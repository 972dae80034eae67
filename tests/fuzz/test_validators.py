"""Every id and option validator against random input: the value (checked) or ``InvalidInputError``
naming the field, never another exception; what passes is safe to put in a URL path."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from airflow_provider.core.errors import InvalidInputError
from airflow_provider.core.validation import (
    check_choice,
    check_dis_task_id,
    check_edge_node_ids,
    check_edge_task_id,
    check_int_range,
    check_path_param,
)
from airflow_provider.services._inputs import option_int, optional_datetime, require_id
from airflow_provider.services.registry import status_exchange
from tests.services._support import json_values, property_settings

anything = st.one_of(
    json_values,
    st.text(),
    st.text(alphabet=st.characters(codec="utf-8")),
    st.sampled_from(["..", "../x", "a/b", "a?b=1", "a#b", "%2e%2e", " a", "a\n", "\u0000", "\u202e", "x" * 300]),
    st.integers(),
    st.datetimes(),
    st.lists(st.integers(), max_size=3),
)


def rejected(exc: InvalidInputError, field: str) -> None:
    assert exc.field == field
    assert f"Invalid {field}=" in str(exc)


@property_settings
@given(value=anything)
def test_path_param(value: Any) -> None:
    try:
        encoded = check_path_param("cluster_id", value)
    except InvalidInputError as exc:
        rejected(exc, "cluster_id")
        return
    assert "/" not in encoded and "?" not in encoded and "#" not in encoded
    assert unquote(encoded) == value
    assert ".." not in value


@property_settings
@given(value=anything | st.from_regex(r"dumpMultiNodesLog[-_a-zA-Z0-9.]{0,130}", fullmatch=True))
def test_edge_task_id(value: Any) -> None:
    try:
        assert check_edge_task_id(value) == value
    except InvalidInputError as exc:
        rejected(exc, "dump_task_id")


@property_settings
@given(value=anything | st.from_regex(r"[A-Za-z0-9]{18,20}", fullmatch=True))
def test_dis_task_id(value: Any) -> None:
    try:
        assert check_dis_task_id(value) == value
    except InvalidInputError as exc:
        rejected(exc, "transfer_task_id")


@property_settings
@given(value=anything | st.lists(st.integers(min_value=-5, max_value=2**33) | st.text(max_size=4), max_size=110))
def test_edge_node_ids(value: Any) -> None:
    try:
        ids = check_edge_node_ids(value if isinstance(value, (list, str, bytes)) else [value])
    except InvalidInputError as exc:
        rejected(exc, "node_ids")
        return
    assert 1 <= len(ids) <= 100
    assert len(set(ids)) == len(ids)
    assert all(isinstance(i, int) and 1 <= i <= 2**32 - 1 for i in ids)


@property_settings
@given(value=anything)
def test_choice_and_int_range(value: Any) -> None:
    try:
        assert check_choice("order", value, ("asc", "desc")) in ("asc", "desc")
    except InvalidInputError as exc:
        rejected(exc, "order")
    try:
        assert 1 <= check_int_range("max_pages", value, 1, 100) <= 100
    except InvalidInputError as exc:
        rejected(exc, "max_pages")


@property_settings
@given(value=anything)
@example("2024-13-45T99:99:99Z")
@example("9999-12-31T23:59:59-23:59")
def test_optional_datetime(value: Any) -> None:
    try:
        moment = optional_datetime("completed_after", value)
    except InvalidInputError as exc:
        rejected(exc, "completed_after")
        return
    assert moment is None or moment.tzinfo is not None


@given(value=st.sampled_from(["²", "+-5", "-+1"]))
def test_option_int_digit_lookalikes(value: str) -> None:
    try:
        option_int("min_records", value, 0, 0, 10)
    except InvalidInputError as exc:
        rejected(exc, "min_records")


@property_settings
@given(value=anything.filter(lambda v: not (isinstance(v, str) and v.strip().lstrip("+-").isdigit())))
def test_option_int(value: Any) -> None:
    try:
        assert 0 <= option_int("min_records", value, 0, 0, 10) <= 10
    except InvalidInputError as exc:
        rejected(exc, "min_records")


@property_settings
@given(ids=st.dictionaries(st.sampled_from(["cluster_id", "record_id", "x"]), anything, max_size=3))
def test_require_id(ids: dict[str, Any]) -> None:
    try:
        assert require_id(ids, "cluster_id") == ids["cluster_id"]
    except InvalidInputError as exc:
        assert exc.field in ("cluster_id", "ids")


SERVICES = {
    "edge": ["dump_task_id"],
    "clouddc": ["server_id", "export_id"],
    "dis": ["transfer_task_id", "stream_name"],
    "css": ["cluster_id", "record_id", "job_id"],
    "dcs": ["instance_id", "dcs_task_id"],
}


@pytest.mark.parametrize("service", sorted(SERVICES))
@property_settings
@given(data=st.data())
def test_status_exchange_inputs(service: str, data: st.DataObject) -> None:
    """Whatever a (templated) DAG passes as ids and options is checked before anything is built."""
    ids = data.draw(st.fixed_dictionaries({}, optional=dict.fromkeys(SERVICES[service], anything)))
    options = data.draw(
        st.fixed_dictionaries({}, optional=dict.fromkeys(["completed_after", "page_size", "max_pages"], anything))
    )
    try:
        exchange = status_exchange(service, "0123456789abcdef0123456789abcdef", ids, **options)
        request = next(exchange)
    except InvalidInputError as exc:
        assert exc.field
        return
    assert ".." not in request.path.split("?")[0]
    exchange.close()
