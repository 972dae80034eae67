"""The base sensor's own rules: policy from parameters, the next poke interval in each mode."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from airflow_provider.core.errors import InvalidInputError
from airflow_provider.core.status import TaskState, TaskStatus
from airflow_provider.sensors.dcs import DcsBackgroundTaskSensor


def sensor(**kwargs: Any) -> DcsBackgroundTaskSensor:
    settings: dict[str, Any] = {"poke_interval": 60, "min_poll_interval": 1, "timeout": 3600}
    settings.update(kwargs)
    return DcsBackgroundTaskSensor(task_id="w", instance_id="inst", dcs_task_id="t" * 32, **settings)


def observed(wait: DcsBackgroundTaskSensor, **fields: Any) -> None:
    """Give the sensor a last status, as a poke would."""
    wait.task_wait().last_status = TaskStatus(service="dcs", task_id="t" * 32, state=TaskState.RUNNING, **fields)


def ago(seconds: float) -> datetime:
    return datetime.now(timezone.utc) - timedelta(seconds=seconds)


def test_policy_from_parameters() -> None:
    wait = sensor(poll_policy="exponential", poke_interval=30, min_poll_interval=2)
    assert (wait.policy.kind, wait.policy.poke_interval, wait.policy.min_interval) == ("exponential", 30, 2)
    assert wait.task_wait().policy is wait.policy


def test_min_poll_interval_is_capped_at_poke_interval() -> None:
    wait = sensor(poke_interval=0.5, min_poll_interval=5)
    assert wait.min_poll_interval == 0.5
    assert wait.policy.min_interval == 0.5


def test_unknown_poll_policy_is_rejected_at_parse_time() -> None:
    with pytest.raises(InvalidInputError) as info:
        sensor(poll_policy="sometimes")
    assert info.value.field == "poll_policy"


def test_deferrable_defaults_to_the_airflow_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert sensor().deferrable is False
    monkeypatch.setenv("AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE", "True")
    assert sensor().deferrable is True
    assert sensor(deferrable=False).deferrable is False


def test_adaptive_interval_from_remain_time_in_poke_mode() -> None:
    wait = sensor()
    observed(wait, eta_seconds=9.0)
    assert wait._get_next_poke_interval(0.0, lambda: 5.0, 2) == 4.5  # half way to a far finish
    observed(wait, eta_seconds=1.5)
    assert wait._get_next_poke_interval(0.0, lambda: 5.0, 3) == 2.5  # then just past it


def test_adaptive_interval_from_task_age_in_reschedule_mode() -> None:
    wait = sensor(mode="reschedule")
    # nothing known but the time the sensor started (the first reschedule date)
    assert wait._get_next_poke_interval(ago(100), lambda: 100.0, 1) == pytest.approx(25.0, abs=0.5)


def test_fixed_interval() -> None:
    wait = sensor(poll_policy="fixed")
    observed(wait, eta_seconds=2.0)
    assert wait._get_next_poke_interval(0.0, lambda: 5.0, 3) == 60


def test_interval_never_exceeds_the_time_left() -> None:
    wait = sensor(poll_policy="fixed", timeout=100)
    assert wait._get_next_poke_interval(0.0, lambda: 90.0, 3) == pytest.approx(10.0)
    assert wait._get_next_poke_interval(0.0, lambda: 150.0, 3) == 0.0


def test_exponential_grows_in_poke_mode() -> None:
    wait = sensor(poll_policy="exponential")
    assert [wait._get_next_poke_interval(0.0, lambda: 1.0, n) for n in (1, 2, 3, 4, 10)] == [1, 2, 4, 8, 60]


def test_exponential_grows_in_reschedule_mode() -> None:
    wait = sensor(mode="reschedule", poll_policy="exponential")
    # after 10 minutes of waiting, the exponential schedule (1, 2, 4, ... capped at 60) is at 60 s
    assert wait._get_next_poke_interval(ago(600), lambda: 600.0, 1) == 60
