"""What the generic wait needs of a service's hook, whichever connection type it reads."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from airflow.sdk import BaseHook

if TYPE_CHECKING:
    from airflow_provider.core.exchange import Exchange

T = TypeVar("T")
#: The hook a service's operator or sensor works through (``CssHook``, ``EdgeManagerHook``, ...);
#: covariant, so a list of operators of several services is a list of ``TaskHook`` operators.
HookT_co = TypeVar("HookT_co", bound="TaskHook", covariant=True)


class TaskHook(BaseHook):
    """Base of the hooks whose services run remote tasks (the ``huaweicloud`` services and the MEF
    Center): operators, sensors and the wait drive status checks through any of them."""

    def run(self, exchange: Exchange[T]) -> T:
        """Drive one sans-IO exchange (see ``core.exchange``) through this hook's transport.

        :param exchange: the exchange, from a module of ``airflow_provider.services``.
        """
        raise NotImplementedError

    @property
    def status_project_id(self) -> str | None:
        """The project a status check's path names; None for a service without projects."""
        return None

    def close(self) -> None:
        """Close the transport (its pooled connections); the hook can be used again after it."""
