"""The emulator's OBS: a real S3-compatible server, where emulated CSS backups and DIS dumps land.

OBS speaks the S3 API, so the emulator does not imitate it: ``--obs`` starts moto's S3 server in
server mode on loopback (the ``emulator`` extra installs it), and ``--obs-url`` points at another
S3-compatible server instead. The emulated services write the objects a finished CSS backup or
DIS dump period produces (``services/css.py``, ``services/dis.py``); the connections the emulator
prints carry the server as ``extra.endpoints.obs``.
"""

from __future__ import annotations

import contextlib
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider.emulator.config import Identities

#: The bucket the archival example writes to; created with the server for convenience.
ARCHIVE_BUCKET = "huaweicloud-log-archive"


class ObsStore:
    """Buckets and objects of an S3-compatible server, written by the emulated services.

    :param identities: the AK/SK the emulator accepts (moto takes any; another server may not).
    :param url: an S3-compatible server to use; None starts moto's on ``host``.
    :param host: where to start moto's server.
    """

    def __init__(self, identities: Identities, url: str | None = None, host: str = "127.0.0.1") -> None:
        self.identities = identities
        self._url = url
        self.host = host
        self._server: Any = None
        self._client: Any = None
        self._buckets: set[str] = set()
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        """The S3 endpoint; ``RuntimeError`` before ``start`` when moto's server is to be started."""
        if self._url is None:
            raise RuntimeError("the emulator's OBS is not started")
        return self._url

    def start(self) -> ObsStore:
        """Start moto's S3 server unless a URL was given, and create the archive bucket.

        :return: this store.
        :raises RuntimeError: moto is not installed (the ``emulator`` extra).
        """
        if self._url is None:
            try:
                from moto.server import ThreadedMotoServer
            except ImportError as exc:
                raise RuntimeError(
                    "--obs needs moto's S3 server: pip install 'airflow-provider-huaweicloud-logs[emulator]'"
                ) from exc
            import logging

            logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
            self._server = ThreadedMotoServer(ip_address=self.host, port=0, verbose=False)
            self._server.start()
            host, port = self._server.get_host_and_port()
            self._url = f"http://{host}:{port}"
        self.ensure_bucket(ARCHIVE_BUCKET)
        return self

    def stop(self) -> None:
        """Stop moto's server if this store started one."""
        if self._server is not None:
            self._server.stop()
            self._server = None

    @property
    def client(self) -> Any:
        """A boto3 S3 client for the server (made on first use)."""
        if self._client is None:
            import boto3

            self._client = boto3.client(
                "s3",
                endpoint_url=self.url,
                aws_access_key_id=self.identities.access_key,
                aws_secret_access_key=self.identities.secret_key,
                region_name=self.identities.region,
            )
        return self._client

    def ensure_bucket(self, bucket: str) -> None:
        """Create ``bucket`` in the identities' region unless it exists."""
        with self._lock:
            if bucket in self._buckets:
                return
            with contextlib.suppress(self.client.exceptions.BucketAlreadyOwnedByYou):
                self.client.create_bucket(
                    Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": self.identities.region}
                )
            self._buckets.add(bucket)

    def put(self, bucket: str, key: str, body: bytes) -> None:
        """Write an object, creating its bucket first if needed."""
        self.ensure_bucket(bucket)
        self.client.put_object(Bucket=bucket, Key=key, Body=body)
