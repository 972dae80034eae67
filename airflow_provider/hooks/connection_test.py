"""What a connection Test in the UI says: what was checked, or in one line why it failed.

A Test sends its request once. A poll retries connection errors with backoff (about 14 s with
the default policy before it gives up), which is right for a wait and wrong for a person who
clicked a button and waits for a spinner to stop.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from airflow_provider.core.auth import IamTokenAuth
from airflow_provider.core.errors import TransportError
from airflow_provider.core.iam import PasswordTokenFetcher
from airflow_provider.core.retry import NO_RETRY
from airflow_provider.core.transport import failure_reason

if TYPE_CHECKING:
    from airflow_provider.core.errors import HuaweiCloudError
    from airflow_provider.core.transport import TlsSettings, TransportSettings


def once(settings: TransportSettings) -> TransportSettings:
    """``settings`` without retries, the IAM token request of password auth included."""
    auth = settings.auth
    if isinstance(auth, IamTokenAuth) and isinstance(auth.fetcher, PasswordTokenFetcher):
        auth = replace(auth, fetcher=replace(auth.fetcher, retry=NO_RETRY))
    return replace(settings, retry=NO_RETRY, auth=auth)


def channel(base_url: str, tls: TlsSettings, trusted: str) -> str:
    """How the Test reached ``base_url``, as a phrase ("over TLS, ...").

    :param trusted: what ``tls.verify`` stands for when it is a path (e.g. ``extra.ca_cert``).
    """
    if urlsplit(base_url).scheme == "http":
        return "over plain HTTP (no TLS: nothing is encrypted and the server is not authenticated)"
    if tls.verify is False:
        server = "server certificate NOT verified (extra.verify=false)"
    elif isinstance(tls.verify, str):
        server = f"server certificate verified against {trusted}"
    else:
        server = "server certificate verified against the default CA store"
    client = "client certificate accepted" if tls.client_cert else "no client certificate"
    return f"over TLS ({server}; {client})"


def failure(target: str, exc: HuaweiCloudError) -> str:
    """One line saying what could not be done with ``target``, and why."""
    cause = exc.__cause__
    if isinstance(exc, TransportError) and cause is not None:
        reason = failure_reason(cause)
        if "TLS error" in str(exc):
            return f"TLS handshake with {target} failed: {reason}"
        if exc.reached_server:
            return f"{target} accepted the connection but did not answer: {reason}"
        return f"Cannot connect to {target}: {reason}"
    return " ".join(str(exc).split())
