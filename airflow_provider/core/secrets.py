"""Where freshly obtained secrets (IAM tokens) are reported so task logs mask them.

The core layer has no Airflow dependency; the hooks layer registers Airflow's ``mask_secret``
here once, and from then on every token the core fetches is masked too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

_sinks: list[Callable[[str], None]] = []


def add_secret_sink(sink: Callable[[str], None]) -> None:
    if sink not in _sinks:
        _sinks.append(sink)


def register_secret(value: str | None) -> None:
    if not value:
        return
    for sink in _sinks:
        sink(value)
