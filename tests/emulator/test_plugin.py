"""The pytest plugin: cheap to import, sets the connections, resets between tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import httpx


def test_plugin_import_does_not_load_the_server_stack():
    code = (
        "import sys, airflow_provider.testing.plugin as p; "
        "print(sorted(m for m in ('fastapi', 'uvicorn', 'airflow_provider.emulator.app') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_fixture_sets_airflow_connections(huaweicloud_emulator):
    conn = json.loads(os.environ["AIRFLOW_CONN_HUAWEICLOUD_DEFAULT"])
    assert conn["conn_type"] == "huaweicloud"
    assert conn["extra"]["auth_type"] == "aksk"
    assert conn["extra"]["endpoint_url"] == huaweicloud_emulator.url
    edge = json.loads(os.environ["AIRFLOW_CONN_EDGE_MANAGER_DEFAULT"])
    assert edge == {"conn_type": "huawei_edge_manager", "host": "127.0.0.1", "port": edge["port"], "schema": "http"}
    assert huaweicloud_emulator.huaweicloud_conn_uri.startswith("huaweicloud://")


def test_fixture_leaves_state_dirty_for_the_next_test(huaweicloud_emulator):
    huaweicloud_emulator.admin.create_resource("css_clusters", id="left-behind")
    httpx.get(huaweicloud_emulator.url + "/edgemanager/v1/logmgmt/dump/task?taskId=dumpMultiNodesLog.a")
    assert huaweicloud_emulator.admin.requests()


def test_fixture_reset_cleans_previous_test(huaweicloud_emulator):
    assert "left-behind" not in huaweicloud_emulator.admin.info()["resources"]["css_clusters"]
    assert huaweicloud_emulator.admin.requests() == []
