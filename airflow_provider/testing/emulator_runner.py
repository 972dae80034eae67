"""Run the emulator inside the current process for the duration of a ``with`` block."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from airflow_provider.emulator.server import EmulatorServer
from airflow_provider.testing.admin_client import AdminClient

if TYPE_CHECKING:
    from collections.abc import Iterator

    from airflow_provider.emulator.config import EmulatorConfig, Identities
    from airflow_provider.emulator.tls import TlsFiles


@dataclass
class EmulatorHandle:
    """What a test needs from a running emulator: URLs, identities, connections, control."""

    server: EmulatorServer
    admin: AdminClient = field(init=False)

    def __post_init__(self) -> None:
        self.admin = AdminClient(self.url)

    @property
    def url(self) -> str:
        """The cloud services' endpoint."""
        return self.server.url

    @property
    def edge_url(self) -> str:
        """The edge manager's endpoint (https with ``tls=True``)."""
        return self.server.edge_listener.url

    @property
    def identities(self) -> Identities:
        """The credentials the emulator accepts."""
        return self.server.config.identities

    @property
    def project_id(self) -> str:
        """The emulated project's id."""
        return self.identities.project_id

    @property
    def tls_files(self) -> TlsFiles | None:
        """The generated CA, server and client certificates and keys (``tls=True``), else None."""
        return self.server.tls_files

    @property
    def obs_url(self) -> str | None:
        """The S3-compatible server standing in for OBS (``obs=True``), else None."""
        return self.server.obs_url

    @property
    def huaweicloud_conn(self) -> dict[str, Any]:
        """The ``huaweicloud`` connection (AK/SK) to the emulator, as a dict."""
        return self.server.huaweicloud_conn()

    @property
    def huaweicloud_conn_json(self) -> str:
        """The ``huaweicloud`` connection as JSON, for ``AIRFLOW_CONN_HUAWEICLOUD_DEFAULT``."""
        from airflow_provider.emulator.connections import dumps

        return dumps(self.huaweicloud_conn)

    @property
    def huaweicloud_conn_uri(self) -> str:
        """The ``huaweicloud`` connection as a URI."""
        from airflow_provider.emulator.connections import huaweicloud_conn_uri

        return huaweicloud_conn_uri(self.identities, self.url)

    @property
    def huaweicloud_password_conn_json(self) -> str:
        """A ``huaweicloud`` connection with IAM password auth, as JSON."""
        from airflow_provider.emulator.connections import dumps, huaweicloud_password_conn

        return dumps(huaweicloud_password_conn(self.identities, self.url, self.obs_url))

    @property
    def edge_conn_json(self) -> str:
        """The ``huawei_edge_manager`` connection as JSON, for ``AIRFLOW_CONN_EDGE_MANAGER_DEFAULT``."""
        from airflow_provider.emulator.connections import dumps

        return dumps(self.server.edge_conn())

    def reset(self) -> None:
        """Rebuild the emulator's state (``AdminClient.reset``)."""
        self.admin.reset()

    def stop(self) -> None:
        """Close the admin client and stop the server."""
        self.admin.close()
        self.server.stop()


def start_emulator(
    *,
    speed: float = 1.0,
    seed: int = 0,
    tls: bool = False,
    host: str = "127.0.0.1",
    config: EmulatorConfig | None = None,
    obs: bool = False,
) -> EmulatorHandle:
    """Start on free ports in a background thread; the caller must ``stop()`` the handle."""
    from airflow_provider.emulator.config import EmulatorConfig
    from airflow_provider.emulator.server import EmulatorServer

    base = config or EmulatorConfig()
    server = EmulatorServer(replace(base, speed=speed, seed=seed), host=host, tls=tls, obs=obs).start()
    return EmulatorHandle(server)


@contextmanager
def run_emulator(
    *,
    speed: float = 1.0,
    seed: int = 0,
    tls: bool = False,
    host: str = "127.0.0.1",
    config: EmulatorConfig | None = None,
    obs: bool = False,
) -> Iterator[EmulatorHandle]:
    """Context manager: ``start_emulator`` with these arguments, stopped when the block ends."""
    handle = start_emulator(speed=speed, seed=seed, tls=tls, host=host, config=config, obs=obs)
    try:
        yield handle
    finally:
        handle.stop()
