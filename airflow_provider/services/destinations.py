"""Where CSS log backups and DIS dump periods land in OBS: the two settings calls that say so.

* CSS ``ShowGetLogSetting`` (``GET /v1.0/{project_id}/clusters/{cluster_id}/logs/settings``):
  ``logConfiguration.obsBucket`` and ``basePath`` (SDK ``ShowGetLogSettingResponse``,
  ``LogConfiguration``); a backup's record names its folder in that bucket, ``logPath``.
* DIS ``ShowTransferTask`` (``GET /v2/{project_id}/streams/{stream_name}/transfer-tasks/{task_name}``):
  ``obs_destination_description`` (SDK ``ShowTransferTaskResponse``,
  ``OBSDestinationDescriptorRequest``): a period's file is under
  ``obs_bucket_path/file_prefix/<partition_format of the file's time>``, named as the log entry's
  ``transferFileName``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from airflow_provider.core.errors import BadResponseError
from airflow_provider.core.request import ApiRequest
from airflow_provider.core.validation import build_path
from airflow_provider.services._inputs import require_project_id
from airflow_provider.services._parsing import ServiceModel, Text, parse_model

if TYPE_CHECKING:
    from airflow_provider.core.exchange import Exchange

CSS_SETTINGS_PATH = "/v1.0/{project_id}/clusters/{cluster_id}/logs/settings"
DIS_TASK_PATH = "/v2/{project_id}/streams/{stream_name}/transfer-tasks/{task_name}"


class LogConfiguration(ServiceModel):
    """``logConfiguration`` of ``ShowGetLogSetting``: the OBS bucket, base path and log switch."""

    obs_bucket: Text = Field(default=None, alias="obsBucket")
    base_path: Text = Field(default=None, alias="basePath")
    log_switch: bool | None = Field(default=None, alias="logSwitch")


class LogSettings(ServiceModel):
    """The body of CSS ``ShowGetLogSetting``."""

    log_configuration: LogConfiguration | None = Field(default=None, alias="logConfiguration")


class ObsDestination(ServiceModel):
    """``obs_destination_description`` of a DIS transfer task: bucket path, file prefix and partition format."""

    obs_bucket_path: Text = None
    file_prefix: Text = None
    partition_format: Text = None
    destination_file_type: Text = None


class TransferTaskDetail(ServiceModel):
    """The body of DIS ``ShowTransferTask``: name, state and destination of the transfer task."""

    task_name: Text = None
    state: Text = None
    destination_type: Text = None
    obs_destination_description: ObsDestination | None = None


def css_log_settings_request(project_id: str | None, cluster_id: str) -> ApiRequest:
    """``GET /v1.0/{project_id}/clusters/{cluster_id}/logs/settings`` (``ShowGetLogSetting``)."""
    return ApiRequest(
        service="css",
        method="GET",
        path=build_path(CSS_SETTINGS_PATH, project_id=require_project_id(project_id), cluster_id=cluster_id),
    )


def css_log_bucket(project_id: str | None, cluster_id: str) -> Exchange[str]:
    """The OBS bucket the cluster's log backups go to."""
    from airflow_provider.services.css import _send

    response = yield from _send(css_log_settings_request(project_id, cluster_id), cluster_id)
    settings = parse_model("css", LogSettings, response.json())
    bucket = settings.log_configuration.obs_bucket if settings.log_configuration else None
    if not bucket:
        raise BadResponseError("css", "logConfiguration.obsBucket", f"cluster {cluster_id!r} names no log bucket")
    return bucket


def dis_transfer_task_request(project_id: str | None, stream_name: str, task_name: str) -> ApiRequest:
    """``GET /v2/{project_id}/streams/{stream_name}/transfer-tasks/{task_name}`` (``ShowTransferTask``)."""
    path = build_path(
        DIS_TASK_PATH, project_id=require_project_id(project_id), stream_name=stream_name, task_name=task_name
    )
    return ApiRequest(service="dis", method="GET", path=path)


def dis_obs_destination(project_id: str | None, stream_name: str, task_name: str) -> Exchange[ObsDestination]:
    """The OBS destination of a transfer task; a task that dumps elsewhere is an error naming it."""
    response = yield dis_transfer_task_request(project_id, stream_name, task_name)
    task = parse_model("dis", TransferTaskDetail, response.json())
    destination = task.obs_destination_description
    if destination is None or not destination.obs_bucket_path:
        raise BadResponseError(
            "dis",
            "obs_destination_description.obs_bucket_path",
            f"transfer task {task_name!r} of stream {stream_name!r} names no OBS bucket "
            f"(destination_type {task.destination_type!r})",
        )
    return destination
