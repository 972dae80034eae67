"""``ObsFileSystem``: s3fs under the ``obs`` protocol, configured from a ``huaweicloud`` connection."""

from __future__ import annotations

from typing import Any

from s3fs import S3FileSystem

from airflow_provider.fs.obs import DEFAULT_CONN_ID, connection_options

#: What, when given, means the caller configured the store itself.
_OWN_SETTINGS = ("key", "secret", "anon", "endpoint_url", "profile")


class ObsFileSystem(S3FileSystem):  # type: ignore[misc]
    """``obs://bucket/key`` through OBS's S3-compatible API.

    :param conn_id: the ``huaweicloud`` connection whose credentials and OBS endpoint are used
        (default ``huaweicloud_default``), unless the arguments configure the store themselves.
    """

    protocol = ("obs",)

    def __init__(self, *args: Any, conn_id: str | None = None, **kwargs: Any) -> None:
        if not any(name in kwargs for name in _OWN_SETTINGS):
            kwargs = {**connection_options(conn_id or DEFAULT_CONN_ID), **kwargs}
        super().__init__(*args, **kwargs)
