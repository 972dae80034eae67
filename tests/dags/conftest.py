"""DAG tests: one metadata DB per session, and an emulator on the default seed the examples assume."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(scope="session")
def huaweicloud_emulator_options() -> dict[str, Any]:
    # Seed 0 is the emulator's default: the examples' default ids (DCS task ids) come from it.
    # At 60x a 30 s export takes half a second.
    # obs: the archival example reads and writes OBS (the emulator's S3-compatible server).
    return {"speed": 60.0, "seed": 0, "tls": False, "obs": True}


@pytest.fixture(scope="session")
def airflow_db() -> None:
    """A fresh metadata DB (SQLite under the test AIRFLOW_HOME) for ``dag.test()``."""
    from airflow.utils.db import resetdb

    resetdb()
