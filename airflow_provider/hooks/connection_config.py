"""Turning an Airflow connection into client settings, shared by hooks (sync) and triggers (async).

Every problem is reported with the connection id and the field name; secret values are never
part of a message or a repr. Every secret read here is registered with Airflow's secret masker
(``core.secrets.register_secret``) whoever calls, a hook or the trigger in a triggerer.
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from airflow.exceptions import AirflowProviderDeprecationWarning

from airflow_provider.core.auth import AkSkAuth, Auth, IamTokenAuth, NoAuth, StaticTokenAuth
from airflow_provider.core.endpoints import EndpointResolver
from airflow_provider.core.errors import ConfigurationError
from airflow_provider.core.iam import PasswordTokenFetcher
from airflow_provider.core.retry import RetryPolicy
from airflow_provider.core.secrets import register_secret
from airflow_provider.core.throttle import EDGE_MANAGER_THROTTLE
from airflow_provider.core.transport import TlsSettings, TransportSettings

if TYPE_CHECKING:
    from collections.abc import Callable

log = logging.getLogger(__name__)

AuthType = Literal["aksk", "password", "token"]
AUTH_TYPES: tuple[AuthType, ...] = ("aksk", "password", "token")
DEFAULT_TIMEOUT = (10.0, 60.0)
EDGE_DEFAULT_PORT = 30035


def extras(conn: Any) -> dict[str, Any]:
    """The connection's extra as a dict; accepts both ``field`` and ``extra__<type>__field`` keys."""
    text = getattr(conn, "extra", None)
    if isinstance(text, str) and text.strip():
        try:
            raw = json.loads(text)
        except ValueError:  # Airflow's extra_dejson would log this and return {}
            raise ConfigurationError(f"connection {conn.conn_id!r}: extra is not valid JSON") from None
    else:
        raw = getattr(conn, "extra_dejson", None) or {}
    if not isinstance(raw, Mapping):
        raise ConfigurationError(f"connection {conn.conn_id!r}: extra must be a JSON object")
    result: dict[str, Any] = {}
    for key, value in raw.items():
        name = key.split("__", 2)[2] if key.startswith("extra__") and key.count("__") >= 2 else key
        if value not in (None, ""):
            result[name] = value
    return result


def _bool(conn_id: str, name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "1", "yes", "on", "false", "0", "no", "off"):
        return value.strip().lower() in ("true", "1", "yes", "on")
    raise ConfigurationError(f"connection {conn_id!r}: extra.{name}={value!r} is not a boolean")


def parse_verify(conn_id: str, value: Any) -> bool | str:
    """``verify``: a boolean, or a CA bundle path (which must exist)."""
    if value is None:
        return True
    if isinstance(value, str) and value.strip().lower() not in ("true", "false", "1", "0", "yes", "no", "on", "off"):
        if not os.path.exists(value):
            raise ConfigurationError(f"connection {conn_id!r}: extra.verify={value!r}: CA bundle file not found")
        return value
    verify = _bool(conn_id, "verify", value)
    if not verify:
        log.warning("Connection %r: TLS certificate verification is DISABLED (extra.verify=false)", conn_id)
    return verify


def parse_timeout(conn_id: str, value: Any) -> tuple[float, float]:
    """``timeout``: seconds, ``[connect, read]`` or ``{"connect": .., "read": ..}``."""
    if value is None:
        return DEFAULT_TIMEOUT
    try:
        if isinstance(value, Mapping):
            pair = (float(value.get("connect", DEFAULT_TIMEOUT[0])), float(value.get("read", DEFAULT_TIMEOUT[1])))
        elif isinstance(value, (list, tuple)) and len(value) == 2:
            pair = (float(value[0]), float(value[1]))
        elif isinstance(value, bool):
            raise TypeError
        else:
            pair = (float(value), float(value))
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(
            f"connection {conn_id!r}: extra.timeout={value!r} must be seconds, [connect, read] or "
            '{"connect": s, "read": s}'
        ) from exc
    if min(pair) <= 0:
        raise ConfigurationError(f"connection {conn_id!r}: extra.timeout={value!r} must be positive")
    return pair


def parse_proxies(conn_id: str, value: Any, mask: Callable[[str], None] | None = None) -> dict[str, str] | None:
    """Proxy URLs; a password inside one (``http://user:pw@proxy``) is registered as a secret (and
    given to ``mask`` too)."""
    if value is None:
        return None
    if isinstance(value, str):
        proxies = {"http": value, "https": value}
    elif isinstance(value, Mapping) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        proxies = dict(value)
    else:
        raise ConfigurationError(f"connection {conn_id!r}: extra.proxies must be a URL or a {{scheme: URL}} object")
    for url in proxies.values():
        register_secret(urlsplit(url).password, also=mask)
    return proxies


def parse_retry(conn_id: str, value: Any) -> RetryPolicy:
    """``extra.retry``: the retry policy, defaults when unset.

    :param conn_id: the connection, for the error message.
    :param value: an object with any of ``max_attempts``, ``max_elapsed``, ``base_delay``,
        ``max_delay`` and ``jitter``.
    :raises ConfigurationError: not an object, an unknown key, or a value that is not a number.
    """
    if value is None:
        return RetryPolicy()
    if not isinstance(value, Mapping):
        raise ConfigurationError(f"connection {conn_id!r}: extra.retry must be an object")
    allowed = {"max_attempts", "max_elapsed", "base_delay", "max_delay", "jitter"}
    unknown = set(value) - allowed
    if unknown:
        raise ConfigurationError(f"connection {conn_id!r}: extra.retry has unknown keys {sorted(unknown)}")
    try:
        return RetryPolicy(
            **{k: (int(v) if k == "max_attempts" else float(v)) for k, v in value.items()}  # type: ignore[arg-type]
        )
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"connection {conn_id!r}: extra.retry={value!r} is invalid") from exc


def _url(conn_id: str, name: str, value: Any) -> str:
    if not isinstance(value, str) or not value.startswith(("http://", "https://")):
        raise ConfigurationError(f"connection {conn_id!r}: extra.{name}={value!r} must be an http(s) URL")
    return value.rstrip("/")


@dataclass(frozen=True)
class CloudConfig:
    """Settings of one ``huaweicloud`` connection."""

    conn_id: str
    auth_type: AuthType
    region: str | None
    project_id: str | None
    resolver: EndpointResolver
    tls: TlsSettings
    timeout: tuple[float, float]
    proxies: dict[str, str] | None = field(repr=False)
    retry: RetryPolicy
    auth: Auth = field(repr=False)

    def transport_settings(self) -> TransportSettings:
        """What a transport needs: the endpoints, auth, TLS, timeouts, proxies and retry policy."""
        return TransportSettings(
            base_url_for=self.resolver,
            auth=self.auth,
            tls=self.tls,
            timeout=self.timeout,
            proxies=self.proxies,
            retry=self.retry,
        )

    def require_project_id(self) -> str:
        """``project_id``, or a ``ConfigurationError`` naming ``extra.project_id`` when unset."""
        if not self.project_id:
            raise ConfigurationError(f"connection {self.conn_id!r}: extra.project_id is required for this call")
        return self.project_id


#: Temporary AK/SK for obs:// paths of password/token connections (IAM allows 900-86400 s).
OBS_CREDENTIAL_SECONDS = 3600


def obs_credential_seconds(conn: Any) -> int:
    """``extra.obs_credential_seconds``: how long the temporary AK/SK for OBS last (default 3600)."""
    value = extras(conn).get("obs_credential_seconds", OBS_CREDENTIAL_SECONDS)
    if isinstance(value, bool) or not isinstance(value, int) or not 900 <= value <= 86400:
        raise ConfigurationError(
            f"connection {conn.conn_id!r}: extra.obs_credential_seconds={value!r} must be an integer within 900-86400"
        )
    return value


def _with_overrides(extra: Mapping[str, Any], region: str | None, project_id: str | None) -> dict[str, Any]:
    """The connection's extras with a task's region and project overrides applied."""
    merged = dict(extra)
    for name, value in (("region", region), ("project_id", project_id)):
        if value is None:
            continue
        if not isinstance(value, str) or not value.strip() or value != value.strip():
            raise ConfigurationError(f"{name}={value!r} must be a non-empty name without surrounding spaces")
        merged[name] = value
        if name == "region" and project_id is None:
            # The connection's project belongs to its own region: another region's is looked up.
            merged.pop("project_id", None)
    return merged


def cloud_config(
    conn: Any,
    mask: Callable[[str], None] | None = None,
    *,
    region: str | None = None,
    project_id: str | None = None,
) -> CloudConfig:
    """Build a ``CloudConfig`` from a ``huaweicloud`` connection.

    :param conn: the Airflow connection.
    :param mask: also given every secret (they go to Airflow's masker in any case).
    :param region: use this region instead of the connection's ``extra.region`` (one connection,
        several regions); the endpoints and the IAM token's scope follow it.
    :param project_id: use this project instead of the connection's ``extra.project_id``.
    """
    conn_id = conn.conn_id
    extra = _with_overrides(extras(conn), region, project_id)
    auth_type = str(extra.get("auth_type", "aksk")).lower()
    if auth_type not in AUTH_TYPES:
        raise ConfigurationError(
            f"connection {conn_id!r}: extra.auth_type={auth_type!r} must be one of {', '.join(AUTH_TYPES)}"
        )
    region = extra.get("region")
    project_id = extra.get("project_id")
    overrides = extra.get("endpoints") or {}
    if isinstance(overrides, str):
        try:
            overrides = json.loads(overrides)
        except ValueError:
            overrides = None
    if not isinstance(overrides, Mapping):
        raise ConfigurationError(f"connection {conn_id!r}: extra.endpoints must be a {{service: URL}} object")
    resolver = EndpointResolver(
        region=region,
        endpoint_url=_url(conn_id, "endpoint_url", extra["endpoint_url"]) if "endpoint_url" in extra else None,
        overrides={str(k): _url(conn_id, f"endpoints.{k}", v) for k, v in overrides.items()},
        iam_endpoint=_url(conn_id, "iam_endpoint", extra["iam_endpoint"]) if "iam_endpoint" in extra else None,
    )
    tls = TlsSettings(verify=parse_verify(conn_id, extra.get("verify")))
    timeout = parse_timeout(conn_id, extra.get("timeout"))
    proxies = parse_proxies(conn_id, extra.get("proxies"), mask)
    retry = parse_retry(conn_id, extra.get("retry"))
    login, password = conn.login or None, conn.password or None
    for secret in (password, extra.get("security_token")):
        register_secret(secret, also=mask)
    auth: Auth
    if auth_type == "aksk":
        if not login or not password:
            raise ConfigurationError(
                f"connection {conn_id!r}: auth_type 'aksk' needs the access key in login and the secret key in password"
            )
        # The SDK's BasicCredentials signs X-Project-Id into every request once the project is known:
        # paths without a project (DIS transfertasklog) are then read in the right one.
        auth = AkSkAuth(
            access_key=login,
            secret_key=password,
            security_token=extra.get("security_token"),
            project_id=str(project_id) if project_id else None,
        )
    elif auth_type == "token":
        if not password:
            raise ConfigurationError(f"connection {conn_id!r}: auth_type 'token' needs the token in password")
        auth = StaticTokenAuth(token=password)
    else:
        domain = extra.get("domain_name")
        if not login or not password or not domain:
            raise ConfigurationError(
                f"connection {conn_id!r}: auth_type 'password' needs login (IAM user name), password and "
                "extra.domain_name (account name)"
            )
        if not project_id and not region:
            raise ConfigurationError(
                f"connection {conn_id!r}: auth_type 'password' needs extra.project_id or extra.region "
                "to scope the token"
            )
        margin = extra.get("token_refresh_margin", 1800)
        try:
            margin_td = timedelta(seconds=float(margin))
        except (TypeError, ValueError) as exc:
            raise ConfigurationError(
                f"connection {conn_id!r}: extra.token_refresh_margin={margin!r} must be seconds"
            ) from exc
        fetcher = PasswordTokenFetcher(
            iam_endpoint=resolver("iam"),
            domain_name=str(domain),
            user_name=login,
            password=password,
            project_id=project_id,
            project_name=None if project_id else region,
            tls=tls,
            timeout=timeout,
            proxies=proxies,
            retry=retry,
        )
        auth = IamTokenAuth(fetcher=fetcher, refresh_margin=margin_td)
    return CloudConfig(
        conn_id=conn_id,
        auth_type=auth_type,
        region=region,
        project_id=project_id,
        resolver=resolver,
        tls=tls,
        timeout=timeout,
        proxies=proxies,
        retry=retry,
        auth=auth,
    )


@dataclass(frozen=True)
class EdgeConfig:
    """Settings of one ``huawei_edge_manager`` connection; PEM values may be paths or inline text."""

    conn_id: str
    base_url: str
    verify: bool | str
    client_cert: str | None = field(default=None, repr=False)
    client_key: str | None = field(default=None, repr=False)
    ca_cert: str | None = field(default=None, repr=False)
    timeout: tuple[float, float] = DEFAULT_TIMEOUT
    proxies: dict[str, str] | None = field(default=None, repr=False)
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    def transport_settings(self, tls: TlsSettings) -> TransportSettings:
        """What a transport needs: the MEF Center address, no request signing, the process-wide MEF
        throttle (``EDGE_MANAGER_THROTTLE``), timeouts, proxies and retry policy.

        :param tls: the TLS settings with the client certificate files (``PemFiles.tls_settings``).
        """
        return TransportSettings(
            base_url_for=lambda _service: self.base_url,
            auth=NoAuth(),
            tls=tls,
            timeout=self.timeout,
            proxies=self.proxies,
            retry=self.retry,
            throttle=EDGE_MANAGER_THROTTLE,
        )


#: The extra holding the client's private key. Airflow masks an extra in its UI and REST API only
#: when the key's name looks sensitive (``private_key`` is one of its names; ``client_key`` is not).
CLIENT_PRIVATE_KEY = "client_private_key"
DEPRECATED_CLIENT_KEY = "client_key"


def client_private_key(conn_id: str, extra: Mapping[str, Any]) -> str | None:
    """``extra.client_private_key``, or the deprecated ``extra.client_key`` with a warning."""
    value = extra.get(CLIENT_PRIVATE_KEY)
    old = extra.get(DEPRECATED_CLIENT_KEY)
    if old is None:
        return None if value is None else str(value)
    if value is not None and value != old:
        raise ConfigurationError(
            f"connection {conn_id!r}: extra.{CLIENT_PRIVATE_KEY} and the deprecated extra.{DEPRECATED_CLIENT_KEY} "
            f"are both set and differ; keep only extra.{CLIENT_PRIVATE_KEY}"
        )
    warnings.warn(
        f"connection {conn_id!r}: extra.{DEPRECATED_CLIENT_KEY} is deprecated, rename it to "
        f"extra.{CLIENT_PRIVATE_KEY}: Airflow shows extra.{DEPRECATED_CLIENT_KEY} in clear in the connection's "
        f"JSON view and REST API, and masks extra.{CLIENT_PRIVATE_KEY}",
        AirflowProviderDeprecationWarning,
        stacklevel=3,
    )
    return str(value if value is not None else old)


def url_host(host: str) -> str:
    """``host`` as a URL's authority needs it: an IPv6 address in brackets (``[fd00::10]``)."""
    host = host.strip()
    if ":" in host and not host.startswith("["):
        return f"[{host}]"
    return host


def edge_config(conn: Any, mask: Callable[[str], None] | None = None) -> EdgeConfig:
    """Build an ``EdgeConfig`` from a ``huawei_edge_manager`` connection.

    :param conn: the Airflow connection.
    :param mask: also given the inline private key (it goes to Airflow's masker in any case).
    """
    conn_id = conn.conn_id
    extra = extras(conn)
    host = conn.host
    if not host or not host.strip():
        raise ConfigurationError(f"connection {conn_id!r}: host (the MEF Center address) is required")
    scheme = (conn.schema or extra.get("scheme") or "https").lower()
    if scheme not in ("http", "https"):
        raise ConfigurationError(f"connection {conn_id!r}: schema={scheme!r} must be 'https' (or 'http')")
    port = conn.port or EDGE_DEFAULT_PORT
    client_key = client_private_key(conn_id, extra)
    if client_key and "PRIVATE KEY" in client_key:
        register_secret(client_key, also=mask)
    verify: bool | str = True
    if "verify" in extra:
        verify = parse_verify(conn_id, extra["verify"])
    if scheme == "http":
        log.warning("Connection %r: the edge manager is reached over plain HTTP (no TLS)", conn_id)
    return EdgeConfig(
        conn_id=conn_id,
        base_url=f"{scheme}://{url_host(host)}:{port}",
        verify=verify,
        client_cert=extra.get("client_cert"),
        client_key=client_key,
        ca_cert=extra.get("ca_cert"),
        timeout=parse_timeout(conn_id, extra.get("timeout")),
        proxies=parse_proxies(conn_id, extra.get("proxies"), mask),
        retry=parse_retry(conn_id, extra.get("retry")),
    )
