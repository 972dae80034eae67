"""Fixtures shared by the core tests.

The package declares an ``apache_airflow_provider`` entry point that Airflow loads as soon as
its configuration is read (``airflow_provider.core.errors`` imports ``airflow.sdk``). Until the
module behind that entry point exists, a stand-in keeps the core tests importable; once the real
module is there the stand-in is never installed.
"""

from __future__ import annotations

import importlib.util
import sys
import types
from typing import Any

import pytest

if importlib.util.find_spec("airflow_provider.get_provider_info") is None:  # pragma: no cover - shim
    _shim = types.ModuleType("airflow_provider.get_provider_info")

    def _get_provider_info() -> dict[str, Any]:
        return {"package-name": "airflow-provider-huaweicloud-logs", "name": "shim", "description": "shim"}

    _shim.get_provider_info = _get_provider_info  # type: ignore[attr-defined]
    sys.modules["airflow_provider.get_provider_info"] = _shim


from airflow_provider.core import secrets


@pytest.fixture
def secret_sink():
    """Collect every secret the core registers while the test runs."""
    seen: list[str] = []
    secrets.add_secret_sink(seen.append)
    yield seen
    secrets._sinks.remove(seen.append)
