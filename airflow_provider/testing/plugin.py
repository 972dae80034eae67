"""pytest plugin (entry point ``huaweicloud_emulator``): fixtures that run the emulator.

pytest imports this module in every run of every user who installs the provider, so it
imports nothing heavy; the emulator loads inside the fixture on first use.

Fixtures:
    huaweicloud_emulator_options  session; override (e.g. in a folder's conftest) to pass
                                  ``speed``/``seed``/``tls``.
    huaweicloud_emulator_server   one running emulator per distinct options, started on first
                                  use and stopped at the end of the session.
    huaweicloud_emulator          function; resets state and sets the two Airflow connections.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

    from airflow_provider.testing.emulator_runner import EmulatorHandle


@pytest.fixture(scope="session")
def huaweicloud_emulator_options() -> dict[str, Any]:
    """Session fixture: the ``start_emulator`` options; override it in a conftest for ``speed``, ``seed`` or ``tls``."""
    return {"speed": 1.0, "seed": 0, "tls": False}


@pytest.fixture(scope="session")
def _huaweicloud_emulators() -> Iterator[dict[tuple[tuple[str, Any], ...], EmulatorHandle]]:
    """Emulators of the session, by options: folders that override the options get their own."""
    servers: dict[tuple[tuple[str, Any], ...], EmulatorHandle] = {}
    try:
        yield servers
    finally:
        for handle in servers.values():
            handle.stop()


@pytest.fixture
def huaweicloud_emulator_server(
    huaweicloud_emulator_options: dict[str, Any],
    _huaweicloud_emulators: dict[tuple[tuple[str, Any], ...], EmulatorHandle],
) -> EmulatorHandle:
    """The running emulator for the current options, started on first use and stopped at the end of the session."""
    from airflow_provider.testing.emulator_runner import start_emulator

    key = tuple(sorted(huaweicloud_emulator_options.items()))
    if key not in _huaweicloud_emulators:
        _huaweicloud_emulators[key] = start_emulator(**huaweicloud_emulator_options)
    return _huaweicloud_emulators[key]


@pytest.fixture
def huaweicloud_emulator(
    huaweicloud_emulator_server: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> EmulatorHandle:
    """The emulator, reset; ``AIRFLOW_CONN_HUAWEICLOUD_DEFAULT`` and ``AIRFLOW_CONN_EDGE_MANAGER_DEFAULT`` name it."""
    handle = huaweicloud_emulator_server
    handle.reset()
    monkeypatch.setenv("AIRFLOW_CONN_HUAWEICLOUD_DEFAULT", handle.huaweicloud_conn_json)
    monkeypatch.setenv("AIRFLOW_CONN_EDGE_MANAGER_DEFAULT", handle.edge_conn_json)
    return handle
