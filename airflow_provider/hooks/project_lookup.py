"""The project id of an AK/SK connection that names a region but no project, found as the SDK finds it.

The SDK's ``BasicCredentials.process_auth_params`` (huaweicloudsdkcore/auth/credentials.py) asks
IAM for ``GET /v3/projects?name=<region>`` (``KeystoneListProjects``) once per access key and
region, keeps the answer in a process-wide cache, and signs it as ``X-Project-Id`` from then on:
none found and more than one found are errors. This does the same through the connection's own
transport (its TLS, proxies and retries), sync in workers and async in the triggerer.

Without a region there is nothing to look up: an AK/SK connection without ``project_id`` then
cannot read the DIS transfer-task log, whose only project carrier is that signed header
(``require_signed_project``).
"""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import TYPE_CHECKING

from airflow_provider.core.auth import AkSkAuth
from airflow_provider.core.errors import ApiError, BadResponseError, ConfigurationError
from airflow_provider.core.exchange import drive_async, drive_sync
from airflow_provider.core.request import ApiRequest, query_pairs

if TYPE_CHECKING:
    from airflow_provider.core.exchange import Exchange
    from airflow_provider.hooks.connection_config import CloudConfig

PROJECTS_PATH = "/v3/projects"
#: (IAM endpoint, access key, region) -> project id, as the SDK keys its cache (access key + region).
_CACHE: dict[tuple[str, str, str], str] = {}
_LOCK = threading.Lock()


def needs_lookup(config: CloudConfig) -> bool:
    """AK/SK credentials, a region and no project id: the SDK's case for a lookup."""
    return isinstance(config.auth, AkSkAuth) and not config.project_id and bool(config.region)


def _key(config: CloudConfig) -> tuple[str, str, str]:
    assert isinstance(config.auth, AkSkAuth) and config.region
    return (config.resolver("iam"), config.auth.access_key, config.region)


def _cached(config: CloudConfig) -> str | None:
    with _LOCK:
        return _CACHE.get(_key(config))


def _remember(config: CloudConfig, project_id: str) -> str:
    with _LOCK:
        _CACHE[_key(config)] = project_id
    return project_id


def with_project(config: CloudConfig, project_id: str) -> CloudConfig:
    """The config with ``project_id`` in its paths and signed as ``X-Project-Id``."""
    auth = replace(config.auth, project_id=project_id) if isinstance(config.auth, AkSkAuth) else config.auth
    return replace(config, project_id=project_id, auth=auth)


def lookup_exchange(config: CloudConfig) -> Exchange[str]:
    """``GET /v3/projects?name=<region>``, then the one project's id (or a ConfigurationError)."""
    region = str(config.region)
    request = ApiRequest(service="iam", method="GET", path=PROJECTS_PATH, query=query_pairs(name=region))
    where = f"GET {PROJECTS_PATH}?name={region} on {config.resolver('iam')}"
    try:
        response = yield request
        body = response.json_object()
    except (ApiError, BadResponseError) as exc:
        if isinstance(exc, ApiError) and exc.status >= 500:
            raise  # an outage, not an answer: retried like any failed check
        raise ConfigurationError(
            f"connection {config.conn_id!r}: extra.project_id is not set and looking up the project of region "
            f"{region!r} failed ({where}): {exc}; set extra.project_id"
        ) from exc
    projects = body.get("projects")
    ids = (
        [str(p.get("id")) for p in projects if isinstance(p, dict) and p.get("id")]
        if isinstance(projects, list)
        else []
    )
    if len(ids) != 1:
        found = "no project" if not ids else f"{len(ids)} projects ({', '.join(ids)})"
        raise ConfigurationError(
            f"connection {config.conn_id!r}: extra.project_id is not set and IAM lists {found} named "
            f"{region!r} ({where}); set extra.project_id"
        )
    return ids[0]


def resolve_project(config: CloudConfig) -> CloudConfig:
    """``config`` with its project id, looked up once per access key and region (sync)."""
    if not needs_lookup(config):
        return config
    from airflow_provider.core.transport import SyncTransport

    cached = _cached(config)
    if cached is None:
        transport = SyncTransport(config.transport_settings())
        try:
            cached = _remember(config, drive_sync(lookup_exchange(config), transport))
        finally:
            transport.close()
    return with_project(config, cached)


async def aresolve_project(config: CloudConfig) -> CloudConfig:
    """``resolve_project`` without blocking the event loop (the triggerer)."""
    if not needs_lookup(config):
        return config
    from airflow_provider.core.async_transport import AsyncTransport

    cached = _cached(config)
    if cached is None:
        found = await drive_async(lookup_exchange(config), AsyncTransport(config.transport_settings()))
        cached = _remember(config, found)
    return with_project(config, cached)


def require_signed_project(config: CloudConfig, what: str) -> None:
    """Refuse an AK/SK call whose only project carrier is ``X-Project-Id`` when there is none to sign."""
    if isinstance(config.auth, AkSkAuth) and not config.project_id:
        raise ConfigurationError(
            f"connection {config.conn_id!r}: {what} names its project only by the signed X-Project-Id header, and "
            "this AK/SK connection has neither extra.project_id nor extra.region (to look the project up as the "
            "SDK does); set extra.project_id"
        )


def clear_cache() -> None:
    """Forget every looked-up project id (tests; a project recreated under the same name)."""
    with _LOCK:
        _CACHE.clear()
