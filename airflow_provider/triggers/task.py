"""One trigger for every task kind: poll a remote task without blocking the triggerer's loop.

It serializes only the connection id, service, ids, options, polling policy and an absolute
deadline, so after a triggerer restart the re-created trigger resumes with the original
deadline and no secret is ever stored in the metadata database.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook
from airflow.sdk.exceptions import AirflowNotFoundException
from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider.core import catalog
from airflow_provider.core.errors import HuaweiCloudError
from airflow_provider.core.polling import PollPolicy
from airflow_provider.core.progress import ProgressLog
from airflow_provider.core.status import TaskState
from airflow_provider.core.wake_grid import WAKE_GRID_SECONDS, sleep_on_grid

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Mapping

    from airflow.sdk import Connection

    from airflow_provider.core.async_transport import AsyncTransport
    from airflow_provider.core.auth import Auth
    from airflow_provider.core.status import TaskStatus
    from airflow_provider.hooks.connection_config import CloudConfig


#: Connection fields that decide the transport. Triggers of one connection in one triggerer share
#: a transport (thousands of waits, one config object and token source); a changed connection —
#: fetched anew by every trigger — replaces it.
_CONN_FIELDS = ("conn_id", "conn_type", "host", "login", "password", "port", "schema", "extra")
#: Per loop and connection id: (fingerprint of the fields, transport, settings). Keyed by a keyed
#: digest (``core.secrets.fingerprint``), not the fields, so no password or secret key is kept as a
#: key; one entry per connection id, so a rotated key does not leave the old transport behind.
_CLOUD_TRANSPORTS: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[tuple[str, str | None, str | None], tuple[str, AsyncTransport, CloudConfig]]
] = weakref.WeakKeyDictionary()


def connection_fingerprint(conn: Connection) -> str:
    """Tells connection versions apart without holding their secrets."""
    from airflow_provider.core.secrets import fingerprint

    return fingerprint(*(str(getattr(conn, name, None)) for name in _CONN_FIELDS))


def _forget_token(replaced: AsyncTransport, auth: Auth) -> None:
    """A connection changed: drop the IAM token its old credentials got, unless the new ones are the
    same credentials (an edit of another field)."""
    from airflow_provider.core.auth import IamTokenAuth

    old = replaced.settings.auth
    if isinstance(old, IamTokenAuth) and not (
        isinstance(auth, IamTokenAuth) and auth.fetcher.cache_key == old.fetcher.cache_key
    ):
        old.cache.invalidate(old.fetcher.cache_key, None)


def _forget_proxies(replaced: AsyncTransport, proxies: Mapping[str, str] | None) -> None:
    """A connection changed its proxies: close the clients built for the old ones (a proxy URL may
    carry a password)."""
    from airflow_provider.core.async_transport import discard_proxied

    old = replaced.settings.proxies
    if old and dict(old) != dict(proxies or {}):
        discard_proxied(old)


#: A triggerer that picks up thousands of waits fetches the same connection thousands of times within
#: seconds, each fetch a secrets-backend or API-server round trip (~0.3 ms of CPU even from an
#: environment variable). Waits of one connection that start within this many seconds of each other
#: share one fetch; a wait that starts later sees any edit made to the connection since.
CONNECTION_REUSE_SECONDS = 30.0
_FETCHED: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, tuple[float, asyncio.Future[Connection]]]] = (
    weakref.WeakKeyDictionary()
)


async def fetch_connection(conn_id: str) -> Connection:
    """The connection, fetched once per ``CONNECTION_REUSE_SECONDS`` per loop; concurrent callers wait
    for the same fetch. A failed or cancelled fetch is not kept."""
    loop = asyncio.get_running_loop()
    per_loop = _FETCHED.setdefault(loop, {})
    while True:
        entry = per_loop.get(conn_id)
        if entry is None or time.monotonic() - entry[0] >= CONNECTION_REUSE_SECONDS:
            return await _fetch_for_all(conn_id, per_loop, loop)
        future = entry[1]
        if not future.done():
            await asyncio.wait([future])  # not shield: this caller's cancellation must not cancel the fetch
        if not future.cancelled():
            return future.result()
        # The caller that was fetching got cancelled: fetch again.


async def _fetch_for_all(
    conn_id: str,
    per_loop: dict[str, tuple[float, asyncio.Future[Connection]]],
    loop: asyncio.AbstractEventLoop,
) -> Connection:
    now = time.monotonic()
    for stale in [key for key, (at, done) in per_loop.items() if now - at >= CONNECTION_REUSE_SECONDS and done.done()]:
        del per_loop[stale]  # a fetched connection holds its secrets: none is kept past its window
    future: asyncio.Future[Connection] = loop.create_future()
    entry = per_loop[conn_id] = (now, future)
    try:
        conn = await BaseHook.aget_connection(conn_id)
    except BaseException as exc:
        if per_loop.get(conn_id) is entry:
            del per_loop[conn_id]
        if isinstance(exc, Exception):
            future.set_exception(exc)
            future.exception()  # the waiters re-raise it; nobody else needs to retrieve it
        else:
            future.cancel()
        raise
    future.set_result(conn)
    return conn


async def shared_cloud_transport(
    conn_id: str,
    conn: Connection,
    loop: asyncio.AbstractEventLoop,
    *,
    service: str,
    region: str | None = None,
    project_id: str | None = None,
) -> tuple[AsyncTransport, str | None]:
    """The transport (and project id) every wait and watcher of ``conn_id`` and these overrides on
    ``loop`` shares, built anew when the connection's fields changed.

    One transport per connection and region/project override: a task may point one connection at
    another region (its endpoints, its token's scope).
    """
    from airflow_provider.core.async_transport import AsyncTransport
    from airflow_provider.hooks.connection_config import cloud_config
    from airflow_provider.hooks.project_lookup import aresolve_project, require_signed_project

    key = connection_fingerprint(conn)
    per_loop = _CLOUD_TRANSPORTS.setdefault(loop, {})
    slot = (conn_id, region, project_id)
    cached = per_loop.get(slot)
    if cached is None or cached[0] != key:
        cloud = await aresolve_project(cloud_config(conn, region=region, project_id=project_id))
        if cached is not None:
            _forget_token(cached[1], cloud.auth)
            _forget_proxies(cached[1], cloud.proxies)
        cached = per_loop[slot] = (key, AsyncTransport(cloud.transport_settings(), read_grid=WAKE_GRID_SECONDS), cloud)
    by_header = catalog.spec(service).project_by_header
    if by_header is not None:
        require_signed_project(cached[2], by_header)
    return cached[1], cached[2].project_id


async def cloud_transport(
    conn_id: str, *, service: str, region: str | None = None, project_id: str | None = None
) -> tuple[AsyncTransport, str | None]:
    """The shared transport of a ``huaweicloud`` connection, its connection fetched without blocking
    (``fetch_connection``): a long-lived caller that asks again sees an edited connection."""
    conn = await fetch_connection(conn_id)
    return await shared_cloud_transport(
        conn_id, conn, asyncio.get_running_loop(), service=service, region=region, project_id=project_id
    )


#: How long a stopped edge wait tries to release its MEF Center: below the 30 s Airflow gives on_kill
#: (``[triggerer] on_kill_timeout``), so that a failure is logged as ours. The triggerer's first
#: Variable call builds its in-process Execution API, which took about 10 s on a busy 2-core machine.
RELEASE_TIMEOUT_SECONDS = 25.0


def _nothing() -> None:
    return None


class HuaweiCloudTaskTrigger(BaseTrigger):
    """Poll one remote task in the triggerer until it ends, the deadline passes or a check fails
    for good; one event, with the final ``TaskStatus``.

    :param service: the service's name (``core.catalog``).
    :param conn_id: the ``huaweicloud`` or ``huawei_edge_manager`` connection.
    :param ids: the remote task's ids.
    :param deadline: give up at this epoch second (absolute: a triggerer restart does not extend it).
    :param poll_policy: the ``PollPolicy`` as a dict (adaptive by default).
    :param options: service-specific options of the status check.
    :param accept_partial_failure: a partially failed task ends the wait well.
    :param waiting_since: when the wait began (epoch seconds), for the adaptive policy and messages.
    :param owned: an operator started the task (a sensor only watches it): what ``on_kill`` says.
    :param region: the task's region override of the connection's.
    :param project_id: the task's project override of the connection's.
    """

    def __init__(
        self,
        *,
        service: str,
        conn_id: str,
        ids: dict[str, str],
        deadline: float,
        poll_policy: dict[str, Any] | None = None,
        options: dict[str, Any] | None = None,
        accept_partial_failure: bool = False,
        waiting_since: float | None = None,
        owned: bool = False,
        region: str | None = None,
        project_id: str | None = None,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.service = service
        self.conn_id = conn_id
        self.ids = dict(ids)
        self.deadline = float(deadline)
        self.poll_policy = dict(poll_policy or {})
        self.options = dict(options or {})
        self.accept_partial_failure = accept_partial_failure
        self.waiting_since = waiting_since if waiting_since is not None else time.time()
        self.owned = owned
        self.region = region
        self.project_id = project_id

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """The classpath and the constructor's arguments: ids, options, policy and the absolute
        deadline; no secret (the connection is fetched again by id)."""
        return (
            f"{self.__class__.__module__}.{self.__class__.__qualname__}",
            {
                "service": self.service,
                "conn_id": self.conn_id,
                "ids": self.ids,
                "deadline": self.deadline,
                "poll_policy": self.poll_policy,
                "options": self.options,
                "accept_partial_failure": self.accept_partial_failure,
                "waiting_since": self.waiting_since,
                "owned": self.owned,
                "region": self.region,
                "project_id": self.project_id,
            },
        )

    async def on_kill(self) -> None:
        """A user marked the deferred task failed or succeeded, or cleared it; polling has stopped.

        The remote task is not cancelled (no service here offers a cancel call for it): one line says
        it keeps running, with its id.
        """
        why = catalog.spec(self.service).no_cancel if self.owned else catalog.NOT_OWNED
        self.log.warning(
            "Stopped waiting for %s %s: %s, so it keeps running",
            catalog.label(self.service),
            self.remote_id,
            why,
        )
        if self.service == "edge" and self.owned and self.ids.get("dump_task_id"):
            await self._release_mef_hold(self.ids["dump_task_id"])

    async def _release_mef_hold(self, dump_task_id: str) -> None:
        """The run will not download this dump's archive now: let other runs' dumps use the MEF Center
        (``hooks.edge_archive``), within ``RELEASE_TIMEOUT_SECONDS``.

        Airflow 3.3's triggerer cancels a trigger the user stopped again on each pass of its loop
        (about every second) until the trigger is done, and each cancel reaches on_kill too; the
        release, a few quick calls, runs as a task of its own and is waited for through those.
        """
        work = asyncio.ensure_future(self._release_off_loop(dump_task_id))
        deadline = time.monotonic() + RELEASE_TIMEOUT_SECONDS
        while not work.done() and (left := deadline - time.monotonic()) > 0:
            try:
                await asyncio.wait([work], timeout=left)
            except asyncio.CancelledError:
                continue  # bounded by the deadline; the release must not be cut short
        if not work.done():
            work.cancel()
            self.log.warning(
                "Could not release MEF Center from Edge log dump %s within %.0f s; the hold ends by itself",
                dump_task_id,
                RELEASE_TIMEOUT_SECONDS,
            )
            return
        error = work.exception()
        if error is not None:  # the hold then ends by itself (archive_hold)
            self.log.warning("Could not release MEF Center from Edge log dump %s: %r", dump_task_id, error)
            return
        center, released = work.result()
        if released:
            self.log.info(
                "Released MEF Center %s from Edge log dump %s: the task was stopped, so its run will not "
                "download the archive",
                center,
                dump_task_id,
            )

    async def _release_off_loop(self, dump_task_id: str) -> tuple[str, bool]:
        """Release the hold; Airflow Variables are reached through the triggerer's supervisor
        synchronously, so in a thread, off the event loop."""
        from airflow_provider.hooks import edge_archive
        from airflow_provider.hooks.connection_config import edge_config

        center = edge_archive.center_of(edge_config(await fetch_connection(self.conn_id)).base_url)
        released = await asyncio.to_thread(edge_archive.release, edge_archive.LATEST_DUMPS, center, dump_task_id)
        return center, released

    @property
    def remote_id(self) -> str:
        """The id that names the remote task in events and messages (``core.catalog``)."""
        return catalog.spec(self.service).primary_id(self.ids)

    def _event(self, status: str, message: str, task_status: TaskStatus | None = None) -> TriggerEvent:
        return TriggerEvent(
            {
                "status": status,
                "service": self.service,
                "task_id": self.remote_id,
                "ids": self.ids,
                "message": message,
                "task_status": task_status.to_json() if task_status is not None else None,
            }
        )

    async def _transport(self) -> tuple[AsyncTransport, str | None, Callable[[], None]]:
        """Build the transport from the connection, fetched without blocking the loop.

        Edge waits with the same certificates share their files and connection pool
        (``hooks.pem_files``); the cleanup returned lets go of them, and the last wait to let go
        closes the pool.
        """
        from airflow_provider.core.async_transport import AsyncTransport
        from airflow_provider.hooks.connection_config import edge_config

        conn = await fetch_connection(self.conn_id)
        loop = asyncio.get_running_loop()
        if self.service == "edge":
            from airflow_provider.core.async_transport import discard_shared
            from airflow_provider.hooks.pem_files import PemFiles

            edge = edge_config(conn)
            pem = PemFiles(edge)
            tls = await asyncio.to_thread(pem.tls_settings)

            def release() -> None:
                if pem.close():  # the last wait of these certificates
                    discard_shared(tls)

            return AsyncTransport(edge.transport_settings(tls), read_grid=WAKE_GRID_SECONDS), None, release
        transport, project_id = await shared_cloud_transport(
            self.conn_id, conn, loop, service=self.service, region=self.region, project_id=self.project_id
        )
        return transport, project_id, _nothing

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Check the status on the poll policy's schedule until it is terminal, the deadline passes or
        a check fails for good.

        Yields one event: ``{"status", "service", "task_id", "ids", "message", "task_status"}``, with
        ``status`` one of ``success``, ``failed``, ``timeout`` or ``error`` and ``task_status`` the
        last ``TaskStatus`` as JSON (None when never checked).
        """
        from airflow_provider.core.exchange import drive_async
        from airflow_provider.core.wait_guard import WaitGuard, labelled
        from airflow_provider.services.registry import status_exchange

        label = f"{catalog.label(self.service)} {self.remote_id}"
        policy = PollPolicy.from_dict(self.poll_policy) if self.poll_policy else PollPolicy()
        waiting_since = datetime.fromtimestamp(self.waiting_since, tz=timezone.utc)
        try:
            transport, project_id, cleanup = await self._transport()
        except (HuaweiCloudError, AirflowNotFoundException) as exc:
            yield self._event("error", f"cannot use connection {self.conn_id!r}: {exc}")
            return
        # One logger for the class rather than one per instance (Airflow's default): the triggerer
        # routes lines to each task's log by context variables, not by logger object, and a
        # triggerer holding thousands of waits then keeps three fewer objects per wait alive.
        log = self.logger()
        until = datetime.fromtimestamp(self.deadline, tz=timezone.utc).isoformat(timespec="seconds")
        progress = ProgressLog(
            log, opening=f"Waiting for {label} in the triggerer until {until} (deadline)", name=label
        )
        guard = WaitGuard(label, log)
        last: TaskStatus | None = None
        polls = 0
        try:
            await sleep_on_grid(0.0)  # the first check joins the grid too
            while True:
                polls += 1
                try:
                    status = await drive_async(
                        status_exchange(self.service, project_id, self.ids, **self.options), transport
                    )
                except HuaweiCloudError as exc:
                    progress.open()
                    error = guard.failed(exc, seen=last is not None)
                    if error is not None:
                        yield self._event("error", labelled(label, str(error)), last)
                        return
                else:
                    guard.succeeded(status)
                    progress.observe(status)
                    last = status
                    if status.state.is_terminal:
                        ok = status.state is TaskState.SUCCEEDED or (
                            status.state is TaskState.PARTIALLY_FAILED and self.accept_partial_failure
                        )
                        yield self._event("success" if ok else "failed", status.message or status.state.value, status)
                        return
                left = self.deadline - time.time()
                if left <= 0:
                    waited = time.time() - self.waiting_since
                    state = last.state.value if last is not None else "unchecked"
                    yield self._event("timeout", f"still {state} after waiting {waited:.0f} s (deadline reached)", last)
                    return
                interval = policy.next_interval(last, poll_count=polls, waiting_since=waiting_since)
                await (sleep_on_grid(interval) if interval < left else asyncio.sleep(left))
        finally:
            cleanup()
