"""Service name -> its ``status_exchange``, resolved on first use.

The generic sensor and trigger carry only a service name (it must serialize), and a DAG that
waits on one service must not import the others: the service's ``core.catalog`` description
names its module, imported on the first check.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Protocol

from airflow_provider.core import catalog

if TYPE_CHECKING:
    from collections.abc import Mapping

    from airflow_provider.core.exchange import Exchange
    from airflow_provider.core.status import TaskStatus


class StatusExchangeFactory(Protocol):
    """A service's ``status_exchange``: the exchange of one status check of the task that ``ids`` name."""

    def __call__(self, project_id: str | None, ids: Mapping[str, str], **options: Any) -> Exchange[TaskStatus]: ...


def resolve_status_exchange(service: str) -> StatusExchangeFactory:
    """Import the service's module now (not before) and return its ``status_exchange``."""
    factory: StatusExchangeFactory = importlib.import_module(catalog.spec(service).module).status_exchange
    return factory


def status_exchange(
    service: str, project_id: str | None, ids: Mapping[str, str], **options: Any
) -> Exchange[TaskStatus]:
    """One probe of ``service``'s task; ids and options are checked before anything is sent."""
    return resolve_status_exchange(service)(project_id, ids, **options)
