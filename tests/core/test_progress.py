"""Progress lines: their shape per service, and one line per change (not per poll)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from airflow_provider.core.progress import PROGRESS_LINE_SECONDS, ProgressLog, describe, format_duration, short_id
from airflow_provider.core.status import TaskState, TaskStatus
from tests.recording_log import RecordingLog

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)
CSS_ID = "d455a541-6a6f-4b6c-9b65-2c2d1c0b7c11"


def status(**fields: Any) -> TaskStatus:
    base: dict[str, Any] = {"service": "css", "task_id": CSS_ID, "state": TaskState.RUNNING, "raw_status": "RUNNING"}
    base.update(fields)
    return TaskStatus(**base)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (5, "5s"), (59.6, "1m00s"), (100, "1m40s"), (3599, "59m59s"), (3600, "1h00m"), (3720, "1h02m")],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


def test_short_id() -> None:
    assert short_id(CSS_ID) == "d455a541"
    assert short_id("1") == "1"
    assert short_id("abcdefghijkl") == "abcdefghijkl"
    assert short_id("dumpMultiNodesLog.08e384b34801168ab1fedb56") == "08e384b34801"


def test_describe_css_running_with_eta() -> None:
    line = describe(status(progress=45.0, eta_seconds=100.0), now=NOW)
    assert line == "CSS log backup d455a541: RUNNING 45% (ETA 1m40s)"


def test_describe_eta_from_progress_rate() -> None:
    line = describe(status(service="clouddc", task_id="7", progress=25.0, started_at=NOW - timedelta(seconds=60)), NOW)
    assert line == "CloudDC log export 7: RUNNING 25% (ETA 3m00s)"


def test_describe_without_progress_or_eta() -> None:
    assert describe(status(state=TaskState.WAITING), now=NOW) == "CSS log backup d455a541: WAITING"


def test_describe_dcs_with_step_and_sub_step() -> None:
    dcs = status(
        service="dcs",
        task_id="ef01fa9e1d6240cda060036369853fc2",
        progress=40.0,
        eta_seconds=60.0,
        result={"current_step": "Data migration.", "current_sub_step": "Resource request."},
    )
    assert (
        describe(dcs, now=NOW)
        == "DCS background task ef01fa9e: RUNNING 40% [Data migration. / Resource request.] (ETA 1m00s)"
    )
    only_step = dcs.model_copy(update={"result": {"current_step": "Pre-check."}})
    assert describe(only_step, now=NOW) == "DCS background task ef01fa9e: RUNNING 40% [Pre-check.] (ETA 1m00s)"


def test_describe_terminal_shows_message_not_eta() -> None:
    failed = status(state=TaskState.FAILED, raw_status="FAIL", message="bucket denied", eta_seconds=5.0)
    assert describe(failed, now=NOW) == "CSS log backup d455a541: FAILED - bucket denied"
    done = status(state=TaskState.SUCCEEDED, progress=100.0, eta_seconds=5.0)
    assert describe(done, now=NOW) == "CSS log backup d455a541: SUCCEEDED"
    timed = done.model_copy(update={"started_at": NOW - timedelta(seconds=362), "finished_at": NOW})
    assert describe(timed, now=NOW) == "CSS log backup d455a541: SUCCEEDED after 6m02s"


def test_a_task_without_progress_says_how_long_it_has_run() -> None:
    running = status(started_at=NOW - timedelta(seconds=250))  # CSS reports no percentage
    assert describe(running, now=NOW) == "CSS log backup d455a541: RUNNING for 4m10s"
    ended = status(state=TaskState.SUCCEEDED, started_at=NOW - timedelta(seconds=250), observed_at=NOW)
    assert describe(ended, now=NOW + timedelta(hours=1)) == "CSS log backup d455a541: SUCCEEDED after 4m10s"


def test_every_line_names_the_task_by_the_wait_s_name_and_a_failed_end_is_a_warning() -> None:
    log = RecordingLog()
    progress = ProgressLog(log, name=f"CSS log backup {CSS_ID}")
    progress.observe(status(task_id="job-9f1c", started_at=NOW))
    progress.observe(status(task_id="job-9f1c", state=TaskState.FAILED, raw_status="FAIL", message="denied"))
    assert log.infos[0].startswith(f"CSS log backup {CSS_ID}: RUNNING")
    assert log.warnings == [f"CSS log backup {CSS_ID}: FAILED - denied"]
    assert all("job-9f1c" not in line for _, line in log.lines)


def test_a_task_without_progress_gets_a_line_every_few_minutes_not_every_poll() -> None:
    log = RecordingLog()
    clock = Clock()
    progress = ProgressLog(log, clock, name="CSS log backup r1")
    start = datetime.now(timezone.utc)
    for minutes in range(0, 12):  # a poll a minute for 12 minutes
        progress.observe(status(started_at=start - timedelta(minutes=minutes), observed_at=start))
        clock.now += 60
    assert [line.split(": ", 1)[1].split(" for ")[0] for line in log.infos] == ["RUNNING"] * 3  # 0, 5 and 10 min


def test_describe_edge_and_unknown_service_labels() -> None:
    edge = status(service="edge", task_id="dumpMultiNodesLog.08e384b34801168ab1fedb56", progress=0.0)
    assert describe(edge, now=NOW) == "Edge log dump 08e384b34801: RUNNING 0%"
    other = status(service="obs", task_id="x")
    assert describe(other, now=NOW) == "obs x: RUNNING"


def test_progress_log_logs_once_per_change() -> None:
    log = RecordingLog()
    clock = Clock()
    progress = ProgressLog(log, clock)
    first = status(progress=10.0, eta_seconds=90.0)
    for _ in range(3):  # repeated polls with nothing new
        progress.observe(first)
    assert len(log.infos) == 1
    assert log.infos[0].startswith("CSS log backup d455a541: RUNNING 10%")

    clock.now += PROGRESS_LINE_SECONDS
    progress.observe(first.model_copy(update={"eta_seconds": 60.0}))  # the ETA alone moved
    assert len(log.infos) == 1

    progress.observe(first.model_copy(update={"progress": 20.0}))
    progress.observe(first.model_copy(update={"progress": 20.0}))
    assert len(log.infos) == 2
    assert "20%" in log.infos[1]

    progress.observe(status(state=TaskState.SUCCEEDED, raw_status="SUCCESS", progress=100.0))
    assert len(log.infos) == 3
    assert log.infos[2] == "CSS log backup d455a541: SUCCEEDED"
    assert log.warnings == []


def test_progress_alone_is_logged_at_most_once_per_interval_and_state_changes_at_once() -> None:
    log = RecordingLog()
    clock = Clock()
    progress = ProgressLog(log, clock)
    progress.observe(status(progress=10.0))
    for percent in (20.0, 30.0, 40.0):  # polls 10 s apart
        clock.now += 10
        progress.observe(status(progress=percent))
    assert len(log.infos) == 1

    clock.now += PROGRESS_LINE_SECONDS - 30
    progress.observe(status(progress=40.0))  # nothing new since the suppressed 40%: still due for a line
    assert len(log.infos) == 2
    assert "40%" in log.infos[1]

    clock.now += 1
    progress.observe(status(progress=50.0, raw_status="UPLOADING"))  # the service's own word changed
    progress.observe(status(state=TaskState.FAILED, raw_status="FAILED", progress=50.0))
    assert len(log.infos) == 3
    assert "UPLOADING" not in log.infos[2]  # the line shows the normalized state and progress
    assert "50%" in log.infos[2]
    assert log.warnings[-1].startswith("CSS log backup d455a541: FAILED 50%")


def test_progress_log_logs_step_changes() -> None:
    log = RecordingLog()
    clock = Clock()
    progress = ProgressLog(log, clock)
    base = status(service="dcs", progress=20.0, result={"current_step": "Pre-check.", "current_sub_step": "A"})
    progress.observe(base)
    clock.now += PROGRESS_LINE_SECONDS
    progress.observe(base.model_copy(update={"result": {"current_step": "Pre-check.", "current_sub_step": "B"}}))
    clock.now += PROGRESS_LINE_SECONDS
    progress.observe(base.model_copy(update={"result": {"current_step": "Post.", "current_sub_step": "B"}}))
    assert len(log.infos) == 3
    assert "[Pre-check. / B]" in log.infos[1]
    assert "[Post. / B]" in log.infos[2]


def test_progress_log_raw_status_change_is_a_change() -> None:
    log = RecordingLog()
    progress = ProgressLog(log)
    progress.observe(status(raw_status="Running"))
    progress.observe(status(raw_status="processing"))
    assert len(log.infos) == 2


def test_progress_log_warns_once_per_unknown_value() -> None:
    log = RecordingLog()
    progress = ProgressLog(log)
    paused = status(service="clouddc", task_id="7", raw_status="Paused", recognized=False)
    for _ in range(4):
        progress.observe(paused)
    assert len(log.warnings) == 1
    assert "CloudDC log export 7" in log.warnings[0]
    assert "'Paused'" in log.warnings[0]
    assert len(log.infos) == 1

    progress.observe(paused.model_copy(update={"raw_status": "Queued"}))
    progress.observe(paused.model_copy(update={"raw_status": "Queued"}))
    progress.observe(paused)  # back to a value already reported
    assert len(log.warnings) == 2
    assert "'Queued'" in log.warnings[1]


def test_a_status_warning_is_logged_once_per_wait_with_the_task_s_name() -> None:
    log = RecordingLog()
    progress = ProgressLog(log, name="DIS transfer task T1")
    unchecked = status(service="dis", task_id="T1", warning="the state cannot be checked")
    for _ in range(3):
        progress.observe(unchecked)
    progress.observe(unchecked.model_copy(update={"state": TaskState.SUCCEEDED}))
    assert log.warnings == ["DIS transfer task T1: the state cannot be checked"]
    nameless = ProgressLog(log)
    nameless.observe(unchecked)
    assert log.warnings[-1] == "DIS transfer task T1: the state cannot be checked"


def test_progress_log_warns_once_for_a_missing_status_value() -> None:
    log = RecordingLog()
    progress = ProgressLog(log)
    missing = status(service="clouddc", task_id="7", raw_status=None, recognized=False)
    for _ in range(3):
        progress.observe(missing)
    assert len(log.warnings) == 1


def test_the_opening_line_rides_on_the_first_status_only() -> None:
    log = RecordingLog()
    clock = Clock()
    progress = ProgressLog(log, clock, opening="Waiting for CSS log backup d455a541-full until T (deadline)")
    progress.observe(status(progress=10.0, eta_seconds=90.0))
    progress.observe(status(state=TaskState.SUCCEEDED, raw_status="SUCCESS", progress=100.0))
    assert log.infos == [
        "Waiting for CSS log backup d455a541-full until T (deadline): RUNNING 10% (ETA 1m30s)",
        "CSS log backup d455a541: SUCCEEDED",
    ]
    progress.open()  # already carried: nothing more
    assert len(log.infos) == 2


def test_the_opening_line_is_logged_alone_when_the_first_check_fails() -> None:
    log = RecordingLog()
    progress = ProgressLog(log, opening="Waiting for X until T (deadline)")
    progress.open()
    progress.open()  # a second failed check: once is enough
    progress.observe(status(progress=10.0))
    assert log.infos == ["Waiting for X until T (deadline)", "CSS log backup d455a541: RUNNING 10%"]
