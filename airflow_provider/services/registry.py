"""Service name -> its ``status_exchange``, resolved on first use.

The generic sensor and trigger carry only a service name (it must serialize), and a DAG that
waits on one service must not import the other four, so the mapping holds import strings.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Protocol

from airflow_provider.core.errors import InvalidInputError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from airflow_provider.core.exchange import Exchange
    from airflow_provider.core.status import TaskStatus


class StatusExchangeFactory(Protocol):
    def __call__(self, project_id: str | None, ids: Mapping[str, str], **options: Any) -> Exchange[TaskStatus]: ...


STATUS_EXCHANGES: Mapping[str, str] = {
    "edge": "airflow_provider.services.edge:status_exchange",
    "clouddc": "airflow_provider.services.clouddc:status_exchange",
    "dis": "airflow_provider.services.dis:status_exchange",
    "css": "airflow_provider.services.css:status_exchange",
    "dcs": "airflow_provider.services.dcs:status_exchange",
}

REQUIRED_IDS: Mapping[str, tuple[str, ...]] = {
    "edge": ("dump_task_id",),
    "clouddc": ("server_id", "export_id"),
    "dis": ("transfer_task_id",),
    "css": ("cluster_id",),  # plus record_id or job_id
    "dcs": ("instance_id", "dcs_task_id"),
}


def resolve_status_exchange(service: str) -> StatusExchangeFactory:
    """Import the service's module now (not before) and return its ``status_exchange``."""
    target = STATUS_EXCHANGES.get(service)
    if target is None:
        raise InvalidInputError("service", service, f"must be one of {', '.join(STATUS_EXCHANGES)}")
    module_name, _, attribute = target.partition(":")
    factory: StatusExchangeFactory = getattr(importlib.import_module(module_name), attribute)
    return factory


def status_exchange(
    service: str, project_id: str | None, ids: Mapping[str, str], **options: Any
) -> Exchange[TaskStatus]:
    """One probe of ``service``'s task; ids and options are checked before anything is sent."""
    return resolve_status_exchange(service)(project_id, ids, **options)
