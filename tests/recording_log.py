"""A stand-in logger that keeps the formatted lines, for tests of what a wait logs and in what order."""

from __future__ import annotations

from typing import Any


class RecordingLog:
    """Takes the calls a ``LogSink`` or the trigger's class logger gets (structlog keyword
    arguments are accepted and dropped) and keeps ``(level, formatted line)`` in order."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def _add(self, level: str, event: Any, args: tuple[Any, ...]) -> None:
        self.lines.append((level, str(event) % args if args else str(event)))

    def debug(self, event: Any, *args: Any, **kwargs: Any) -> None:
        self._add("debug", event, args)

    def info(self, event: Any, *args: Any, **kwargs: Any) -> None:
        self._add("info", event, args)

    def warning(self, event: Any, *args: Any, **kwargs: Any) -> None:
        self._add("warning", event, args)

    def error(self, event: Any, *args: Any, **kwargs: Any) -> None:
        self._add("error", event, args)

    @property
    def infos(self) -> list[str]:
        return [text for level, text in self.lines if level == "info"]

    @property
    def warnings(self) -> list[str]:
        return [text for level, text in self.lines if level == "warning"]
