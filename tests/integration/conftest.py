"""Fixtures of the integration tests: the real emulator on a real port, fast retries, a frozen clock."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
import pytest

from airflow_provider.core.auth import TOKEN_CACHE

if TYPE_CHECKING:
    from collections.abc import Iterator

    from airflow_provider.core.exchange import Exchange
    from airflow_provider.testing.emulator_runner import EmulatorHandle

T = TypeVar("T")

FAST_RETRY: dict[str, float] = {"base_delay": 0.01, "max_delay": 0.05, "max_attempts": 4, "max_elapsed": 10}
TIMEOUT = [2, 2]
#: A clock speed so small that the emulated clock stands still unless a test advances it.
FROZEN = 1e-9


def cloud_conn(handle: EmulatorHandle, **extra: Any) -> dict[str, Any]:
    """The emulator's ``huaweicloud`` connection with fast retries and short timeouts; ``extra`` merged in.

    ``login``/``password`` keys replace the connection's login/password; a ``None`` value removes a key.
    """
    conn: dict[str, Any] = json.loads(json.dumps(handle.huaweicloud_conn))
    conn["extra"].update({"retry": dict(FAST_RETRY), "timeout": list(TIMEOUT)})
    for key in ("login", "password"):
        if key in extra:
            conn[key] = extra.pop(key)
    conn["extra"].update(extra)
    conn["extra"] = {k: v for k, v in conn["extra"].items() if v is not None}
    return conn


def password_conn(handle: EmulatorHandle, **extra: Any) -> dict[str, Any]:
    ids = handle.identities
    return cloud_conn(
        handle, login=ids.user_name, password=ids.password, auth_type="password", domain_name=ids.domain_name, **extra
    )


def edge_conn(handle: EmulatorHandle, **extra: Any) -> dict[str, Any]:
    conn: dict[str, Any] = json.loads(handle.edge_conn_json)
    conn["extra"] = {**conn.get("extra", {}), "retry": dict(FAST_RETRY), "timeout": list(TIMEOUT), **extra}
    conn["extra"] = {k: v for k, v in conn["extra"].items() if v is not None}
    return conn


def install(monkeypatch: pytest.MonkeyPatch, conn: dict[str, Any], conn_id: str = "huaweicloud_default") -> str:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
    return conn_id


def iam_token(handle: EmulatorHandle) -> str:
    """A project-scoped token from the emulator's IAM (password flow), fetched with plain httpx."""
    ids = handle.identities
    body = {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {
                    "user": {"domain": {"name": ids.domain_name}, "name": ids.user_name, "password": ids.password}
                },
            },
            "scope": {"project": {"id": ids.project_id}},
        }
    }
    response = httpx.post(f"{handle.url}/v3/auth/tokens", json=body, params={"nocatalog": "true"}, timeout=10)
    assert response.status_code == 201, response.text
    return response.headers["X-Subject-Token"]


def iam_token_requests(handle: EmulatorHandle) -> list[dict[str, Any]]:
    return [r for r in handle.admin.requests(service="iam") if r["path"] == "/v3/auth/tokens"]


def service_requests(handle: EmulatorHandle, service: str) -> list[dict[str, Any]]:
    return handle.admin.requests(service=service)


def run_async(exchange: Exchange[T], settings: Any) -> T:
    """Drive an exchange through the real ``AsyncTransport`` in a fresh event loop, closing its clients."""
    from airflow_provider.core.async_transport import AsyncTransport, close_shared_clients
    from airflow_provider.core.exchange import drive_async

    async def go() -> T:
        try:
            return await drive_async(exchange, AsyncTransport(settings))
        finally:
            await close_shared_clients()

    return asyncio.run(go())


@pytest.fixture
def emulator(huaweicloud_emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch) -> Iterator[EmulatorHandle]:
    """The session emulator, reset, with a frozen clock and fast-retry connections installed."""
    handle = huaweicloud_emulator
    TOKEN_CACHE.clear()
    handle.admin.set_speed(FROZEN)
    install(monkeypatch, cloud_conn(handle))
    install(monkeypatch, edge_conn(handle), "edge_manager_default")
    handle.admin.clear_requests()
    yield handle
    TOKEN_CACHE.clear()
    handle.admin.clear_faults()
