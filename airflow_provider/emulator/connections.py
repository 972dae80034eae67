"""Airflow connection values pointing at a running emulator (the hooks parse exactly these)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

if TYPE_CHECKING:
    from airflow_provider.emulator.config import Identities
    from airflow_provider.emulator.tls import TlsFiles


def huaweicloud_conn(identities: Identities, url: str, obs_url: str | None = None) -> dict[str, Any]:
    """A ``huaweicloud`` connection (AK/SK auth) to the emulator at ``url``; ``obs_url`` is ``extra.endpoints.obs``."""
    conn: dict[str, Any] = {
        "conn_type": "huaweicloud",
        "login": identities.access_key,
        "password": identities.secret_key,
        "extra": {
            "auth_type": "aksk",
            "region": identities.region,
            "project_id": identities.project_id,
            "endpoint_url": url,
            "iam_endpoint": url,
        },
    }
    if obs_url:
        # obs:// paths (ObjectStoragePath) go to the emulator's S3-compatible server.
        conn["extra"]["endpoints"] = {"obs": obs_url}
    return conn


def huaweicloud_password_conn(identities: Identities, url: str, obs_url: str | None = None) -> dict[str, Any]:
    """The same connection with IAM password auth (user, password and domain of ``identities``)."""
    conn = huaweicloud_conn(identities, url, obs_url)
    conn["login"] = identities.user_name
    conn["password"] = identities.password
    conn["extra"] = {**conn["extra"], "auth_type": "password", "domain_name": identities.domain_name}
    return conn


def huaweicloud_conn_uri(identities: Identities, url: str) -> str:
    """The AK/SK connection as an Airflow connection URI (``huaweicloud://AK:SK@host:port/?...``)."""
    extra = huaweicloud_conn(identities, url)["extra"]
    host_port = url.split("://", 1)[1]
    return (
        f"huaweicloud://{quote(identities.access_key, safe='')}:{quote(identities.secret_key, safe='')}"
        f"@{host_port}/?{urlencode(extra)}"
    )


def edge_conn(host: str, port: int, tls: TlsFiles | None) -> dict[str, Any]:
    """A ``huawei_edge_manager`` connection to ``host:port``; with ``tls``, https and the generated TLS files."""
    conn: dict[str, Any] = {
        "conn_type": "huawei_edge_manager",
        "host": host,
        "port": port,
        "schema": "https" if tls else "http",
    }
    if tls is not None:
        conn["extra"] = {
            "client_cert": str(tls.client_cert),
            "client_private_key": str(tls.client_key),
            "ca_cert": str(tls.ca_cert),
        }
    return conn


def dumps(conn: dict[str, Any]) -> str:
    """A connection dict as compact JSON, the form ``AIRFLOW_CONN_*`` variables take."""
    return json.dumps(conn, separators=(",", ":"))
