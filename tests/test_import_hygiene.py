"""A DAG file that imports one sensor must not load the heavy parts of the provider.

DAG parsing imports every DAG file again and again: the async transport (httpx clients), the
pydantic models of the other services, the emulator and fastapi have no business there. Each
check runs in a fresh interpreter, since this test process has loaded everything already.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

SERVICES = ["css", "dcs", "dis", "clouddc", "edge"]
HEAVY = ("airflow_provider.core.async_transport", "airflow_provider.core.http11", "airflow_provider.triggers.task")
HEAVY_PREFIXES = ("airflow_provider.emulator", "airflow_provider.testing", "fastapi")


def modules_after(statement: str) -> set[str]:
    code = f"import json, sys\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("service", SERVICES)
def test_importing_one_sensor_loads_nothing_heavy(service: str) -> None:
    loaded = modules_after(f"import airflow_provider.sensors.{service}")
    assert f"airflow_provider.sensors.{service}" in loaded
    heavy = sorted(m for m in loaded if m in HEAVY or m.startswith(HEAVY_PREFIXES))
    assert heavy == []
    services = sorted(m for m in loaded if m.startswith("airflow_provider.services."))
    assert services == []  # not even its own: the service module loads on the first poke
    others = sorted(
        m for m in loaded if m.startswith("airflow_provider.sensors.") and not m.endswith((service, "base"))
    )
    assert others == []


def test_css_sensor_in_a_dag_file_loads_no_httpx_client_or_emulator() -> None:
    loaded = modules_after(
        "from airflow.sdk import DAG\n"
        "from airflow_provider.sensors.css import CssLogBackupSensor\n"
        "with DAG('d', schedule=None):\n"
        "    CssLogBackupSensor(task_id='w', cluster_id='c', record_id='r', deferrable=True)\n"
    )
    heavy = sorted(m for m in loaded if m in HEAVY or m.startswith(HEAVY_PREFIXES))
    assert heavy == []
    assert not any(m.startswith("airflow_provider.services.") for m in loaded)


def test_a_dag_file_with_an_asset_watcher_loads_no_transport_or_service() -> None:
    """The watcher's trigger is built in every parse of the DAG file; its poll loads the rest in the triggerer."""
    loaded = modules_after(
        "from airflow.sdk import Asset, AssetWatcher\n"
        "from airflow_provider.triggers.events import DisDumpPeriodTrigger\n"
        "Asset(name='p', uri='obs://bucket/p', watchers=[AssetWatcher(name='w', "
        "trigger=DisDumpPeriodTrigger(transfer_task_id='CDaRPdvKUfZrAhzTaYs'))])\n"
    )
    assert "airflow_provider.triggers.events" in loaded
    heavy = sorted(m for m in loaded if m in HEAVY or m.startswith(HEAVY_PREFIXES))
    assert heavy == []
    assert not any(m.startswith("airflow_provider.services.") for m in loaded)
