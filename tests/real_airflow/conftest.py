"""A real Airflow deployment per test, always torn down (processes stopped by PID)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.real_airflow.stack import AirflowStack

if TYPE_CHECKING:
    from collections.abc import Iterator

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def airflow_stack() -> Iterator[AirflowStack]:
    home = Path(tempfile.mkdtemp(prefix="hwc-real-airflow-"))
    dags = home / "dags"
    dags.mkdir()
    # The example as users get it, minus the daily schedule: the test triggers its own runs.
    source = (ROOT / "example_dags" / "example_log_archival.py").read_text()
    assert 'schedule="@daily"' in source
    (dags / "example_log_archival.py").write_text(source.replace('schedule="@daily"', "schedule=None"))
    stack = AirflowStack(
        home=home,
        dags_folder=dags,
        extra_env={"AIRFLOW_VAR_HUAWEICLOUD_LOG_ARCHIVE_ROOT": f"file://{home}/archive"},
    )
    try:
        yield stack
    finally:
        stack.stop_all()
