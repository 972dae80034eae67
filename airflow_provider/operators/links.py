"""Extra links to the Huawei Cloud console (and MEF Center) for the task an operator started.

The operator stores the URL in XCom as soon as the remote id exists, so the link is there even
when the wait later fails; the worker copies it into the link's own XCom key when the task ends.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote

from airflow.sdk import BaseOperatorLink

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator
    from airflow.sdk.types import TaskInstanceKey

CONSOLE_URL_KEY = "huaweicloud_console_url"
CONSOLE = "https://console.huaweicloud.com"


def console_url(service: str, region: str | None, ids: dict[str, str], edge_base_url: str | None = None) -> str:
    """The console page of the resource the task runs on (service landing page of the region)."""
    if service == "edge":
        return f"{edge_base_url or ''}/"
    region_q = f"?region={quote(region)}" if region else ""
    pages = {
        "css": "css/{region}#/css/management/clusters/{cluster_id}/logs",
        "clouddc": "clouddc/{region}#/clouddc/physicalservers/{server_id}",
        "dcs": "dcs/{region}#/dcs/manager/instances/{instance_id}/tasks",
        "dis": "dis/{region}#/dis/transfertasks/{transfer_task_id}",
    }
    template = pages[service]
    values = {key: quote(value, safe="") for key, value in ids.items()}
    return f"{CONSOLE}/" + template.format(region=region_q, **{k: values.get(k, "") for k in _fields(template)})


def _fields(template: str) -> list[str]:
    import string

    return [name for _, name, _, _ in string.Formatter().parse(template) if name and name != "region"]


class HuaweiCloudConsoleLink(BaseOperatorLink):
    name = "Huawei Cloud Console"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        from airflow.sdk.execution_time.xcom import XCom

        value = XCom.get_value(ti_key=ti_key, key=CONSOLE_URL_KEY)
        return value if isinstance(value, str) else ""
