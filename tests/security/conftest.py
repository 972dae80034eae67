"""An emulator whose credentials are recognisable, so a test can search every output for them.

It serves the edge manager over mutual TLS (its own CA), the cloud services over plain HTTP.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from airflow_provider.core.auth import TOKEN_CACHE

if TYPE_CHECKING:
    from collections.abc import Iterator

    from airflow_provider.testing.emulator_runner import EmulatorHandle

SECRET_KEY = "SKSECRET-5e3f9a1c7b2d4e6f8a0b1c2d3e4f5a6b"
PASSWORD = "PWSECRET-Zq8!rT2#vX9"
FAST: dict[str, Any] = {
    "retry": {"base_delay": 0.01, "max_delay": 0.05, "max_attempts": 4, "max_elapsed": 10},
    "timeout": [2, 2],
}
FROZEN = 1e-9


@pytest.fixture(scope="session")
def huaweicloud_emulator_server() -> Iterator[EmulatorHandle]:
    from airflow_provider.emulator.config import EmulatorConfig, Identities
    from airflow_provider.testing.emulator_runner import start_emulator

    config = EmulatorConfig(identities=Identities(secret_key=SECRET_KEY, password=PASSWORD))
    handle = start_emulator(speed=FROZEN, seed=11, tls=True, config=config)
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture
def emulator(huaweicloud_emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch) -> Iterator[EmulatorHandle]:
    handle = huaweicloud_emulator
    handle.admin.set_speed(FROZEN)
    TOKEN_CACHE.clear()
    cloud = json.loads(handle.huaweicloud_conn_json)
    cloud["extra"].update(FAST)
    edge = json.loads(handle.edge_conn_json)
    edge["extra"].update(FAST)
    monkeypatch.setenv("AIRFLOW_CONN_HUAWEICLOUD_DEFAULT", json.dumps(cloud))
    monkeypatch.setenv("AIRFLOW_CONN_EDGE_MANAGER_DEFAULT", json.dumps(edge))
    yield handle
    handle.admin.clear_faults()
    TOKEN_CACHE.clear()


def inline_edge_conn(handle: EmulatorHandle) -> dict[str, Any]:
    """The emulator's edge connection with its certificates and private key given inline (PEM text)."""
    files = handle.tls_files
    assert files is not None
    conn: dict[str, Any] = json.loads(handle.edge_conn_json)
    conn["extra"] = {
        **FAST,
        "client_cert": files.client_cert.read_text(),
        "client_private_key": files.client_key.read_text(),
        "ca_cert": files.ca_cert.read_text(),
    }
    return conn
