"""One exception hierarchy for every service, sync or async.

Airflow decides retry/fail behaviour from the exception type, so each failure the user can act
on has its own class; every message names the service and never contains a credential.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from airflow.sdk.exceptions import AirflowException

MEF_SUCCESS = "00000000"
#: MEF's "edge node is busy" code (``src/mef-center/common/errcode.go`` in Ascend/MEF).
MEF_DUMP_BUSY = "40052001"
#: MEF's "log dump business error": what a create call gets while another dump runs (the dump pool
#: has one worker and no queue, so ``SubmitTask`` fails with "task queue is full" and
#: ``create_task_handler.go`` answers this code), and what a query of an unknown task gets
#: ("no such task", from ``taskschedule.ErrTaskNotFound``).
MEF_DUMP_BUSINESS = "40052002"
#: Scheduler messages that mean "another dump holds MEF": retrying later succeeds
#: (``taskschedule/errors.go``: ErrFullQueue, ErrTooManyTask).
MEF_BUSY_MESSAGES = ("task queue is full", "too many tasks")
MEF_NO_SUCH_TASK = "no such task"
CLOCK_SKEW_CODE = "APIGW.0303"
CLOCK_SKEW_HINT = (
    "the gateway rejected the request's X-Sdk-Date: it differs from the gateway's time by more than 15 "
    "minutes; check this machine's clock (NTP)"
)
_MAX_RAW_TEXT = 300


class HuaweiCloudError(AirflowException):
    """Root of every error this provider raises."""


class InvalidInputError(HuaweiCloudError, ValueError):
    """A parameter was rejected before any request was sent.

    :param field: the parameter's name.
    :param value: the value rejected (shown shortened in the message).
    :param reason: why it was rejected.
    """

    def __init__(self, field: str, value: object, reason: str) -> None:
        self.field = field
        self.value = value
        self.reason = reason
        shown = repr(value)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        super().__init__(f"Invalid {field}={shown}: {reason}")


class ConfigurationError(HuaweiCloudError):
    """The Airflow connection cannot be turned into a working client configuration."""


class TransportError(HuaweiCloudError):
    """The request did not produce an HTTP response (refused, reset, timed out) after retries.

    :param service: the service the request was for.
    :param message: what failed.
    :param reached_server: whether the request may have reached the service; None for a failure that is not a
        network one (a TLS error, a header the client refuses to send).
    """

    def __init__(self, service: str, message: str, *, reached_server: bool | None = None) -> None:
        self.service = service
        self.reached_server = reached_server
        super().__init__(f"{service}: {message}")


class BadResponseError(HuaweiCloudError):
    """The service answered, but the body is not what the API documents.

    :param service: the service that answered.
    :param field: the response field that is missing or wrong (``<body>`` for the whole body).
    :param message: what is wrong with it.
    """

    def __init__(self, service: str, field: str, message: str) -> None:
        self.service = service
        self.field = field
        super().__init__(f"{service}: unexpected response, field {field!r}: {message}")


class ApiError(HuaweiCloudError):
    """The service answered with an error status (or an error envelope).

    :param service: the service that answered.
    :param status: the HTTP status.
    :param error_code: the service's error code (``error_code``, ``errCode``, MEF's envelope ``status``...).
    :param error_msg: the service's error message.
    :param request_id: the request id the service gave (body ``request_id`` or the ``X-Request-Id`` header).
    """

    def __init__(
        self,
        *,
        service: str,
        status: int,
        error_code: str | None = None,
        error_msg: str | None = None,
        request_id: str | None = None,
    ) -> None:
        self.service = service
        self.status = status
        self.error_code = error_code
        self.error_msg = error_msg
        self.request_id = request_id
        parts = [f"{service} API error: HTTP {status}"]
        if error_code:
            parts.append(f"code {error_code}")
        if error_msg:
            parts.append(error_msg)
        text = ", ".join(parts)
        if request_id:
            text += f" (request id {request_id})"
        super().__init__(text)


class AuthenticationError(ApiError):
    """401/403, or a token that could not be obtained or refreshed."""


class NotFoundError(ApiError):
    """404: the task, cluster, instance or server does not exist (any more)."""


class NotAccessibleError(NotFoundError):
    """403 ``CSS.0015``: "No resources are found or the access is denied." CSS does not say which,
    so this is neither an authentication failure nor a plain 404 (the CSS error code page)."""

    def naming(self, kind: str, resource_id: str) -> NotAccessibleError:
        """The same error, its message naming the resource the request was about."""
        return NotAccessibleError(
            service=self.service,
            status=self.status,
            error_code=self.error_code,
            error_msg=f"{kind} {resource_id!r} not found or not accessible"
            + (f": {self.error_msg}" if self.error_msg else ""),
            request_id=self.request_id,
        )


class RateLimitedError(ApiError):
    """429 that outlived the retry policy."""


class EdgeManagerError(ApiError):
    """MEF answered with a non-success envelope status (sent as HTTP 400)."""


class DumpBusyError(EdgeManagerError):
    """MEF runs one log dump at a time and another one is in progress: 40052002 "task queue is
    full" (what MEF's create handler answers), or 40052001 "edge node is busy"."""


class EdgeTaskNotFoundError(EdgeManagerError, NotFoundError):
    """MEF does not know the task (40052002 "no such task"); MEF deletes every task when it restarts."""


def mef_error_class(code: str, message: str | None) -> type[EdgeManagerError]:
    """The error class an MEF envelope code (and message) stands for."""
    text = (message or "").lower()
    if code == MEF_DUMP_BUSY or (code == MEF_DUMP_BUSINESS and any(m in text for m in MEF_BUSY_MESSAGES)):
        return DumpBusyError
    if code == MEF_DUMP_BUSINESS and MEF_NO_SUCH_TASK in text:
        return EdgeTaskNotFoundError
    return EdgeManagerError


class NothingStartedError(HuaweiCloudError):
    """An operator gave up before its start call created a remote task (e.g. MEF Center stayed busy):
    a retry has nothing to look for."""


class TaskGoneError(HuaweiCloudError):
    """The remote task a wait was watching is not known to the service (any more)."""


class TaskFailedError(HuaweiCloudError):
    """The remote task ended in a failed (or unaccepted partially failed) state.

    :param service: the service that runs the task.
    :param task_id: the remote task's id.
    :param message: why it failed, in the service's words where it gave any.
    :param status: the final status observed (``TaskStatus.to_json()``), if any.
    """

    def __init__(self, service: str, task_id: str, message: str, *, status: Any = None) -> None:
        self.service = service
        self.task_id = task_id
        self.status = status
        super().__init__(f"{service} task {task_id} failed: {message}")


def _find_pair(body: Any, pairs: tuple[tuple[str, str], ...]) -> tuple[str | None, str | None]:
    """Search a decoded body (and nested dicts) for the first known code/message pair."""
    if not isinstance(body, Mapping):
        return None, None
    for need_both in (True, False):
        for code_key, msg_key in pairs:
            code, msg = body.get(code_key), body.get(msg_key)
            present = (code is not None and msg is not None) if need_both else (code is not None or msg is not None)
            if present:
                return (None if code is None else str(code)), (None if msg is None else str(msg))
    for value in body.values():
        if isinstance(value, Mapping):
            nested = _find_pair(value, pairs)
            if nested != (None, None):
                return nested
    return None, None


_PAIRS = (
    ("error_code", "error_msg"),
    # CSS: {"errCode": "CSS.0015", "externalMessage": "..."} (terraform-provider-huaweicloud,
    # huaweicloud/services/css/resource_huaweicloud_css_log_setting.go)
    ("errCode", "externalMessage"),
    ("errorCode", "errorMsg"),
    ("errorCode", "message"),
    ("code", "message"),
)


def parse_error_body(content: bytes) -> tuple[str | None, str | None, str | None]:
    """Return (error_code, error_msg, request_id) from any documented error shape.

    Shapes: ``error_code/error_msg`` (APIG, DCS, DIS, CloudDC), ``errCode/externalMessage``
    (CSS), ``errorCode/message`` (the DIS transfer-task log's 200 body),
    ``code/message``, the MEF envelope ``status/msg``, and non-JSON text (HTML pages, the
    CloudDC 429 ``-`` body), which is returned trimmed as the message.
    """
    text = content.decode("utf-8", errors="replace").strip()
    try:
        body = json.loads(text) if text else None
    except ValueError:
        body = None
    if isinstance(body, Mapping):
        request_id = body.get("request_id")
        status = body.get("status")
        if isinstance(status, str) and status.isdigit() and len(status) == 8 and "msg" in body:
            return status, (None if body.get("msg") is None else str(body.get("msg"))), None
        code, msg = _find_pair(body, _PAIRS)
        if code is not None or msg is not None:
            return code, msg, (None if request_id is None else str(request_id))
    if not text:
        return None, None, None
    if text.lstrip().startswith("<"):
        return None, "non-JSON (HTML) error body", None
    return None, text[:_MAX_RAW_TEXT], None


#: Codes that mean "this resource does not exist", whatever HTTP status carries them: DIS answers
#: 400 for a missing stream or dump task (DIS error code appendix), and 200 with the code in the
#: body on the transfer-task log.
NOT_FOUND_CODES = frozenset({"DIS.4301", "DIS.4354"})
#: 403 codes that mean "not found, or not yours": CSS.0015 (CSS error code page css_03_0076).
NOT_ACCESSIBLE_CODES = frozenset({"CSS.0015"})


def error_for_status(service: str, status: int, content: bytes, headers: Mapping[str, str] | None = None) -> ApiError:
    """Map an HTTP error response to the most specific ApiError subclass."""
    code, msg, request_id = parse_error_body(content)
    if headers is not None and request_id is None:
        request_id = headers.get("X-Request-Id") or headers.get("x-request-id")
    return api_error(service, status, code, msg, request_id)


def api_error(service: str, status: int, code: str | None, msg: str | None, request_id: str | None = None) -> ApiError:
    """The most specific ApiError for a status and a service's code (also for errors in a 200 body)."""
    kwargs: dict[str, Any] = {
        "service": service,
        "status": status,
        "error_code": code,
        "error_msg": msg,
        "request_id": request_id,
    }
    if code is not None and len(code) == 8 and code.isdigit() and code != MEF_SUCCESS:
        return mef_error_class(code, msg)(**kwargs)
    if code in NOT_ACCESSIBLE_CODES and status == 403:
        return NotAccessibleError(**kwargs)
    if code in NOT_FOUND_CODES:
        return NotFoundError(**kwargs)
    if status in (401, 403):
        if code == CLOCK_SKEW_CODE or "x-sdk-date" in (msg or "").lower():
            kwargs["error_msg"] = f"{msg} ({CLOCK_SKEW_HINT})" if msg else CLOCK_SKEW_HINT
        return AuthenticationError(**kwargs)
    if status == 404:
        return NotFoundError(**kwargs)
    if status == 429:
        return RateLimitedError(**kwargs)
    return ApiError(**kwargs)
