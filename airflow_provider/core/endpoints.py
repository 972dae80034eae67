"""Regional endpoints, as the official SDK's region tables define them (3.1.219).

The task services' regions are in their ``core.catalog`` description; IAM's are here.

Resolution order: a per-service override, then the one ``endpoint_url`` override, then
``https://{host}.{region}.myhuaweicloud.com`` for a region the service is offered in.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from airflow_provider.core import catalog
from airflow_provider.core.errors import ConfigurationError

#: Endpoints of the platform services every task service relies on (the SDK's region tables); the
#: task services' own come from their ``core.catalog`` description.
PLATFORM_REGIONS: dict[str, frozenset[str]] = {"iam": catalog.COMMON_REGIONS}
_PLATFORM_HOST_EXCEPTIONS: dict[tuple[str, str], str] = {
    ("iam", "eu-west-101"): "https://iam.eu-west-101.myhuaweicloud.eu",
}

GLOBAL_IAM_ENDPOINT = "https://iam.myhuaweicloud.com"


def _regions_and_host(service: str, region: str) -> tuple[frozenset[str], str]:
    if service in PLATFORM_REGIONS:
        default = f"https://{service}.{region}.myhuaweicloud.com"
        return PLATFORM_REGIONS[service], _PLATFORM_HOST_EXCEPTIONS.get((service, region), default)
    known = [name for name in catalog.names() if catalog.spec(name).endpoint is not None]
    if service not in known:
        raise ConfigurationError(
            f"unknown service {service!r}; known: {', '.join(sorted([*known, *PLATFORM_REGIONS]))}"
        )
    spec = catalog.spec(service)
    default = f"https://{spec.endpoint}.{region}.myhuaweicloud.com"
    return spec.regions, spec.host_exceptions.get(region, default)


def regional_endpoint(service: str, region: str) -> str:
    """``https://{host}.{region}.myhuaweicloud.com`` for a region ``service`` is offered in."""
    regions, host = _regions_and_host(service, region)
    if region not in regions:
        raise ConfigurationError(
            f"{service} has no known endpoint in region {region!r}; set extra.endpoints.{service} "
            f"(or extra.endpoint_url) in the connection. Known regions: {', '.join(sorted(regions))}"
        )
    return host


@dataclass(frozen=True)
class EndpointResolver:
    """The base URL of each service, from a connection's endpoint settings.

    Called with a service name, it returns, first that applies: the ``overrides`` entry, ``iam_endpoint`` for IAM,
    ``endpoint_url``, the global IAM endpoint for IAM without a region, else the regional endpoint
    (``regional_endpoint``). It raises ``ConfigurationError`` when neither a region nor an endpoint is set, or the
    service has no known endpoint in the region.
    """

    region: str | None = None
    endpoint_url: str | None = None
    overrides: dict[str, str] = field(default_factory=dict)
    iam_endpoint: str | None = None

    def __call__(self, service: str) -> str:
        if service in self.overrides:
            return self.overrides[service]
        if service == "iam" and self.iam_endpoint:
            return self.iam_endpoint
        if self.endpoint_url:
            return self.endpoint_url
        if service == "iam" and not self.region:
            return GLOBAL_IAM_ENDPOINT
        if not self.region:
            raise ConfigurationError(
                f"no endpoint for {service}: set extra.region (or extra.endpoint_url / extra.endpoints) "
                "in the connection"
            )
        return regional_endpoint(service, self.region)
