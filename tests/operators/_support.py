"""Shared pieces of the operator tests."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from airflow_provider.hooks.edge_archive import DumpOwner, KeyValueLatestDumps

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider.testing.admin_client import AdminClient

FAST_RETRY = {"base_delay": 0.001, "max_delay": 0.01, "max_attempts": 3}
#: Poll often: the emulator runs fast, and no test asserts on timing.
FAST_POLL: dict[str, Any] = {"poll_policy": "fixed", "poke_interval": 0.1, "min_poll_interval": 0.05}


@dataclass
class XComRecorder:
    """Stands in for ``context["ti"]``: records ``xcom_push`` calls in order."""

    pushed: list[tuple[str, Any]] = field(default_factory=list)
    dag_id: str | None = None
    run_id: str | None = None
    task_id: str | None = None

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed.append((key, value))

    def value(self, key: str) -> Any:
        values = [v for k, v in self.pushed if k == key]
        assert values, f"nothing pushed under {key!r}; pushed: {[k for k, _ in self.pushed]}"
        return values[-1]

    @property
    def keys(self) -> list[str]:
        return [k for k, _ in self.pushed]


#: Emulated seconds: long enough that a task is certainly still running at the first check.
FOREVER = 1e6


def finish_now(admin: AdminClient, service: str, task_id: str, outcome: str = "succeed") -> None:
    """Make a running emulator task end now: deterministic, unlike racing a short duration."""
    admin.set_outcome(service, outcome, duration=0, task_id=task_id)


class StateStore:
    """Stands in for ``context["task_state_store"]`` (Airflow's TaskStateStoreAccessor): JSON values
    by key, kept across "tries" the way Airflow keeps them across retries of one task instance."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def get(self, key: str, default: Any = None) -> Any:
        return json.loads(self.values[key]) if key in self.values else default

    def set(self, key: str, value: Any, *, retention: Any = None) -> None:
        if value is None:
            raise ValueError("Cannot set value as None")
        self.values[key] = json.dumps(value)  # JSON only, as the Execution API stores it

    def delete(self, key: str) -> None:
        self.values.pop(key, None)


@dataclass
class TryInstance(XComRecorder):
    """``context["ti"]`` of one try: XComs are per try; ``max_tries`` changes only when the task is cleared."""

    try_number: int = 1
    max_tries: int = 1
    dag_id: str | None = "durable_dag"
    run_id: str | None = "manual__2026-12-01"
    task_id: str | None = "collect"
    map_index: int = -1


def try_context(store: StateStore, try_number: int, *, max_tries: int = 1) -> tuple[Context, TryInstance]:
    """The context of try ``try_number`` of a task whose durable store is ``store``."""
    ti = TryInstance(try_number=try_number, max_tries=max_tries)
    return cast("Context", {"ti": ti, "task_state_store": store}), ti


class MemoryLatestDumps(KeyValueLatestDumps):
    """``LatestDumps`` in a dict: what the Airflow Variables hold for each MEF Center, within one test
    (the provider's own key layout and read/write rules, only the store differs)."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def _get(self, key: str) -> str | None:
        return self.values.get(key)

    def _set(self, key: str, value: str, description: str) -> None:
        self.values[key] = value

    def _delete(self, key: str) -> None:
        self.values.pop(key, None)

    def owner(self, center: str) -> DumpOwner:
        """The latest dump on ``center``, which the test expects to be recorded."""
        latest = self.latest(center)
        assert latest is not None, f"no dump recorded for {center}"
        return latest
