"""DcsRunLogOperator: CreateRedislog, the DCS wait, the download link, the archive in OBS; a retry collects once."""

from __future__ import annotations

import hashlib
import io
import tarfile
from typing import TYPE_CHECKING, Any

import pytest

from airflow_provider.core.errors import HuaweiCloudError
from airflow_provider.emulator.state import DEFAULT_DCS_INSTANCE
from airflow_provider.operators.dcs import DcsRunLogOperator
from tests.operators._support import FAST_POLL, StateStore, try_context

if TYPE_CHECKING:
    from airflow_provider.testing.emulator_runner import EmulatorHandle

BUCKET = "huaweicloud-log-archive"


def _operator(staging: str, **kwargs: Any) -> DcsRunLogOperator:
    return DcsRunLogOperator(
        task_id="collect_dcs_run_logs",
        instance_id=DEFAULT_DCS_INSTANCE,
        download_to=f"obs://{BUCKET}/{staging}/dcs/",
        poll_interval=0.05,
        **FAST_POLL,
        **kwargs,
    )


def _collects(emulator: EmulatorHandle) -> int:
    return sum(1 for r in emulator.admin.requests() if r["method"] == "POST" and r["path"].endswith("/redislog"))


@pytest.mark.parametrize("task", ["listed", "unlisted"])
def test_run_logs_are_collected_waited_for_and_staged_in_obs(
    emulator: EmulatorHandle, s3: Any, task: str, request: pytest.FixtureRequest
) -> None:
    emulator.admin.set_quirks(dcs_redislog_task=task)
    emulator.admin.set_outcome("dcs", "succeed", duration=20)
    context, ti = try_context(StateStore(), 1)
    result = _operator(request.node.name[:30]).execute(context)

    assert result["state"] == "SUCCEEDED"
    assert ("dcs_task_id" in ti.keys) == (task == "listed")  # the DCS wait ran on its background task
    artifact = result["artifacts"][0]
    assert artifact["url"].startswith(f"obs://{BUCKET}/") and artifact["url"].endswith(".tar.gz")
    body = s3.get_object(Bucket=BUCKET, Key=artifact["url"].split(f"{BUCKET}/", 1)[1])["Body"].read()
    assert (len(body), hashlib.sha256(body).hexdigest()) == (artifact["bytes"], artifact["sha256"])
    with tarfile.open(fileobj=io.BytesIO(body)) as archive:
        assert [m.name for m in archive.getmembers()] == [result["result"]["run_log"]["file_name"]]
    assert ti.value("redislog_id") == result["result"]["run_log"]["id"]
    assert _collects(emulator) == 1
    link_calls = [r for r in emulator.admin.requests() if r["path"].endswith("/links")]
    assert len(link_calls) == 1


def test_a_retry_reattaches_instead_of_collecting_again(
    emulator: EmulatorHandle, request: pytest.FixtureRequest
) -> None:
    emulator.admin.set_outcome("dcs", "succeed", duration=20)
    store = StateStore()
    # Try 1 starts the collection, then its first progress check is refused: the try fails.
    emulator.admin.add_fault("status", path_glob="*/tasks/*/progress", method="GET", status=403)
    context, _ = try_context(store, 1)
    with pytest.raises(HuaweiCloudError):
        _operator(request.node.name[:30]).execute(context)
    emulator.admin.clear_faults()
    context, _ = try_context(store, 2)
    result = _operator(request.node.name[:30]).execute(context)
    assert result["state"] == "SUCCEEDED" and result["artifacts"]
    assert _collects(emulator) == 1  # never a second CreateRedislog


def test_bad_query_time_is_refused_by_name() -> None:
    with pytest.raises(HuaweiCloudError, match=r"query_time.*2"):
        DcsRunLogOperator(task_id="t", instance_id="i", download_to="obs://b/p/", query_time=2)
