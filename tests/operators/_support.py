"""Shared pieces of the operator tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider.testing.admin_client import AdminClient

FAST_RETRY = {"base_delay": 0.001, "max_delay": 0.01, "max_attempts": 3}
#: Poll often: the emulator runs fast, and no test asserts on timing.
FAST_POLL: dict[str, Any] = {"poll_policy": "fixed", "poke_interval": 0.1, "min_poll_interval": 0.05}


@dataclass
class XComRecorder:
    """Stands in for ``context["ti"]``: records ``xcom_push`` calls in order."""

    pushed: list[tuple[str, Any]] = field(default_factory=list)

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
