"""What the provider knows of each remote API, declared once per service.

Every layer reads a service's description from here instead of keeping its own table keyed by
service name: the label of its tasks in logs and errors, the ids that name a task, where its
status check lives, its regional endpoint, its console page, and what a stopped wait says about
the remote task. Adding a service is one ``ServiceSpec`` here plus its module under
``airflow_provider/services`` (``docs/architecture.md``, "How to add a service").

It imports no service module: a DAG file that imports one sensor reads its service's description
without loading any of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from airflow_provider.core.errors import InvalidInputError

#: Regions of the SDK's ``*_region.py`` tables shared by most services (huaweicloudsdk 3.1.219).
COMMON_REGIONS = frozenset(
    {
        "ae-ad-1", "af-north-1", "af-south-1", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3",
        "ap-southeast-4", "ap-southeast-5", "cn-east-2", "cn-east-3", "cn-east-4", "cn-east-5",
        "cn-north-1", "cn-north-11", "cn-north-12", "cn-north-2", "cn-north-4", "cn-north-9",
        "cn-south-1", "cn-south-2", "cn-south-4", "cn-southwest-2", "cn-southwest-3", "eu-west-0",
        "eu-west-101", "la-north-2", "la-south-2", "me-east-1", "my-kualalumpur-1", "na-mexico-1",
        "ru-moscow-1", "ru-northwest-2", "sa-brazil-1", "tr-west-1",
    }
)  # fmt: skip

#: What a stopped wait says when no specific reason is declared.
NO_CANCEL = "the service has no API to cancel it"
#: What a sensor's stopped wait says: it never owned the task.
NOT_OWNED = "a sensor only watches it"


@dataclass(frozen=True)
class ServiceSpec:
    """One remote API whose tasks the provider starts or waits for.

    :param name: the provider's name of the service; triggers, events and task state records carry
        it, so it never changes once released.
    :param label: how logs and errors name one of its tasks (``CSS log backup``).
    :param task_ids: the ids that name one task, in the order a label prefers them: the first one
        present is the task's primary id (CSS names a backup by ``record_id``, else ``job_id``).
    :param module: the module under ``airflow_provider.services`` with its ``status_exchange``,
        imported on the first check, not before.
    :param connection: the Airflow connection type it is reached through.
    :param endpoint: the host prefix of its regional endpoint (``css`` for
        ``https://css.{region}.myhuaweicloud.com``); None where the connection names the host.
    :param regions: the regions it is offered in (the SDK's region table).
    :param host_exceptions: regions whose endpoint is not the usual one.
    :param console_page: its page in the Huawei Cloud console, a template over ``region`` and
        the ids; None where the link is the connection's own address (MEF Center).
    :param link_name: the extra link's label in the Airflow UI.
    :param no_cancel: why a remote task keeps running when Airflow stops waiting for it (a user
        marked the task failed or cleared it): what the service's API reference offers, or lacks.
    :param project_by_header: the call whose path names no project, so that an AK/SK request can
        carry it only as the signed ``X-Project-Id`` header; None where every path names it.
    """

    name: str
    label: str
    task_ids: tuple[str, ...]
    module: str
    connection: str = "huaweicloud"
    endpoint: str | None = None
    regions: frozenset[str] = frozenset()
    host_exceptions: Mapping[str, str] = field(default_factory=dict)
    console_page: str | None = None
    link_name: str = "Huawei Cloud Console"
    no_cancel: str = NO_CANCEL
    project_by_header: str | None = None

    def primary_id(self, ids: Mapping[str, str]) -> str:
        """The id that names the task in logs, events and XCom: the first of ``task_ids`` given."""
        for key in self.task_ids:
            if ids.get(key):
                return str(ids[key])
        return "?"


_SERVICES: dict[str, ServiceSpec] = {}


def register(spec: ServiceSpec) -> ServiceSpec:
    """Add a service; its name must be new."""
    if spec.name in _SERVICES:
        raise ValueError(f"service {spec.name!r} is already registered")
    _SERVICES[spec.name] = spec
    return spec


def spec(name: str) -> ServiceSpec:
    """The description of service ``name``; ``InvalidInputError`` names the known ones otherwise."""
    try:
        return _SERVICES[name]
    except KeyError:
        raise InvalidInputError("service", name, f"must be one of {', '.join(_SERVICES)}") from None


def names() -> tuple[str, ...]:
    """Every registered service's name, in registration order."""
    return tuple(_SERVICES)


def label(name: str) -> str:
    """The label of service ``name``'s tasks, or the name itself for one not registered."""
    known = _SERVICES.get(name)
    return known.label if known is not None else name


EDGE = register(
    ServiceSpec(
        name="edge",
        label="Edge log dump",
        task_ids=("dump_task_id",),
        module="airflow_provider.services.edge",
        connection="huawei_edge_manager",
        link_name="MEF Center",
        # The MEF log manager's router registers create, query and download only (no abort route).
        no_cancel="MEF Center has no API to cancel a log dump",
    )
)
CLOUDDC = register(
    ServiceSpec(
        name="clouddc",
        label="CloudDC log export",
        task_ids=("export_id",),
        module="airflow_provider.services.clouddc",
        endpoint="clouddc",
        regions=frozenset({"cn-east-3", "cn-southwest-2", "cn-south-1", "ap-southeast-3"}),
        console_page="clouddc/{region}#/clouddc/physicalservers/{server_id}",
        # Neither the CloudDC API reference nor the SDK's CloudDCClient has a cancel call.
        no_cancel="CloudDC has no API to cancel a log export",
    )
)
DIS = register(
    ServiceSpec(
        name="dis",
        label="DIS transfer task",
        task_ids=("transfer_task_id",),
        module="airflow_provider.services.dis",
        endpoint="dis",
        regions=frozenset(
            {"cn-north-4", "cn-north-1", "cn-east-2", "cn-east-3", "cn-south-1", "ap-southeast-2", "ap-southeast-1"}
        ),
        console_page="dis/{region}#/dis/transfertasks/{transfer_task_id}",
        # The transfer-task log's path has no project (ShowTransferTaskLog API reference).
        project_by_header="the DIS transfer-task log (POST /v1/transfertasklog/{task_id})",
    )
)
CSS = register(
    ServiceSpec(
        name="css",
        label="CSS log backup",
        task_ids=("record_id", "job_id"),
        module="airflow_provider.services.css",
        endpoint="css",
        regions=COMMON_REGIONS - {"eu-west-0", "ru-northwest-2"},
        host_exceptions={
            "cn-north-1": "https://es.cn-north-1.myhuaweicloud.com",
            "cn-east-2": "https://es.cn-east-2.myhuaweicloud.com",
        },
        console_page="css/{region}#/css/management/clusters/{cluster_id}/logs",
        # Neither the CSS API reference nor the SDK's CssClient can stop a log backup.
        no_cancel="CSS has no API to cancel a log backup",
    )
)
DCS = register(
    ServiceSpec(
        name="dcs",
        label="DCS background task",
        task_ids=("dcs_task_id",),
        module="airflow_provider.services.dcs",
        endpoint="dcs",
        regions=COMMON_REGIONS,
        console_page="dcs/{region}#/dcs/manager/instances/{instance_id}/tasks",
        # The SDK's DeleteBackgroundTask deletes a task's record; it does not stop the task.
        no_cancel="DCS has no API to stop a background task",
    )
)
