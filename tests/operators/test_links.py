"""Console URLs the operators push, and the extra link that reads them back."""

from __future__ import annotations

import pytest

from airflow_provider.operators.base import HuaweiCloudTaskOperator
from airflow_provider.operators.clouddc import CloudDCLogExportOperator
from airflow_provider.operators.css import CssLogBackupOperator
from airflow_provider.operators.edge import EdgeLogDumpOperator
from airflow_provider.operators.links import CONSOLE, HuaweiCloudConsoleLink, console_url


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


def test_every_task_operator_declares_the_console_link() -> None:
    for operator_class in (EdgeLogDumpOperator, CloudDCLogExportOperator, CssLogBackupOperator):
        assert issubclass(operator_class, HuaweiCloudTaskOperator)
        links = operator_class.operator_extra_links
        assert [type(link) for link in links] == [HuaweiCloudConsoleLink]
        assert links[0].name == "Huawei Cloud Console"
