"""The fault matrix's own emulator (frozen clock), fast-retry connections, and one wait in either path.

``sync`` is the sensor's poke loop in the worker (``execute`` in poke mode); ``async`` is the
trigger the sensor defers to, run on a fresh event loop as the triggerer would, and its event
handed back to the sensor's ``execute_complete``. Both end in what Airflow would record: the
XCom value the sensor returns, or the exception that fails the task.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import pytest

from airflow_provider.core.async_transport import close_shared_clients
from airflow_provider.core.auth import TOKEN_CACHE
from airflow_provider.sensors.dcs import DcsBackgroundTaskSensor
from tests.sensors._support import FakeTaskInstance

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator, Iterator

    from airflow.sdk import Context
    from airflow.triggers.base import TriggerEvent

    from airflow_provider.testing.emulator_runner import EmulatorHandle
    from airflow_provider.triggers.task import HuaweiCloudTaskTrigger

FAST_RETRY: dict[str, float] = {"base_delay": 0.01, "max_delay": 0.05, "max_attempts": 4, "max_elapsed": 10}
TIMEOUT = [1, 1]
#: So slow that the emulated clock stands still unless a test moves it: no race with task durations.
FROZEN = 1e-9
SENSOR_ARGS: dict[str, Any] = {"poke_interval": 0.5, "min_poll_interval": 0.1, "timeout": 60}
FAST_POLICY = {"kind": "fixed", "poke_interval": 0.2, "min_interval": 0.1, "factor": 2.0}
CONTEXT = cast("Context", {"ti": FakeTaskInstance()})
MODES = ("sync", "async")


@pytest.fixture(scope="session")
def huaweicloud_emulator_options() -> dict[str, Any]:
    return {"speed": FROZEN, "seed": 7, "tls": False}


@pytest.fixture(scope="session")
def huaweicloud_emulator_server(huaweicloud_emulator_options: dict[str, Any]) -> Iterator[EmulatorHandle]:
    """This folder's own emulator: its faults and frozen clock never meet another folder's tests."""
    from airflow_provider.testing.emulator_runner import start_emulator

    handle = start_emulator(**huaweicloud_emulator_options)
    try:
        yield handle
    finally:
        handle.stop()


def cloud_conn(handle: EmulatorHandle, *, password: bool = False, **extra: Any) -> dict[str, Any]:
    raw = handle.huaweicloud_password_conn_json if password else handle.huaweicloud_conn_json
    conn: dict[str, Any] = json.loads(raw)
    conn["extra"] = {**conn["extra"], "retry": dict(FAST_RETRY), "timeout": list(TIMEOUT), **extra}
    return conn


def edge_conn(handle: EmulatorHandle, **extra: Any) -> dict[str, Any]:
    conn: dict[str, Any] = json.loads(handle.edge_conn_json)
    conn["extra"] = {**conn.get("extra", {}), "retry": dict(FAST_RETRY), "timeout": list(TIMEOUT), **extra}
    return conn


def install(monkeypatch: pytest.MonkeyPatch, conn: dict[str, Any], conn_id: str = "huaweicloud_default") -> None:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))


@pytest.fixture
def emulator(huaweicloud_emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch) -> Iterator[EmulatorHandle]:
    handle = huaweicloud_emulator
    handle.admin.set_speed(FROZEN)
    handle.admin.clear_faults()
    TOKEN_CACHE.clear()
    install(monkeypatch, cloud_conn(handle))
    install(monkeypatch, edge_conn(handle), "edge_manager_default")
    handle.admin.clear_requests()
    yield handle
    handle.admin.clear_faults()
    TOKEN_CACHE.clear()


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# DCS: the service most rows run against (AK/SK or IAM token auth, step-based progress) ---------------
def dcs_instance(handle: EmulatorHandle) -> str:
    return str(next(iter(handle.admin.info()["resources"]["dcs_instances"])))


def dcs_task(handle: EmulatorHandle, *, finished: bool = True) -> str:
    """A task already finished (the wait's answer is known: only the faults stand in the way) or
    one that runs until the test ends it."""
    handle.admin.set_outcome("dcs", "succeed", duration=0.0 if finished else 1e9)
    return handle.admin.create_task("dcs", instance_id=dcs_instance(handle))


def progress_path(handle: EmulatorHandle, task_id: str) -> str:
    return f"/v2/{handle.project_id}/instances/{dcs_instance(handle)}/tasks/{task_id}/progress"


def progress_requests(handle: EmulatorHandle, task_id: str) -> list[dict[str, Any]]:
    path = progress_path(handle, task_id)
    return [r for r in handle.admin.requests(service="dcs") if r["path"] == path]


def settled_requests(handle: EmulatorHandle, task_id: str, at_least: int) -> list[dict[str, Any]]:
    """A request the client gave up on (read timeout) is logged only once the emulator served it."""
    found = progress_requests(handle, task_id)
    for _ in range(200):
        if len(found) >= at_least:
            break
        time.sleep(0.05)
        found = progress_requests(handle, task_id)
    return found


def running_body(progress: int = 40, step_status: str = "EXECUTING") -> dict[str, Any]:
    """A DCS progress body of a task still running (what a status fault with HTTP 200 returns)."""
    return {
        "progress": progress,
        "remain_time": 600,
        "step_details": [
            {
                "step_id": "s-0001",
                "step_name": "Data migration.",
                "step_status": step_status,
                "begin_time": "2024-07-01T11:32:49Z",
                "end_time": None,
                "error_code": None,
                "sub_step_details": [],
            }
        ],
    }


def dcs_sensor(handle: EmulatorHandle, task_id: str, **kwargs: Any) -> DcsBackgroundTaskSensor:
    return DcsBackgroundTaskSensor(
        task_id="wait_dcs",
        instance_id=dcs_instance(handle),
        dcs_task_id=task_id,
        **{**SENSOR_ARGS, **kwargs},
    )


@dataclass
class Outcome:
    """What Airflow records for the wait: the XCom value, or the error that failed the task."""

    xcom: Any = None
    error: BaseException | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    log: str = ""

    def failed(self) -> BaseException:
        assert self.error is not None, f"expected the wait to fail; it returned {self.xcom!r}"
        assert self.xcom is None
        return self.error

    def succeeded(self) -> dict[str, Any]:
        assert self.error is None, f"expected success, got {self.error!r}"
        assert isinstance(self.xcom, dict)
        return self.xcom


def run_trigger(trigger: HuaweiCloudTaskTrigger, timeout: float = 60) -> list[dict[str, Any]]:
    """Every event of ``trigger.run()`` on a fresh loop (as the triggerer runs it)."""

    async def go() -> list[dict[str, Any]]:
        try:
            events = cast("AsyncGenerator[TriggerEvent, None]", trigger.run())
            return [event.payload async for event in events]
        finally:
            await close_shared_clients()

    async def bounded() -> list[dict[str, Any]]:
        return await asyncio.wait_for(go(), timeout)

    return asyncio.run(bounded())


def wait_with(mode: str, sensor: DcsBackgroundTaskSensor, capsys: pytest.CaptureFixture[str] | None = None) -> Outcome:
    """Run the whole wait in ``mode``; XCom and error as Airflow would record them."""
    outcome = Outcome()
    try:
        if mode == "sync":
            outcome.xcom = sensor.execute(CONTEXT)
        else:
            trigger = sensor.task_wait().trigger(timeout=sensor.timeout)
            trigger = type(trigger)(**trigger.serialize()[1])  # what the triggerer re-creates
            outcome.events = run_trigger(trigger)
            assert len(outcome.events) == 1, outcome.events
            outcome.xcom = sensor.execute_complete(CONTEXT, outcome.events[0])
    except Exception as exc:
        outcome.error = exc
    if capsys is not None:
        captured = capsys.readouterr()
        outcome.log = captured.out + captured.err
    return outcome
