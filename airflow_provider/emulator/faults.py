"""Fault rules: which requests misbehave, how, and for how long.

A rule matches a path by regex or glob and optionally a method, lets the first ``skip``
matching requests through, and then fires for the next ``count`` matching requests or with
probability ``rate`` drawn from a seeded RNG, so a flaky run can be reproduced.
"""

from __future__ import annotations

import fnmatch
import itertools
import random
import re
import threading
from dataclasses import dataclass, field
from typing import Any

FAULT_KINDS: tuple[str, ...] = (
    "status",
    "latency",
    "drop",
    "reset_mid_body",
    "close_mid_body",
    "malformed_json",
    "html_200",
    "empty_body",
)


@dataclass
class FaultRule:
    id: int
    kind: str
    pattern: str
    regex: re.Pattern[str]
    method: str | None = None
    status: int = 500
    retry_after: str | None = None
    latency: float = 0.0
    remaining: int | None = 1
    rate: float | None = None
    body: Any = None
    skip: int = 0
    fired: int = field(default=0)

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "pattern": self.pattern,
            "method": self.method,
            "status": self.status,
            "retry_after": self.retry_after,
            "latency": self.latency,
            "remaining": self.remaining,
            "rate": self.rate,
            "skip": self.skip,
            "fired": self.fired,
        }


def compile_pattern(*, regex: str | None, glob: str | None) -> tuple[str, re.Pattern[str]]:
    if (regex is None) == (glob is None):
        raise ValueError("give exactly one of 'path_regex' or 'path_glob'")
    if regex is not None:
        return regex, re.compile(regex)
    assert glob is not None
    return glob, re.compile(fnmatch.translate(glob))


class FaultBook:
    def __init__(self, seed: int) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._ids = itertools.count(1)
        self._rng = random.Random(seed)

    def reset(self, seed: int) -> None:
        with self._lock:
            self._rules.clear()
            self._rng = random.Random(seed)

    def add(self, spec: dict[str, Any]) -> FaultRule:
        kind = spec.get("kind", "status")
        if kind not in FAULT_KINDS:
            raise ValueError(f"kind must be one of {FAULT_KINDS}")
        pattern, regex = compile_pattern(regex=spec.get("path_regex"), glob=spec.get("path_glob"))
        rate = spec.get("rate")
        count = spec.get("count")
        if rate is not None and not 0.0 <= float(rate) <= 1.0:
            raise ValueError("rate must be within [0, 1]")
        if rate is None and count is None:
            count = 1
        if count is not None and int(count) < 1:
            raise ValueError("count must be >= 1")
        skip = int(spec.get("skip", 0))
        if skip < 0:
            raise ValueError("skip must be >= 0")
        retry_after = spec.get("retry_after")
        method = spec.get("method")
        rule = FaultRule(
            id=next(self._ids),
            kind=kind,
            pattern=pattern,
            regex=regex,
            method=method.upper() if method else None,
            status=int(spec.get("status", 429 if kind == "status" else 500)),
            retry_after=None if retry_after is None else str(retry_after),
            latency=float(spec.get("latency", 0.0)),
            remaining=None if count is None else int(count),
            rate=None if rate is None else float(rate),
            body=spec.get("body"),
            skip=skip,
        )
        with self._lock:
            self._rules.append(rule)
        return rule

    def remove(self, rule_id: int | None = None) -> int:
        with self._lock:
            before = len(self._rules)
            self._rules = [] if rule_id is None else [r for r in self._rules if r.id != rule_id]
            return before - len(self._rules)

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [rule.describe() for rule in self._rules]

    def take(self, method: str, path: str) -> FaultRule | None:
        """The first rule that fires for this request, consuming one of its uses."""
        if not self._rules:
            return None
        with self._lock:
            for rule in self._rules:
                if rule.method is not None and rule.method != method:
                    continue
                if rule.regex.search(path) is None:
                    continue
                if rule.skip:
                    rule.skip -= 1
                    continue
                if rule.rate is not None and self._rng.random() >= rule.rate:
                    continue
                rule.fired += 1
                if rule.remaining is not None:
                    rule.remaining -= 1
                    if rule.remaining <= 0:
                        self._rules.remove(rule)
                return rule
        return None
