"""DCS Redis run logs: collect (``CreateRedislog``), list (``ListRedislog``), download link.

Shapes from the SDK (``DcsClient.create_redislog``, ``list_redislog``,
``create_redislog_download_link``) and the API pages: the collect call takes only query
parameters and answers 204 with no body (no id: the new log is found by comparing lists); the
list answers 204 when there is no log; the link (``{id, backup_id, link}``) is valid 24 hours.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from pydantic import BeforeValidator, Field

from airflow_provider.core.request import ApiRequest, query_pairs
from airflow_provider.core.validation import build_path, check_choice, check_int_range
from airflow_provider.services._inputs import require_project_id
from airflow_provider.services._parsing import LenientInt, ServiceModel, Text, as_list, parse_model

if TYPE_CHECKING:
    from airflow_provider.core.exchange import Exchange

SERVICE = "dcs"
PATH = "/v2/{project_id}/instances/{instance_id}/redislog"
LINK_PATH = PATH + "/{log_id}/links"
QUERY_TIMES = (0, 1, 3, 7)
LOG_TYPE = "run"
MAX_LIMIT = 1000


class RunLog(ServiceModel):
    """``RunlogItem``."""

    id: Text = None
    file_name: Text = None
    group_name: Text = None
    replication_ip: Text = None
    status: Text = None
    time: Text = None
    backup_id: Text = None


class RunLogList(ServiceModel):
    """The body of ``ListRedislog``: ``total_num`` and the run logs (``file_list``)."""

    total_num: LenientInt = Field(default=None, ge=0)
    file_list: Annotated[list[RunLog], BeforeValidator(as_list)] = Field(default_factory=list)


class DownloadLink(ServiceModel):
    """The body of ``CreateRedislogDownloadLink``: the log's ``id``, ``backup_id`` and the ``link`` (valid 24 hours)."""

    id: Text = None
    backup_id: Text = None
    link: Text = None


def _path(project_id: str | None, instance_id: str, template: str = PATH, **extra: str) -> str:
    return build_path(template, project_id=require_project_id(project_id), instance_id=instance_id, **extra)


def collect_request(
    project_id: str | None, instance_id: str, *, query_time: int = 0, replication_id: str | None = None
) -> ApiRequest:
    """Not idempotent: a repeated call collects again."""
    if isinstance(query_time, bool) or query_time not in QUERY_TIMES:
        check_choice("query_time", str(query_time), tuple(str(t) for t in QUERY_TIMES))
    query = query_pairs(query_time=query_time, log_type=LOG_TYPE, replication_id=replication_id)
    return ApiRequest(
        service=SERVICE,
        method="POST",
        path=_path(project_id, instance_id),
        query=query,
        idempotent=False,
        expected=(200, 201, 202, 204),
    )


def collect(project_id: str | None, instance_id: str, **options: object) -> Exchange[None]:
    """Collect the instance's run logs (``CreateRedislog``, ``collect_request``); the new log has no id."""
    yield collect_request(project_id, instance_id, **options)  # type: ignore[arg-type]


def list_request(project_id: str | None, instance_id: str, *, offset: int = 0, limit: int = 100) -> ApiRequest:
    """``GET /v2/{project_id}/instances/{instance_id}/redislog?log_type=run``: one page of run logs.

    :raises InvalidInputError: ``offset`` below 0, or ``limit`` outside 1 to 1000.
    """
    check_int_range("offset", offset, 0, 10**9)
    check_int_range("limit", limit, 1, MAX_LIMIT)
    query = query_pairs(offset=offset, limit=limit, log_type=LOG_TYPE)
    return ApiRequest(
        service=SERVICE, method="GET", path=_path(project_id, instance_id), query=query, expected=(200, 204)
    )


def list_logs(project_id: str | None, instance_id: str, **page: int) -> Exchange[RunLogList]:
    """One page of the instance's run logs (``ListRedislog``); an empty list when the service answers 204 (no log)."""
    response = yield list_request(project_id, instance_id, **page)
    if response.status == 204 or not response.content.strip():  # "no log is found"
        return RunLogList(total_num=0)
    return parse_model(SERVICE, RunLogList, response.json())


def link_request(project_id: str | None, instance_id: str, log_id: str) -> ApiRequest:
    """Asking again for a link is harmless: retried like a read."""
    return ApiRequest(
        service=SERVICE,
        method="POST",
        path=_path(project_id, instance_id, LINK_PATH, log_id=log_id),
        expected=(200, 201),
    )


def download_link(project_id: str | None, instance_id: str, log_id: str) -> Exchange[DownloadLink]:
    """A download link for run log ``log_id`` (``POST .../redislog/{log_id}/links``).

    :raises BadResponseError: the answer has no ``link``.
    """
    response = yield link_request(project_id, instance_id, log_id)
    link = parse_model(SERVICE, DownloadLink, response.json())
    if not link.link:
        from airflow_provider.core.errors import BadResponseError

        raise BadResponseError(SERVICE, "link", f"no download link for run log {log_id!r}")
    return link
