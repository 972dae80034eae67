"""The normalized status every service maps to, so waiting logic is written once."""

from __future__ import annotations

import enum
from datetime import datetime, timezone
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class TaskState(str, enum.Enum):
    """The normalized state of a remote task; ``SUCCEEDED``, ``PARTIALLY_FAILED`` and ``FAILED`` are final."""

    WAITING = "WAITING"
    RUNNING = "RUNNING"
    ABORTING = "ABORTING"
    SUCCEEDED = "SUCCEEDED"
    PARTIALLY_FAILED = "PARTIALLY_FAILED"
    FAILED = "FAILED"

    @property
    def is_terminal(self) -> bool:
        """True for a final state: the task will not change any more."""
        return self in _TERMINAL


_TERMINAL = frozenset({TaskState.SUCCEEDED, TaskState.PARTIALLY_FAILED, TaskState.FAILED})


class TaskStatus(BaseModel):
    """One observation of a remote task.

    ``raw_status`` keeps the service's own word so logs and errors can quote it; ``result``
    holds the service's typed outcome (file name, log path, bytes, periods...) as JSON values
    so the whole status can travel through XCom and trigger events.
    """

    model_config = ConfigDict(frozen=True)

    service: str
    task_id: str
    state: TaskState
    raw_status: str | None = None
    progress: float | None = Field(default=None, ge=0, le=100)
    message: str | None = None
    error_code: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    eta_seconds: float | None = Field(default=None, ge=0)
    recognized: bool = True
    #: Something the wait cannot check and the user should know about (logged once per wait).
    warning: str | None = None
    result: dict[str, Any] = Field(default_factory=dict)
    #: When this status was read: bounds the finish time of APIs that report none (CloudDC).
    observed_at: datetime = Field(default_factory=lambda: datetime.now(timezone.utc))

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe dict for XCom and trigger events."""
        return self.model_dump(mode="json")

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TaskStatus:
        """The status ``to_json`` wrote (from XCom or a trigger event)."""
        return cls.model_validate(data)
