"""Secrets are masked in a process that imports only the trigger module, as a triggerer does.

A triggerer never imports a hook: whatever registers secrets with Airflow's masker must not wait
for one. The process below runs one wait with an IAM password connection (a token is fetched on
the trigger path) and one edge wait with an inline private key, then asks Airflow's own masker.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from typing import TYPE_CHECKING, Any

import pytest

from airflow_provider.emulator.state import DEFAULT_DCS_INSTANCE
from tests.security.conftest import FAST, PASSWORD, inline_edge_conn

if TYPE_CHECKING:
    from airflow_provider.testing.emulator_runner import EmulatorHandle

pytestmark = pytest.mark.integration

TRIGGERER = textwrap.dedent(
    """
    import asyncio, json, os, sys, time

    from airflow_provider.triggers.task import HuaweiCloudTaskTrigger

    async def first_event(trigger):
        events = trigger.run()
        try:
            return (await events.__anext__()).payload
        finally:
            await events.aclose()

    async def main():
        from airflow_provider.core.async_transport import close_shared_clients

        waits = json.loads(os.environ["WAITS"])
        try:
            return [
                await first_event(HuaweiCloudTaskTrigger(deadline=time.time() - 1, **wait)) for wait in waits
            ]
        finally:
            await close_shared_clients()

    events = asyncio.run(main())
    loaded = sorted(name for name in sys.modules if name.startswith("airflow_provider"))

    from airflow.sdk.log import redact
    from airflow_provider.core.auth import TOKEN_CACHE

    tokens = [token.value for token in TOKEN_CACHE._tokens.values()]
    secrets = {f"token {n}": value for n, value in enumerate(tokens)}
    secrets.update(json.loads(os.environ["SECRETS"]))
    print(json.dumps({
        "events": [event["status"] + ": " + event["message"] for event in events],
        "tokens": len(tokens),
        "loaded": loaded,
        "unmasked": sorted(name for name, value in secrets.items() if redact(value) != "***"),
    }))
    """
)


def run_triggerer(env: dict[str, str]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", TRIGGERER],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_a_triggerer_process_masks_the_iam_token_the_password_and_the_inline_key(emulator: EmulatorHandle) -> None:
    password_conn = json.loads(emulator.huaweicloud_password_conn_json)
    password_conn["extra"].update(FAST)
    edge_conn = inline_edge_conn(emulator)
    key_text = edge_conn["extra"]["client_private_key"]
    emulator.admin.set_outcome("dcs", "succeed", duration=1e9)
    emulator.admin.set_outcome("edge", "succeed", duration=1e9)
    dcs_task = emulator.admin.create_task("dcs", instance_id=DEFAULT_DCS_INSTANCE)
    dump = emulator.admin.create_task("edge", nodes=[1])
    waits = [
        {
            "service": "dcs",
            "conn_id": "hwc_password",
            "ids": {"instance_id": DEFAULT_DCS_INSTANCE, "dcs_task_id": dcs_task},
        },
        {"service": "edge", "conn_id": "edge_inline", "ids": {"dump_task_id": dump}},
    ]

    result = run_triggerer(
        {
            "AIRFLOW_CONN_HWC_PASSWORD": json.dumps(password_conn),
            "AIRFLOW_CONN_EDGE_INLINE": json.dumps(edge_conn),
            "WAITS": json.dumps(waits),
            "SECRETS": json.dumps({"IAM password": PASSWORD, "inline private key": key_text}),
        }
    )

    assert [event.split(":")[0] for event in result["events"]] == ["timeout", "timeout"], result["events"]
    assert result["tokens"] == 1  # fetched on the trigger path
    assert "airflow_provider.hooks.base" not in result["loaded"]
    assert "airflow_provider.hooks.edge" not in result["loaded"]
    assert result["unmasked"] == []
