"""Response builders and the error envelopes of each service family."""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response

JSON = "application/json"
_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def json_bytes(payload: Any) -> bytes:
    return _dumps(payload).encode("utf-8")


def json_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(content=json_bytes(payload), status_code=status, media_type=JSON, headers=headers)


def cloud_error(status: int, code: str, message: str, **extra: Any) -> Response:
    """The ``error_code``/``error_msg`` pair most cloud services (and the SDK parser) use."""
    return json_response({"error_code": code, "error_msg": message, **extra}, status)


def dcs_error(status: int, code: str, message: str) -> Response:
    """DCS adds ``error_ext_msg``, "not used currently and set to null" (ListBackgroundTask doc)."""
    return cloud_error(status, code, message, error_ext_msg=None)


def css_error(status: int, code: str, message: str) -> Response:
    """CSS sends ``errCode``/``externalMessage`` and nothing else (terraform-provider-huaweicloud,
    ``huaweicloud/services/css/resource_huaweicloud_css_log_setting.go``)."""
    return json_response({"errCode": code, "externalMessage": message}, status)


def mef_error(code: str, message: str) -> Response:
    """MEF answers every non-success envelope with HTTP 400."""
    return json_response({"status": code, "msg": message, "data": None}, 400)


def mef_ok(data: Any) -> Response:
    return json_response({"status": "00000000", "msg": "success", "data": data})


def iam_error(status: int, title: str, message: str) -> Response:
    """IAM's keystone APIs answer ``{"error": {"code", "message", "title"}}`` (the IAM API docs'
    example error responses, e.g. Creating a Permanent Access Key, 400)."""
    return json_response({"error": {"code": status, "message": message, "title": title}}, status)


def gateway_error(status: int, code: str, message: str, request_id: str) -> Response:
    return json_response(
        {"error_code": code, "error_msg": message, "request_id": request_id},
        status,
        headers={"X-Request-Id": request_id},
    )
