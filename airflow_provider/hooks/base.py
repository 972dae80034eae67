"""The ``huaweicloud`` connection: credentials, endpoints and one pooled session per hook."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

from airflow.sdk.log import mask_secret

from airflow_provider.core.errors import HuaweiCloudError
from airflow_provider.core.exchange import drive_sync
from airflow_provider.core.request import ApiRequest, query_pairs
from airflow_provider.core.secrets import add_secret_sink
from airflow_provider.core.transport import SyncTransport
from airflow_provider.hooks.connection_config import CloudConfig, cloud_config
from airflow_provider.hooks.task_hook import TaskHook

if TYPE_CHECKING:
    from airflow_provider.core.exchange import Exchange
    from airflow_provider.core.response import ApiResponse

T = TypeVar("T")

add_secret_sink(mask_secret)


def warn_page_arguments(old: str, page_method: str) -> None:
    """``list_*`` hook methods return records; their paging arguments moved to a page method."""
    import warnings

    from airflow.exceptions import AirflowProviderDeprecationWarning

    warnings.warn(
        f"{old}(offset=..., limit=...) is deprecated: it returns every record now; "
        f"use {page_method} for one page with its total",
        AirflowProviderDeprecationWarning,
        stacklevel=3,
    )


class HuaweiCloudHook(TaskHook):
    """Base hook for the regional Huawei Cloud services (AK/SK, IAM password or token auth).

    Service hooks add typed methods; each method is a sans-IO exchange from
    ``airflow_provider.services`` driven through this hook's transport, so the deferrable
    trigger sends exactly the same requests.

    :param huaweicloud_conn_id: the ``huaweicloud`` connection.
    :param region: a region instead of the connection's ``extra.region`` (its endpoints, and the
        project looked up in it unless ``project_id`` is given too).
    :param project_id: a project instead of the connection's ``extra.project_id``.
    """

    conn_name_attr = "huaweicloud_conn_id"
    default_conn_name = "huaweicloud_default"
    conn_type = "huaweicloud"
    hook_name = "Huawei Cloud"

    def __init__(
        self,
        huaweicloud_conn_id: str = default_conn_name,
        region: str | None = None,
        project_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.huaweicloud_conn_id = huaweicloud_conn_id
        self.region_override = region
        self.project_id_override = project_id

    @cached_property
    def config(self) -> CloudConfig:
        """The connection's settings; an AK/SK connection with a region and no ``project_id`` gets its
        project id looked up once, as the SDK does (``hooks.project_lookup``)."""
        from airflow_provider.hooks.project_lookup import resolve_project

        conn = self.get_connection(self.huaweicloud_conn_id)
        return resolve_project(
            cloud_config(conn, mask=mask_secret, region=self.region_override, project_id=self.project_id_override)
        )

    @cached_property
    def transport(self) -> SyncTransport:
        """The hook's signing, retrying HTTP session, opened on first use and released by ``close()``."""
        return SyncTransport(self.config.transport_settings())

    @property
    def project_id(self) -> str:
        """The connection's project (``extra.project_id``); a clear error names the field when unset."""
        return self.config.require_project_id()

    @property
    def status_project_id(self) -> str | None:
        """The connection's project for a status check's path; None when unset (no error here)."""
        return self.config.project_id

    def run(self, exchange: Exchange[T]) -> T:
        """Drive one sans-IO exchange (see ``core.exchange``) through this hook's session."""
        return drive_sync(exchange, self.transport)

    def send(self, request: ApiRequest) -> ApiResponse:
        """Send one request through this hook's session (signed, retried per the connection's policy).

        :param request: the request, e.g. built by a ``*_request`` function of ``airflow_provider.services``.
        :raises HuaweiCloudError: the API answered with an error, or could not be reached.
        """
        return self.transport.send(request)

    def close(self) -> None:
        """Close the transport (its pooled connections); the hook can be used again after it."""
        if "transport" in self.__dict__:
            self.transport.close()
            del self.__dict__["transport"]

    def test_connection(self) -> tuple[bool, str]:
        """One cheap authenticated call, sent once (no retries): list the projects the credentials can
        access (IAM). A failure is one line naming the endpoint and the reason."""
        from airflow_provider.hooks.connection_test import failure, once

        target = f"connection {self.huaweicloud_conn_id!r}"
        request = ApiRequest(service="iam", method="GET", path="/v3/auth/projects", query=query_pairs())
        try:
            config = self.config
            target = config.resolver("iam")
            transport = SyncTransport(once(config.transport_settings()))
            try:
                body = transport.send(request).json_object()
            finally:
                transport.close()
        except HuaweiCloudError as exc:
            return False, failure(target, exc)
        projects = body.get("projects")
        items = projects if isinstance(projects, list) else []
        names = sorted(str(p.get("name")) for p in items if isinstance(p, dict))
        shown = ", ".join(names[:5]) + (" ..." if len(names) > 5 else "")
        return True, f"Authenticated ({config.auth_type}); {len(names)} project(s) visible: {shown}"

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """The connection form: host, port and schema hidden; login and password relabelled for AK/SK,
        IAM password or token."""
        from airflow_provider.get_provider_info import HUAWEICLOUD_UI_FIELD_BEHAVIOUR

        return HUAWEICLOUD_UI_FIELD_BEHAVIOUR
