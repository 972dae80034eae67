"""What the provider's tasks produce, as Airflow Assets, and as OpenLineage datasets.

* URIs: an OBS object or folder is ``obs://<bucket>/<key>`` (the scheme Huawei's own tools and
  ``ObjectStoragePath`` use); a downloaded archive is its ``ObjectStoragePath`` URL (``file:///...``
  for a local path). The ``obs`` scheme is registered with Airflow by the provider info
  (``asset-uris``): ``sanitize_obs_uri`` checks it, ``convert_obs_asset_to_openlineage`` names it for
  OpenLineage (namespace ``obs://<bucket>``, name the key, as OpenLineage names S3 objects).
* Outlets: an operator or sensor given ``outlets`` fills each outlet's asset event with what it
  produced (``emit``): the remote ids, the final state, and per object its URI, bytes and sha256
  where known. An ``Asset`` outlet gets one event carrying the list; an ``AssetAlias`` outlet gets one
  event per object, on the object's own asset (``obs://bucket/key``), so a DAG can be scheduled on
  an object's asset that no DAG declared in advance.
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_provider.core.errors import InvalidInputError

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from urllib.parse import SplitResult

    from airflow.sdk import Asset, Context

OBS_SCHEME = "obs"
#: OBS bucket names: 3-63 lower-case letters, digits, hyphens and periods, starting and ending with a
#: letter or digit (OBS "Bucket Naming Rules"; the S3 rules).
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
#: An Asset outlet's event lists at most this many objects (a DIS run may cover thousands of periods).
MAX_OBJECTS_PER_EVENT = 100


def check_bucket(bucket: object) -> str:
    """``bucket``, checked against the OBS bucket naming rules.

    :raises InvalidInputError: not a valid OBS bucket name.
    """
    if not isinstance(bucket, str) or not _BUCKET.fullmatch(bucket) or ".." in bucket:
        raise InvalidInputError("bucket", bucket, "must be an OBS bucket name (3-63 of a-z, 0-9, '.', '-')")
    return bucket


def obs_uri(bucket: str, key: str = "") -> str:
    """``obs://bucket/key`` for an object (or a folder, ``key`` ending in ``/``)."""
    check_bucket(bucket)
    return f"{OBS_SCHEME}://{bucket}/{key.lstrip('/')}"


def sanitize_obs_uri(uri: SplitResult) -> SplitResult:
    """Airflow's URI handler for ``obs``: a bucket is required, and is a valid bucket name."""
    if not uri.netloc:
        raise ValueError(f"URI format obs:// must name a bucket: {urllib.parse.urlunsplit(uri)!r}")
    check_bucket(uri.netloc)
    return uri


def create_asset(*, bucket: str, key: str = "", extra: dict[str, Any] | None = None) -> Asset:
    """Airflow's asset factory for ``obs``."""
    from airflow.sdk import Asset

    return Asset(uri=obs_uri(bucket, key), extra=extra or {})


def convert_obs_asset_to_openlineage(asset: Asset, lineage_context: Any) -> Any:
    """Airflow's OpenLineage converter for ``obs`` assets (called by the OpenLineage provider)."""
    return openlineage_dataset(asset.uri)


def openlineage_dataset(uri: str) -> Any:
    """The OpenLineage dataset of a URI: ``obs://b/k`` is namespace ``obs://b``, name ``k``; a local file is
    namespace ``file``, name its path; another ``scheme://host/path`` is namespace ``scheme://host``."""
    from openlineage.client.event_v2 import Dataset

    parts = urllib.parse.urlsplit(uri)
    if parts.scheme in ("", "file"):
        return Dataset(namespace="file", name=parts.path or uri)
    return Dataset(namespace=f"{parts.scheme}://{parts.netloc}", name=parts.path.lstrip("/") or "/")


def location_uri(location: str) -> str:
    """An asset URI for a delivered file: its URL as given, ``file://`` added to a local path."""
    return location if "://" in location else "file://" + location


@dataclass(frozen=True)
class Produced:
    """One object a task produced (or found finished).

    :param uri: the object's asset URI (``obs://...``, ``file://...``).
    :param extra: what its asset event carries besides (bytes, sha256, remote ids...).
    """

    uri: str
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """``{"uri": ..., **extra}``: the object as an asset event lists it."""
        return {"uri": self.uri, **self.extra}


def download_objects(result: Mapping[str, Any]) -> list[Produced]:
    """The objects an operator's XCom result names: a ``download`` (location, bytes, sha256) and any
    ``artifacts`` (url, bytes, sha256), each object once (a download is also its own artifact).

    :param result: the operator's XCom result.
    """
    found: dict[str, dict[str, Any]] = {}
    download = result.get("download")
    if isinstance(download, dict) and download.get("location"):
        keep = {k: download[k] for k in ("bytes", "sha256") if download.get(k) is not None}
        found[location_uri(str(download["location"]))] = keep
    for artifact in result.get("artifacts") or []:
        if isinstance(artifact, dict) and artifact.get("url"):
            keep = {k: artifact[k] for k in ("bytes", "sha256", "name") if artifact.get(k) is not None}
            found.setdefault(location_uri(str(artifact["url"])), {}).update(keep)
    return [Produced(uri, extra) for uri, extra in found.items()]


def has_outlets(outlets: Iterable[object]) -> bool:
    """Whether any outlet is an ``Asset`` or ``AssetAlias`` (one ``emit`` would fill)."""
    from airflow.sdk import Asset, AssetAlias

    return any(isinstance(outlet, (Asset, AssetAlias)) for outlet in outlets)


def emit(context: Context, outlets: Iterable[object], summary: Mapping[str, Any], produced: Sequence[Produced]) -> None:
    """Fill the asset events of the task's outlets with ``summary`` (remote ids, state...) and the objects.

    An ``Asset`` outlet's event gets the summary and ``objects`` (at most ``MAX_OBJECTS_PER_EVENT``, with
    ``objects_total``); with a single object its URI, bytes and sha256 are also at the top. An
    ``AssetAlias`` outlet adds one event per object, on that object's own asset.
    """
    from airflow.sdk import Asset, AssetAlias

    events = context["outlet_events"]
    listed = [p.to_json() for p in produced[:MAX_OBJECTS_PER_EVENT]]
    for outlet in outlets:
        if isinstance(outlet, AssetAlias):
            for item in produced:
                events[outlet].add(Asset(uri=item.uri, name=item.uri), extra={**summary, **item.extra})
        elif isinstance(outlet, Asset):
            extra: dict[str, Any] = events[outlet].extra
            extra.update(summary)
            extra["objects"] = listed
            extra["objects_total"] = len(produced)
            if len(produced) == 1:
                extra.update(produced[0].to_json())


def remote_dataset(service: str, ids: Mapping[str, str]) -> Any:
    """The OpenLineage dataset of a remote task's resource: namespace ``huaweicloud://<service>``, name
    its ids (``cluster_id=c1/record_id=r1``)."""
    from openlineage.client.event_v2 import Dataset

    return Dataset(namespace=f"huaweicloud://{service}", name="/".join(f"{k}={v}" for k, v in ids.items()))
