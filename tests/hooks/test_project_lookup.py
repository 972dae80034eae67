"""The project id of an AK/SK connection with a region and no project: the SDK's lookup, its answers."""

from __future__ import annotations

import json
import re

import pytest
from airflow.sdk import Connection

from airflow_provider.core.auth import AkSkAuth
from airflow_provider.core.errors import ApiError, ConfigurationError, error_for_status
from airflow_provider.core.exchange import drive_sync
from airflow_provider.hooks.connection_config import CloudConfig, cloud_config
from airflow_provider.hooks.project_lookup import lookup_exchange, needs_lookup, require_signed_project, with_project
from tests.services._support import FakeSender, response

PROJECT = "0123456789abcdef0123456789abcdef"


def config(**extra: object) -> CloudConfig:
    fields = {"region": "cn-north-4", "endpoint_url": "https://api.test", **extra}
    fields = {k: v for k, v in fields.items() if v is not None}
    return cloud_config(
        Connection(conn_id="hwc", conn_type="huaweicloud", login="AK", password="SK", extra=json.dumps(fields))
    )


def test_only_an_aksk_connection_with_a_region_and_no_project_looks_it_up() -> None:
    assert needs_lookup(config())
    assert not needs_lookup(config(project_id=PROJECT))
    assert not needs_lookup(config(region=None))
    assert not needs_lookup(config(auth_type="token"))


def test_the_lookup_asks_for_the_region_s_project_and_signs_it_from_then_on() -> None:
    cloud = config()
    sender = FakeSender(response("iam", {"projects": [{"id": PROJECT, "name": "cn-north-4"}], "links": {}}))
    found = drive_sync(lookup_exchange(cloud), sender)
    assert found == PROJECT
    (request,) = sender.requests
    assert (request.method, request.path, request.query) == ("GET", "/v3/projects", (("name", "cn-north-4"),))
    resolved = with_project(cloud, found)
    assert resolved.project_id == PROJECT
    assert isinstance(resolved.auth, AkSkAuth) and resolved.auth.project_id == PROJECT


@pytest.mark.parametrize(
    ("projects", "found"),
    [([], "no project"), ([{"id": "a"}, {"id": "b"}], "2 projects (a, b)")],
)
def test_none_or_several_projects_are_an_error_naming_the_field(projects: list[object], found: str) -> None:
    sender = FakeSender(response("iam", {"projects": projects}))
    with pytest.raises(
        ConfigurationError, match=rf"extra\.project_id is not set and IAM lists {re.escape(found)} named"
    ):
        drive_sync(lookup_exchange(config()), sender)


def test_a_refused_lookup_names_the_field_and_an_outage_stays_an_outage() -> None:
    denied = error_for_status("iam", 403, b'{"error": {"code": 403, "message": "denied", "title": "Forbidden"}}')
    with pytest.raises(ConfigurationError, match=r"looking up the project of region 'cn-north-4' failed"):
        drive_sync(lookup_exchange(config()), FakeSender(denied))
    outage = error_for_status("iam", 503, b"{}")
    with pytest.raises(ApiError) as info:
        drive_sync(lookup_exchange(config()), FakeSender(outage))
    assert not isinstance(info.value, ConfigurationError)


def test_a_log_read_with_no_project_to_sign_is_refused_naming_the_field() -> None:
    with pytest.raises(ConfigurationError, match=r"neither extra\.project_id nor extra\.region"):
        require_signed_project(config(region=None), "the log")
    require_signed_project(config(project_id=PROJECT), "the log")
    require_signed_project(config(region=None, auth_type="token"), "the log")
