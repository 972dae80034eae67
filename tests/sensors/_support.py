"""What every sensor test does: execute in each mode, run the deferred trigger, check secrets."""

from __future__ import annotations

import asyncio
import importlib
import json
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, cast

import pytest
from airflow.sdk.exceptions import AirflowRescheduleException, AirflowSkipException, TaskDeferred

from airflow_provider.core.async_transport import close_shared_clients
from airflow_provider.core.status import TaskState, TaskStatus
from airflow_provider.triggers.task import HuaweiCloudTaskTrigger

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator

    from airflow.sdk import Context
    from airflow.triggers.base import TriggerEvent

    from airflow_provider.sensors.base import HuaweiCloudTaskSensor
    from airflow_provider.testing.emulator_runner import EmulatorHandle

#: Small intervals: a poke-mode wait takes a fraction of a second against the 50x emulator.
SENSOR_ARGS: dict[str, Any] = {"poke_interval": 0.5, "min_poll_interval": 0.1, "timeout": 60}


class FakeTaskInstance:
    """What the sensors ask of the TI: XCom pushes (the console URL), and in reschedule mode the
    first reschedule date."""

    def __init__(self, first_reschedule_date: datetime | None = None) -> None:
        self.first = first_reschedule_date
        self.pushed: dict[str, Any] = {}

    def get_first_reschedule_date(self, context: Any) -> datetime | None:
        return self.first

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value


CONTEXT = cast("Context", {"ti": FakeTaskInstance()})


def reschedule_context(first: datetime | None = None) -> Context:
    return cast("Context", {"ti": FakeTaskInstance(first)})


def resources(emulator: EmulatorHandle) -> dict[str, Any]:
    result: dict[str, Any] = emulator.admin.info()["resources"]
    return result


def secrets(emulator: EmulatorHandle) -> list[str]:
    ids = emulator.identities
    return [ids.secret_key, ids.password, ids.access_key]


def poke_status(sensor: HuaweiCloudTaskSensor[Any]) -> tuple[bool, TaskStatus | None]:
    """One poke; the status it returned (done) or observed (not done)."""
    result = sensor.poke(CONTEXT)
    if result.is_done:
        return True, TaskStatus.from_json(cast("dict[str, Any]", result.xcom_value))
    return False, sensor.task_wait().last_status


def assert_running(sensor: HuaweiCloudTaskSensor[Any], state: TaskState = TaskState.RUNNING) -> TaskStatus:
    done, status = poke_status(sensor)
    assert done is False
    assert status is not None
    assert status.state is state
    return status


def assert_succeeded(sensor: HuaweiCloudTaskSensor[Any]) -> TaskStatus:
    done, status = poke_status(sensor)
    assert done is True
    assert status is not None
    return status


def defer(sensor: HuaweiCloudTaskSensor[Any], emulator: EmulatorHandle, requests: int = 1) -> HuaweiCloudTaskTrigger:
    """``execute`` in deferrable mode: one poke (``requests`` HTTP calls), then TaskDeferred with
    a secret-free trigger that survives a serialize round trip."""
    service = sensor.service
    before = len(emulator.admin.requests(service))
    with pytest.raises(TaskDeferred) as info:
        sensor.execute(CONTEXT)
    assert len(emulator.admin.requests(service)) - before == requests, "one poke before deferring"
    deferred = info.value
    assert deferred.method_name == "execute_complete"
    assert deferred.timeout == timedelta(seconds=sensor.timeout)
    trigger = deferred.trigger
    assert isinstance(trigger, HuaweiCloudTaskTrigger)
    assert trigger.service == sensor.service
    assert trigger.conn_id == sensor.conn_id
    assert trigger.ids == sensor.task_ids()
    assert trigger.accept_partial_failure is sensor.accept_partial
    classpath, kwargs = trigger.serialize()
    dumped = json.dumps(kwargs)
    for secret in secrets(emulator):
        assert secret not in dumped
    assert "password" not in dumped
    module, _, name = classpath.rpartition(".")
    again = getattr(importlib.import_module(module), name)(**kwargs)
    assert again.serialize() == (classpath, kwargs)
    now = datetime.now(timezone.utc).timestamp()
    assert now < trigger.deadline <= now + sensor.timeout
    return trigger


def first_event(trigger: HuaweiCloudTaskTrigger) -> dict[str, Any]:
    """Run the trigger on a fresh loop (as the triggerer would) and return its first event."""

    async def go() -> dict[str, Any]:
        try:
            events = cast("AsyncGenerator[TriggerEvent, None]", trigger.run())
            event = await events.__anext__()
            await events.aclose()
            payload: dict[str, Any] = event.payload
            return payload
        finally:
            await close_shared_clients()

    return asyncio.run(go())


def resume(sensor: HuaweiCloudTaskSensor[Any], event: dict[str, Any]) -> Any:
    """What the task runner calls when the trigger fired."""
    return sensor.resume_execution("execute_complete", {"event": event}, CONTEXT)


def assert_soft_fail_on_timeout_event(sensor: HuaweiCloudTaskSensor[Any], event_task_id: str) -> None:
    assert sensor.soft_fail
    event = {
        "status": "timeout",
        "service": sensor.service,
        "task_id": event_task_id,
        "ids": sensor.task_ids(),
        "message": "still RUNNING after waiting 60 s (deadline reached)",
        "task_status": None,
    }
    with pytest.raises(AirflowSkipException):
        resume(sensor, event)


def assert_reschedules(sensor: HuaweiCloudTaskSensor[Any]) -> datetime:
    """``mode='reschedule'``: one poke, then AirflowRescheduleException within poke_interval."""
    assert sensor.mode == "reschedule"
    before = datetime.now(timezone.utc)
    with pytest.raises(AirflowRescheduleException) as info:
        sensor.execute(reschedule_context())
    when: datetime = info.value.reschedule_date
    assert before <= when <= datetime.now(timezone.utc) + timedelta(seconds=sensor.poke_interval)
    return when


MOCK_ENDPOINT = "https://hwc.test"
MOCK_PROJECT = "0123456789abcdef0123456789abcdef"
MOCK_EDGE = "http://mef.test:30035"
FAST_RETRY = {"base_delay": 0.001, "max_delay": 0.01, "max_attempts": 3}


def use_mock_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    """Point both default connections at requests_mock hosts (for states the emulator never shows)."""
    cloud = {
        "conn_type": "huaweicloud",
        "login": "AKMOCKACCESSKEY00001",
        "password": "SKmock-secret-key-0123456789",
        "extra": {"project_id": MOCK_PROJECT, "endpoint_url": MOCK_ENDPOINT, "retry": FAST_RETRY},
    }
    edge = {
        "conn_type": "huawei_edge_manager",
        "host": "mef.test",
        "port": 30035,
        "schema": "http",  # https needs a client certificate (MEF uses mutual TLS)
        "extra": {"retry": FAST_RETRY},
    }
    monkeypatch.setenv("AIRFLOW_CONN_HUAWEICLOUD_DEFAULT", json.dumps(cloud))
    monkeypatch.setenv("AIRFLOW_CONN_EDGE_MANAGER_DEFAULT", json.dumps(edge))
