"""Collect edge node logs through MEF Center and download the archive."""

from __future__ import annotations

import ast
import time
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from airflow_provider.core.errors import (
    ApiError,
    DumpBusyError,
    EdgeTaskNotFoundError,
    HuaweiCloudError,
    InvalidInputError,
)
from airflow_provider.core.validation import check_edge_node_ids
from airflow_provider.hooks import edge_archive
from airflow_provider.hooks.edge_archive import (
    DEFAULT_HOLD_SECONDS,
    ArchiveNotOursError,
    DumpOwner,
    LatestDumps,
    center_of,
    check_latest,
    check_written,
    holder,
    mark_finished,
    release,
)
from airflow_provider.operators.base import HuaweiCloudTaskOperator
from airflow_provider.operators.delivery import deliver

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

    from airflow.sdk import Context

    from airflow_provider.core.download import Downloaded
    from airflow_provider.core.status import TaskStatus
    from airflow_provider.hooks.edge import EdgeManagerHook


def parse_node_ids(value: Sequence[object] | str) -> Sequence[object]:
    """Node ids as given, or as a rendered template: ``"[1, 2]"``, ``"['1', '2']"`` or ``"1,2"``."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    try:
        parsed = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return [part.strip().strip("'\"") for part in text.strip("[]() ").split(",") if part.strip()]
    return list(parsed) if isinstance(parsed, (list, tuple, set)) else [parsed]


class EdgeLogDumpOperator(HuaweiCloudTaskOperator):
    """Create a MEF log dump task for ``node_ids``, wait for it, optionally download ``edgeNodes.tar.gz``.

    MEF runs one dump at a time: while it answers "busy" the create call is retried every
    ``busy_retry_interval`` seconds for at most ``busy_timeout`` seconds, in the triggerer when
    ``deferrable=True`` (no worker slot is held), else in the worker.

    MEF keeps only the latest archive, and a new dump deletes the previous one. A dump therefore
    holds its MEF Center until its run has downloaded the archive (``archive_hold``), and a new
    dump of another run waits for that as for a busy MEF. Before and after the download the
    operator checks that the latest dump on the MEF Center is still its own and fails, naming the
    other dump task, when it is not (a dump started outside this provider; see
    ``hooks.edge_archive``, ``docs/retries.md``).

    :param node_ids: 1-100 edge node ids (templated).
    :param download_to: local path, folder (ending in ``/``) or ObjectStoragePath URL (templated).
    :param accept_partial_failure: succeed on ``partiallyFailed`` (warning names the failed nodes).
    :param busy_timeout: how long to keep trying while MEF is busy with another dump (or holds
        another run's archive), in seconds.
    :param busy_retry_interval: seconds between create attempts while MEF is busy.
    :param archive_hold: a dump of another run holds the MEF Center until that run has downloaded
        its archive, or for at most this many seconds after it finished (default one hour); a new
        dump waits meanwhile, since it would delete that archive. 0 turns the hold off.
    """

    service = "edge"
    conn_id_attr = "edge_manager_conn_id"
    template_fields = ("node_ids", "download_to")

    def __init__(
        self,
        *,
        node_ids: Sequence[int] | str,
        edge_manager_conn_id: str = "edge_manager_default",
        download_to: str | None = None,
        accept_partial_failure: bool = False,
        busy_timeout: float = 600.0,
        busy_retry_interval: float = 15.0,
        archive_hold: float = DEFAULT_HOLD_SECONDS,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if download_to and not self.wait_for_completion:
            raise InvalidInputError("download_to", download_to, "needs wait_for_completion=True")
        self.node_ids = node_ids
        self.edge_manager_conn_id = edge_manager_conn_id
        self.download_to = download_to
        self.accept_partial_failure = accept_partial_failure
        self.busy_timeout = busy_timeout
        self.busy_retry_interval = busy_retry_interval
        self.archive_hold = archive_hold

    @property
    def accept_partial(self) -> bool:
        return self.accept_partial_failure

    def make_hook(self) -> EdgeManagerHook:
        from airflow_provider.hooks.edge import EdgeManagerHook

        return EdgeManagerHook(edge_manager_conn_id=self.edge_manager_conn_id)

    @property
    def edge_hook(self) -> EdgeManagerHook:
        return self.hook  # type: ignore[return-value]

    @property
    def latest_dumps(self) -> LatestDumps:
        """Where the latest dump per MEF Center is recorded (an Airflow Variable per MEF Center)."""
        return edge_archive.LATEST_DUMPS

    @property
    def center(self) -> str:
        """``host:port`` of the MEF Center, the key of its latest dump."""
        return center_of(self.edge_hook.config.base_url)

    def start(self, context: Context) -> dict[str, str]:
        nodes = check_edge_node_ids(parse_node_ids(self.node_ids))
        me = DumpOwner.of("", context)
        deadline = time.monotonic() + self.busy_timeout
        while True:
            held_by = self._held_by(me)
            if held_by is None:
                try:
                    dump_task_id = self.edge_hook.create_log_dump_task(nodes)
                    break
                except DumpBusyError as exc:
                    busy: HuaweiCloudError = exc
                    why = "busy with another log dump"
            else:
                busy = HuaweiCloudError(f"the latest archive is that of {held_by.describe()}, not downloaded yet")
                why = "holding the archive of another run's dump"
            if self.deferrable:
                self._defer_until_free(nodes, why)
            if time.monotonic() + self.busy_retry_interval > deadline:
                raise HuaweiCloudError(f"MEF Center stayed {why} for {self.busy_timeout:.0f} s: {busy}") from busy
            self.log.info("MEF Center is %s (%s); retrying in %.0f s", why, busy, self.busy_retry_interval)
            self._sleep(self.busy_retry_interval)
        return self._created(context, dump_task_id, nodes)

    def _held_by(self, me: DumpOwner) -> DumpOwner | None:
        """The other run whose finished dump's archive MEF still holds for its download, if any."""
        latest = self.latest_dumps.latest(self.center)
        if latest is None or latest.released or latest.same_task(me):
            return None
        try:
            task = self.edge_hook.get_log_dump_task(latest.dump_task_id)
        except EdgeTaskNotFoundError:
            task = None
        except HuaweiCloudError as exc:  # the hold is a courtesy; the download checks keep archives apart
            self.log.warning("Could not check whether %s still holds MEF Center: %s", latest.describe(), exc)
            return None
        return holder(latest, me, task=task, now=datetime.now(timezone.utc), hold_seconds=self.archive_hold)

    def _defer_until_free(self, nodes: list[int], why: str) -> None:
        from airflow_provider.triggers.edge import EdgeLogDumpStartTrigger

        self.log.info("MEF Center is %s: waiting for it in the triggerer (at most %.0f s)", why, self.busy_timeout)
        self.defer(
            trigger=EdgeLogDumpStartTrigger(
                conn_id=self.edge_manager_conn_id,
                node_ids=nodes,
                deadline=time.time() + self.busy_timeout,
                retry_interval=self.busy_retry_interval,
                hold_seconds=self.archive_hold,
            ),
            method_name="execute_started",
            # The trigger ends itself at its deadline; this only bounds a trigger that never ran.
            timeout=timedelta(seconds=self.busy_timeout + 300),
        )

    def execute_started(self, context: Context, event: dict[str, Any] | None = None) -> Any:
        """Resumed after the triggerer created the dump (or gave up): record it, then wait for it."""
        self._memory = None
        try:
            status = event.get("status") if isinstance(event, dict) else None
            if status == "started" and isinstance(event, dict) and isinstance(event.get("dump_task_id"), str):
                nodes = check_edge_node_ids(parse_node_ids(self.node_ids))
                ids = self._created(context, event["dump_task_id"], nodes, recorded=bool(event.get("recorded")))
                return self.wait_and_finish(context, ids)
            if status in ("busy_timeout", "error") and isinstance(event, dict):
                raise HuaweiCloudError(str(event.get("message") or status))
            raise HuaweiCloudError(f"{self.task_id}: invalid trigger event {event!r}")
        finally:
            self._close_hook()

    def _created(
        self, context: Context, dump_task_id: str, nodes: list[int], *, recorded: bool = False
    ) -> dict[str, str]:
        """Log, keep and publish a new dump; ``recorded``: the trigger that created it already
        recorded it as the MEF Center's latest."""
        self.log.info("Edge log dump task %s created for nodes %s", dump_task_id, nodes)
        ids = {"dump_task_id": dump_task_id}
        self.publish(context, ids)
        if not recorded:
            self.latest_dumps.record(self.center, DumpOwner.of(dump_task_id, context))
        return ids

    def finish(self, context: Context, status: TaskStatus) -> dict[str, Any]:
        result = status.to_json()
        if self.download_to:
            mark_finished(self.latest_dumps, self.center, status.task_id)
            delivered = deliver(self._download_ours(status.task_id), self.download_to, "edgeNodes.tar.gz")
            self.log.info("Edge node logs delivered to %s (%d bytes)", delivered.location, delivered.size)
            result["download"] = delivered.to_json()
            result["artifacts"] = [delivered.artifact()]  # what LogArchiveOperator copies
        # Done with the archive (delivered, or not wanted): another run's dump may now replace it.
        release(self.latest_dumps, self.center, status.task_id)
        return result

    def on_kill(self) -> None:
        super().on_kill()
        if self._running_ids and self._hook is not None:
            release(self.latest_dumps, self.center, self._running_ids["dump_task_id"])

    def _download_ours(self, dump_task_id: str) -> Any:
        """A ``deliver`` download step that delivers the archive only if dump ``dump_task_id`` wrote it."""
        hook, center, latests = self.edge_hook, self.center, self.latest_dumps

        def download(path: Path) -> Downloaded:
            check_latest(latests, center, dump_task_id, "before the download")
            try:
                task = hook.get_log_dump_task(dump_task_id)
            except EdgeTaskNotFoundError as exc:
                raise ArchiveNotOursError(
                    f"MEF Center {center} no longer knows dump task {dump_task_id} (it deletes every task and the "
                    f"archive when it restarts): clear this task to dump again. {exc}"
                ) from exc

            def accept(headers: Mapping[str, str]) -> None:
                check_written(
                    headers,
                    center=center,
                    ours=dump_task_id,
                    started_at=task.started_at or task.created_at,
                    finished_at=task.finished_at,
                    latest=latests.latest(center),
                )

            try:
                got = hook.fetch_log_dump(path, accept=accept)
            except ApiError as exc:
                if exc.status != 400:
                    raise
                latest = latests.latest(center)
                other = latest.describe() if latest and latest.dump_task_id != dump_task_id else None
                raise ArchiveNotOursError(
                    f"MEF Center {center} has no archive to download ({exc}): a newer dump started after dump task "
                    f"{dump_task_id} and deleted its archive" + (f"; the latest dump is {other}" if other else "")
                ) from exc
            try:
                check_latest(latests, center, dump_task_id, "after the download")
            except ArchiveNotOursError:
                got.path.unlink(missing_ok=True)
                raise
            return got

        return download
