"""Benchmark 2: the same N deferred waits with ``apache-airflow-providers-http``'s ``HttpSensorTrigger``.

Both run against the same emulator and DCS progress URLs, at the same 10 s poll interval and
2-5 emulated minutes per wait (see ``_deferred.py``). ``HttpSensorTrigger`` fires on the first
non-404 answer, so each URL answers 404 until its task is created at the planned finish. It
sends a static ``X-Auth-Token`` (no signing); ours signs every request with AK/SK, parses the
body and derives a status, so the comparison is conservative for ours.
Goal: ours <= 1/5 of its CPU per poll. Results: ``benchmarks/results/http_anchor.json``.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import httpx
from _common import Emulator, print_table, read_result, write_result
from _deferred import SPEED, run_case, seed_http

SIZES = [int(v) for v in os.environ.get("BENCH_TRIGGER_SIZES", "1000,5000,10000").split(",")]
CPU_RATIO_GOAL = 0.2


def token(emulator: Emulator) -> str:
    conn = json.loads(emulator.password_conn)
    body = {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {
                    "user": {
                        "domain": {"name": conn["extra"]["domain_name"]},
                        "name": conn["login"],
                        "password": conn["password"],
                    }
                },
            },
            "scope": {"project": {"id": conn["extra"]["project_id"]}},
        }
    }
    return httpx.post(f"{emulator.url}/v3/auth/tokens", json=body).headers["X-Subject-Token"]


def main() -> int:
    ours = {r["n"]: r for r in (read_result("triggers") or {}).get("results", [])}
    rows: list[dict[str, Any]] = []
    with Emulator(speed=SPEED, seed=1) as emulator:
        project_id = json.loads(emulator.aksk_conn)["extra"]["project_id"]
        for n in SIZES:
            specs, plan = seed_http(emulator.url, project_id, n, seed=n)
            env = {  # a reset forgets tokens: fetch one after seeding
                "AIRFLOW_CONN_HTTP_BENCH": json.dumps({"conn_type": "http", "host": emulator.url}),
                "BENCH_TOKEN": token(emulator),
            }
            result = run_case("http", n, specs, env, plan=plan, url=emulator.url)
            rows.append(result)
            print(json.dumps(result), flush=True)
    table = []
    for row in rows:
        mine = ours.get(row["n"])
        row["ours_cpu_ms_per_poll"] = mine["cpu_ms_per_poll"] if mine else None
        row["cpu_per_poll_ratio"] = round(mine["cpu_ms_per_poll"] / row["cpu_ms_per_poll"], 3) if mine else None
        row["memory_per_wait_ratio"] = (
            round(mine["peak_rss_kib_per_wait"] / row["peak_rss_kib_per_wait"], 3)
            if mine and row["peak_rss_kib_per_wait"] > 0
            else None
        )
        row["goal_met"] = row["cpu_per_poll_ratio"] is not None and row["cpu_per_poll_ratio"] <= CPU_RATIO_GOAL
        table.append(
            [
                row["n"],
                row["polls"],
                row["cpu_ms_per_poll"],
                row["ours_cpu_ms_per_poll"],
                row["cpu_per_poll_ratio"],
                row["peak_rss_kib_per_wait"],
                row["memory_per_wait_ratio"],
                row["loop_lag_p99_ms"],
                row["connections_opened"],
                f"{row['finished']}/{row['n']}",
                row["goal_met"],
            ]
        )
    print_table(
        [
            "N",
            "polls",
            "http CPU ms/poll",
            "ours CPU ms/poll",
            "ours/http CPU",
            "http KiB/wait",
            "ours/http mem",
            "http lag p99 ms",
            "http conns",
            "done",
            "goal",
        ],
        table,
    )
    write_result(
        "http_anchor",
        {
            "benchmark": "HttpSensorTrigger (apache-airflow-providers-http) on the same waits",
            "emulator_speed": SPEED,
            "poll_interval_seconds": 10,
            "goal": "ours <= 1/5 of HttpSensorTrigger's CPU per poll",
            "ours_from": "benchmarks/results/triggers.json",
            "results": rows,
        },
    )
    return 0 if rows and all(r["goal_met"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
