"""Filesystems for ``ObjectStoragePath``: ``obs://`` (Huawei Cloud OBS through s3fs).

Airflow maps a scheme to a filesystem only once a path is used, but ``ObjectStoragePath`` checks
the scheme when it is built: ``register()`` makes ``obs`` known to fsspec and universal_pathlib
first. The provider's operators call it; in your own code, ``import airflow_provider.fs`` does.
"""

from __future__ import annotations

from functools import cache


@cache
def register() -> None:
    """Make ``obs://`` paths buildable (fsspec and universal_pathlib know the protocol); idempotent."""
    from fsspec.registry import known_implementations, register_implementation
    from upath.registry import register_implementation as register_path

    if "obs" not in known_implementations:
        register_implementation(
            "obs",
            "airflow_provider.fs._obsfs.ObsFileSystem",
            errtxt="obs:// paths need s3fs: pip install 'airflow-provider-huaweicloud-logs[obs]'",
        )
    # Bucket/key paths behave as S3's: the netloc is the bucket (universal_pathlib keeps that per
    # protocol, in a table that does not know obs).
    from upath._flavour import WrappedFileSystemFlavour
    from upath._flavour_sources import S3FileSystemFlavour, flavour_registry

    if "obs" not in flavour_registry:
        # Defining the subclass registers it for obs (universal_pathlib's __init_subclass__).
        type("ObsFileSystemFlavour", (S3FileSystemFlavour,), {"protocol": ("obs",)})

    table = WrappedFileSystemFlavour.protocol_config
    for members in table.values():
        if isinstance(members, set) and "s3" in members:
            members.add("obs")
        elif isinstance(members, dict) and "s3" in members:
            members.setdefault("obs", members["s3"])
    register_path("obs", "upath.implementations.cloud.S3Path", clobber=True)


register()
