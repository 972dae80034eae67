"""Console URLs the operators push, and the extra link that reads them back."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from airflow_provider.operators import links as links_module
from airflow_provider.operators.clouddc import CloudDCLogExportOperator
from airflow_provider.operators.css import CssLogBackupOperator
from airflow_provider.operators.edge import EdgeLogDumpOperator
from airflow_provider.operators.links import (
    CONSOLE,
    CONSOLE_URL_KEY,
    HuaweiCloudConsoleLink,
    MefCenterLink,
    console_url,
)
from airflow_provider.sensors.clouddc import CloudDCLogExportSensor
from airflow_provider.sensors.css import CssLogBackupSensor
from airflow_provider.sensors.dcs import DcsBackgroundTaskSensor
from airflow_provider.sensors.dis import DisTransferTaskSensor
from airflow_provider.sensors.edge import EdgeLogDumpSensor

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator


@pytest.mark.parametrize(
    ("service", "ids", "expected"),
    [
        ("css", {"cluster_id": "c-1", "record_id": "r"}, "css/?region=cn-north-4#/css/management/clusters/c-1/logs"),
        ("clouddc", {"server_id": "s-1", "export_id": "3"}, "clouddc/?region=cn-north-4#/clouddc/physicalservers/s-1"),
        ("dcs", {"instance_id": "i-1", "dcs_task_id": "t"}, "dcs/?region=cn-north-4#/dcs/manager/instances/i-1/tasks"),
        ("dis", {"transfer_task_id": "T1"}, "dis/?region=cn-north-4#/dis/transfertasks/T1"),
    ],
)
def test_console_url_per_service(service: str, ids: dict[str, str], expected: str) -> None:
    assert console_url(service, "cn-north-4", ids) == f"{CONSOLE}/{expected}"


def test_console_url_quotes_ids_and_region_and_tolerates_no_region() -> None:
    url = console_url("clouddc", "ap southeast/1", {"server_id": "a/b#c", "export_id": "1"})
    assert url == f"{CONSOLE}/clouddc/?region=ap%20southeast/1#/clouddc/physicalservers/a%2Fb%23c"
    assert console_url("dis", None, {"transfer_task_id": "T1"}) == f"{CONSOLE}/dis/#/dis/transfertasks/T1"


def test_edge_url_is_the_mef_center_itself() -> None:
    assert console_url("edge", None, {"dump_task_id": "x"}, "https://mef.example:30035") == "https://mef.example:30035/"


@pytest.mark.parametrize(
    ("task_class", "link_class", "name"),
    [
        (CloudDCLogExportOperator, HuaweiCloudConsoleLink, "Huawei Cloud Console"),
        (CssLogBackupOperator, HuaweiCloudConsoleLink, "Huawei Cloud Console"),
        (EdgeLogDumpOperator, MefCenterLink, "MEF Center"),
        (CloudDCLogExportSensor, HuaweiCloudConsoleLink, "Huawei Cloud Console"),
        (CssLogBackupSensor, HuaweiCloudConsoleLink, "Huawei Cloud Console"),
        (DcsBackgroundTaskSensor, HuaweiCloudConsoleLink, "Huawei Cloud Console"),
        (DisTransferTaskSensor, HuaweiCloudConsoleLink, "Huawei Cloud Console"),
        (EdgeLogDumpSensor, MefCenterLink, "MEF Center"),
    ],
)
def test_every_operator_and_sensor_links_to_where_its_task_lives(
    task_class: type[BaseOperator], link_class: type[HuaweiCloudConsoleLink], name: str
) -> None:
    links = list(task_class.operator_extra_links)
    assert [type(link) for link in links] == [link_class]
    assert links[0].name == name


def test_the_link_reads_the_url_back_from_the_running_task_instance() -> None:
    class RunningTaskInstance:
        def xcom_pull(self, key: str) -> str:
            return {CONSOLE_URL_KEY: "https://console.huaweicloud.com/css/#/x"}[key]

    link = HuaweiCloudConsoleLink()
    running: Any = RunningTaskInstance()
    assert link.get_link(CssLogBackupOperator(task_id="b", cluster_id="c"), ti_key=running) == (
        "https://console.huaweicloud.com/css/#/x"
    )
    assert link.get_link(CssLogBackupOperator(task_id="b", cluster_id="c"), ti_key=object()) == ""  # type: ignore[arg-type]


def test_links_use_no_private_airflow_module() -> None:
    source = Path(links_module.__file__).read_text()
    assert "execution_time" not in source
