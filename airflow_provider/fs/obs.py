"""``obs://bucket/key`` for ``ObjectStoragePath``: Huawei Cloud OBS through its S3-compatible API (s3fs).

Airflow loads this module from the provider info's ``filesystems`` list and calls ``get_fs`` with
the path's connection id (``obs://huaweicloud_default@bucket/key`` or
``ObjectStoragePath("obs://bucket/key", conn_id=...)``; without one, ``huaweicloud_default``).
The ``huaweicloud`` connection that signs the API calls also reaches OBS:

* ``auth_type`` ``aksk``: the same AK/SK, and ``security_token`` for temporary keys;
* ``password`` or ``token``: temporary AK/SK are obtained from IAM
  (``POST /v3.0/OS-CREDENTIAL/securitytokens``, method ``token``) with the connection's token,
  valid ``extra.obs_credential_seconds`` (default 3600, IAM allows 900-86400);
* the endpoint: ``extra.endpoints.obs``, else ``https://obs.{region}.myhuaweicloud.com``;
  ``extra.endpoint_url`` (the one override of the API endpoints) is not used: OBS is another server.

s3fs is an optional dependency: ``pip install 'airflow-provider-huaweicloud-logs[obs]'``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider.core.errors import ConfigurationError, HuaweiCloudError

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

    from airflow_provider.hooks.base import HuaweiCloudHook
    from airflow_provider.hooks.connection_config import CloudConfig

schemes = ["obs"]

DEFAULT_CONN_ID = "huaweicloud_default"
EXTRA = "obs"
SECURITY_TOKENS_PATH = "/v3.0/OS-CREDENTIAL/securitytokens"


def _s3fs() -> Any:
    try:
        import s3fs
    except ImportError as exc:
        raise ImportError(
            "obs:// paths need s3fs, which is not installed: pip install 'airflow-provider-huaweicloud-logs[obs]'"
        ) from exc
    return s3fs


def obs_endpoint(config: CloudConfig) -> str:
    """``extra.endpoints.obs``, else the region's ``https://obs.{region}.myhuaweicloud.com``."""
    override = config.resolver.overrides.get("obs")
    if override:
        return override
    if not config.region:
        raise ConfigurationError(
            f"connection {config.conn_id!r}: OBS needs extra.region (https://obs.{{region}}.myhuaweicloud.com) "
            "or extra.endpoints.obs"
        )
    return f"https://obs.{config.region}.myhuaweicloud.com"


def credentials(config: CloudConfig, hook: HuaweiCloudHook) -> dict[str, str | None]:
    """``key``, ``secret`` and ``token`` for s3fs: the connection's own AK/SK, or temporary ones."""
    from airflow_provider.core.auth import AkSkAuth

    auth = config.auth
    if isinstance(auth, AkSkAuth):
        return {"key": auth.access_key, "secret": auth.secret_key, "token": auth.security_token}
    return temporary_credentials(hook)


def temporary_credentials(hook: HuaweiCloudHook) -> dict[str, str | None]:
    """Temporary AK/SK from IAM, authenticated with the connection's (IAM) token.

    The body names no token id: IAM then uses the request's ``X-Auth-Token`` (the temporary
    AK/SK page's token method).
    """
    from airflow_provider.core.request import ApiRequest
    from airflow_provider.core.secrets import register_secret
    from airflow_provider.hooks.connection_config import obs_credential_seconds

    seconds = obs_credential_seconds(hook.get_connection(hook.huaweicloud_conn_id))
    body = {"auth": {"identity": {"methods": ["token"], "token": {"duration_seconds": seconds}}}}
    request = ApiRequest(
        service="iam", method="POST", path=SECURITY_TOKENS_PATH, body=body, idempotent=False, expected=(200, 201)
    )
    credential = hook.send(request).json_object().get("credential")
    if not isinstance(credential, dict) or not all(
        isinstance(credential.get(k), str) for k in ("access", "secret", "securitytoken")
    ):
        raise HuaweiCloudError("iam: the temporary AK/SK answer has no credential{access, secret, securitytoken}")
    for secret in (credential["secret"], credential["securitytoken"]):
        register_secret(secret)
    return {"key": credential["access"], "secret": credential["secret"], "token": credential["securitytoken"]}


def connection_options(conn_id: str | None) -> dict[str, Any]:
    """The ``S3FileSystem`` arguments for the OBS of the ``huaweicloud`` connection ``conn_id``."""
    from airflow.sdk.log import mask_secret

    from airflow_provider.hooks.base import HuaweiCloudHook
    from airflow_provider.hooks.connection_config import cloud_config

    hook = HuaweiCloudHook(huaweicloud_conn_id=conn_id or DEFAULT_CONN_ID)
    try:
        # The connection as it is: OBS needs no project, so no project lookup (hook.config's) is made.
        config = cloud_config(hook.get_connection(hook.huaweicloud_conn_id), mask=mask_secret)
        options: dict[str, Any] = {
            **credentials(config, hook),
            "endpoint_url": obs_endpoint(config),
            "client_kwargs": {"region_name": config.region or "us-east-1"},
            # Other writers (CSS backups, DIS dumps, other workers) add objects at any time: a
            # cached listing would miss them.
            "use_listings_cache": False,
            # botocore >= 1.36 adds CRC checksums (aws-chunked trailers) to every upload by default;
            # S3-compatible stores that do not implement them reject the request, so send them only
            # where an API requires one.
            "config_kwargs": {
                "request_checksum_calculation": "when_required",
                "response_checksum_validation": "when_required",
            },
        }
    finally:
        hook.close()
    if config.tls.verify is not True:
        options["client_kwargs"]["verify"] = config.tls.verify
    return options


def get_fs(conn_id: str | None, storage_options: dict[str, Any] | None = None) -> AbstractFileSystem:
    """The OBS filesystem of the ``huaweicloud`` connection ``conn_id`` (Airflow's filesystem hook).

    :param conn_id: the connection (default ``huaweicloud_default``).
    :param storage_options: passed on to ``s3fs.S3FileSystem`` (they override what the connection gives).
    """
    _s3fs()
    from airflow_provider.fs._obsfs import ObsFileSystem

    return ObsFileSystem(conn_id=conn_id or DEFAULT_CONN_ID, **(storage_options or {}))
