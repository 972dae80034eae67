"""Soak: thousands of deferrable waits in one triggerer loop, through injected 5xx and 429.

``HuaweiCloudTaskTrigger.run()`` is driven for N DCS tasks at once on one event loop (what a
triggerer does), against the emulator in its own process. Each task has a planned outcome and
duration (1-30 emulated minutes); 5% of the status checks answer 503 and 1% answer 429. The run
checks that every trigger yields exactly one event and that it matches the task's true final
state, and samples this process's RSS to report its slope.

Emulated time is scaled with ``--speed`` (emulated seconds per real second): the default
``--speed 10`` runs 30 emulated minutes in 3 real minutes, polling every 60 emulated seconds
(6 real seconds), about N/6 requests per second. Not part of ``make test``; ``make bench`` runs it.
Results: a table on stdout and ``benchmarks/results/soak.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results" / "soak.json"
DCS_INSTANCE = "5560df16-cebf-4473-95c4-d1b573c16e79"


def start_emulator(speed: float, seed: int, log_size: int) -> tuple[subprocess.Popen[str], dict[str, str]]:
    config = Path(tempfile.mkdtemp(prefix="soak-emulator-")) / "config.json"
    config.write_text(json.dumps({"request_log_size": log_size}))  # every request counted, none dropped
    command = [sys.executable, "-m", "airflow_provider.emulator", "--port", "0", "--seed", str(seed)]
    proc = subprocess.Popen(
        [*command, "--speed", str(speed), "--config", str(config)],
        stdout=subprocess.PIPE,
        text=True,
    )
    values: dict[str, str] = {}
    assert proc.stdout is not None
    for line in proc.stdout:
        key, sep, value = line.strip().partition("=")
        if sep and not key.startswith("#"):
            values[key] = value.strip("'")
        if key == "EMULATOR_READY":
            return proc, values
    raise RuntimeError("emulator exited before it was ready")


def rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        pages = int(handle.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (minutes, MB): MB per real minute."""
    if len(points) < 2:
        return 0.0
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    var = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / var if var else 0.0


async def soak(args: argparse.Namespace, url: str) -> dict[str, Any]:
    import httpx

    from airflow_provider.core.async_transport import close_shared_clients
    from airflow_provider.triggers.task import HuaweiCloudTaskTrigger

    rng = random.Random(args.seed)
    admin = httpx.AsyncClient(base_url=f"{url}/_emulator", timeout=30)
    for status, rate in ((503, args.error_rate), (429, args.throttle_rate)):
        await admin.post("/faults", json={"kind": "status", "status": status, "rate": rate, "path_glob": "*/progress"})
    emulated_wait = args.minutes * 60
    planned: dict[str, str] = {}
    for _ in range(args.tasks):
        outcome = "fail" if rng.random() < 0.1 else "succeed"
        duration = rng.uniform(60, emulated_wait - 120)
        spec = {"outcome": outcome, "duration": duration, "instance_id": DCS_INSTANCE}
        response = await admin.post("/tasks/dcs", json=spec)
        response.raise_for_status()
        planned[response.json()["id"]] = "success" if outcome == "succeed" else "failed"
    await admin.delete("/requests")
    real_wait = emulated_wait / args.speed
    poll = args.poll / args.speed
    policy = {"kind": "fixed", "poke_interval": poll, "min_interval": poll, "factor": 2.0}
    deadline = time.time() + real_wait * 1.5 + 60
    events: dict[str, list[dict[str, Any]]] = {task_id: [] for task_id in planned}

    async def one(task_id: str) -> None:
        await asyncio.sleep(rng.uniform(0, poll))  # triggers arrive over a poll interval, not at once
        trigger = HuaweiCloudTaskTrigger(
            service="dcs",
            conn_id="huaweicloud_default",
            ids={"instance_id": DCS_INSTANCE, "dcs_task_id": task_id},
            deadline=deadline,
            poll_policy=policy,
        )
        async for event in trigger.run():
            events[task_id].append(event.payload)

    samples: list[tuple[float, float]] = []
    started = time.monotonic()

    async def sample() -> None:
        while True:
            samples.append(((time.monotonic() - started) / 60, rss_mb()))
            await asyncio.sleep(5)

    sampler = asyncio.create_task(sample())
    await asyncio.gather(*(one(task_id) for task_id in planned))
    elapsed = time.monotonic() - started
    sampler.cancel()
    samples.append(((time.monotonic() - started) / 60, rss_mb()))
    log = (await admin.get("/requests", params={"service": "dcs"})).json()["requests"]
    await admin.aclose()
    await close_shared_clients()

    lost = [t for t, got in events.items() if not got]
    duplicated = [t for t, got in events.items() if len(got) > 1]
    wrong = [t for t, got in events.items() if got and got[0]["status"] != planned[t]]
    statuses = Counter(r["status"] for r in log)
    kinds = Counter(got[0]["status"] for got in events.values() if got)
    return {
        "tasks": args.tasks,
        "emulated_minutes": args.minutes,
        "speed": args.speed,
        "poll_emulated_s": args.poll,
        "injected": {"503_rate": args.error_rate, "429_rate": args.throttle_rate},
        "real_seconds": round(elapsed, 1),
        "requests": len(log),
        "requests_per_s": round(len(log) / elapsed, 1),
        "http_statuses": {str(k): v for k, v in sorted(statuses.items())},
        "events": dict(kinds),
        "lost": len(lost),
        "duplicated": len(duplicated),
        "wrong_final_state": len(wrong),
        "wrong_examples": [{"task": t, "planned": planned[t], "event": events[t][0]["message"]} for t in wrong[:5]],
        "rss_mb_start": round(samples[0][1], 1),
        "rss_mb_end": round(samples[-1][1], 1),
        "rss_mb_per_min": round(slope(samples[len(samples) // 4 :]), 2),  # after warm-up
        "rss_samples": len(samples),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=int(os.environ.get("SOAK_TASKS", "2000")))
    parser.add_argument("--minutes", type=float, default=float(os.environ.get("SOAK_MINUTES", "30")))
    parser.add_argument("--speed", type=float, default=float(os.environ.get("SOAK_SPEED", "10")))
    parser.add_argument("--poll", type=float, default=60.0, help="emulated seconds between checks of one task")
    parser.add_argument("--error-rate", type=float, default=0.05)
    parser.add_argument("--throttle-rate", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    home = tempfile.mkdtemp(prefix="soak-airflow-")
    os.environ.setdefault("AIRFLOW_HOME", home)
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "ERROR")  # 100k progress/retry lines are noise here
    os.environ.setdefault("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", f"sqlite:///{home}/airflow.db")
    proc, values = start_emulator(args.speed, args.seed, log_size=args.tasks * 200)
    try:
        conn = json.loads(values["AIRFLOW_CONN_HUAWEICLOUD_DEFAULT"])
        conn["extra"]["retry"] = {"base_delay": 0.2, "max_delay": 2.0, "max_attempts": 5, "max_elapsed": 60}
        conn["extra"]["timeout"] = [10, 30]
        os.environ["AIRFLOW_CONN_HUAWEICLOUD_DEFAULT"] = json.dumps(conn)
        import logging

        logging.getLogger("airflow_provider").setLevel(logging.ERROR)
        result = asyncio.run(soak(args, values["EMULATOR_URL"]))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    result["machine"] = {"python": platform.python_version(), "cpus": os.cpu_count()}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    rows = [
        ("tasks (concurrent triggers)", result["tasks"]),
        ("emulated minutes / speed", f"{result['emulated_minutes']:g} / {result['speed']:g}x"),
        ("real seconds", result["real_seconds"]),
        ("requests (req/s)", f"{result['requests']} ({result['requests_per_s']})"),
        ("HTTP statuses", result["http_statuses"]),
        ("events", result["events"]),
        ("lost / duplicated / wrong", f"{result['lost']} / {result['duplicated']} / {result['wrong_final_state']}"),
        ("RSS MB start -> end", f"{result['rss_mb_start']} -> {result['rss_mb_end']}"),
        ("RSS slope (MB/min after warm-up)", result["rss_mb_per_min"]),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    ok = result["lost"] == result["duplicated"] == result["wrong_final_state"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
