"""What every service module shares: the clock, the seeded RNG, the lock and outcome plans."""

from __future__ import annotations

import random
import threading
from collections import defaultdict, deque
from dataclasses import dataclass

from airflow_provider.emulator.clock import EmulatedClock
from airflow_provider.emulator.config import (
    SERVICE_ONLY_OUTCOMES,
    SERVICES,
    EmulatorConfig,
    Outcome,
    Quirks,
    service_name,
)

OUTCOMES: tuple[Outcome, ...] = ("succeed", "fail", "partial", "abort")


@dataclass(frozen=True)
class Plan:
    outcome: Outcome
    duration: float


@dataclass
class TimedTask:
    """A remote task whose state is a function of the emulated clock alone."""

    id: str
    created: float
    duration: float
    outcome: Outcome

    def fraction(self, now: float) -> float:
        if self.duration <= 0:
            return 1.0
        return min(1.0, max(0.0, (now - self.created) / self.duration))

    def finished(self, now: float) -> bool:
        return now >= self.created + self.duration

    @property
    def finished_at(self) -> float:
        return self.created + self.duration

    def replan(self, plan: Plan) -> None:
        self.outcome = plan.outcome
        self.duration = plan.duration


def check_outcome(value: str, service: str | None = None) -> Outcome:
    for outcome in OUTCOMES:
        if value == outcome:
            only = SERVICE_ONLY_OUTCOMES.get(outcome)
            if only is not None and service is not None and service_name(service) not in only:
                raise ValueError(f"outcome {outcome!r} exists only for {', '.join(only)}, not {service}")
            return outcome
    raise ValueError(f"outcome must be one of {OUTCOMES}, not {value!r}")


class Runtime:
    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.clock = EmulatedClock(config.speed)
        self.lock = threading.RLock()
        self.rng = random.Random(config.seed)
        self.quirks: Quirks = config.quirks
        self.token_lifetime = config.token_lifetime
        self._plans: dict[str, deque[Plan]] = defaultdict(deque)

    def hex_id(self, length: int = 32) -> str:
        return "".join(self.rng.choice("0123456789abcdef") for _ in range(length))

    def alnum_id(self, length: int) -> str:
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
        return "".join(self.rng.choice(alphabet) for _ in range(length))

    def uuid(self) -> str:
        h = self.hex_id(32)
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"

    def queue_plan(self, service: str, plan: Plan) -> None:
        service = service_name(service)
        if service not in SERVICES:
            raise ValueError(f"service must be one of {SERVICES}")
        with self.lock:
            self._plans[service].append(plan)

    def next_plan(self, service: str) -> Plan:
        """The queued outcome for this service's next task, else the default (succeed)."""
        service = service_name(service)
        with self.lock:
            queue = self._plans[service]
            if queue:
                return queue.popleft()
        return Plan("succeed", self.config.durations.for_service(service))

    def pending_plans(self) -> dict[str, list[dict[str, object]]]:
        with self.lock:
            return {s: [{"outcome": p.outcome, "duration": p.duration} for p in q] for s, q in self._plans.items() if q}
