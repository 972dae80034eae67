"""Benchmark 5: CPU cost of one sync poke through our hook vs a bare signed ``requests`` GET.

Both run in this process against the emulator (its own process, its own CPU), on keep-alive
sessions, for the same DCS task progress URL with the same AK/SK signing. Ours goes
``HuaweiCloudHook.run(status_exchange(...))``: request building, signing, retry bookkeeping,
response checks, pydantic parsing and the ``TaskStatus``. The bare call only signs, GETs and
decodes the JSON. Rounds alternate between the two; the median round counts.
Goal: ours <= 1.3x the bare call. Results: ``benchmarks/results/sync.json``.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from typing import Any

import requests
from _common import Emulator, client_cpus, pin, print_table, write_result

from airflow_provider.core.signing import sign_headers

ROUNDS = 7
CALLS = int(os.environ.get("BENCH_SYNC_CALLS", "400"))
RATIO_GOAL = 1.3


def main() -> int:
    with Emulator(speed=1.0, seed=1) as emulator:
        pin(0, client_cpus())
        conn = json.loads(emulator.aksk_conn)
        os.environ["AIRFLOW_CONN_HUAWEICLOUD_DEFAULT"] = emulator.aksk_conn
        project = conn["extra"]["project_id"]
        admin = requests.Session()
        admin.post(f"{emulator.url}/_emulator/resources/dcs_instances", json={"id": "bench-sync"}).raise_for_status()
        answer = admin.post(
            f"{emulator.url}/_emulator/tasks/dcs", json={"instance_id": "bench-sync", "duration": 86400}
        )
        task_id = answer.json()["id"]
        ids = {"instance_id": "bench-sync", "dcs_task_id": task_id}

        from airflow_provider.hooks.base import HuaweiCloudHook
        from airflow_provider.services.registry import status_exchange

        hook = HuaweiCloudHook()
        host = emulator.url.split("://", 1)[1]
        path = f"/v2/{project}/instances/bench-sync/tasks/{task_id}/progress"
        session = requests.Session()

        def ours() -> None:
            hook.run(status_exchange("dcs", project, ids))

        def bare() -> None:
            headers = sign_headers(
                method="GET",
                host=host,
                path=path,
                query=[],
                headers={"Content-Type": "application/json"},
                body=b"",
                access_key=conn["login"],
                secret_key=conn["password"],
            )
            response = session.get(emulator.url + path, headers=headers, timeout=10)
            response.raise_for_status()
            response.json()

        def unpooled() -> None:
            headers = sign_headers(
                method="GET",
                host=host,
                path=path,
                query=[],
                headers={"Content-Type": "application/json"},
                body=b"",
                access_key=conn["login"],
                secret_key=conn["password"],
            )
            requests.get(emulator.url + path, headers=headers, timeout=10).json()

        cases = {"ours (hook poke)": ours, "bare requests.Session.get": bare, "bare requests.get": unpooled}
        for call in cases.values():  # warm-up: connections, token-free caches, imports
            for _ in range(50):
                call()
        cpu: dict[str, list[float]] = {name: [] for name in cases}
        wall: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(ROUNDS):
            for name, call in cases.items():
                c0, w0 = time.process_time(), time.perf_counter()
                for _ in range(CALLS):
                    call()
                cpu[name].append((time.process_time() - c0) / CALLS)
                wall[name].append((time.perf_counter() - w0) / CALLS)
        hook.close()
    rows: list[dict[str, Any]] = []
    for name in cases:
        rows.append(
            {
                "case": name,
                "cpu_ms_per_poke": round(1000 * statistics.median(cpu[name]), 4),
                "wall_ms_per_poke": round(1000 * statistics.median(wall[name]), 4),
            }
        )
    base = rows[1]["cpu_ms_per_poke"]
    for row in rows:
        row["cpu_ratio_vs_session_get"] = round(row["cpu_ms_per_poke"] / base, 3)
    ratio = rows[0]["cpu_ratio_vs_session_get"]
    met = ratio <= RATIO_GOAL
    print_table(
        ["case", "CPU ms/poke", "wall ms/poke", "CPU ratio"],
        [[r["case"], r["cpu_ms_per_poke"], r["wall_ms_per_poke"], r["cpu_ratio_vs_session_get"]] for r in rows],
    )
    print(f"\nours / bare session GET: {ratio:.2f}x (goal <= {RATIO_GOAL}) -> {'met' if met else 'NOT met'}")
    write_result(
        "sync",
        {
            "benchmark": "sync poke: hook vs bare signed requests GET (DCS progress)",
            "rounds": ROUNDS,
            "calls_per_round": CALLS,
            "goal": "ours <= 1.3x CPU of a bare requests GET with the same signing",
            "ratio": ratio,
            "goal_met": met,
            "results": rows,
        },
    )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
