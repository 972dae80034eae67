"""Helpers for testing DAGs against the local emulator.

``run_emulator()`` starts it in-process; the pytest plugin (``plugin.py``) wraps that in
fixtures. Names resolve lazily so that loading the plugin costs nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider.testing.admin_client import AdminClient
    from airflow_provider.testing.emulator_runner import EmulatorHandle, run_emulator, start_emulator

__all__ = ["AdminClient", "EmulatorHandle", "run_emulator", "start_emulator"]


def __getattr__(name: str) -> Any:
    if name == "AdminClient":
        from airflow_provider.testing.admin_client import AdminClient

        return AdminClient
    if name in ("EmulatorHandle", "run_emulator", "start_emulator"):
        from airflow_provider.testing import emulator_runner

        return getattr(emulator_runner, name)
    raise AttributeError(name)
