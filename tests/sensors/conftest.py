"""Sensor tests run against the emulator on a real port, its clock 50x faster than real time."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from airflow_provider.core.auth import TOKEN_CACHE

if TYPE_CHECKING:
    from collections.abc import Iterator

    from airflow_provider.testing.emulator_runner import EmulatorHandle

SPEED = 50.0


@pytest.fixture(scope="session")
def huaweicloud_emulator_options() -> dict[str, Any]:
    return {"speed": SPEED, "seed": 0, "tls": False}


@pytest.fixture
def emulator(huaweicloud_emulator: EmulatorHandle) -> Iterator[EmulatorHandle]:
    """The plugin's fixture (an emulator with this folder's options), with a clean token cache."""
    TOKEN_CACHE.clear()
    yield huaweicloud_emulator
    TOKEN_CACHE.clear()
