"""Error envelopes of every service, and the exception class each one maps to."""

from __future__ import annotations

import json

import pytest

from airflow_provider.core.errors import (
    ApiError,
    AuthenticationError,
    BadResponseError,
    DumpBusyError,
    EdgeManagerError,
    HuaweiCloudError,
    InvalidInputError,
    NotAccessibleError,
    NotFoundError,
    RateLimitedError,
    TaskFailedError,
    TransportError,
    error_for_status,
    parse_error_body,
)


def _j(body: object) -> bytes:
    return json.dumps(body).encode()


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {"error_code": "APIGW.0308", "error_msg": "throttled", "request_id": "rid-1"},
            ("APIGW.0308", "throttled", "rid-1"),
        ),
        (
            {"error_code": "DCS.4065", "error_msg": "no such task", "error_ext_msg": "x"},
            ("DCS.4065", "no such task", None),
        ),
        ({"errorCode": "CSS.0001", "errorMsg": "bad"}, ("CSS.0001", "bad", None)),
        pytest.param({"code": "E42", "message": "generic"}, ("E42", "generic", None)),
        pytest.param({"code": 42, "message": "numeric code"}, ("42", "numeric code", None)),
        pytest.param({"error": {"code": "X.1", "message": "nested"}}, ("X.1", "nested", None)),
        ({"error": {"error_code": "X.2", "error_msg": "nested"}}, ("X.2", "nested", None)),
        ({"status": "40052001", "msg": "log dump busy"}, ("40052001", "log dump busy", None)),
        ({"status": "00001005", "msg": "invalid parameter", "data": None}, ("00001005", "invalid parameter", None)),
        ({"error_msg": "only a message"}, (None, "only a message", None)),
    ],
)
def test_parse_error_body_shapes(body: object, expected: tuple[str | None, str | None, str | None]):
    assert parse_error_body(_j(body)) == expected


def test_parse_error_body_dis_envelope_keeps_message():
    assert parse_error_body(_j({"errorCode": "DIS.4301", "message": "stream not found"})) == (
        "DIS.4301",
        "stream not found",
        None,
    )


def test_parse_error_body_non_json():
    assert parse_error_body(b"") == (None, None, None)
    assert parse_error_body(b"  \n") == (None, None, None)
    assert parse_error_body(b"-") == (None, "-", None)  # the CloudDC 429 body
    code, msg, rid = parse_error_body(b"<html><body><h1>502 Bad Gateway</h1></body></html>")
    assert (code, rid) == (None, None)
    assert msg is not None and "HTML" in msg and "<" not in msg
    long = parse_error_body(b"x" * 5000)[1]
    assert long is not None and len(long) <= 300
    assert parse_error_body(b"\xff\xfe garbage")[1] is not None  # undecodable bytes do not raise


def test_parse_error_body_json_without_known_keys_is_text():
    assert parse_error_body(b'{"foo": "bar"}') == (None, '{"foo": "bar"}', None)
    assert parse_error_body(b"[1, 2]") == (None, "[1, 2]", None)


@pytest.mark.parametrize(
    ("status", "body", "cls"),
    [
        (401, {"error_code": "APIGW.0301", "error_msg": "token expires"}, AuthenticationError),
        (403, {"error_code": "IAM.0001", "error_msg": "forbidden"}, AuthenticationError),
        (404, {"error_code": "CSS.0015", "error_msg": "gone"}, NotFoundError),
        (429, {"error_code": "APIGW.0308", "error_msg": "throttled"}, RateLimitedError),
        (500, {"error_code": "SYS.0500", "error_msg": "boom"}, ApiError),
        (400, {"status": "40052001", "msg": "busy"}, DumpBusyError),
        (400, {"status": "40052002", "msg": "business error"}, EdgeManagerError),
        (400, {"status": "00001006", "msg": "invalid task Id"}, EdgeManagerError),
    ],
)
def test_error_for_status_picks_the_class(status: int, body: object, cls: type[ApiError]):
    error = error_for_status("svc", status, _j(body))
    assert type(error) is cls
    assert error.status == status
    assert isinstance(error, HuaweiCloudError)


def test_css_error_pair_is_read():
    """CSS answers {"errCode", "externalMessage"} (terraform-provider-huaweicloud,
    huaweicloud/services/css/resource_huaweicloud_css_log_setting.go)."""
    body = {"errCode": "CSS.0004", "externalMessage": "CSS.0004 : Invalid operation. (Illegal operation)"}
    assert parse_error_body(_j(body)) == ("CSS.0004", "CSS.0004 : Invalid operation. (Illegal operation)", None)
    error = error_for_status("css", 415, _j(body))
    assert (error.error_code, error.error_msg) == ("CSS.0004", "CSS.0004 : Invalid operation. (Illegal operation)")


def test_css_0015_is_not_accessible_not_an_authentication_error():
    """403 CSS.0015 "No resources are found or the access is denied." (CSS error code page)."""
    body = {"errCode": "CSS.0015", "externalMessage": "No resources are found or the access is denied."}
    error = error_for_status("css", 403, _j(body))
    assert type(error) is NotAccessibleError
    assert isinstance(error, NotFoundError)
    assert not isinstance(error, AuthenticationError)
    named = error.naming("cluster", "c-1")
    assert str(named) == (
        "css API error: HTTP 403, code CSS.0015, cluster 'c-1' not found or not accessible: "
        "No resources are found or the access is denied."
    )


@pytest.mark.parametrize(
    ("code", "message"), [("DIS.4301", "The stream does not exist."), ("DIS.4354", "The transfer task does not exist.")]
)
def test_dis_not_found_codes_are_not_found_at_400(code: str, message: str):
    """DIS answers a missing stream or dump task with 400 (DIS error code appendix)."""
    assert type(error_for_status("dis", 400, _j({"error_code": code, "error_msg": message}))) is NotFoundError


def test_mef_success_status_is_not_an_edge_manager_error():
    error = error_for_status("edge", 500, _j({"status": "00000000", "msg": "success"}))
    assert type(error) is ApiError


def test_dump_busy_is_an_edge_manager_error():
    error = error_for_status("edge", 400, _j({"status": "40052001", "msg": "log dump busy"}))
    assert isinstance(error, EdgeManagerError)
    assert error.error_code == "40052001"
    assert "log dump busy" in str(error)


def test_request_id_from_body_wins_over_header():
    body = _j({"error_code": "A", "error_msg": "b", "request_id": "from-body"})
    assert error_for_status("s", 500, body, {"X-Request-Id": "from-header"}).request_id == "from-body"
    assert error_for_status("s", 500, b"{}", {"X-Request-Id": "from-header"}).request_id == "from-header"
    assert error_for_status("s", 500, b"{}", {"x-request-id": "lower"}).request_id == "lower"
    assert error_for_status("s", 500, b"{}", None).request_id is None


def test_api_error_message():
    error = ApiError(service="css", status=404, error_code="CSS.0015", error_msg="no cluster", request_id="r-9")
    assert str(error) == "css API error: HTTP 404, code CSS.0015, no cluster (request id r-9)"
    assert str(ApiError(service="css", status=502)) == "css API error: HTTP 502"


def test_invalid_input_error_names_field_and_value():
    error = InvalidInputError("cluster_id", "a/b", "must not contain '/'")
    assert str(error) == "Invalid cluster_id='a/b': must not contain '/'"
    assert isinstance(error, ValueError)
    long = InvalidInputError("x", "y" * 500, "too long")
    assert len(str(long)) < 140 and "..." in str(long)


def test_other_errors_name_their_subject():
    assert str(TransportError("dcs", "refused", reached_server=False)) == "dcs: refused"
    assert "field 'token.expires_at'" in str(BadResponseError("iam", "token.expires_at", "missing"))
    failed = TaskFailedError("edge", "dumpMultiNodesLog.1", "node 3 failed", status="failed")
    assert str(failed) == "edge task dumpMultiNodesLog.1 failed: node 3 failed"
    assert failed.status == "failed"


def test_clock_skew_rejection_names_x_sdk_date_and_the_clock() -> None:
    """APIGW.0303 reaches every caller (hooks too, not only waits) with the fix in the message."""
    body = b'{"error_code":"APIGW.0303","error_msg":"Incorrect app authentication information: verify x-sdk-date"}'
    error = error_for_status("dcs", 401, body)
    assert isinstance(error, AuthenticationError)
    assert error.error_code == "APIGW.0303"
    assert "X-Sdk-Date" in str(error) and "clock" in str(error)
    other = error_for_status("dcs", 401, b'{"error_code":"APIGW.0301","error_msg":"token expires"}')
    assert "clock" not in str(other)
