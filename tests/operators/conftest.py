"""Operator tests: the emulator on a real port (seed 0), fast retries, and a tiny XCom recorder."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, cast

import pytest

from tests.operators._support import FAST_RETRY, XComRecorder

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider.testing.emulator_runner import EmulatorHandle

SPEED = 20.0


@pytest.fixture(scope="session")
def huaweicloud_emulator_options() -> dict[str, Any]:
    return {"speed": SPEED, "seed": 0, "tls": False}


@pytest.fixture
def emulator(huaweicloud_emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch) -> EmulatorHandle:
    """The plugin's fixture, with fast retries in both connections so fault tests stay quick."""
    cloud = dict(huaweicloud_emulator.huaweicloud_conn)
    cloud["extra"] = {**cloud["extra"], "retry": FAST_RETRY}
    edge = json.loads(huaweicloud_emulator.edge_conn_json)
    edge["extra"] = {**edge.get("extra", {}), "retry": FAST_RETRY}
    monkeypatch.setenv("AIRFLOW_CONN_HUAWEICLOUD_DEFAULT", json.dumps(cloud))
    monkeypatch.setenv("AIRFLOW_CONN_EDGE_MANAGER_DEFAULT", json.dumps(edge))
    return huaweicloud_emulator


@pytest.fixture
def ti() -> XComRecorder:
    return XComRecorder()


@pytest.fixture
def context(ti: XComRecorder) -> Context:
    """The minimal context the operators use: only ``ti``."""
    return cast("Context", {"ti": ti})


@pytest.fixture(scope="session")
def memory_fs() -> Any:
    """``memory://`` for ObjectStoragePath (Airflow registers only ``file`` itself; S3 etc. come from providers)."""
    from airflow.sdk.io import attach
    from fsspec.implementations.memory import MemoryFileSystem

    fs = MemoryFileSystem()
    attach("memory", fs=fs)
    return fs
