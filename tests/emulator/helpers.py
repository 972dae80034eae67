"""Shared helpers for the emulator tests: signed and token requests over real HTTP."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import httpx

from airflow_provider.core.signing import sign_headers

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from airflow_provider.testing.emulator_runner import EmulatorHandle

DCS_INSTANCE = "5560df16-cebf-4473-95c4-d1b573c16e79"
CSS_CLUSTER = "4213d908-f5dc-4633-8401-cfd7175fca0c"
CLOUDDC_SERVER = "a3b1c2d4-0000-4e5f-8a9b-emulator0001"
DIS_STREAM = "disMonitorTest"
DIS_TASK = "CDaRPdvKUfZrAhzTaYs"


def signed_request(
    emulator: EmulatorHandle,
    method: str,
    path: str,
    *,
    query: Sequence[tuple[str, str]] = (),
    body: Any = None,
    access_key: str | None = None,
    secret_key: str | None = None,
    security_token: str | None = None,
    now: datetime | None = None,
    extra_headers: dict[str, str] | None = None,
) -> httpx.Response:
    ids = emulator.identities
    raw = b"" if body is None else json.dumps(body).encode()
    host = emulator.url.split("://", 1)[1]
    headers = sign_headers(
        method=method,
        host=host,
        path=path,
        query=list(query),
        headers={"Content-Type": "application/json", **(extra_headers or {})},
        body=raw,
        access_key=access_key or ids.access_key,
        secret_key=secret_key or ids.secret_key,
        security_token=security_token,
        now=now,
    )
    with httpx.Client(base_url=emulator.url, timeout=10) as client:
        return client.request(method, path, params=list(query), content=raw, headers=headers)


def get_token(emulator: EmulatorHandle, password: str | None = None) -> httpx.Response:
    ids = emulator.identities
    body = {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {
                    "user": {
                        "domain": {"name": ids.domain_name},
                        "name": ids.user_name,
                        "password": password or ids.password,
                    }
                },
            },
            "scope": {"project": {"name": ids.region}},
        }
    }
    return httpx.post(f"{emulator.url}/v3/auth/tokens", json=body, timeout=10)


def dcs_progress_path(emulator: EmulatorHandle, task_id: str, instance: str = DCS_INSTANCE) -> str:
    return f"/v2/{emulator.project_id}/instances/{instance}/tasks/{task_id}/progress"


def css_path(emulator: EmulatorHandle, suffix: str, cluster: str = CSS_CLUSTER) -> str:
    return f"/v1.0/{emulator.project_id}/clusters/{cluster}/logs/{suffix}"
