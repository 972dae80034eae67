"""Injected faults against the real hooks (sync) and the real AsyncTransport (async), and the outcome
the retry policy promises: reads are retried on 429/5xx/timeouts/drops, start calls only on 429."""

from __future__ import annotations

import os
import re
import tarfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest
from airflow.sdk import Connection

from airflow_provider.core.errors import (
    ApiError,
    BadResponseError,
    RateLimitedError,
    TransportError,
)
from airflow_provider.core.exchange import Exchange
from airflow_provider.emulator.state import (
    DEFAULT_CLOUDDC_SERVER,
    DEFAULT_CSS_CLUSTER,
    DEFAULT_DCS_INSTANCE,
    DEFAULT_DIS_TASK_ID,
)
from airflow_provider.hooks.clouddc import CloudDCHook
from airflow_provider.hooks.connection_config import cloud_config, edge_config
from airflow_provider.hooks.css import CssHook
from airflow_provider.hooks.dcs import DcsHook
from airflow_provider.hooks.dis import DisHook
from airflow_provider.hooks.edge import EdgeManagerHook
from airflow_provider.hooks.pem_files import PemFiles
from airflow_provider.services import clouddc, css, dcs, dis, edge
from airflow_provider.testing.emulator_runner import EmulatorHandle
from tests.integration.conftest import (
    cloud_conn,
    edge_conn,
    iam_token,
    iam_token_requests,
    install,
    password_conn,
    run_async,
)

if TYPE_CHECKING:
    from pathlib import Path

    from airflow_provider.core.transport import TransportSettings

pytestmark = pytest.mark.integration

MODES = ("sync", "async")
RETRY_STATUSES = (500, 502, 503, 504)
BAD_BODIES = ("malformed_json", "html_200", "empty_body")


# ------------------------------------------------------------------------------------------ helpers


def cloud_settings() -> TransportSettings:
    """Transport settings of the installed ``huaweicloud_default``, read as an ``airflow.sdk.Connection``."""
    conn = Connection.from_json(os.environ["AIRFLOW_CONN_HUAWEICLOUD_DEFAULT"], conn_id="huaweicloud_default")
    return cloud_config(conn).transport_settings()


def edge_settings() -> TransportSettings:
    conn = Connection.from_json(os.environ["AIRFLOW_CONN_EDGE_MANAGER_DEFAULT"], conn_id="edge_manager_default")
    config = edge_config(conn)
    return config.transport_settings(PemFiles(config).tls_settings())


def hits(handle: EmulatorHandle, service: str, path_regex: str, method: str | None = None) -> list[dict[str, Any]]:
    pattern = re.compile(path_regex)
    return [
        r
        for r in handle.admin.requests(service=service)
        if pattern.search(r["path"]) and (method is None or r["method"] == method)
    ]


def settled_hits(
    handle: EmulatorHandle, service: str, path_regex: str, at_least: int, method: str | None = None
) -> list[dict[str, Any]]:
    """The request log once it holds ``at_least`` matching entries: a request that the client gave up on
    (read timeout) is logged by the emulator only when it finishes serving it."""
    deadline = time.monotonic() + 10
    found = hits(handle, service, path_regex, method)
    while len(found) < at_least and time.monotonic() < deadline:
        time.sleep(0.05)
        found = hits(handle, service, path_regex, method)
    return found


@dataclass(frozen=True)
class Read:
    """One read call of one service, callable through its sync hook or as an exchange on the async path."""

    name: str
    log_service: str  # the emulator's request-log name
    error_service: str  # the provider's service name, as errors spell it
    path_regex: str
    prepare: Callable[[EmulatorHandle], str]
    sync: Callable[[str], Any]
    exchange: Callable[[str, str], Exchange[Any]]
    is_edge: bool = False

    def run(self, mode: str, handle: EmulatorHandle, ref: str) -> Any:
        if mode == "sync":
            return self.sync(ref)
        settings = edge_settings() if self.is_edge else cloud_settings()
        return run_async(self.exchange(handle.project_id, ref), settings)


def _dcs_task(handle: EmulatorHandle) -> str:
    return str(handle.admin.info()["resources"]["dcs_instances"][DEFAULT_DCS_INSTANCE][0])


def _closing(hook: Any, call: Callable[[Any], Any]) -> Any:
    try:
        return call(hook)
    finally:
        hook.close()


READS: dict[str, Read] = {
    r.name: r
    for r in (
        Read(
            "css",
            "css",
            "css",
            r"/logs/records$",
            lambda h: DEFAULT_CSS_CLUSTER,
            lambda ref: _closing(CssHook(), lambda k: k.get_log_backup_record_page(ref)),
            css.get_log_backup_record_page,
        ),
        Read(
            "dcs",
            "dcs",
            "dcs",
            r"/progress$",
            _dcs_task,
            lambda ref: _closing(DcsHook(), lambda k: k.get_background_task_progress(DEFAULT_DCS_INSTANCE, ref)),
            lambda pid, ref: dcs.get_background_task_progress(pid, DEFAULT_DCS_INSTANCE, ref),
        ),
        Read(
            "dis",
            "dis",
            "dis",
            r"^/v1/transfertasklog/",
            lambda h: DEFAULT_DIS_TASK_ID,
            lambda ref: _closing(DisHook(), lambda k: k.get_transfer_task_log_page(ref)),
            lambda pid, ref: dis.get_transfer_task_log_page(ref),
        ),
        Read(
            "clouddc",
            "clouddc",
            "clouddc",
            r"/logs/exports/[^/]+$",
            lambda h: h.admin.create_task("clouddc", server_id=DEFAULT_CLOUDDC_SERVER),
            lambda ref: _closing(CloudDCHook(), lambda k: k.get_server_log_export(DEFAULT_CLOUDDC_SERVER, ref)),
            lambda pid, ref: clouddc.get_export(pid, DEFAULT_CLOUDDC_SERVER, ref),
        ),
        Read(
            "edge",
            "edge",
            "edge",
            r"/dump/task$",
            lambda h: h.admin.create_task("edge", nodes=[1]),
            lambda ref: _closing(EdgeManagerHook(), lambda k: k.get_log_dump_task(ref)),
            lambda pid, ref: edge.get_dump_task(ref),
            is_edge=True,
        ),
    )
}


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    value: str = request.param
    return value


@pytest.fixture(params=sorted(READS))
def read(request: pytest.FixtureRequest) -> Read:
    return READS[request.param]


def check(read: Read, result: Any, handle: EmulatorHandle, ref: str) -> None:
    """The result of a successful read is the real answer, not a default."""
    if read.name == "css":
        assert [r.job_types for r in result.cluster_log_record] == ["Auto"]
    elif read.name == "dcs":
        assert result.progress == 100
    elif read.name == "dis":
        assert result.total_num == 3
    elif read.name == "clouddc":
        assert result.export_id == ref
    else:
        assert result.task_id == ref


# ------------------------------------------------------------------------------------ reads: status


def test_read_429_with_retry_after_then_success(emulator: EmulatorHandle, read: Read, mode: str) -> None:
    ref = read.prepare(emulator)
    emulator.admin.add_fault("status", path_regex=read.path_regex, status=429, retry_after=0, count=1)
    check(read, read.run(mode, emulator, ref), emulator, ref)
    got = hits(emulator, read.log_service, read.path_regex)
    assert [(r["status"], r["fault"]) for r in got] == [(429, "status"), (200, None)]


def test_read_429_without_retry_after_then_success(emulator: EmulatorHandle, read: Read, mode: str) -> None:
    ref = read.prepare(emulator)
    emulator.admin.add_fault("status", path_regex=read.path_regex, status=429, count=1)
    check(read, read.run(mode, emulator, ref), emulator, ref)
    assert [r["status"] for r in hits(emulator, read.log_service, read.path_regex)] == [429, 200]


@pytest.mark.parametrize("retry_after", ["30", "Wed, 21 Oct 2099 07:28:00 GMT"])
def test_read_429_retry_after_beyond_the_budget_is_not_waited_for(
    emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch, mode: str, retry_after: str
) -> None:
    """Retry-After is honoured: when the server's wait does not fit in max_elapsed, give up at once."""
    retry = {"base_delay": 0.01, "max_delay": 1.0, "max_attempts": 4, "max_elapsed": 2}
    install(monkeypatch, cloud_conn(emulator, retry=retry))
    read = READS["css"]
    emulator.admin.add_fault("status", path_regex=read.path_regex, status=429, retry_after=retry_after, count=1)
    with pytest.raises(RateLimitedError) as caught:
        read.run(mode, emulator, DEFAULT_CSS_CLUSTER)
    assert caught.value.status == 429
    assert caught.value.error_code == "APIGW.0308"
    assert len(hits(emulator, "css", read.path_regex)) == 1
    # Same policy without a Retry-After: the short backoff fits, and the read succeeds.
    emulator.admin.add_fault("status", path_regex=read.path_regex, status=429, count=1)
    check(read, read.run(mode, emulator, DEFAULT_CSS_CLUSTER), emulator, DEFAULT_CSS_CLUSTER)


@pytest.mark.parametrize("status", RETRY_STATUSES)
def test_read_5xx_burst_then_success(emulator: EmulatorHandle, read: Read, mode: str, status: int) -> None:
    ref = read.prepare(emulator)
    emulator.admin.add_fault("status", path_regex=read.path_regex, status=status, count=2)
    check(read, read.run(mode, emulator, ref), emulator, ref)
    assert [r["status"] for r in hits(emulator, read.log_service, read.path_regex)] == [status, status, 200]


def test_read_persistent_503_gives_up_after_max_attempts(emulator: EmulatorHandle, read: Read, mode: str) -> None:
    ref = read.prepare(emulator)
    emulator.admin.add_fault("status", path_regex=read.path_regex, status=503, rate=1.0)
    with pytest.raises(ApiError) as caught:
        read.run(mode, emulator, ref)
    assert type(caught.value) is ApiError
    assert caught.value.status == 503
    assert caught.value.error_code == "APIGW.0503"
    assert caught.value.request_id  # from the body / X-Request-Id
    assert str(caught.value).startswith(f"{read.error_service} API error: HTTP 503")
    assert [r["status"] for r in hits(emulator, read.log_service, read.path_regex)] == [503] * 4


def test_read_non_retryable_status_is_not_retried(emulator: EmulatorHandle, read: Read, mode: str) -> None:
    ref = read.prepare(emulator)
    emulator.admin.add_fault("status", path_regex=read.path_regex, status=400, count=1)
    with pytest.raises(ApiError) as caught:
        read.run(mode, emulator, ref)
    assert caught.value.status == 400
    assert len(hits(emulator, read.log_service, read.path_regex)) == 1


# ----------------------------------------------------------------------------------- reads: network


@pytest.fixture
def short_read_timeout(emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch) -> float:
    """A 0.3 s read timeout so that a 0.8 s latency fault times out quickly."""
    install(monkeypatch, cloud_conn(emulator, timeout=[2, 0.3]))
    install(monkeypatch, edge_conn(emulator, timeout=[2, 0.3]), "edge_manager_default")
    return 0.8


def test_read_latency_beyond_timeout_once_then_success(
    emulator: EmulatorHandle, read: Read, mode: str, short_read_timeout: float
) -> None:
    ref = read.prepare(emulator)
    emulator.admin.add_fault("latency", path_regex=read.path_regex, latency=short_read_timeout, count=1)
    check(read, read.run(mode, emulator, ref), emulator, ref)
    assert emulator.admin.faults() == []  # the slow attempt happened
    got = settled_hits(emulator, read.log_service, read.path_regex, 2)
    assert len(got) == 2
    assert sorted(str(r["fault"]) for r in got) == ["None", "latency"]


@pytest.mark.parametrize("name", ["css", "edge"])
def test_read_persistent_latency_is_a_transport_error(
    emulator: EmulatorHandle, name: str, mode: str, short_read_timeout: float
) -> None:
    read = READS[name]
    ref = read.prepare(emulator)
    emulator.admin.add_fault("latency", path_regex=read.path_regex, latency=short_read_timeout, rate=1.0)
    with pytest.raises(TransportError) as caught:
        read.run(mode, emulator, ref)
    assert caught.value.service == read.error_service
    assert "read timeout after 4 attempt(s)" in str(caught.value)
    (rule,) = emulator.admin.faults()
    assert rule["fired"] == 4
    # Let the emulator finish serving the abandoned attempts, so they are logged in this test.
    assert len(settled_hits(emulator, read.log_service, read.path_regex, 4)) == 4


def test_read_dropped_connection_is_retried(emulator: EmulatorHandle, read: Read, mode: str) -> None:
    ref = read.prepare(emulator)
    emulator.admin.add_fault("drop", path_regex=read.path_regex, count=1)
    check(read, read.run(mode, emulator, ref), emulator, ref)
    got = settled_hits(emulator, read.log_service, read.path_regex, 2)
    assert sorted(str(r["fault"]) for r in got) == ["None", "drop"]


def test_read_persistently_dropped_is_a_transport_error(emulator: EmulatorHandle, read: Read, mode: str) -> None:
    ref = read.prepare(emulator)
    emulator.admin.add_fault("drop", path_regex=read.path_regex, rate=1.0)
    with pytest.raises(TransportError, match=r"connection dropped after 4 attempt\(s\)") as caught:
        read.run(mode, emulator, ref)
    assert caught.value.reached_server is True
    assert emulator.admin.faults()[0]["fired"] == 4


# ---------------------------------------------------------------------------------- reads: bad body


@pytest.mark.parametrize("kind", BAD_BODIES)
def test_read_bad_body_is_a_bad_response_error(emulator: EmulatorHandle, read: Read, mode: str, kind: str) -> None:
    ref = read.prepare(emulator)
    emulator.admin.add_fault(kind, path_regex=read.path_regex, count=1)
    with pytest.raises(BadResponseError) as caught:
        read.run(mode, emulator, ref)
    assert caught.value.service == read.error_service
    assert str(caught.value).startswith(f"{read.error_service}: unexpected response")
    assert len(hits(emulator, read.log_service, read.path_regex)) == 1  # not retried
    # The next call is fine: nothing was left broken.
    check(read, read.run(mode, emulator, ref), emulator, ref)


# ------------------------------------------------------------------------------------ token expiry


def test_token_expiry_mid_sequence_refreshes_once(
    emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    from airflow_provider.core.auth import TOKEN_CACHE

    TOKEN_CACHE.clear()
    install(monkeypatch, password_conn(emulator))
    read = READS["css"]
    check(read, read.run(mode, emulator, DEFAULT_CSS_CLUSTER), emulator, DEFAULT_CSS_CLUSTER)
    check(read, read.run(mode, emulator, DEFAULT_CSS_CLUSTER), emulator, DEFAULT_CSS_CLUSTER)
    assert len(iam_token_requests(emulator)) == 1
    assert emulator.admin.expire_tokens() >= 1
    check(read, read.run(mode, emulator, DEFAULT_CSS_CLUSTER), emulator, DEFAULT_CSS_CLUSTER)
    check(read, read.run(mode, emulator, DEFAULT_CSS_CLUSTER), emulator, DEFAULT_CSS_CLUSTER)
    assert len(iam_token_requests(emulator)) == 2
    statuses = [r["status"] for r in hits(emulator, "css", read.path_regex)]
    assert statuses == [200, 200, 401, 200, 200]


def test_token_expiry_with_a_static_token_is_final(emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow_provider.core.errors import AuthenticationError

    install(monkeypatch, cloud_conn(emulator, login=None, password=iam_token(emulator), auth_type="token"))
    emulator.admin.expire_tokens()
    with pytest.raises(AuthenticationError, match="token expires"):
        READS["css"].run("sync", emulator, DEFAULT_CSS_CLUSTER)
    assert len(hits(emulator, "css", READS["css"].path_regex)) == 1


# -------------------------------------------------------------------------------------- downloads


def _finished_clouddc_export(emulator: EmulatorHandle) -> str:
    export_id = emulator.admin.create_task("clouddc", server_id=DEFAULT_CLOUDDC_SERVER, duration=0)
    return export_id


def _download_finished_dump(emulator: EmulatorHandle, destination: Path) -> Path:
    emulator.admin.create_task("edge", nodes=[1, 2, 3], duration=0)
    result: Path = _closing(EdgeManagerHook(), lambda k: k.download_log_dump(destination))
    return result


DOWNLOADS: dict[str, tuple[str, str, Callable[[EmulatorHandle, Path], Path]]] = {
    "clouddc": (
        "clouddc",
        r"/content$",
        lambda h, dest: _closing(
            CloudDCHook(),
            lambda k: k.download_server_logs(DEFAULT_CLOUDDC_SERVER, _finished_clouddc_export(h), dest),
        ),
    ),
    "edge": (
        "edge",
        r"/download/edgeNodes\.tar\.gz$",
        _download_finished_dump,
    ),
}


@pytest.mark.parametrize("name", sorted(DOWNLOADS))
def test_download_reset_mid_body_is_retried_and_complete(emulator: EmulatorHandle, tmp_path: Path, name: str) -> None:
    log_service, path_regex, download = DOWNLOADS[name]
    emulator.admin.add_fault("reset_mid_body", path_regex=path_regex, count=1)
    target = tmp_path / "out" / "logs.tar.gz"
    path = download(emulator, target)
    assert path == target
    with tarfile.open(path, "r:gz") as archive:
        names = archive.getnames()
        assert names
        for member in archive.getmembers():
            extracted = archive.extractfile(member)
            assert extracted is not None and extracted.read().endswith(b"\n")
    assert sorted(p.name for p in target.parent.iterdir()) == ["logs.tar.gz"]  # no partial file, no .part
    got = settled_hits(emulator, log_service, path_regex, 2)
    assert sorted(str(r["fault"]) for r in got) == ["None", "reset_mid_body"]
    # Byte for byte what a clean download gives.
    clean = tmp_path / "clean.tar.gz"
    if name == "edge":
        _closing(EdgeManagerHook(), lambda k: k.download_log_dump(clean))
    else:
        _closing(CloudDCHook(), lambda k: k.download_server_logs(DEFAULT_CLOUDDC_SERVER, "1", clean))
    assert clean.read_bytes() == path.read_bytes()


@pytest.mark.parametrize("name", sorted(DOWNLOADS))
def test_download_persistent_reset_leaves_no_file(emulator: EmulatorHandle, tmp_path: Path, name: str) -> None:
    _log_service, path_regex, download = DOWNLOADS[name]
    emulator.admin.add_fault("reset_mid_body", path_regex=path_regex, rate=1.0)
    target = tmp_path / "logs.tar.gz"
    with pytest.raises(TransportError, match="after 4 attempt"):
        download(emulator, target)
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------------------ start calls


@dataclass(frozen=True)
class Start:
    log_service: str
    path_regex: str
    sync: Callable[[], Any]
    exchange: Callable[[str], Exchange[Any]]
    is_edge: bool = False

    def run(self, mode: str, handle: EmulatorHandle) -> Any:
        if mode == "sync":
            return self.sync()
        return run_async(self.exchange(handle.project_id), edge_settings() if self.is_edge else cloud_settings())


STARTS: dict[str, Start] = {
    "css.create_log_backup": Start(
        "css",
        r"/logs/collect$",
        lambda: _closing(CssHook(), lambda k: k.create_log_backup(DEFAULT_CSS_CLUSTER)),
        lambda pid: css.create_log_backup(pid, DEFAULT_CSS_CLUSTER),
    ),
    "clouddc.export_server_logs": Start(
        "clouddc",
        r"/logs/exports$",
        lambda: _closing(CloudDCHook(), lambda k: k.export_server_logs(DEFAULT_CLOUDDC_SERVER)),
        lambda pid: clouddc.start_export(pid, DEFAULT_CLOUDDC_SERVER),
    ),
    "edge.create_log_dump_task": Start(
        "edge",
        r"/dump/task$",
        lambda: _closing(EdgeManagerHook(), lambda k: k.create_log_dump_task([1, 2])),
        lambda pid: edge.create_dump_task([1, 2]),
        is_edge=True,
    ),
}


@pytest.fixture(params=sorted(STARTS))
def start(request: pytest.FixtureRequest) -> Start:
    return STARTS[request.param]


def test_start_503_is_not_retried(emulator: EmulatorHandle, start: Start, mode: str) -> None:
    emulator.admin.add_fault("status", path_regex=start.path_regex, method="POST", status=503, rate=1.0)
    with pytest.raises(ApiError) as caught:
        start.run(mode, emulator)
    assert caught.value.status == 503
    assert len(hits(emulator, start.log_service, start.path_regex, "POST")) == 1


@pytest.mark.parametrize("status", [500, 502, 504])
def test_start_other_5xx_are_not_retried(emulator: EmulatorHandle, start: Start, mode: str, status: int) -> None:
    emulator.admin.add_fault("status", path_regex=start.path_regex, method="POST", status=status, count=1)
    with pytest.raises(ApiError):
        start.run(mode, emulator)
    assert len(hits(emulator, start.log_service, start.path_regex, "POST")) == 1


def test_start_429_is_retried(emulator: EmulatorHandle, start: Start, mode: str) -> None:
    emulator.admin.add_fault("status", path_regex=start.path_regex, method="POST", status=429, count=2)
    result = start.run(mode, emulator)
    statuses = [r["status"] for r in hits(emulator, start.log_service, start.path_regex, "POST")]
    assert statuses == [429, 429, 200 if start.log_service != "clouddc" else 202]
    if start.log_service == "clouddc":
        assert result.export_id == "1"  # exactly one export was started
    elif start.log_service == "edge":
        assert result.startswith("dumpMultiNodesLog.")


def test_start_dropped_connection_is_not_retried(emulator: EmulatorHandle, start: Start, mode: str) -> None:
    emulator.admin.add_fault("drop", path_regex=start.path_regex, method="POST", rate=1.0)
    with pytest.raises(TransportError) as caught:
        start.run(mode, emulator)
    assert caught.value.reached_server is True
    assert "not retried" in str(caught.value)
    assert "after 1 attempt(s)" in str(caught.value)
    assert emulator.admin.faults()[0]["fired"] == 1
    assert len(settled_hits(emulator, start.log_service, start.path_regex, 1, "POST")) == 1


def test_start_bad_body_is_not_retried(emulator: EmulatorHandle, start: Start, mode: str) -> None:
    if start.log_service == "css":
        pytest.skip("the CSS start call has no body to parse")
    emulator.admin.add_fault("html_200", path_regex=start.path_regex, method="POST", count=1)
    with pytest.raises(BadResponseError):
        start.run(mode, emulator)
    assert len(hits(emulator, start.log_service, start.path_regex, "POST")) == 1
