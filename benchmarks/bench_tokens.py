"""Benchmark 3: IAM token reuse across hook instances and triggers (``auth_type=password``).

One process holds 50 ``HuaweiCloudHook`` instances poking from 8 threads and 200
``HuaweiCloudTaskTrigger``s polling in an asyncio loop, at the same time, from a cold token
cache, for about 1,000 status calls in all. The emulator's request log counts the IAM token
requests. Run 1 uses the default 24 h token lifetime: exactly one token request. Run 2 makes
tokens live 8 s with a 2 s refresh margin (``token_refresh_margin``) over ~20 s of polling:
one token request per 6 s window, never two within a window.
Results: ``benchmarks/results/tokens.json``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from _common import Emulator, print_table, write_result

from airflow_provider.testing.admin_client import AdminClient

HOOKS, THREADS, TRIGGERS, INSTANCE = 50, 8, 200, "bench-tokens"


def run_round(admin: AdminClient, seconds: float, poll: float) -> dict[str, Any]:
    from airflow_provider.core.async_transport import close_shared_clients
    from airflow_provider.core.auth import TOKEN_CACHE
    from airflow_provider.hooks.base import HuaweiCloudHook
    from airflow_provider.services.registry import status_exchange
    from airflow_provider.triggers.task import HuaweiCloudTaskTrigger

    TOKEN_CACHE.clear()
    admin.clear_requests()
    hooks = [HuaweiCloudHook() for _ in range(HOOKS)]
    project = hooks[0].config.project_id
    long_task = admin.create_task("dcs", instance_id=INSTANCE, duration=3600)
    trigger_tasks = [admin.create_task("dcs", instance_id=INSTANCE, duration=seconds) for _ in range(TRIGGERS)]
    pokes = [0]
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds
    sync_budget = 500

    def poke(index: int) -> None:
        hook = hooks[index % HOOKS]
        while time.monotonic() < stop_at:
            with lock:
                if pokes[0] >= sync_budget:
                    return
                pokes[0] += 1
            hook.run(status_exchange("dcs", project, {"instance_id": INSTANCE, "dcs_task_id": long_task}))
            time.sleep(seconds * THREADS / sync_budget)

    async def triggers() -> None:
        policy = {"kind": "fixed", "poke_interval": poll, "min_interval": poll}

        async def drive(task_id: str) -> None:
            trigger: Any = HuaweiCloudTaskTrigger(
                service="dcs",
                conn_id="huaweicloud_default",
                ids={"instance_id": INSTANCE, "dcs_task_id": task_id},
                deadline=time.time() + 600,
                poll_policy=policy,
            )
            async with contextlib.aclosing(trigger.run()) as events:
                async for _event in events:
                    break

        await asyncio.gather(*(drive(t) for t in trigger_tasks))
        await close_shared_clients()

    with ThreadPoolExecutor(THREADS) as pool:
        futures = [pool.submit(poke, i) for i in range(THREADS * 4)]
        asyncio.run(triggers())
        for future in futures:
            future.result()
    for hook in hooks:
        hook.close()
    log = admin.requests()
    iam = [e for e in log if e["path"].endswith("/v3/auth/tokens") and e["method"] == "POST"]
    dcs = [e for e in log if "/progress" in e["path"]]
    return {
        "status_calls": len(dcs),
        "sync_pokes": pokes[0],
        "trigger_polls": len(dcs) - pokes[0],
        "iam_token_requests": len(iam),
        "iam_request_times": [round(e["time"] - iam[0]["time"], 2) for e in iam],
        "span_seconds": round(max(e["time"] for e in dcs) - min(e["time"] for e in log), 2) if dcs else 0,
    }


def main() -> int:
    with Emulator(speed=1.0, seed=1) as emulator:
        conn = json.loads(emulator.password_conn)
        admin = AdminClient(emulator.url)
        admin.create_resource("dcs_instances", id=INSTANCE)
        rows = []
        os.environ["AIRFLOW_CONN_HUAWEICLOUD_DEFAULT"] = json.dumps(conn)
        first = run_round(admin, seconds=8.0, poll=1.0)
        first.update(case="24 h tokens", lifetime_s=86400, margin_s=1800, expected=1)
        first["goal_met"] = first["iam_token_requests"] == 1
        rows.append(first)
        lifetime, margin = 8.0, 2.0
        conn["extra"]["token_refresh_margin"] = margin
        os.environ["AIRFLOW_CONN_HUAWEICLOUD_DEFAULT"] = json.dumps(conn)
        admin.set_token_lifetime(lifetime)
        second = run_round(admin, seconds=20.0, poll=1.0)
        window = lifetime - margin
        times = second["iam_request_times"]
        gaps = [b - a for a, b in itertools.pairwise(times)]
        expected = int(second["span_seconds"] // window) + 1
        second.update(case="8 s tokens, 2 s margin", lifetime_s=lifetime, margin_s=margin, expected=expected)
        second["min_gap_s"] = round(min(gaps), 2) if gaps else None
        second["goal_met"] = all(gap >= window - 0.5 for gap in gaps) and second["iam_token_requests"] <= expected
        rows.append(second)
        admin.close()
    print_table(
        ["case", "status calls", "sync pokes", "trigger polls", "IAM requests", "expected", "goal"],
        [
            [
                r["case"],
                r["status_calls"],
                r["sync_pokes"],
                r["trigger_polls"],
                r["iam_token_requests"],
                r["expected"],
                r["goal_met"],
            ]
            for r in rows
        ],
    )
    write_result(
        "tokens",
        {
            "benchmark": "IAM token requests for many hooks and triggers in one process",
            "hooks": HOOKS,
            "threads": THREADS,
            "triggers": TRIGGERS,
            "goal": "exactly one IAM token request per token lifetime",
            "results": rows,
        },
    )
    return 0 if all(r["goal_met"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
