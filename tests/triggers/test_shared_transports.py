"""What a long-lived triggerer keeps between waits: transports keyed without secrets and replaced when
their connection changes; edge certificate files and pools shared by content and freed with the
last wait that uses them."""

from __future__ import annotations

import asyncio
import gc
import json
import time
import weakref
from typing import TYPE_CHECKING, Any, cast

import pytest

from airflow_provider.core import async_transport
from airflow_provider.core.async_transport import close_shared_clients
from airflow_provider.core.auth import TOKEN_CACHE
from airflow_provider.triggers import task as trigger_module
from airflow_provider.triggers.task import HuaweiCloudTaskTrigger
from tests.pem_samples import CERT, KEY

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator, AsyncIterator
    from pathlib import Path

    from airflow.triggers.base import TriggerEvent

    from airflow_provider.testing.emulator_runner import EmulatorHandle

FAST = {"kind": "fixed", "poke_interval": 0.2, "min_interval": 0.1}


@pytest.fixture(autouse=True)
async def _fresh_loop_state(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[None]:
    monkeypatch.setattr(trigger_module, "CONNECTION_REUSE_SECONDS", 0.0)  # every wait sees the connection's edits
    yield
    await close_shared_clients()


async def first_event(trigger: HuaweiCloudTaskTrigger) -> dict[str, Any]:
    events = cast("AsyncGenerator[TriggerEvent, None]", trigger.run())
    try:
        return dict((await events.__anext__()).payload)
    finally:
        await events.aclose()


async def until(condition: Any, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


def live_pools() -> int:
    return sum(1 for pool in async_transport._pools.get(asyncio.get_running_loop(), {}).values() if pool is not None)


async def test_edge_waits_share_certificate_files_and_one_pool_until_the_last_ends(
    emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Before, every wait wrote its own files and so got its own pool, never freed: 20 waits, 20 pools."""
    edge = {**json.loads(emulator.edge_conn_json), "extra": {"client_cert": CERT, "client_private_key": KEY}}
    monkeypatch.setenv("AIRFLOW_CONN_EDGE_MANAGER_DEFAULT", json.dumps(edge))
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))  # where the PEM folders go
    emulator.admin.set_outcome("edge", "succeed", duration=100_000.0)
    dump_id = emulator.admin.create_task("edge", nodes=[1])
    pools_before = live_pools()

    waits = [
        asyncio.create_task(
            first_event(
                HuaweiCloudTaskTrigger(
                    service="edge",
                    conn_id="edge_manager_default",
                    ids={"dump_task_id": dump_id},
                    deadline=time.time() + 120,
                    poll_policy=FAST,
                )
            )
        )
        for _ in range(20)
    ]
    polled = lambda: sum(r["query"] == f"taskId={dump_id}" for r in emulator.admin.requests("edge")) >= 20  # noqa: E731
    await until(polled, "a poll of every wait")

    assert len(list(tmp_path.glob("hwc-edge-tls-*"))) == 1
    assert live_pools() - pools_before == 1
    emulator.admin.set_outcome("edge", "succeed", duration=0, task_id=dump_id)
    events = await asyncio.gather(*waits)

    assert [event["status"] for event in events] == ["success"] * 20
    assert list(tmp_path.glob("hwc-edge-tls-*")) == []
    assert live_pools() == pools_before  # closed and forgotten with the last wait


async def test_cloud_transports_are_keyed_without_secrets_and_replaced_when_the_connection_changes(
    emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn = json.loads(emulator.huaweicloud_conn_json)
    secret_key = conn["password"]
    trigger = HuaweiCloudTaskTrigger(service="dcs", conn_id="huaweicloud_default", ids={}, deadline=time.time() + 60)
    loop = asyncio.get_running_loop()

    first, _project, _cleanup = await trigger._transport()
    again, _project, _cleanup = await trigger._transport()
    cache = trigger_module._CLOUD_TRANSPORTS[loop]
    assert again is first  # waits of one connection share a transport
    assert secret_key not in repr(list(cache))
    assert secret_key not in repr([entry[0] for entry in cache.values()])

    conn["password"] = "rotated-" + secret_key
    monkeypatch.setenv("AIRFLOW_CONN_HUAWEICLOUD_DEFAULT", json.dumps(conn))
    rotated, _project, _cleanup = await trigger._transport()
    old = weakref.ref(first)
    del first, again

    assert rotated is not old()
    gc.collect()
    assert old() is None  # nothing holds the transport of the old key any more
    assert len(cache) == 1


async def test_a_proxy_password_is_not_a_cache_key_and_its_client_goes_when_the_proxy_changes(
    emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before, the httpx clients of proxied waits were keyed by the raw proxy URLs, so a proxy
    password stayed in a key, and the client of a replaced proxy stayed cached."""
    conn = json.loads(emulator.huaweicloud_conn_json)
    conn["extra"]["proxies"] = "http://proxy-user:Proxy-Pass-1@127.0.0.1:9"
    monkeypatch.setenv("AIRFLOW_CONN_HUAWEICLOUD_DEFAULT", json.dumps(conn))
    trigger = HuaweiCloudTaskTrigger(service="dcs", conn_id="huaweicloud_default", ids={}, deadline=time.time() + 60)
    loop = asyncio.get_running_loop()

    transport, _project, _cleanup = await trigger._transport()
    client = async_transport.shared_client("https://dcs.example.com", transport.settings)
    keys = list(async_transport._clients[loop])
    assert len(keys) == 1
    assert "Proxy-Pass-1" not in repr(keys)

    conn["extra"]["proxies"] = "http://proxy-user:Proxy-Pass-2@127.0.0.1:9"  # the proxy password rotated
    monkeypatch.setenv("AIRFLOW_CONN_HUAWEICLOUD_DEFAULT", json.dumps(conn))
    await trigger._transport()
    await asyncio.sleep(0)  # the old client closes in a task of its own
    await asyncio.sleep(0)

    assert async_transport._clients[loop] == {}
    assert client.is_closed


async def test_a_new_password_drops_the_token_the_old_one_got(
    emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn = json.loads(emulator.huaweicloud_password_conn_json)
    monkeypatch.setenv("AIRFLOW_CONN_HWC_PASSWORD", json.dumps(conn))
    emulator.admin.set_outcome("dcs", "succeed", duration=100_000.0)
    instance = str(next(iter(emulator.admin.info()["resources"]["dcs_instances"])))
    task_id = emulator.admin.create_task("dcs", instance_id=instance)
    trigger = HuaweiCloudTaskTrigger(
        service="dcs",
        conn_id="hwc_password",
        ids={"instance_id": instance, "dcs_task_id": task_id},
        deadline=time.time() - 1,  # one poll, then the timeout event
    )
    assert (await first_event(trigger))["status"] == "timeout"
    assert len(TOKEN_CACHE._tokens) == 1

    conn["extra"]["timeout"] = [5, 30]  # an edit that keeps the credentials keeps their token
    monkeypatch.setenv("AIRFLOW_CONN_HWC_PASSWORD", json.dumps(conn))
    await trigger._transport()
    assert len(TOKEN_CACHE._tokens) == 1

    conn["password"] = "a-new-password-1"
    monkeypatch.setenv("AIRFLOW_CONN_HWC_PASSWORD", json.dumps(conn))
    await trigger._transport()
    assert TOKEN_CACHE._tokens == {}
