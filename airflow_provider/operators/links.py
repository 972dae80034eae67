"""Extra links to the Huawei Cloud console (and MEF Center) for the task an operator or sensor is about.

The task stores the URL in XCom as soon as the remote id is known, so the link is there even when
the wait later fails. When the task ends, Airflow's worker asks each link for its URL, passing the
running task instance, and stores the answer under the link's own XCom key for the UI: the link
reads the URL back with that task instance's public ``xcom_pull``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from airflow.sdk import BaseOperatorLink

from airflow_provider.core import catalog

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator
    from airflow.sdk.types import TaskInstanceKey

CONSOLE_URL_KEY = "huaweicloud_console_url"
CONSOLE = "https://console.huaweicloud.com"


def console_url(service: str, region: str | None, ids: dict[str, str], edge_base_url: str | None = None) -> str:
    """The console page of the resource the task runs on (``core.catalog``); for a service reached
    through its connection's host (MEF Center), that host."""
    template = catalog.spec(service).console_page
    if template is None:
        return f"{edge_base_url or ''}/"
    region_q = f"?region={quote(region)}" if region else ""
    values = {key: quote(value, safe="") for key, value in ids.items()}
    return f"{CONSOLE}/" + template.format(region=region_q, **{k: values.get(k, "") for k in _fields(template)})


def push_console_url(ti: Any, service: str, hook: object, ids: dict[str, str]) -> None:
    """XCom the console URL of ``ids`` (region or MEF Center address from the hook's connection)."""
    config = getattr(hook, "config", None)
    region, edge_base = getattr(config, "region", None), getattr(config, "base_url", None)
    ti.xcom_push(key=CONSOLE_URL_KEY, value=console_url(service, region, ids, edge_base))


def _fields(template: str) -> list[str]:
    import string

    return [name for _, name, _, _ in string.Formatter().parse(template) if name and name != "region"]


class HuaweiCloudConsoleLink(BaseOperatorLink):
    """The Huawei Cloud console page of the resource the task is about."""

    name = "Huawei Cloud Console"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        """The URL the task pushed under ``huaweicloud_console_url``; empty when there is none."""
        pull = getattr(ti_key, "xcom_pull", None)  # the running task instance, at the end of the task
        if not callable(pull):
            return ""
        value = pull(key=CONSOLE_URL_KEY)
        return value if isinstance(value, str) else ""


class MefCenterLink(HuaweiCloudConsoleLink):
    """The MEF Center (an on-premises server, not the Huawei Cloud console) the edge task is about."""

    name = "MEF Center"


def link_for(service: str) -> tuple[HuaweiCloudConsoleLink]:
    """The extra links of a task of ``service``: its console page, or the MEF Center, as its
    ``core.catalog`` description says."""
    name = catalog.spec(service).link_name
    return (MefCenterLink(),) if name == MefCenterLink.name else (HuaweiCloudConsoleLink(),)


def describe_task_class(cls: Any) -> None:
    """Give an operator or sensor class that names its ``service`` what its description says: its
    extra links (unless the class sets its own) and the common template fields (the connection id,
    and the region and project overrides of ``huaweicloud`` services)."""
    from airflow_provider.waiting import with_common_template_fields

    if "service" not in cls.__dict__:
        return
    if "operator_extra_links" not in cls.__dict__:
        cls.operator_extra_links = link_for(cls.service)
    cls.template_fields = with_common_template_fields(cls.service, cls.conn_id_attr, tuple(cls.template_fields))
