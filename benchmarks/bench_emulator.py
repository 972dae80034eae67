"""Throughput of the emulator's hot path: a signed (or token) GET of DCS task progress.

The emulator runs as its own process (pinned to one CPU when the machine has more), and a
lean asyncio client on keep-alive connections replays pre-built requests, so the number
measures the server, not the client. Results: a table on stdout and
``benchmarks/results/emulator.json``.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from airflow_provider.core.signing import sign_headers

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results" / "emulator.json"
DURATION = float(os.environ.get("BENCH_SECONDS", "3"))
CASES = [("aksk", 1), ("aksk", 16), ("aksk", 64), ("token", 16)]
DCS_INSTANCE = "5560df16-cebf-4473-95c4-d1b573c16e79"


def start_emulator() -> tuple[subprocess.Popen[str], dict[str, str]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "airflow_provider.emulator", "--port", "0", "--seed", "1"],
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


def pin(pid: int, cpus: set[int]) -> bool:
    if not hasattr(os, "sched_setaffinity"):
        return False
    try:
        os.sched_setaffinity(pid, cpus)
    except OSError:
        return False
    return True


def build_request(url: str, conn: dict[str, Any], mode: str, task_id: str) -> bytes:
    host = url.split("://", 1)[1]
    project = conn["extra"]["project_id"]
    path = f"/v2/{project}/instances/{DCS_INSTANCE}/tasks/{task_id}/progress"
    if mode == "token":
        body = {
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {
                        "user": {
                            "domain": {"name": "emulator-domain"},
                            "name": "emulator-user",
                            "password": "Emulator@Pass1",
                        }
                    },
                },
                "scope": {"project": {"id": project}},
            }
        }
        token = httpx.post(f"{url}/v3/auth/tokens", json=body).headers["X-Subject-Token"]
        headers = {"Host": host, "X-Auth-Token": token}
    else:
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
    lines = [f"GET {path} HTTP/1.1", *(f"{k}: {v}" for k, v in headers.items()), "", ""]
    return "\r\n".join(lines).encode("latin-1")


async def worker(host: str, port: int, request: bytes, stop_at: float, counts: list[int]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < stop_at:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            counts[0 if status == 200 else 1] += 1
    finally:
        writer.close()


async def hammer(url: str, request: bytes, connections: int) -> tuple[int, int, float]:
    host, port = url.split("://", 1)[1].rsplit(":", 1)
    counts = [0, 0]
    began = time.perf_counter()
    stop_at = began + DURATION
    await asyncio.gather(*(worker(host, int(port), request, stop_at, counts) for _ in range(connections)))
    return counts[0], counts[1], time.perf_counter() - began


def main() -> int:
    proc, values = start_emulator()
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    pinned = len(cpus) >= 2 and pin(proc.pid, {cpus[0]}) and pin(0, set(cpus[1:]))
    try:
        url = values["EMULATOR_URL"]
        conn = json.loads(values["AIRFLOW_CONN_HUAWEICLOUD_DEFAULT"])
        admin = httpx.Client(base_url=url + "/_emulator")
        task_id = admin.post("/tasks/dcs", json={"instance_id": DCS_INSTANCE, "duration": 3600}).json()["id"]
        rows: list[dict[str, Any]] = []
        for mode, connections in CASES:
            request = build_request(url, conn, mode, task_id)
            asyncio.run(hammer(url, request, connections))  # warm-up pass is the same code path
            ok, errors, elapsed = asyncio.run(hammer(url, request, connections))
            rows.append(
                {
                    "auth": mode,
                    "connections": connections,
                    "requests": ok + errors,
                    "errors": errors,
                    "seconds": round(elapsed, 3),
                    "requests_per_second": round(ok / elapsed, 1),
                }
            )
        admin.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)
    print(f"{'auth':<6} {'conns':>5} {'requests':>9} {'errors':>6} {'req/s':>9}")
    for row in rows:
        print(
            f"{row['auth']:<6} {row['connections']:>5} {row['requests']:>9} {row['errors']:>6} "
            f"{row['requests_per_second']:>9.1f}"
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "benchmark": "emulator DCS progress GET",
        "server_pinned_to_one_cpu": pinned,
        "seconds_per_case": DURATION,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": len(cpus),
        "results": rows,
    }
    RESULTS.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS.relative_to(ROOT.parent)}")
    best = max(float(r["requests_per_second"]) for r in rows)
    target_ok = all(r["errors"] == 0 for r in rows) and best >= 2000
    return 0 if target_ok else 1


if __name__ == "__main__":
    sys.exit(main())
