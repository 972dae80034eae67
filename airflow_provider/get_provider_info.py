"""Provider metadata read by Airflow's ProvidersManager (entry point ``apache_airflow_provider``).

A broken dict here breaks every ``airflow`` command, so the tests validate it against
Airflow's own schema and run ``airflow providers list``.
"""

from __future__ import annotations

from typing import Any

from airflow_provider import __version__

PACKAGE_NAME = "airflow-provider-huaweicloud-logs"
INTEGRATION = "Huawei Cloud Log Tasks"
EDGE_INTEGRATION = "Huawei MEF Edge Manager"

HUAWEICLOUD_UI_FIELD_BEHAVIOUR: dict[str, Any] = {
    "hidden-fields": ["host", "port", "schema"],
    "relabeling": {"login": "Access key / IAM user name", "password": "Secret key / password / token"},
    "placeholders": {
        "login": "AK (auth_type aksk) or IAM user name (auth_type password)",
        "password": "SK, IAM password, or an X-Auth-Token (auth_type token)",
        "extra": '{"region": "cn-north-4", "project_id": "..."}',
    },
}

EDGE_UI_FIELD_BEHAVIOUR: dict[str, Any] = {
    "hidden-fields": ["login", "password"],
    "relabeling": {"host": "MEF Center address", "schema": "Scheme (https)"},
    "placeholders": {"host": "10.10.10.10", "port": "30035", "schema": "https"},
}


def _text(label: str, description: str, *, secret: bool = False, **schema: Any) -> dict[str, Any]:
    field_schema: dict[str, Any] = {"type": ["string", "null"], **schema}
    if secret:
        field_schema["format"] = "password"
    return {"label": label, "description": description, "schema": field_schema}


HUAWEICLOUD_CONN_FIELDS: dict[str, Any] = {
    "auth_type": _text(
        "Auth type",
        "aksk (login=AK, password=SK), password (IAM user), or token (password=X-Auth-Token)",
        enum=["aksk", "password", "token"],  # None here would be offered as a literal "null" choice
        default="aksk",
    ),
    "security_token": _text("Security token", "For temporary AK/SK: sent as X-Security-Token", secret=True),
    "domain_name": _text("Account (domain) name", "For auth_type password: the account the IAM user belongs to"),
    "region": _text("Region", "e.g. cn-north-4; picks https://{service}.{region}.myhuaweicloud.com"),
    "project_id": _text("Project ID", "The project of the region (needed by CSS, DCS, CloudDC)"),
    "endpoint_url": _text("Endpoint URL", "One override for every service (e.g. the local emulator)"),
    "iam_endpoint": _text("IAM endpoint", "Override of the IAM endpoint for the password flow"),
    "verify": _text("TLS verify", "true (default), false (warns), or the path of a CA bundle"),
    "obs_credential_seconds": _text(
        "OBS temporary key lifetime",
        "auth_type password/token: seconds (900-86400) of the temporary AK/SK obtained for obs:// paths",
        type=["integer", "null"],
    ),
}

EDGE_CONN_FIELDS: dict[str, Any] = {
    "client_cert": _text("Client certificate", "Path or inline PEM of the client certificate (mutual TLS)"),
    # Named so that Airflow masks it in the connection's JSON view and REST API: it masks extras by
    # key name, and "private_key" is one of its sensitive names ("client_key", the old name, is not).
    "client_private_key": _text(
        "Client private key", "Path or inline PEM of the client private key (unencrypted)", secret=True
    ),
    "ca_cert": _text("CA certificate", "Path or inline PEM of MEF Center's root CA"),
    "verify": _text("TLS verify", "true (default) or false (warns)"),
}


def get_provider_info() -> dict[str, Any]:
    """The provider's metadata for Airflow's ``apache_airflow_provider`` entry point.

    Integrations, hooks, operators, sensors, triggers, asset URIs, the ``obs`` filesystem, extra links and
    connection types.
    """
    return {
        "package-name": PACKAGE_NAME,
        "name": "Huawei Cloud Logs",
        "description": "Start and wait for Huawei Cloud log tasks: MEF edge log dumps, CloudDC log exports, "
        "DIS transfer logs, CSS log backups and DCS background tasks.",
        "versions": [__version__],
        "integrations": [
            {"integration-name": INTEGRATION, "tags": ["service"]},
            {"integration-name": EDGE_INTEGRATION, "tags": ["service"]},
        ],
        "hooks": [
            {
                "integration-name": INTEGRATION,
                "python-modules": [
                    "airflow_provider.hooks.base",
                    "airflow_provider.hooks.clouddc",
                    "airflow_provider.hooks.css",
                    "airflow_provider.hooks.dcs",
                    "airflow_provider.hooks.dis",
                ],
            },
            {"integration-name": EDGE_INTEGRATION, "python-modules": ["airflow_provider.hooks.edge"]},
        ],
        "sensors": [
            {
                "integration-name": INTEGRATION,
                "python-modules": [
                    "airflow_provider.sensors.clouddc",
                    "airflow_provider.sensors.css",
                    "airflow_provider.sensors.dcs",
                    "airflow_provider.sensors.dis",
                ],
            },
            {"integration-name": EDGE_INTEGRATION, "python-modules": ["airflow_provider.sensors.edge"]},
        ],
        "operators": [
            {
                "integration-name": INTEGRATION,
                "python-modules": [
                    "airflow_provider.operators.archive",
                    "airflow_provider.operators.clouddc",
                    "airflow_provider.operators.css",
                    "airflow_provider.operators.dcs",
                    "airflow_provider.operators.dis",
                ],
            },
            {"integration-name": EDGE_INTEGRATION, "python-modules": ["airflow_provider.operators.edge"]},
        ],
        "triggers": [
            {
                "integration-name": INTEGRATION,
                "python-modules": ["airflow_provider.triggers.task", "airflow_provider.triggers.events"],
            }
        ],
        # obs://bucket/key: OBS objects and folders (what CSS backups and DIS dumps write) as assets.
        "asset-uris": [
            {
                "schemes": ["obs"],
                "handler": "airflow_provider.assets.sanitize_obs_uri",
                "factory": "airflow_provider.assets.create_asset",
                "to_openlineage_converter": "airflow_provider.assets.convert_obs_asset_to_openlineage",
            }
        ],
        # obs:// for ObjectStoragePath (needs the [obs] extra: s3fs).
        "filesystems": ["airflow_provider.fs.obs"],
        "extra-links": [
            "airflow_provider.operators.links.HuaweiCloudConsoleLink",
            "airflow_provider.operators.links.MefCenterLink",
        ],
        "connection-types": [
            {
                "connection-type": "huaweicloud",
                "hook-class-name": "airflow_provider.hooks.base.HuaweiCloudHook",
                "hook-name": "Huawei Cloud",
                "ui-field-behaviour": HUAWEICLOUD_UI_FIELD_BEHAVIOUR,
                "conn-fields": HUAWEICLOUD_CONN_FIELDS,
            },
            {
                "connection-type": "huawei_edge_manager",
                "hook-class-name": "airflow_provider.hooks.edge.EdgeManagerHook",
                "hook-name": "Huawei MEF Edge Manager",
                "ui-field-behaviour": EDGE_UI_FIELD_BEHAVIOUR,
                "conn-fields": EDGE_CONN_FIELDS,
            },
        ],
    }
