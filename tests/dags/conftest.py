"""DAG tests: one metadata DB per session, and an emulator on the default seed the examples assume."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

    from airflow_provider.testing.emulator_runner import EmulatorHandle


@pytest.fixture(scope="session")
def huaweicloud_emulator_options() -> dict[str, Any]:
    # Seed 0 is the emulator's default: the examples' default ids (DCS task ids) come from it.
    # At 60x a 30 s export takes half a second.
    return {"speed": 60.0, "seed": 0, "tls": False}


@pytest.fixture(scope="session")
def huaweicloud_emulator_server(huaweicloud_emulator_options: dict[str, Any]) -> Iterator[EmulatorHandle]:
    """Our own emulator: the plugin's session server is shared with other test folders that use other seeds."""
    from airflow_provider.testing.emulator_runner import start_emulator

    handle = start_emulator(**huaweicloud_emulator_options)
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture(scope="session")
def airflow_db() -> None:
    """A fresh metadata DB (SQLite under the test AIRFLOW_HOME) for ``dag.test()``."""
    from airflow.utils.db import resetdb

    resetdb()
