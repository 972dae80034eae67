"""Collect edge node logs through MEF Center and download the archive."""

from __future__ import annotations

import ast
import time
import uuid
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from airflow_provider.core.errors import (
    ApiError,
    DumpBusyError,
    EdgeTaskNotFoundError,
    HuaweiCloudError,
    InvalidInputError,
    NothingStartedError,
    TaskFailedError,
    TaskGoneError,
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
    hold_again,
    holder,
    mark_finished,
    release,
)
from airflow_provider.operators.base import HuaweiCloudTaskOperator
from airflow_provider.operators.delivery import deliver

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence
    from pathlib import Path

    from airflow.sdk import Context

    from airflow_provider.core.download import Downloaded
    from airflow_provider.core.status import TaskStatus
    from airflow_provider.hooks.edge import EdgeManagerHook
    from airflow_provider.operators.durable import RemoteTaskRecord


STOPPED = "the task was stopped, so its run will not download the archive"


def retry_coming(context: Context) -> bool:
    """Whether Airflow retries this try if it fails now, by the Execution API's rule
    (``_is_eligible_to_retry``: ``max_tries != 0 and try_number <= max_tries``); False when unknown.

    A retry policy or a failure Airflow never retries can still end the task; the hold such a
    task keeps then ends by itself, ``archive_hold`` after the dump ended.
    """
    ti = context.get("ti")
    try_number, max_tries = getattr(ti, "try_number", None), getattr(ti, "max_tries", None)
    if not isinstance(try_number, int) or not isinstance(max_tries, int):
        return False
    return max_tries != 0 and try_number <= max_tries


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


class EdgeLogDumpOperator(HuaweiCloudTaskOperator["EdgeManagerHook"]):
    """Create a MEF log dump task for ``node_ids``, wait for it, optionally download ``edgeNodes.tar.gz``.

    MEF runs one dump at a time: while it answers "busy" the create call is retried every
    ``busy_retry_interval`` seconds for at most ``busy_timeout`` seconds, in the triggerer when
    ``deferrable=True`` (no worker slot is held), else in the worker.

    MEF keeps only the latest archive, and a new dump deletes the previous one. A dump therefore
    holds its MEF Center until its run has downloaded the archive (``archive_hold``), and a new
    dump of another run waits for that as for a busy MEF. A run that will not download it lets go
    at once: without ``wait_for_completion``, when the dump ended badly or its archive is gone,
    when the task is stopped, and when the task fails with no retry left (a retry that can still
    come back for the archive keeps the hold, for at most ``archive_hold``). Before and after the
    download the operator checks that the latest dump on the MEF Center is still its own and fails,
    naming the other dump task, when it is not (a dump started outside this provider; see
    ``hooks.edge_archive``, ``docs/retries.md``).

    ``dump_task_id`` is pushed to XCom as soon as the dump exists. Returns the final ``TaskStatus``
    as JSON; with ``download_to``, also ``download`` (``location``, ``bytes``, ``sha256``) and
    ``artifacts`` (the archive, for ``LogArchiveOperator``).

    :param node_ids: 1-100 edge node ids (templated): a list, or a rendered ``"[1, 2]"`` or ``"1,2"``.
    :param edge_manager_conn_id: the ``huawei_edge_manager`` connection (templated).
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
        self._start_token: str | None = None
        self._free_wait_nodes: list[int] | None = None  # set while this worker waits for a free MEF

    @property
    def accept_partial(self) -> bool:
        """``accept_partial_failure``: a ``partiallyFailed`` dump ends the wait well."""
        return self.accept_partial_failure

    def make_hook(self) -> EdgeManagerHook:
        """An ``EdgeManagerHook`` on ``edge_manager_conn_id``."""
        from airflow_provider.hooks.edge import EdgeManagerHook

        return EdgeManagerHook(edge_manager_conn_id=self.edge_manager_conn_id)

    @property
    def latest_dumps(self) -> LatestDumps:
        """Where the latest dump per MEF Center is recorded (an Airflow Variable per MEF Center)."""
        return edge_archive.LATEST_DUMPS

    @property
    def center(self) -> str:
        """``host:port`` of the MEF Center, the key of its latest dump."""
        return center_of(self.hook.config.base_url)

    def start_detail(self, context: Context) -> dict[str, Any]:
        """A fresh ``start_token``, repeated in the dump's latest-dump record, so that a retry can
        tell the dump this start created (``recover_start``)."""
        # The dump's record as the MEF Center's latest repeats this token (the trigger writes that
        # record before the worker resumes): a retry can tell the dump this start created.
        self._start_token = uuid.uuid4().hex
        return {"start_token": self._start_token}

    def recover_start(self, context: Context, record: RemoteTaskRecord) -> dict[str, str] | None:
        """The dump an earlier try's start created, from the MEF Center's latest-dump record: same
        task instance and the token of that try's ``starting`` record (so written after it)."""
        token = record.detail.get("start_token")
        if not isinstance(token, str) or not token:
            return None
        latest = self.latest_dumps.latest(self.center)
        if latest is None or latest.start_token != token or not latest.same_task(DumpOwner.of("", context)):
            return None
        self.log.info(
            "Found the Edge log dump %s that %s started (recorded as MEF Center %s's latest dump before its id "
            "reached the task state store)",
            latest.dump_task_id,
            record.by,
            self.center,
        )
        return {"dump_task_id": latest.dump_task_id}

    def start(self, context: Context) -> dict[str, str]:
        """Create the dump task (``POST /edgemanager/v1/logmgmt/dump/task``) once MEF is free, record it
        as the MEF Center's latest dump and publish ``dump_task_id``.

        While MEF is busy or holds another run's archive, the create call is retried (in the
        triggerer with ``deferrable=True``).

        :raises NothingStartedError: MEF stayed busy for ``busy_timeout``, or the task was killed while
            waiting; no dump was created.
        """
        nodes = check_edge_node_ids(parse_node_ids(self.node_ids))
        me = DumpOwner.of("", context)
        deadline = time.monotonic() + self.busy_timeout
        self._free_wait_nodes = nodes
        try:
            while True:
                held_by = self._held_by(me)
                if held_by is None:
                    try:
                        dump_task_id = self.hook.create_log_dump_task(nodes)
                        break
                    except DumpBusyError as exc:
                        busy: HuaweiCloudError = exc
                        why = "busy with another log dump"
                else:
                    busy = HuaweiCloudError(f"{held_by.describe()} has not been downloaded by its run yet")
                    why = "reserved for another run's dump until that run has its archive"
                if self.deferrable:
                    self._defer_until_free(nodes, why)
                if time.monotonic() + self.busy_retry_interval > deadline:
                    raise NothingStartedError(
                        f"MEF Center stayed {why} for {self.busy_timeout:.0f} s: {busy}; no log dump was started"
                    ) from busy
                self.log.info("MEF Center is %s (%s); retrying in %.0f s", why, busy, self.busy_retry_interval)
                try:
                    self._sleep(self.busy_retry_interval)
                except HuaweiCloudError as exc:  # killed: nothing was created
                    raise NothingStartedError(f"{exc}; no log dump was started") from exc
        finally:
            self._free_wait_nodes = None
        return self._created(context, dump_task_id, nodes)

    def _held_by(self, me: DumpOwner) -> DumpOwner | None:
        """The other run whose finished dump's archive MEF still holds for its download, if any."""
        latest = self.latest_dumps.latest(self.center)
        if latest is None or latest.released or latest.same_task(me):
            return None
        try:
            task = self.hook.get_log_dump_task(latest.dump_task_id)
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
                start_token=self._start_token,
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
                token = event.get("start_token")
                self._start_token = token if isinstance(token, str) else None
                ids = self._created(context, event["dump_task_id"], nodes, recorded=bool(event.get("recorded")))
                return self.wait_and_finish(context, ids)
            if status == "busy_timeout" and isinstance(event, dict):
                # The trigger created no dump: a retry has nothing to look for.
                self.memory(context).forget()
                raise NothingStartedError(f"{event.get('message') or status}; no log dump was started")
            if status == "error" and isinstance(event, dict):
                raise HuaweiCloudError(str(event.get("message") or status))
            raise HuaweiCloudError(f"{self.task_id}: invalid trigger event {event!r}")
        finally:
            self.close_hook()

    def _created(
        self, context: Context, dump_task_id: str, nodes: list[int], *, recorded: bool = False
    ) -> dict[str, str]:
        """Log, keep and publish a new dump; ``recorded``: the trigger that created it already
        recorded it as the MEF Center's latest."""
        self.log.info("Edge log dump task %s created for nodes %s", dump_task_id, nodes)
        ids = {"dump_task_id": dump_task_id}
        if not recorded:
            # Before publish: a try that dies in between leaves a record its retry can find.
            owner = DumpOwner.of(dump_task_id, context, start_token=self._start_token)
            self.latest_dumps.record(self.center, owner)
        self.publish(context, ids)
        return ids

    def reattach(self, context: Context) -> tuple[dict[str, str] | None, TaskStatus | None]:
        """As for every operator; a dump reattached to with ``wait_for_completion`` holds its MEF
        Center again (an earlier try may have let go of it)."""
        ids, status = super().reattach(context)
        if ids is not None and self.wait_for_completion:
            # An earlier try let go of the MEF Center (it was stopped, or failed as if no retry was
            # left); this one will download the archive after all.
            hold_again(self.latest_dumps, self.center, ids["dump_task_id"])
        return ids, status

    def wait_and_finish(self, context: Context, ids: dict[str, str], first: TaskStatus | None = None) -> Any:
        """Wait and ``finish`` as every operator does; the MEF Center is released when this run will
        not download the archive (no ``wait_for_completion``, or a failure no retry comes back from)."""
        dump_task_id = ids["dump_task_id"]
        with self._letting_go_on_failure(context, dump_task_id):
            result = super().wait_and_finish(context, ids, first)
        if not self.wait_for_completion:
            self._release(dump_task_id, "the operator does not wait for the dump, so its run downloads no archive")
        return result

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> Any:
        """Resume after the wait's trigger fired, as every operator does, releasing the MEF Center when
        the run fails and will not come back for the archive."""
        ids = event.get("ids") if isinstance(event, dict) else None
        dump_task_id = ids.get("dump_task_id") if isinstance(ids, dict) else None
        if not isinstance(dump_task_id, str) or not dump_task_id:
            return super().execute_complete(context, event)
        with self._letting_go_on_failure(context, dump_task_id):
            return super().execute_complete(context, event)

    @contextmanager
    def _letting_go_on_failure(self, context: Context, dump_task_id: str) -> Iterator[None]:
        """Release the hold of dump ``dump_task_id`` when what runs inside fails and this run will not
        come back for the archive (see ``_no_download_reason``); a deferral is no failure."""
        from airflow.sdk.exceptions import TaskDeferred

        try:
            yield
        except TaskDeferred:
            raise
        except BaseException as exc:
            try:
                self._after_failure(context, dump_task_id, exc)
            except Exception as problem:  # the failure being raised matters more
                self.log.warning("Could not release MEF Center from Edge log dump %s: %s", dump_task_id, problem)
            finally:
                self.close_hook()  # the hook the release may have opened again
            raise

    def _after_failure(self, context: Context, dump_task_id: str, exc: BaseException) -> None:
        why = self._no_download_reason(context, exc)
        if why is not None:
            self._release(dump_task_id, why)
            return
        latest = self.latest_dumps.latest(self.center) if self.archive_hold > 0 else None
        if latest is not None and latest.dump_task_id == dump_task_id and not latest.released:
            self.log.info(
                "MEF Center %s stays held for Edge log dump %s: a retry of this task will come back for its "
                "archive (the hold ends at most %.0f s after the dump ended)",
                self.center,
                dump_task_id,
                self.archive_hold,
            )

    def _no_download_reason(self, context: Context, exc: BaseException) -> str | None:
        """Why this run will not download the archive after ``exc``; None while a retry may come for it."""
        from airflow.sdk.exceptions import AirflowFailException, AirflowSensorTimeout, AirflowTaskTerminated

        if self._stop is not None and self._stop.is_set():
            return STOPPED
        if isinstance(exc, TaskFailedError):
            return "the dump ended badly, so no archive of it will be downloaded (a retry starts a new dump)"
        if isinstance(exc, (TaskGoneError, ArchiveNotOursError)):
            return "its archive is gone, so its run cannot download it"
        if isinstance(exc, (AirflowFailException, AirflowSensorTimeout, AirflowTaskTerminated)):
            return f"Airflow does not retry a task that raised {type(exc).__name__}"
        if not retry_coming(context):
            return "no retry of this task is left to download the archive"
        return None

    def _release(self, dump_task_id: str, why: str) -> None:
        center = self.center
        if release(self.latest_dumps, center, dump_task_id):
            self.log.info("Released MEF Center %s from Edge log dump %s: %s", center, dump_task_id, why)

    def finish(self, context: Context, status: TaskStatus) -> dict[str, Any]:
        """The status as JSON; with ``download_to``, ``edgeNodes.tar.gz`` is delivered there first (only
        if this dump wrote it) and named under ``download`` and ``artifacts``. Then the MEF Center
        is released.

        :raises ArchiveNotOursError: the archive MEF holds is another dump's, or is gone.
        """
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
        """A user stopped the task: say what keeps running, and let go of the MEF Center."""
        super().on_kill()
        nodes = self._free_wait_nodes
        if not self._running_ids and nodes is not None:
            self.log.warning("Stopped waiting for MEF Center to be free: no log dump was started for %s", nodes)
        # Only while a wait or download runs (the hook is open): an on_kill after execute ended (an
        # execution_timeout) leaves the decision to the failure path, which knows about retries.
        if self._running_ids and self._hook is not None:
            dump_task_id = self._running_ids["dump_task_id"]
            try:
                self._release(dump_task_id, STOPPED)
            except Exception as exc:  # on_kill must not raise
                self.log.warning("Could not release MEF Center from dump %s: %s", dump_task_id, exc)

    def _download_ours(self, dump_task_id: str) -> Any:
        """A ``deliver`` download step that delivers the archive only if dump ``dump_task_id`` wrote it."""
        hook, center, latests = self.hook, self.center, self.latest_dumps

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
