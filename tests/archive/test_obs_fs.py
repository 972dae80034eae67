"""``obs://`` paths: ObjectStoragePath through the ``huaweicloud`` connection, on a real S3-compatible server."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

import pytest

import airflow_provider.fs  # noqa: F401  (obs:// is known to ObjectStoragePath)
from airflow_provider.core.errors import ConfigurationError
from airflow_provider.fs import obs

if TYPE_CHECKING:
    from airflow_provider.testing.emulator_runner import EmulatorHandle


def test_obs_path_writes_and_lists_through_the_default_connection(emulator: EmulatorHandle, s3: Any) -> None:
    from airflow.sdk import ObjectStoragePath

    path = ObjectStoragePath("obs://huaweicloud-log-archive/fs-test/hello.txt")
    path.write_bytes(b"hello obs")
    assert s3.get_object(Bucket="huaweicloud-log-archive", Key="fs-test/hello.txt")["Body"].read() == b"hello obs"
    listed = [str(p) for p in ObjectStoragePath("obs://huaweicloud-log-archive/fs-test/").iterdir()]
    assert listed == ["obs://huaweicloud-log-archive/fs-test/hello.txt"]
    assert path.fs.endpoint_url == emulator.obs_url


def test_password_connection_reads_obs_with_temporary_keys(emulator: EmulatorHandle, monkeypatch: Any) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_OBS_USER", emulator.huaweicloud_password_conn_json)
    options = obs.connection_options("obs_user")
    assert options["key"] != emulator.identities.access_key  # a temporary key, not the account's
    assert options["token"]
    emulator.admin.clear_requests()
    fs = obs.get_fs("obs_user", {"skip_instance_cache": True})
    fs.pipe("huaweicloud-log-archive/fs-test/temp.txt", b"x")
    assert fs.cat("huaweicloud-log-archive/fs-test/temp.txt") == b"x"
    paths = [entry["path"] for entry in emulator.admin.requests()]
    assert obs.SECURITY_TOKENS_PATH in paths


def test_region_endpoint_and_missing_region(monkeypatch: Any) -> None:
    base = {"conn_type": "huaweicloud", "login": "AK", "password": "SK" * 10}
    monkeypatch.setenv("AIRFLOW_CONN_OBS_REGION", json.dumps({**base, "extra": {"region": "ap-southeast-1"}}))
    monkeypatch.setenv("AIRFLOW_CONN_OBS_NOWHERE", json.dumps({**base, "extra": {}}))
    assert obs.connection_options("obs_region")["endpoint_url"] == "https://obs.ap-southeast-1.myhuaweicloud.com"
    with pytest.raises(ConfigurationError, match=r"extra.region.*extra.endpoints.obs"):
        obs.connection_options("obs_nowhere")


def test_without_s3fs_the_error_names_the_extra(monkeypatch: Any) -> None:
    monkeypatch.setitem(sys.modules, "s3fs", None)
    with pytest.raises(ImportError, match=r"airflow-provider-huaweicloud-logs\[obs\]"):
        obs.get_fs("huaweicloud_default")
