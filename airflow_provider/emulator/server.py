"""Run the emulator with uvicorn in a background thread, on pre-bound sockets.

Binding the sockets ourselves makes ``port=0`` report the real port before serving, and a
thread (not the main thread) keeps uvicorn from installing signal handlers, so the CLI and
test processes decide how to stop.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import uvicorn

from airflow_provider.emulator import tls as tls_module
from airflow_provider.emulator.app import create_app
from airflow_provider.emulator.config import EmulatorConfig
from airflow_provider.emulator.connections import edge_conn, huaweicloud_conn
from airflow_provider.emulator.obs import ObsStore
from airflow_provider.emulator.state import EmulatorState

if TYPE_CHECKING:
    import ssl
    from collections.abc import Callable
    from typing import Any

    from airflow_provider.emulator.tls import TlsFiles


@dataclass(frozen=True)
class Listener:
    """One listening socket of the emulator: scheme, host and port."""

    scheme: str
    host: str
    port: int

    @property
    def url(self) -> str:
        """``scheme://host:port``."""
        return f"{self.scheme}://{self.host}:{self.port}"


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


class EmulatorServer:
    """The emulator served by uvicorn in a background thread, on sockets bound before it starts.

    With ``tls``, a second listener serves https with generated certificates and requires a client certificate: the edge
    manager's endpoint (``edge_listener``).

    :param config: identities, durations, quirks, speed and seed; the defaults if None.
    :param host: the address to listen on.
    :param port: the http port; 0 picks a free one.
    :param tls: also serve https with a generated CA, server and client certificate (``tls_files``).
    :param tls_port: the https port; 0 picks a free one.
    :param obs: start an S3-compatible server (moto) as OBS, where CSS and DIS write.
    :param obs_url: use this S3-compatible server as OBS instead.
    """

    def __init__(
        self,
        config: EmulatorConfig | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: bool = False,
        tls_port: int = 0,
        obs: bool = False,
        obs_url: str | None = None,
    ) -> None:
        self.config = config or EmulatorConfig()
        self.host = host
        # ``obs``: start an S3-compatible server for OBS; ``obs_url``: use that one instead.
        self.obs = ObsStore(self.config.identities, obs_url, host) if obs or obs_url else None
        self.app, self.state = create_app(EmulatorState(self.config, self.obs))
        self.tls_files: TlsFiles | None = tls_module.generate() if tls else None
        self._ports = (port, tls_port)
        self._servers: list[uvicorn.Server] = []
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self.listeners: list[Listener] = []

    def _uvicorn(self, ssl_factory: Callable[..., ssl.SSLContext] | None) -> uvicorn.Server:
        config = uvicorn.Config(
            self.app,
            loop="auto",
            http="auto",
            lifespan="off",
            access_log=False,
            log_config=None,
            log_level="warning",
            ssl_context_factory=ssl_factory,
            timeout_keep_alive=30,
            proxy_headers=False,
            server_header=False,
        )
        return uvicorn.Server(config)

    def start(self, timeout: float = 15.0) -> EmulatorServer:
        """Start serving and wait until every listener accepts connections.

        :param timeout: seconds to wait for the start.
        :return: this server.
        :raises RuntimeError: the server did not start in time, or failed to.
        """
        if self.obs is not None:
            self.obs.start()
        plain_port, tls_port = self._ports
        sockets = [_bind(self.host, plain_port)]
        self.listeners = [Listener("http", self.host, sockets[0].getsockname()[1])]
        self._servers = [self._uvicorn(None)]
        if self.tls_files is not None:
            files = self.tls_files

            def factory(_config: Any, _default: Any) -> ssl.SSLContext:
                return tls_module.server_context(files)

            sockets.append(_bind(self.host, tls_port))
            self.listeners.append(Listener("https", self.host, sockets[1].getsockname()[1]))
            self._servers.append(self._uvicorn(factory))
        loop_factory = self._servers[0].config.get_loop_factory()

        async def serve_all() -> None:
            await asyncio.gather(
                *(srv.serve(sockets=[sock]) for srv, sock in zip(self._servers, sockets, strict=False))
            )

        def run() -> None:
            try:
                with asyncio.Runner(loop_factory=loop_factory) as runner:
                    runner.run(serve_all())
            except BaseException as exc:  # surfaced by start()/stop()
                self._error = exc
            finally:
                for sock in sockets:
                    sock.close()

        self._thread = threading.Thread(target=run, name="huaweicloud-emulator", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not all(s.started for s in self._servers):
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"emulator did not start: {self._error!r}")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving (forcing the exit after ``timeout`` seconds) and stop the OBS server if one was started."""
        for srv in self._servers:
            srv.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                for srv in self._servers:
                    srv.force_exit = True
                self._thread.join(timeout)
            self._thread = None
        if self.obs is not None:
            self.obs.stop()

    @property
    def running(self) -> bool:
        """True while the serving thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def url(self) -> str:
        """The http listener's URL: the cloud services' endpoint."""
        return self.listeners[0].url

    @property
    def edge_listener(self) -> Listener:
        """The edge manager's listener: the https one with ``tls``, else the http one."""
        return self.listeners[-1]

    @property
    def obs_url(self) -> str | None:
        """The OBS server's URL, or None without OBS."""
        return None if self.obs is None else self.obs.url

    def huaweicloud_conn(self) -> dict[str, Any]:
        """The ``huaweicloud`` connection (AK/SK) to this server, as a dict."""
        return huaweicloud_conn(self.config.identities, self.url, self.obs_url)

    def edge_conn(self) -> dict[str, Any]:
        """The ``huawei_edge_manager`` connection to this server's edge listener, as a dict."""
        edge = self.edge_listener
        return edge_conn(edge.host, edge.port, self.tls_files)
