"""Archival tests: the emulator with its OBS (moto's S3 server, started by the emulator on loopback)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from airflow_provider.testing.emulator_runner import EmulatorHandle

SPEED = 50.0


@pytest.fixture(scope="session")
def huaweicloud_emulator_options() -> dict[str, Any]:
    return {"speed": SPEED, "seed": 0, "tls": False, "obs": True}


@pytest.fixture
def emulator(huaweicloud_emulator: EmulatorHandle) -> EmulatorHandle:
    return huaweicloud_emulator


@pytest.fixture
def s3(emulator: EmulatorHandle) -> Any:
    """A plain boto3 client of the same server, to look behind the provider's back."""
    import boto3

    ids = emulator.identities
    return boto3.client(
        "s3",
        endpoint_url=emulator.obs_url,
        aws_access_key_id=ids.access_key,
        aws_secret_access_key=ids.secret_key,
        region_name=ids.region,
    )
