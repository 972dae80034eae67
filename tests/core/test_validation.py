"""Input checks that keep ids from escaping their place in the URL path."""

from __future__ import annotations

import re

import pytest

from airflow_provider.core.errors import InvalidInputError
from airflow_provider.core.validation import (
    MAX_EDGE_NODE_ID,
    MAX_PATH_PARAM_LENGTH,
    build_path,
    check_choice,
    check_dis_task_id,
    check_edge_node_ids,
    check_edge_task_id,
    check_int_range,
    check_path_param,
)


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("a/b", "'/'"),
        ("..", "'..'"),
        ("a..b", "'..'"),
        (".", "'..'"),
        ("x?admin=1", "'?'"),
        ("x#frag", "'#'"),
        ("a\\b", re.escape(repr("\\"))),
        ("100%", "'%'"),
        ("a\x00b", "control"),
        ("a\nb", "control"),
        ("a\x7fb", "control"),
        ("", "empty"),
        (" padded", "white space"),
        ("padded\t", "white space"),
        ("x" * (MAX_PATH_PARAM_LENGTH + 1), "at most"),
    ],
)
def test_check_path_param_rejects(value: str, why: str):
    with pytest.raises(InvalidInputError, match=why) as info:
        check_path_param("cluster_id", value)
    assert info.value.field == "cluster_id"
    assert info.value.value == value
    assert "cluster_id" in str(info.value)


@pytest.mark.parametrize("value", [None, 12, 1.5, b"bytes", ["a"]])
def test_check_path_param_rejects_non_strings(value: object):
    with pytest.raises(InvalidInputError, match="must be a string") as info:
        check_path_param("instance_id", value)
    assert "instance_id" in str(info.value)
    assert repr(value) in str(info.value)


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        ("c-1", "c-1"),
        ("a b", "a%20b"),
        ("ünï", "%C3%BCn%C3%AF"),
        ("日志", "%E6%97%A5%E5%BF%97"),
        ("a+b&c=d", "a%2Bb%26c%3Dd"),
        ("x~y_z.w", "x~y_z.w"),
    ],
)
def test_check_path_param_encodes(value: str, encoded: str):
    assert check_path_param("id", value) == encoded


def test_check_path_param_max_length_boundary():
    assert check_path_param("id", "x" * MAX_PATH_PARAM_LENGTH) == "x" * MAX_PATH_PARAM_LENGTH
    with pytest.raises(InvalidInputError):
        check_path_param("id", "x" * 11, max_length=10)


def test_build_path():
    path = build_path("/v1.0/{project_id}/clusters/{cluster_id}/logs/records", project_id="p1", cluster_id="my cluster")
    assert path == "/v1.0/p1/clusters/my%20cluster/logs/records"


def test_build_path_checks_every_value():
    with pytest.raises(InvalidInputError, match="cluster_id"):
        build_path("/v1/{project_id}/clusters/{cluster_id}", project_id="p", cluster_id="../../admin")


def test_build_path_missing_placeholder_is_a_programming_error():
    with pytest.raises(ValueError, match="cluster_id") as info:
        build_path("/v1/{project_id}/clusters/{cluster_id}", project_id="p")
    assert not isinstance(info.value, InvalidInputError)


@pytest.mark.parametrize(
    "value",
    ["dumpMultiNodesLog.413f66d069888b135e976c57", "dumpMultiNodesLogx", "dumpMultiNodesLog" + "a" * 128],
)
def test_edge_task_id_accepts(value: str):
    assert check_edge_task_id(value) == value


@pytest.mark.parametrize(
    "value",
    [
        "dumpMultiNodesLog",
        "dumpMultiNodesLog" + "a" * 129,
        "dumpmultinodeslog.1",
        "other.413f",
        "dumpMultiNodesLog.1/../x",
        "dumpMultiNodesLog.1\n",
        "dumpMultiNodesLog.1 ",
        42,
        None,
    ],
)
def test_edge_task_id_rejects(value: object):
    with pytest.raises(InvalidInputError, match="dump_task_id"):
        check_edge_task_id(value)


def test_dis_task_id():
    assert check_dis_task_id("As805BudhcH1lDs6gbn") == "As805BudhcH1lDs6gbn"
    for bad in ["As805BudhcH1lDs6gb", "As805BudhcH1lDs6gbnX", "As805Budhc-1lDs6gbn", "", None, 1234567890123456789]:
        with pytest.raises(InvalidInputError, match="transfer_task_id"):
            check_dis_task_id(bad)


def test_edge_node_ids_accept_and_normalise():
    assert check_edge_node_ids([1, 2, MAX_EDGE_NODE_ID]) == [1, 2, MAX_EDGE_NODE_ID]
    assert check_edge_node_ids(["7", " 8 "]) == [7, 8]
    assert check_edge_node_ids(range(1, 101)) == list(range(1, 101))


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ([], "at least one"),
        ([0], r"\[1, 4294967295\]"),
        ([MAX_EDGE_NODE_ID + 1], r"\[1, 4294967295\]"),
        ([-1], r"\[1, 4294967295\]"),
        ([1, 2, 1], "unique"),
        ([1, "1"], "unique"),
        ([True], "integer"),
        ([1.0], "integer"),
        (["x"], "integer"),
        ([None], "integer"),
        ("123", "not a string"),
        (list(range(1, 102)), "at most 100"),
    ],
)
def test_edge_node_ids_reject(values: object, message: str):
    with pytest.raises(InvalidInputError, match=message) as info:
        check_edge_node_ids(values)  # type: ignore[arg-type]
    assert info.value.field == "node_ids"


def test_edge_node_ids_superscript_digit_is_invalid_input():
    with pytest.raises(InvalidInputError, match="node_ids"):
        check_edge_node_ids(["²"])


def test_choice_and_int_range():
    assert check_choice("order", "asc", ("asc", "desc")) == "asc"
    with pytest.raises(InvalidInputError, match=r"Invalid order='up': must be one of asc, desc"):
        check_choice("order", "up", ("asc", "desc"))
    assert check_int_range("limit", 10, 1, 100) == 10
    for bad in (0, 101, True, "5", 5.0):
        with pytest.raises(InvalidInputError, match="limit"):
            check_int_range("limit", bad, 1, 100)
