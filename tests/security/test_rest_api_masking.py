"""What Airflow's own REST API (the connection form's JSON view reads it) shows of an edge connection.

Airflow masks a connection extra only when its key looks sensitive; ``"format": "password"`` in
``conn-fields`` masks the form input alone. The API app runs in process (FastAPI's test client)
against the test metadata DB, with a JWT from Airflow's default (simple) auth manager.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from airflow_provider.get_provider_info import get_provider_info
from tests.pem_samples import CA, CERT, KEY

if TYPE_CHECKING:
    from collections.abc import Iterator

    from fastapi.testclient import TestClient

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def api() -> Iterator[TestClient]:
    from airflow.api_fastapi.app import create_app
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from airflow.utils.db import resetdb
    from fastapi.testclient import TestClient

    resetdb()
    app = create_app(apps="core")
    token = app.state.auth_manager.generate_jwt(SimpleAuthManagerUser(username="admin", role="admin"))
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as client:
        yield client


def edge_form_fields() -> dict[str, Any]:
    (entry,) = [e for e in get_provider_info()["connection-types"] if e["connection-type"] == "huawei_edge_manager"]
    fields: dict[str, Any] = entry["conn-fields"]
    return fields


def secret_fields() -> list[str]:
    return [name for name, field in edge_form_fields().items() if field["schema"].get("format") == "password"]


def store(api: TestClient, conn_id: str, extra: dict[str, str]) -> None:
    body = {"connection_id": conn_id, "conn_type": "huawei_edge_manager", "host": "10.10.10.10", "port": 30035}
    response = api.post("/api/v2/connections", json={**body, "extra": json.dumps(extra)})
    assert response.status_code == 201, response.text


@pytest.mark.parametrize("prefixed", [False, True], ids=["field name", "extra__<type>__field"])
def test_the_api_returns_the_edge_private_key_masked(api: TestClient, prefixed: bool) -> None:
    """The key as the connection form stores it, under the form's field names."""
    assert secret_fields(), "the edge form declares its private key as a secret field"
    values = {"client_cert": CERT, "ca_cert": CA, **dict.fromkeys(secret_fields(), KEY)}
    extra = {(f"extra__huawei_edge_manager__{name}" if prefixed else name): value for name, value in values.items()}
    conn_id = f"edge_form_{int(prefixed)}"
    store(api, conn_id, extra)

    one = api.get(f"/api/v2/connections/{conn_id}")
    listed = api.get("/api/v2/connections", params={"connection_id_pattern": conn_id})

    for response in (one, listed):
        assert response.status_code == 200, response.text
        assert "PRIVATE KEY" not in response.text
        assert KEY.splitlines()[1] not in response.text
    shown = json.loads(one.json()["extra"])
    for name in secret_fields():
        assert shown[f"extra__huawei_edge_manager__{name}" if prefixed else name] == "***"
    assert CERT.splitlines()[1] in response.text  # a certificate is not a secret: shown as given


def test_the_api_masks_the_key_of_the_connection_the_emulator_prints(api: TestClient) -> None:
    """The emulator's printed edge connection (the one the docs tell users to copy) uses the masked name."""
    from airflow_provider.emulator import tls as emulator_tls
    from airflow_provider.emulator.connections import edge_conn

    files = emulator_tls.generate()
    try:
        conn = edge_conn("127.0.0.1", 8443, files)
        key_text = files.client_key.read_text()
        extra = {name: (key_text if value == str(files.client_key) else value) for name, value in conn["extra"].items()}
        store(api, "edge_emulator", extra)
        response = api.get("/api/v2/connections/edge_emulator")
    finally:
        files.remove()
    assert response.status_code == 200, response.text
    assert "PRIVATE KEY" not in response.text
