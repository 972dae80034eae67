"""Client certificates of an edge connection, checked once and shared by every wait that uses them.

TLS libraries read certificates and keys from files. An inline PEM is written to a private
folder (mode 0700) as a file with mode 0600. Waits whose certificates are the same (same text,
or the same paths) share one entry of the process-wide ``PEM_STORE``: one folder, and one
``TlsSettings``, by which the async transport keys its connection pools, so they also share one
pool (one SSL context with the key loaded). The last wait to end removes the folder, and its
caller closes the pool (``PemFiles.close`` says when). A triggerer holding 1,000 edge waits of one
connection keeps one folder and one pool, not 1,000 (``benchmarks/bench_edge_pools.py``).

An inline PEM pasted into the single-line connection form loses its line breaks; its structure is
restored here (the base64 body re-wrapped between its BEGIN and END lines). What is still not a
usable certificate or key is refused with the field's name before any connection is made, the
same way on the connection Test and in a deferred wait.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import shutil
import ssl
import tempfile
import threading
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING

from airflow_provider.core.errors import ConfigurationError
from airflow_provider.core.secrets import fingerprint
from airflow_provider.core.transport import TlsSettings
from airflow_provider.hooks.connection_config import CLIENT_PRIVATE_KEY

if TYPE_CHECKING:
    from airflow_provider.hooks.connection_config import EdgeConfig

_PEM_MARK = "-----BEGIN "
#: One PEM block; the body may have lost its line breaks or have them turned into spaces.
_PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", re.DOTALL)
_LINE = 64  # base64 characters per PEM line (RFC 7468)


def is_inline_pem(value: str) -> bool:
    """Whether a certificate extra holds PEM text (it contains ``-----BEGIN``) rather than a path."""
    return _PEM_MARK in value


def restore_pem(conn_id: str, field: str, text: str) -> str:
    """``text`` as well-formed PEM: every block's base64 body re-wrapped at 64 characters.

    :raises ConfigurationError: no complete block, a body that is not base64, or an encrypted key
        (the connection has no passphrase, and OpenSSL would prompt for one on the terminal).
    """
    where = f"connection {conn_id!r}: extra.{field}"
    blocks = list(_PEM_BLOCK.finditer(text))
    if not blocks:
        raise ConfigurationError(
            f"{where} has '-----BEGIN' but no complete PEM block ('-----BEGIN <LABEL>-----' ... "
            "'-----END <LABEL>-----' with the same label)"
        )
    restored = []
    for block in blocks:
        label, body = block.group(1).strip(), block.group(2)
        if label == "ENCRYPTED PRIVATE KEY" or "Proc-Type:" in body:
            raise ConfigurationError(
                f"{where} is an encrypted private key; the connection has no passphrase: give the key unencrypted"
            )
        compact = "".join(body.split())
        try:
            if not base64.b64decode(compact, validate=True):
                raise binascii.Error
        except binascii.Error:
            raise ConfigurationError(
                f"{where}: the {label} block is not valid base64 (characters lost or added when it was pasted?)"
            ) from None
        lines = "\n".join(compact[start : start + _LINE] for start in range(0, len(compact), _LINE))
        restored.append(f"-----BEGIN {label}-----\n{lines}\n-----END {label}-----\n")
    return "".join(restored)


class _Encrypted(Exception):
    """Raised by the passphrase callback: OpenSSL asks for one only for an encrypted key."""


def _no_passphrase() -> str:
    raise _Encrypted


def check_loadable(conn_id: str, tls: TlsSettings, ca_given: bool) -> None:
    """Load the files as TLS will, so that a bad one is named now rather than as a failed handshake."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if tls.client_cert is not None:
        try:
            context.load_cert_chain(tls.client_cert, tls.client_key, password=_no_passphrase)
        except _Encrypted:
            raise ConfigurationError(
                f"connection {conn_id!r}: extra.{CLIENT_PRIVATE_KEY} is an encrypted private key; the connection "
                "has no passphrase: give the key unencrypted"
            ) from None
        except ssl.SSLError as exc:
            detail = "the key does not belong to the certificate" if exc.reason == "KEY_VALUES_MISMATCH" else exc
            raise ConfigurationError(
                f"connection {conn_id!r}: extra.client_cert and extra.{CLIENT_PRIVATE_KEY} are not a usable PEM "
                f"certificate and private key: {detail}"
            ) from None
    if ca_given and isinstance(tls.verify, str):
        try:
            context.load_verify_locations(cafile=tls.verify)
        except ssl.SSLError as exc:
            raise ConfigurationError(
                f"connection {conn_id!r}: extra.ca_cert is not a usable PEM certificate: {exc}"
            ) from None


@dataclass
class _Entry:
    tls: TlsSettings
    folder: str | None
    users: int = 1


class PemStore:
    """The certificate files of the process, one entry per distinct content, counted by users."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # the trigger resolves files in a worker thread, hooks in theirs
        self._entries: dict[str, _Entry] = {}

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def folders(self) -> list[str]:
        """The private temp folders of the inline files currently held."""
        with self._lock:
            return [entry.folder for entry in self._entries.values() if entry.folder is not None]

    def acquire(self, config: EdgeConfig) -> tuple[str, _Entry]:
        """The entry of ``config``'s certificates, and the key to release it with."""
        if (config.client_cert is None) != (config.client_key is None):
            raise ConfigurationError(
                f"connection {config.conn_id!r}: extra.client_cert and extra.{CLIENT_PRIVATE_KEY} must be given "
                "together"
            )
        key = fingerprint(config.client_cert, config.client_key, config.ca_cert, str(config.verify))
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                entry = self._entries[key] = _build(config)
            else:
                entry.users += 1
            return key, entry

    def release(self, key: str) -> TlsSettings | None:
        """One user fewer; when it was the last, remove its files and return its settings."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            entry.users -= 1
            if entry.users > 0:
                return None
            del self._entries[key]
        if entry.folder is not None:
            shutil.rmtree(entry.folder, ignore_errors=True)
        return entry.tls


def _build(config: EdgeConfig) -> _Entry:
    folder: list[str] = []  # created on the first inline value

    def path(name: str, value: str | None, file_name: str) -> str | None:
        if value is None:
            return None
        if is_inline_pem(value):
            text = restore_pem(config.conn_id, name, value)
            if not folder:
                folder.append(tempfile.mkdtemp(prefix="hwc-edge-tls-"))
                os.chmod(folder[0], 0o700)
            file = os.path.join(folder[0], file_name)
            fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(text)
            return file
        if not os.path.isfile(value):
            raise ConfigurationError(
                f"connection {config.conn_id!r}: extra.{name}={value!r} is neither a PEM text nor an existing file"
            )
        return value

    try:
        cert = path("client_cert", config.client_cert, "client_cert.pem")
        key = path(CLIENT_PRIVATE_KEY, config.client_key, "client_key.pem")
        ca = path("ca_cert", config.ca_cert, "ca_cert.pem")
        verify: bool | str = config.verify
        if ca is not None and config.verify is not False:
            verify = ca
        tls = TlsSettings(verify=verify, client_cert=cert, client_key=key, tls12_only=True)
        check_loadable(config.conn_id, tls, ca is not None)
    except BaseException:
        if folder:
            shutil.rmtree(folder[0], ignore_errors=True)
        raise
    return _Entry(tls=tls, folder=folder[0] if folder else None)


#: The process's certificate files (module-level: every hook and trigger of the process shares it).
PEM_STORE = PemStore()


class PemFiles:
    """One user's hold on the files of an edge connection's certificates (see ``PEM_STORE``).

    ``tls_settings()`` resolves ``client_cert``/``client_private_key``/``ca_cert`` to paths;
    ``close()`` lets go of them, and the files are removed when no other user holds them.

    :param config: the edge connection's settings.
    :param store: where the files are shared (the process-wide store by default).
    """

    def __init__(self, config: EdgeConfig, store: PemStore = PEM_STORE) -> None:
        self._config = config
        self._store = store
        self._entry: _Entry | None = None
        self._finalizer: weakref.finalize[..., PemFiles] | None = None

    def tls_settings(self) -> TlsSettings:
        """The TLS settings with the certificates as file paths (inline PEM written to a private temp
        folder on the first call); TLS 1.2 only.

        :raises ConfigurationError: a path that is no file, malformed or encrypted PEM, a certificate
            without its key (or the reverse), or a key that does not belong to the certificate.
        """
        if self._entry is None:
            key, self._entry = self._store.acquire(self._config)
            self._finalizer = weakref.finalize(self, self._store.release, key)
        return self._entry.tls

    @property
    def folder(self) -> str | None:
        """The private folder of the inline files held, if any."""
        return None if self._entry is None else self._entry.folder

    def close(self) -> bool:
        """Let go of the files; True when this was their last user (files removed: the caller may now
        close what it built on these settings, such as connection pools)."""
        finalizer, self._finalizer = self._finalizer, None
        self._entry = None
        if finalizer is None or not finalizer.alive:
            return False
        return finalizer() is not None

    def __enter__(self) -> PemFiles:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
