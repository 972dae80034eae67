from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from airflow_provider.core import catalog
from airflow_provider.core.errors import InvalidInputError
from airflow_provider.core.exchange import drive_sync
from airflow_provider.core.status import TaskState
from airflow_provider.services import registry
from tests.services._support import FakeSender, response

ROOT = Path(__file__).resolve().parents[2]
PROJECT = "0123456789abcdef0123456789abcdef"

CASES = {
    "edge": (
        {"dump_task_id": "dumpMultiNodesLog.1"},
        {"status": "00000000", "msg": "success", "data": {"taskId": "dumpMultiNodesLog.1", "status": "failed"}},
        TaskState.FAILED,
    ),
    "clouddc": ({"server_id": "s", "export_id": "1"}, {"export_id": "1", "status": "completed"}, TaskState.SUCCEEDED),
    "dis": (
        {"transfer_task_id": "CDaRPdvKUfZrAhzTaYs"},
        {"errorCode": -1, "transferTaskLogList": []},
        TaskState.WAITING,
    ),
    "css": (
        {"cluster_id": "c", "job_id": "j"},
        {"clusterLogRecord": [{"id": "r", "jobId": "j", "status": "SUCCESS"}]},
        TaskState.SUCCEEDED,
    ),
    "dcs": (
        {"instance_id": "i", "dcs_task_id": "t"},
        {"progress": 0, "step_details": [{"step_status": "WAITING"}]},
        TaskState.WAITING,
    ),
}


#: The ids each service's status check cannot do without.
REQUIRED_IDS = {
    "edge": ("dump_task_id",),
    "clouddc": ("server_id", "export_id"),
    "dis": ("transfer_task_id",),
    "css": ("cluster_id",),  # plus record_id or job_id
    "dcs": ("instance_id", "dcs_task_id"),
}


def test_every_service_is_described_once_and_resolves():
    assert set(catalog.names()) == set(CASES) == set(REQUIRED_IDS)
    for name in catalog.names():
        assert callable(registry.resolve_status_exchange(name))


@pytest.mark.parametrize("service", sorted(CASES))
def test_status_exchange_through_the_registry(service):
    ids, body, state = CASES[service]
    sender = FakeSender(response(service, body))
    status = drive_sync(registry.status_exchange(service, PROJECT, ids), sender)
    assert status.service == service
    assert status.state is state
    assert sender.requests[0].service == service


@pytest.mark.parametrize("service", sorted(CASES))
def test_missing_required_ids_name_the_key(service):
    ids, _, _ = CASES[service]
    for key in REQUIRED_IDS[service]:
        partial = {k: v for k, v in ids.items() if k != key}
        with pytest.raises(InvalidInputError) as info:
            registry.status_exchange(service, PROJECT, partial)
        assert info.value.field == key


@pytest.mark.parametrize("service", ["clouddc", "css", "dcs"])
def test_cloud_services_need_a_project(service):
    ids, _, _ = CASES[service]
    with pytest.raises(InvalidInputError) as info:
        registry.status_exchange(service, None, ids)
    assert info.value.field == "project_id"


def test_unknown_service():
    with pytest.raises(InvalidInputError) as info:
        registry.resolve_status_exchange("obs")
    assert info.value.field == "service"


_PROBE = """
import json, sys
before = set(sys.modules)
import airflow_provider.services.{module}
from airflow_provider.services import registry
registry.resolve_status_exchange("{module}")
print(json.dumps(sorted(m for m in sys.modules if m not in before)))
"""


@pytest.mark.parametrize("module", sorted(CASES))
def test_importing_one_service_loads_no_other_service_nor_http_client(module):
    code = _PROBE.format(module=module)
    # Preload what every module shares, so the diff shows only what this service adds.
    code = "import airflow_provider.core.errors, pydantic\n" + code
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True, timeout=120
    ).stdout
    loaded = json.loads(out.strip().splitlines()[-1])
    services = {
        m for m in loaded if m.startswith("airflow_provider.services.") and not m.split(".")[-1].startswith("_")
    }
    assert services == {f"airflow_provider.services.{module}", "airflow_provider.services.registry"}
    assert not [m for m in loaded if m.split(".")[0] in ("httpx", "requests", "aiohttp")]


def test_ids_must_be_a_mapping():
    with pytest.raises(InvalidInputError) as info:
        registry.status_exchange("dcs", PROJECT, ["instance_id"])  # type: ignore[arg-type]
    assert info.value.field == "ids"
