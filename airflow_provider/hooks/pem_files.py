"""Client certificates given inline in a connection, as files that exist only while needed.

TLS libraries read certificates and keys from files. An inline PEM is written to a private
folder (mode 0700) as a file with mode 0600, and both are removed when the hook or trigger is
done, so a private key never lingers on a shared worker's disk.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import weakref
from typing import TYPE_CHECKING

from airflow_provider.core.errors import ConfigurationError
from airflow_provider.core.transport import TlsSettings

if TYPE_CHECKING:
    from airflow_provider.hooks.connection_config import EdgeConfig

_PEM_MARK = "-----BEGIN "


def is_inline_pem(value: str) -> bool:
    return _PEM_MARK in value


class PemFiles:
    """Resolves ``client_cert``/``client_key``/``ca_cert`` to paths; ``close()`` removes what it wrote."""

    def __init__(self, config: EdgeConfig) -> None:
        self._config = config
        self._folder: str | None = None
        self._finalizer: weakref.finalize[..., PemFiles] | None = None

    def _path(self, name: str, value: str | None) -> str | None:
        if value is None:
            return None
        if is_inline_pem(value):
            if self._folder is None:
                self._folder = tempfile.mkdtemp(prefix="hwc-edge-tls-")
                os.chmod(self._folder, 0o700)
                self._finalizer = weakref.finalize(self, shutil.rmtree, self._folder, True)
            path = os.path.join(self._folder, f"{name}.pem")
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(value if value.endswith("\n") else value + "\n")
            return path
        if not os.path.isfile(value):
            raise ConfigurationError(
                f"connection {self._config.conn_id!r}: extra.{name}={value!r} "
                "is neither a PEM text nor an existing file"
            )
        return value

    def tls_settings(self) -> TlsSettings:
        config = self._config
        if (config.client_cert is None) != (config.client_key is None):
            raise ConfigurationError(
                f"connection {config.conn_id!r}: extra.client_cert and extra.client_key must be given together"
            )
        try:
            cert = self._path("client_cert", config.client_cert)
            key = self._path("client_key", config.client_key)
            ca = self._path("ca_cert", config.ca_cert)
        except BaseException:
            self.close()
            raise
        verify: bool | str = config.verify
        if ca is not None and config.verify is not False:
            verify = ca
        return TlsSettings(verify=verify, client_cert=cert, client_key=key, tls12_only=True)

    @property
    def folder(self) -> str | None:
        return self._folder

    def close(self) -> None:
        if self._finalizer is not None:
            self._finalizer()
            self._finalizer = None
        self._folder = None

    def __enter__(self) -> PemFiles:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
