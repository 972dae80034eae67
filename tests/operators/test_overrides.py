"""One connection, several regions and projects: templated connection ids and the ``region`` and
``project_id`` overrides of every task, on the sync path and in the trigger."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

import pytest

from airflow_provider.core.errors import ApiError, ConfigurationError, InvalidInputError
from airflow_provider.hooks.connection_config import cloud_config
from airflow_provider.hooks.css import CssHook
from airflow_provider.hooks.project_lookup import clear_cache
from airflow_provider.operators.clouddc import CloudDCLogExportOperator
from airflow_provider.operators.css import CssLogBackupOperator
from airflow_provider.operators.dcs import DcsRunLogOperator
from airflow_provider.operators.dis import DisTransferTaskLogOperator
from airflow_provider.operators.edge import EdgeLogDumpOperator
from airflow_provider.sensors.css import CssLogBackupSensor
from airflow_provider.sensors.dcs import DcsBackgroundTaskSensor
from airflow_provider.sensors.edge import EdgeLogDumpSensor
from airflow_provider.triggers.task import HuaweiCloudTaskTrigger

if TYPE_CHECKING:
    from collections.abc import Iterator

    from airflow_provider.testing.emulator_runner import EmulatorHandle

CLUSTER = "4213d908-f5dc-4633-8401-cfd7175fca0c"


@pytest.fixture(autouse=True)
def _no_cached_projects() -> Iterator[None]:
    clear_cache()
    yield
    clear_cache()


@pytest.mark.parametrize(
    ("task", "fields"),
    [
        (CssLogBackupOperator, {"huaweicloud_conn_id", "region", "project_id", "cluster_id"}),
        (CssLogBackupSensor, {"huaweicloud_conn_id", "region", "project_id", "cluster_id"}),
        (DcsBackgroundTaskSensor, {"huaweicloud_conn_id", "region", "project_id", "instance_id"}),
        (DisTransferTaskLogOperator, {"huaweicloud_conn_id", "region", "project_id", "transfer_task_id"}),
        (EdgeLogDumpOperator, {"edge_manager_conn_id", "node_ids"}),
        (EdgeLogDumpSensor, {"edge_manager_conn_id", "dump_task_id"}),
    ],
)
def test_connection_ids_and_overrides_are_templated(task: type[Any], fields: set[str]) -> None:
    """Before, no connection id was a template field and no task took a region or project."""
    assert fields <= set(task.template_fields)


def test_a_rendered_sensor_reads_its_connection_region_and_project_from_templates() -> None:
    from jinja2 import Environment

    sensor = CssLogBackupSensor(
        task_id="watch",
        cluster_id="c-{{ params.n }}",
        record_id="r",
        huaweicloud_conn_id="hwc_{{ params.site }}",
        region="{{ params.region }}",
        project_id="p-{{ params.n }}",
    )
    context: Any = {"params": {"n": 7, "site": "eu", "region": "eu-west-101"}}
    sensor.render_template_fields(context, jinja_env=Environment())
    wait = sensor.task_wait()
    assert (wait.conn_id, wait.region, wait.project_id) == ("hwc_eu", "eu-west-101", "p-7")
    trigger = wait.trigger(timeout=60)
    kwargs = trigger.serialize()[1]
    assert (kwargs["conn_id"], kwargs["region"], kwargs["project_id"]) == ("hwc_eu", "eu-west-101", "p-7")


def test_a_region_override_moves_the_endpoints_and_drops_the_connection_s_project() -> None:
    conn: Any = type(
        "Conn",
        (),
        {
            "conn_id": "c",
            "login": "AK",
            "password": "SK",
            "extra_dejson": {"region": "cn-north-4", "project_id": "p-north"},
            "extra": json.dumps({"region": "cn-north-4", "project_id": "p-north"}),
        },
    )()
    own = cloud_config(conn)
    assert (own.region, own.project_id, own.resolver("css")) == (
        "cn-north-4",
        "p-north",
        "https://css.cn-north-4.myhuaweicloud.com",
    )
    moved = cloud_config(conn, region="cn-east-3")
    assert moved.resolver("css") == "https://css.cn-east-3.myhuaweicloud.com"
    assert moved.project_id is None  # cn-north-4's project is not cn-east-3's: looked up instead
    both = cloud_config(conn, region="cn-east-3", project_id="p-east")
    assert both.project_id == "p-east"
    with pytest.raises(ConfigurationError, match="region=' x' must be"):
        cloud_config(conn, region=" x")


def test_the_hook_sends_the_overridden_project_in_the_path_and_signature(emulator: EmulatorHandle) -> None:
    emulator.admin.clear_requests()
    hook = CssHook(project_id="fedcba9876543210fedcba9876543210")
    try:
        with pytest.raises(ApiError):  # the emulator knows no such project
            hook.get_log_backup_record_page(CLUSTER)
    finally:
        hook.close()
    [sent] = [r for r in emulator.admin.requests() if "/clusters/" in r["path"]]
    assert sent["path"].startswith("/v1.0/fedcba9876543210fedcba9876543210/clusters/")
    assert sent["headers"]["x-project-id"] == "fedcba9876543210fedcba9876543210"


def test_a_region_override_looks_the_project_up_in_that_region(emulator: EmulatorHandle) -> None:
    emulator.admin.clear_requests()
    hook = CssHook(region="cn-east-3")
    try:
        with pytest.raises(ConfigurationError, match="no project named 'cn-east-3'"):
            hook.get_log_backup_record_page(CLUSTER)
    finally:
        hook.close()
    lookups = [r["query"] for r in emulator.admin.requests() if r["path"] == "/v3/projects"]
    assert lookups == ["name=cn-east-3"]


async def test_the_trigger_keeps_one_transport_per_connection_and_override(emulator: EmulatorHandle) -> None:
    from airflow_provider.core.async_transport import close_shared_clients

    def trigger(**overrides: Any) -> HuaweiCloudTaskTrigger:
        return HuaweiCloudTaskTrigger(
            service="css", conn_id="huaweicloud_default", ids={}, deadline=time.time() + 60, **overrides
        )

    try:
        own, own_project, _ = await trigger()._transport()
        again, _, _ = await trigger()._transport()
        other, other_project, _ = await trigger(project_id="fedcba9876543210fedcba9876543210")._transport()
    finally:
        await close_shared_clients()
    assert again is own
    assert other is not own
    assert own_project == emulator.project_id
    assert other_project == "fedcba9876543210fedcba9876543210"


def test_mef_tasks_take_no_region_or_project() -> None:
    with pytest.raises(InvalidInputError) as caught:
        EdgeLogDumpSensor(task_id="w", dump_task_id="dumpMultiNodesLog.x", region="cn-north-4")
    assert caught.value.field == "region"
    assert "no regions or projects" in str(caught.value)


@pytest.mark.parametrize(
    ("task", "kwargs"),
    [
        (CssLogBackupOperator, {"cluster_id": CLUSTER}),
        (CssLogBackupSensor, {"cluster_id": CLUSTER, "record_id": "r"}),
        (DcsBackgroundTaskSensor, {"instance_id": "i", "dcs_task_id": "t"}),
        (DcsRunLogOperator, {"instance_id": "i", "download_to": "/tmp/x/"}),
        (CloudDCLogExportOperator, {"server_id": "s"}),
    ],
)
def test_every_task_s_hook_carries_its_region_and_project_overrides(task: type[Any], kwargs: dict[str, Any]) -> None:
    """Before, the DCS run-log operator's hook dropped them: its calls went to the connection's region."""
    op = task(task_id="t", region="eu-west-101", project_id="p-eu", **kwargs)
    hook = op.make_hook()
    assert (hook.region_override, hook.project_id_override) == ("eu-west-101", "p-eu")


def test_the_dis_file_listing_takes_the_overrides_for_its_dis_call() -> None:
    """Before, ``DisDumpFilesOperator`` took no region or project: its DIS call went to the connection's."""
    from airflow_provider.operators.dis import DisDumpFilesOperator

    op = DisDumpFilesOperator(
        task_id="t", stream_name="s", transfer_task_name="n", sensor_task_id="w", region="eu-west-101", project_id="p"
    )
    assert {"huaweicloud_conn_id", "region", "project_id"} <= set(op.template_fields)
    assert (op.region, op.project_id) == ("eu-west-101", "p")
