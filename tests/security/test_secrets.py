"""No credential in any output: every sensor and operator, sync and deferrable, with each kind of
cloud credential, searched for the secrets in captured logs, XComs, serialized triggers, error
messages, reprs and the emulator's request log as printed."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import httpx
import pytest
from airflow.sdk.exceptions import TaskDeferred

from airflow_provider.core.async_transport import close_shared_clients
from airflow_provider.core.auth import TOKEN_CACHE
from airflow_provider.emulator.state import (
    DEFAULT_CLOUDDC_SERVER,
    DEFAULT_CSS_CLUSTER,
    DEFAULT_DCS_INSTANCE,
    DEFAULT_DIS_TASK_ID,
)
from airflow_provider.operators.clouddc import CloudDCLogExportOperator
from airflow_provider.operators.css import CssLogBackupOperator
from airflow_provider.operators.dis import DisTransferTaskLogOperator
from airflow_provider.operators.edge import EdgeLogDumpOperator
from airflow_provider.sensors.clouddc import CloudDCLogExportSensor
from airflow_provider.sensors.css import CssLogBackupSensor
from airflow_provider.sensors.dcs import DcsBackgroundTaskSensor
from airflow_provider.sensors.dis import DisTransferTaskSensor
from airflow_provider.sensors.edge import EdgeLogDumpSensor
from airflow_provider.triggers.task import HuaweiCloudTaskTrigger
from tests.security.conftest import FAST, PASSWORD, SECRET_KEY, inline_edge_conn

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator, Callable
    from pathlib import Path

    from airflow.sdk import Context
    from airflow.triggers.base import TriggerEvent

    from airflow_provider.testing.emulator_runner import EmulatorHandle

pytestmark = pytest.mark.integration

POLL: dict[str, Any] = {"poke_interval": 0.2, "min_poll_interval": 0.1, "poll_policy": "fixed"}
AUTH_KINDS = ("aksk", "temporary", "password", "token")


@dataclass
class Seen:
    """Everything a user or an operator of Airflow could read after the runs."""

    texts: list[str] = field(default_factory=list)

    def add(self, value: Any) -> None:
        self.texts.append(value if isinstance(value, str) else json.dumps(value, default=repr))


class XComs:
    def __init__(self, seen: Seen) -> None:
        self.seen = seen

    def xcom_push(self, key: str, value: Any) -> None:
        self.seen.add({key: value})


#: The gateway's answer to credentials it rejects (401 APIGW.0301).
REJECTED = {"error_code": "APIGW.0301", "error_msg": "Incorrect IAM authentication information"}


def iam_token(emulator: EmulatorHandle) -> str:
    ids = emulator.identities
    body = {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {
                    "user": {"domain": {"name": ids.domain_name}, "name": ids.user_name, "password": PASSWORD}
                },
            },
            "scope": {"project": {"id": ids.project_id}},
        }
    }
    response = httpx.post(f"{emulator.url}/v3/auth/tokens", json=body, timeout=10)
    assert response.status_code == 201, response.text
    return response.headers["X-Subject-Token"]


def temporary_keys(emulator: EmulatorHandle, token: str) -> dict[str, str]:
    body = {"auth": {"identity": {"methods": ["token"], "token": {"id": token, "duration_seconds": 900}}}}
    response = httpx.post(
        f"{emulator.url}/v3.0/OS-CREDENTIAL/securitytokens", json=body, headers={"X-Auth-Token": token}, timeout=10
    )
    assert response.status_code == 201, response.text
    credential: dict[str, str] = response.json()["credential"]
    return credential


def use_auth(kind: str, emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Install ``huaweicloud_default`` with that kind of credential; return the secrets it involves."""
    conn = json.loads(emulator.huaweicloud_conn_json)
    conn["extra"].update(FAST)
    secrets = [SECRET_KEY, PASSWORD]
    if kind == "temporary":
        token = iam_token(emulator)
        keys = temporary_keys(emulator, token)
        conn["login"], conn["password"] = keys["access"], keys["secret"]
        conn["extra"]["security_token"] = keys["securitytoken"]
        secrets += [token, keys["secret"], keys["securitytoken"]]
    elif kind == "password":
        conn = json.loads(emulator.huaweicloud_password_conn_json)
        conn["extra"].update(FAST)
    elif kind == "token":
        token = iam_token(emulator)
        conn["password"] = token
        conn["extra"]["auth_type"] = "token"
        secrets.append(token)
    monkeypatch.setenv("AIRFLOW_CONN_HUAWEICLOUD_DEFAULT", json.dumps(conn))
    return secrets


def run_trigger(trigger: HuaweiCloudTaskTrigger) -> dict[str, Any]:
    async def go() -> dict[str, Any]:
        try:
            events = cast("AsyncGenerator[TriggerEvent, None]", trigger.run())
            payload: dict[str, Any] = (await events.__anext__()).payload
            await events.aclose()
            return payload
        finally:
            await close_shared_clients()

    return asyncio.run(asyncio.wait_for(go(), 60))


def run(task: Any, seen: Seen, finish: Callable[[dict[str, Any]], object], deferrable: bool) -> None:
    """Execute as Airflow would; in deferrable mode the remote task ends while the trigger waits."""
    context = cast("Context", {"ti": XComs(seen)})
    seen.add(repr(task))
    task.deferrable = deferrable
    try:
        try:
            seen.add(task.execute(context))
            return
        except TaskDeferred as deferred:
            trigger = deferred.trigger
        classpath, kwargs = trigger.serialize()
        seen.add([classpath, kwargs])
        seen.add(repr(trigger))
        finish(kwargs["ids"])
        event = run_trigger(HuaweiCloudTaskTrigger(**kwargs))
        seen.add(event)
        seen.add(task.execute_complete(context, event))
    except Exception as exc:
        seen.add(f"{type(exc).__name__}: {exc} {exc!r} {exc.__cause__!r}")
        raise


def components(emulator: EmulatorHandle, *, long: bool) -> list[tuple[Any, Callable[[dict[str, Any]], object]]]:
    """Every sensor and operator, with how to end its remote task."""
    admin = emulator.admin
    duration = 1e9 if long else 0.0

    def end(service: str, key: str) -> Callable[[dict[str, Any]], object]:
        return lambda ids: admin.set_outcome(service, "succeed", duration=0, task_id=ids[key])

    for service in ("css", "dcs", "clouddc", "edge"):
        admin.set_outcome(service, "succeed", duration=duration)
    css_record = admin.create_task("css", cluster_id=DEFAULT_CSS_CLUSTER)
    for service in ("css", "dcs", "clouddc", "edge"):
        admin.set_outcome(service, "succeed", duration=duration)
    dcs_task = admin.create_task("dcs", instance_id=DEFAULT_DCS_INSTANCE)
    export = admin.create_task("clouddc", server_id=DEFAULT_CLOUDDC_SERVER)
    dump = admin.create_task("edge", nodes=[1])
    admin.advance(3600)  # closes DIS periods
    return [
        (
            CssLogBackupSensor(task_id="s1", cluster_id=DEFAULT_CSS_CLUSTER, record_id=css_record, **POLL),
            end("css", "record_id"),
        ),
        (
            DcsBackgroundTaskSensor(task_id="s2", instance_id=DEFAULT_DCS_INSTANCE, dcs_task_id=dcs_task, **POLL),
            end("dcs", "dcs_task_id"),
        ),
        (
            CloudDCLogExportSensor(task_id="s3", server_id=DEFAULT_CLOUDDC_SERVER, export_id=export, **POLL),
            end("clouddc", "export_id"),
        ),
        (DisTransferTaskSensor(task_id="s4", transfer_task_id=DEFAULT_DIS_TASK_ID, **POLL), lambda ids: None),
        (EdgeLogDumpSensor(task_id="s5", dump_task_id=dump, **POLL), end("edge", "dump_task_id")),
        (
            CssLogBackupOperator(task_id="o1", cluster_id=DEFAULT_CSS_CLUSTER, find_timeout=10, **POLL),
            end("css", "record_id"),
        ),
        (CloudDCLogExportOperator(task_id="o2", server_id=DEFAULT_CLOUDDC_SERVER, **POLL), end("clouddc", "export_id")),
        (DisTransferTaskLogOperator(task_id="o3", transfer_task_id=DEFAULT_DIS_TASK_ID), lambda ids: None),
        (EdgeLogDumpOperator(task_id="o4", node_ids=[2], **POLL), end("edge", "dump_task_id")),
    ]


def assert_absent(secrets: list[str], seen: Seen, emulator: EmulatorHandle, output: str) -> None:
    issued = [token.value for token in TOKEN_CACHE._tokens.values()]
    everything = "\n".join([*seen.texts, output, json.dumps(emulator.admin.requests())])
    for secret in [*secrets, *issued]:
        assert secret not in everything, f"a secret ({secret[:4]}...) leaked"
    assert "SDK-HMAC-SHA256" not in everything  # an Authorization value
    assert "Signature=" not in everything


@pytest.mark.parametrize("kind", AUTH_KINDS)
@pytest.mark.parametrize("deferrable", [False, True], ids=["sync", "deferrable"])
def test_no_secret_in_any_output(
    emulator: EmulatorHandle,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    kind: str,
    deferrable: bool,
) -> None:
    secrets = use_auth(kind, emulator, monkeypatch)
    caplog.set_level(logging.INFO)  # Airflow's default; httpcore's DEBUG trace prints raw response headers
    seen = Seen()
    for task, finish in components(emulator, long=deferrable):
        if deferrable and isinstance(task, DisTransferTaskLogOperator):
            continue  # not a waiting operator
        run(task, seen, finish, deferrable)
    if kind == "password":
        assert TOKEN_CACHE._tokens, "the IAM token was fetched (and must be searched for)"
    captured = capsys.readouterr()
    assert_absent(secrets, seen, emulator, captured.out + captured.err + caplog.text)


@pytest.mark.parametrize("kind", AUTH_KINDS)
def test_no_secret_in_failures(
    emulator: EmulatorHandle,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    kind: str,
) -> None:
    """Rejected credentials, a vanished task, a bad body: the errors name the problem, not the secret."""
    secrets = use_auth(kind, emulator, monkeypatch)
    caplog.set_level(logging.INFO)  # Airflow's default; httpcore's DEBUG trace prints raw response headers
    seen = Seen()
    emulator.admin.add_fault("status", path_regex=r"/progress$", status=401, body=REJECTED, count=2)
    for task in (
        DcsBackgroundTaskSensor(task_id="f1", instance_id=DEFAULT_DCS_INSTANCE, dcs_task_id="f" * 32, **POLL),
        CssLogBackupSensor(task_id="f2", cluster_id=DEFAULT_CSS_CLUSTER, record_id="no-such-record", **POLL),
        CloudDCLogExportSensor(task_id="f3", server_id=DEFAULT_CLOUDDC_SERVER, export_id="999", **POLL),
    ):
        with pytest.raises(Exception):  # noqa: B017 - any failure; its text is what is checked
            run(task, seen, lambda ids: None, False)
    emulator.admin.add_fault("html_200", path_regex=r"/logs/records$", count=10)
    with pytest.raises(Exception):  # noqa: B017
        run(CssLogBackupSensor(task_id="f4", cluster_id=DEFAULT_CSS_CLUSTER, record_id="r", **POLL), seen, print, False)
    captured = capsys.readouterr()
    assert "APIGW.0301" in "\n".join(seen.texts)
    assert_absent(secrets, seen, emulator, captured.out + captured.err + caplog.text)


def test_inline_client_key_is_masked_and_not_in_outputs(
    emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The edge manager's client key given inline (PEM text in the connection) never shows."""
    conn = inline_edge_conn(emulator)
    key_text = conn["extra"]["client_private_key"]
    monkeypatch.setenv("AIRFLOW_CONN_EDGE_MANAGER_DEFAULT", json.dumps(conn))
    emulator.admin.set_outcome("edge", "succeed", duration=1e9)
    seen = Seen()
    finish = lambda ids: emulator.admin.set_outcome("edge", "succeed", duration=0, task_id=ids["dump_task_id"])  # noqa: E731
    run(EdgeLogDumpOperator(task_id="e", node_ids=[3], download_to=f"{tmp_path}/", **POLL), seen, finish, True)
    captured = capsys.readouterr()
    body = key_text.split("-----")[2].strip().splitlines()[0]
    everything = "\n".join([*seen.texts, captured.out, captured.err])
    assert "PRIVATE KEY" not in everything
    assert body not in everything
    assert (tmp_path / "edgeNodes.tar.gz").is_file()


@pytest.mark.parametrize("kind", AUTH_KINDS)
def test_no_secret_from_asset_watchers(
    emulator: EmulatorHandle,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    kind: str,
) -> None:
    """The event triggers: arguments, reprs, events, and the error a rejected check logs."""
    from airflow_provider.triggers import events
    from airflow_provider.triggers.events import CssLogBackupTrigger, DisDumpPeriodTrigger

    secrets = use_auth(kind, emulator, monkeypatch)
    caplog.set_level(logging.INFO)
    monkeypatch.setattr(events, "MIN_POLL_INTERVAL", 0.1)
    seen = Seen()
    emulator.admin.advance(3600)  # closes DIS periods; the seeded CSS backup ended long ago
    # Two: with IAM password auth the first 401 is answered by refreshing the token once.
    emulator.admin.add_fault("status", path_regex=r"/logs/records$", status=401, body=REJECTED, count=2)
    watchers: list[events.LogEventTrigger] = [
        DisDumpPeriodTrigger(transfer_task_id=DEFAULT_DIS_TASK_ID, poll_interval=0.2, start_from="earliest"),
        CssLogBackupTrigger(cluster_id=DEFAULT_CSS_CLUSTER, poll_interval=0.2, start_from="earliest"),
    ]

    async def first_event(trigger: events.LogEventTrigger) -> dict[str, Any]:
        stream = cast("AsyncGenerator[TriggerEvent, None]", trigger.run())
        try:
            payload: dict[str, Any] = (await asyncio.wait_for(stream.__anext__(), 30)).payload
            return payload
        finally:
            await stream.aclose()
            await close_shared_clients()

    for trigger in watchers:
        seen.add(list(trigger.serialize()))
        seen.add(repr(trigger))
        seen.add(asyncio.run(first_event(trigger)))
    captured = capsys.readouterr()
    output = captured.out + captured.err + caplog.text
    assert "APIGW.0301" in output  # the CSS watcher's rejected check was logged, then it went on
    assert_absent(secrets, seen, emulator, output)
