"""Regional endpoints, as the official SDK's region tables define them (3.1.219).

Resolution order: a per-service override, then the one ``endpoint_url`` override, then
``https://{host}.{region}.myhuaweicloud.com`` for a region the service is offered in.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from airflow_provider.core.errors import ConfigurationError

_COMMON_REGIONS = frozenset(
    {
        "ae-ad-1", "af-north-1", "af-south-1", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3",
        "ap-southeast-4", "ap-southeast-5", "cn-east-2", "cn-east-3", "cn-east-4", "cn-east-5",
        "cn-north-1", "cn-north-11", "cn-north-12", "cn-north-2", "cn-north-4", "cn-north-9",
        "cn-south-1", "cn-south-2", "cn-south-4", "cn-southwest-2", "cn-southwest-3", "eu-west-0",
        "eu-west-101", "la-north-2", "la-south-2", "me-east-1", "my-kualalumpur-1", "na-mexico-1",
        "ru-moscow-1", "ru-northwest-2", "sa-brazil-1", "tr-west-1",
    }
)  # fmt: skip

#: Regions each service is offered in (SDK ``*_region.py``); IAM is everywhere DCS is.
SERVICE_REGIONS: dict[str, frozenset[str]] = {
    "dcs": _COMMON_REGIONS,
    "css": _COMMON_REGIONS - {"eu-west-0", "ru-northwest-2"},
    "dis": frozenset(
        {"cn-north-4", "cn-north-1", "cn-east-2", "cn-east-3", "cn-south-1", "ap-southeast-2", "ap-southeast-1"}
    ),
    "clouddc": frozenset({"cn-east-3", "cn-southwest-2", "cn-south-1", "ap-southeast-3"}),
    "iam": _COMMON_REGIONS,
}

_HOST_EXCEPTIONS: dict[tuple[str, str], str] = {
    ("css", "cn-north-1"): "https://es.cn-north-1.myhuaweicloud.com",
    ("css", "cn-east-2"): "https://es.cn-east-2.myhuaweicloud.com",
    ("iam", "eu-west-101"): "https://iam.eu-west-101.myhuaweicloud.eu",
}

GLOBAL_IAM_ENDPOINT = "https://iam.myhuaweicloud.com"


def regional_endpoint(service: str, region: str) -> str:
    if service not in SERVICE_REGIONS:
        raise ConfigurationError(f"unknown service {service!r}; known: {', '.join(sorted(SERVICE_REGIONS))}")
    if region not in SERVICE_REGIONS[service]:
        raise ConfigurationError(
            f"{service} has no known endpoint in region {region!r}; set extra.endpoints.{service} "
            f"(or extra.endpoint_url) in the connection. Known regions: {', '.join(sorted(SERVICE_REGIONS[service]))}"
        )
    return _HOST_EXCEPTIONS.get((service, region), f"https://{service}.{region}.myhuaweicloud.com")


@dataclass(frozen=True)
class EndpointResolver:
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
