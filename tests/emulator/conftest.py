"""The emulator tests use the package's own pytest plugin fixtures (``huaweicloud_emulator``)."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(scope="session")
def huaweicloud_emulator_options() -> dict[str, Any]:
    return {"speed": 1.0, "seed": 7, "tls": False}
