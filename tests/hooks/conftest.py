"""Fixtures of the hook tests: connections from ``AIRFLOW_CONN_*`` variables, a clean token cache."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from airflow_provider.core.auth import TOKEN_CACHE
from tests.hooks._support import cloud_conn, edge_conn

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator


@pytest.fixture(autouse=True)
def _clean_token_cache() -> Iterator[None]:
    TOKEN_CACHE.clear()
    yield
    TOKEN_CACHE.clear()


@pytest.fixture
def set_cloud_conn(monkeypatch: pytest.MonkeyPatch) -> Callable[..., str]:
    """Install ``huaweicloud_default`` (or ``conn_id``) from keyword overrides of the extra."""

    def install(conn_id: str = "huaweicloud_default", **extra: Any) -> str:
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", cloud_conn(**extra))
        return conn_id

    return install


@pytest.fixture
def cloud(set_cloud_conn: Callable[..., str]) -> str:
    """The default AK/SK connection pointing at https://hwc.test."""
    return set_cloud_conn()


@pytest.fixture
def set_edge_conn(monkeypatch: pytest.MonkeyPatch) -> Callable[..., str]:
    def install(conn_id: str = "edge_manager_default", **extra: Any) -> str:
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", edge_conn(**extra))
        return conn_id

    return install


@pytest.fixture
def edge_env(set_edge_conn: Callable[..., str]) -> str:
    return set_edge_conn()
