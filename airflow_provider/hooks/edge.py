"""The ``huawei_edge_manager`` connection: MEF Center over mutual TLS, serial and spaced calls."""

from __future__ import annotations

import logging
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from airflow.sdk.log import mask_secret

from airflow_provider.core.exchange import drive_sync
from airflow_provider.core.secrets import add_secret_sink
from airflow_provider.core.transport import SyncTransport
from airflow_provider.hooks.connection_config import EdgeConfig, edge_config
from airflow_provider.hooks.pem_files import PemFiles
from airflow_provider.hooks.task_hook import TaskHook
from airflow_provider.hooks.xcom import allow_in_xcom
from airflow_provider.services import edge

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    from airflow_provider.core.download import Downloaded
    from airflow_provider.core.exchange import Exchange
    from airflow_provider.services.edge import EdgeDumpTask

T = TypeVar("T")
log = logging.getLogger(__name__)
DOWNLOAD_FILE_NAME = "edgeNodes.tar.gz"

add_secret_sink(mask_secret)


class EdgeManagerHook(TaskHook):
    """Talks to the MEF Center edge manager's log dump API.

    MEF serves one call at a time and 10 requests/s per client, so every call of the process
    to the same host goes through one throttle (serialized, spaced, 429 retried with backoff).
    Inline client certificates are written to private temp files and removed by ``close()``.

    :param edge_manager_conn_id: the ``huawei_edge_manager`` connection.
    """

    conn_name_attr = "edge_manager_conn_id"
    default_conn_name = "edge_manager_default"
    conn_type = "huawei_edge_manager"
    hook_name = "Huawei MEF Edge Manager"

    def __init__(self, edge_manager_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.edge_manager_conn_id = edge_manager_conn_id
        self._pem: PemFiles | None = None

    @cached_property
    def config(self) -> EdgeConfig:
        """The connection's settings: MEF Center address, client certificate and key, trust."""
        return edge_config(self.get_connection(self.edge_manager_conn_id), mask=mask_secret)

    @cached_property
    def transport(self) -> SyncTransport:
        """The hook's mutual-TLS session, opened on first use (writing inline PEMs to temp files)
        and released by ``close()``."""
        self._pem = PemFiles(self.config)
        return SyncTransport(self.config.transport_settings(self._pem.tls_settings()))

    def run(self, exchange: Exchange[T]) -> T:
        """Drive one sans-IO exchange (see ``core.exchange``) through this hook's session.

        :param exchange: the exchange, from ``airflow_provider.services.edge``.
        """
        return drive_sync(exchange, self.transport)

    def close(self) -> None:
        """Close the transport and remove the temp files of inline certificates; the hook can be
        used again after it."""
        if "transport" in self.__dict__:
            self.transport.close()
            del self.__dict__["transport"]
        if self._pem is not None:
            self._pem.close()
            self._pem = None

    def __enter__(self) -> EdgeManagerHook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def create_log_dump_task(self, node_ids: Iterable[int]) -> str:
        """Start collecting the logs of ``node_ids``; returns the task id (``dumpMultiNodesLog...``)."""
        return self.run(edge.create_dump_task(list(node_ids)))

    def get_log_dump_task(self, dump_task_id: str) -> EdgeDumpTask:
        """The state of one log dump task (``GET /edgemanager/v1/logmgmt/dump/task``): ``status``,
        ``progress``, ``reason`` and, once finished, ``data`` with the per-node results.

        :param dump_task_id: the task id ``create_log_dump_task`` returned.
        """
        return self.run(edge.get_dump_task(dump_task_id))

    def download_log_dump(
        self, destination: str | Path, *, accept: Callable[[Mapping[str, str]], None] | None = None
    ) -> Path:
        """Download ``edgeNodes.tar.gz`` of the last finished task to ``destination`` (see ``fetch_log_dump``)."""
        return self.fetch_log_dump(destination, accept=accept).path

    def fetch_log_dump(
        self, destination: str | Path, *, accept: Callable[[Mapping[str, str]], None] | None = None
    ) -> Downloaded:
        """Download ``edgeNodes.tar.gz`` of the last finished task to ``destination`` (atomically),
        with its size and SHA-256 computed as it streams in.

        MEF keeps one archive, the latest finished dump's: ``accept`` sees the response headers
        before the body is read and may refuse it by raising (``EdgeLogDumpOperator`` checks there
        that the archive is its own dump's). MEF serves one download connection for at most 2 h
        (hiascend mefapiref_0040): a dropped transfer asks for the rest where the server allows it.
        """
        target = Path(destination)
        if target.is_dir():
            target = target / DOWNLOAD_FILE_NAME
        got = self.transport.fetch(edge.download_request(), target, accept=accept)
        log.info("Downloaded edge node logs to %s (%d bytes, sha256 %s)", got.path, got.size, got.sha256)
        return got

    def test_connection(self) -> tuple[bool, str]:
        """Query a syntactically valid, unknown task once (no retries): MEF has no cheap read call, and
        its "not found" error proves the whole path. The message says how MEF was reached."""
        from airflow_provider.core.errors import EdgeManagerError, HuaweiCloudError
        from airflow_provider.hooks.connection_test import channel, failure, once

        target = f"connection {self.edge_manager_conn_id!r}"
        try:
            config = self.config
            target = f"MEF Center at {config.base_url}"
            with PemFiles(config) as pem:
                tls = pem.tls_settings()
                transport = SyncTransport(once(config.transport_settings(tls)))
                try:
                    drive_sync(edge.get_dump_task("dumpMultiNodesLog.connectiontest"), transport)
                except EdgeManagerError as exc:
                    answer = f"MEF answered the test query with {exc.error_code} (unknown task), as expected"
                else:
                    answer = "MEF answered the test query"
                finally:
                    transport.close()
        except HuaweiCloudError as exc:
            return False, failure(target, exc)
        trusted = "extra.ca_cert" if config.ca_cert else "extra.verify"
        return True, f"Connected to {config.base_url} {channel(config.base_url, tls, trusted)}; {answer}"

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """The connection form: login and password hidden (MEF authenticates the client certificate),
        host relabelled as the MEF Center address."""
        from airflow_provider.get_provider_info import EDGE_UI_FIELD_BEHAVIOUR

        return EDGE_UI_FIELD_BEHAVIOUR


allow_in_xcom(edge.EdgeDumpTask, edge.EdgeDumpResult)
