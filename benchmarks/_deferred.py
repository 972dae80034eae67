"""N deferred waits in one asyncio loop, measured the way a triggerer would run them.

The parent (``run_case``) seeds the emulator, starts one child process per case and reads its
JSON result. The child (``python benchmarks/_deferred.py CASE.json``) imports everything
first, then runs the N triggers as ``TriggerRunner`` does (one asyncio task per trigger,
iterating ``run()`` until the first event), while it samples event-loop lag every 100 ms,
counts TCP connections opened on the loop and status calls sent, and reads its CPU time and
peak RSS.

Time scaling: the emulator runs at ``SPEED`` emulated seconds per real second, so a task of
2-5 emulated minutes ends 20-50 real seconds after it starts, while every trigger still
sleeps its real 10 s between polls. The poll *rate* (N / 10 per second) is therefore exactly
what a real triggerer sees with N waits at a 10 s interval; only the number of polls per
wait shrinks (3-6 instead of 12-30). Per-poll costs, per-wait memory and loop lag depend on
the rate and on N, not on how many polls each wait makes.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import REPO, client_cpus, percentile, pin, rss_kib

SPEED = 6.0
POLL_INTERVAL = 10.0
DURATION_RANGE = (120.0, 300.0)  # emulated seconds
DCS_INSTANCES = 20
CASE_TIMEOUT = 240.0  # real seconds a child may run before it gives up on unfinished waits


# ----------------------------------------------------------------------------------------------
# Parent side
# ----------------------------------------------------------------------------------------------
async def _admin_calls(url: str, calls: list[tuple[str, dict[str, Any]]], concurrency: int = 16) -> list[Any]:
    results: list[Any] = [None] * len(calls)
    queue = list(enumerate(calls))
    async with httpx.AsyncClient(base_url=url + "/_emulator", timeout=30) as client:

        async def worker() -> None:
            while queue:
                index, (path, body) = queue.pop()
                response = await client.post(path, json=body)
                response.raise_for_status()
                results[index] = response.json()

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return results


def durations(n: int, seed: int) -> list[float]:
    rng = random.Random(seed)
    return [rng.uniform(*DURATION_RANGE) for _ in range(n)]


def seed_ours(url: str, n: int, seed: int) -> list[dict[str, Any]]:
    """Half DCS background tasks, half CSS log backups (one cluster each), 2-5 emulated minutes."""
    asyncio.run(_admin_calls(url, [("/reset", {})], concurrency=1))
    instances = [f"bench-dcs-{i:04d}" for i in range(DCS_INSTANCES)]
    n_css = n // 2
    clusters = [f"bench-css-{i:05d}" for i in range(n_css)]
    resources = [("/resources/dcs_instances", {"id": i}) for i in instances]
    resources += [("/resources/css_clusters", {"id": c}) for c in clusters]
    asyncio.run(_admin_calls(url, resources))
    lengths = durations(n, seed)
    calls: list[tuple[str, dict[str, Any]]] = []
    for index in range(n):
        if index < n_css:
            calls.append(("/tasks/css", {"cluster_id": clusters[index], "duration": lengths[index]}))
        else:
            calls.append(("/tasks/dcs", {"instance_id": instances[index % DCS_INSTANCES], "duration": lengths[index]}))
    created = asyncio.run(_admin_calls(url, calls))
    specs = []
    for index, answer in enumerate(created):
        if index < n_css:
            specs.append({"service": "css", "ids": {"cluster_id": clusters[index], "record_id": answer["id"]}})
        else:
            instance = instances[index % DCS_INSTANCES]
            specs.append({"service": "dcs", "ids": {"instance_id": instance, "dcs_task_id": answer["id"]}})
    return specs


def seed_http(
    url: str, project_id: str, n: int, seed: int
) -> tuple[list[dict[str, Any]], list[tuple[float, str, str]]]:
    """The anchor waits on the same DCS progress URLs; each answers 404 until its task is created
    (the ``HttpSensorTrigger`` contract), which happens after the task's planned duration."""
    asyncio.run(_admin_calls(url, [("/reset", {})], concurrency=1))
    instances = [f"bench-dcs-{i:04d}" for i in range(DCS_INSTANCES)]
    asyncio.run(_admin_calls(url, [("/resources/dcs_instances", {"id": i}) for i in instances]))
    specs, plan = [], []
    for index, length in enumerate(durations(n, seed)):
        instance = instances[index % DCS_INSTANCES]
        task_id = f"{index:032x}"
        specs.append({"endpoint": f"/v2/{project_id}/instances/{instance}/tasks/{task_id}/progress"})
        plan.append((length / SPEED, instance, task_id))
    plan.sort()
    return specs, plan


def _create_on_schedule(url: str, plan: list[tuple[float, str, str]], started: float, stop: threading.Event) -> None:
    with httpx.Client(base_url=url + "/_emulator", timeout=30) as client:
        for due, instance, task_id in plan:
            delay = started + due - time.monotonic()
            if delay > 0 and stop.wait(delay):
                return
            client.post("/tasks/dcs", json={"instance_id": instance, "id": task_id, "duration": 0})


def run_case(
    kind: str,
    n: int,
    specs: list[dict[str, Any]],
    env: dict[str, str],
    plan: list[tuple[float, str, str]] | None = None,
    url: str = "",
) -> dict[str, Any]:
    workdir = Path(tempfile.gettempdir()) / "huaweicloud-provider-bench"
    workdir.mkdir(parents=True, exist_ok=True)
    case = workdir / f"{kind}-{n}.json"
    case.write_text(json.dumps({"kind": kind, "n": n, "specs": specs}), encoding="utf-8")
    out = case.with_suffix(".out.json")
    out.unlink(missing_ok=True)
    log = case.with_suffix(".log")
    with log.open("w") as log_file:
        child = subprocess.Popen(
            [sys.executable, __file__, str(case), str(out)],
            stdout=subprocess.PIPE,
            stderr=log_file,
            text=True,
            cwd=REPO,
            env={**os.environ, **env},
        )
        assert child.stdout is not None
        stop = threading.Event()
        creator: threading.Thread | None = None
        for line in child.stdout:
            if line.strip() == "READY" and plan is not None:
                creator = threading.Thread(
                    target=_create_on_schedule, args=(url, plan, time.monotonic(), stop), daemon=True
                )
                creator.start()
        child.wait()
        stop.set()
        if creator is not None:
            creator.join(timeout=5)
    if child.returncode != 0 or not out.exists():
        raise RuntimeError(f"{kind} N={n} failed (exit {child.returncode}); see {log}")
    result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    for path in (case, out):
        path.unlink(missing_ok=True)
    return result


# ----------------------------------------------------------------------------------------------
# Child side
# ----------------------------------------------------------------------------------------------
def _ours(specs: list[dict[str, Any]], counter: list[int]) -> tuple[list[Any], Any]:
    from airflow_provider.core.async_transport import AsyncTransport, close_shared_clients
    from airflow_provider.triggers.task import HuaweiCloudTaskTrigger

    send = AsyncTransport.send

    async def counted(self: AsyncTransport, request: Any) -> Any:
        counter[0] += 1
        return await send(self, request)

    AsyncTransport.send = counted  # type: ignore[method-assign]
    deadline = time.time() + 3600
    policy = {"kind": "fixed", "poke_interval": POLL_INTERVAL, "min_interval": POLL_INTERVAL}
    triggers = [
        HuaweiCloudTaskTrigger(
            service=spec["service"],
            conn_id="huaweicloud_default",
            ids=spec["ids"],
            deadline=deadline,
            poll_policy=policy,
        )
        for spec in specs
    ]
    return triggers, close_shared_clients


def _http(specs: list[dict[str, Any]], counter: list[int]) -> tuple[list[Any], Any]:
    from airflow.providers.http.hooks.http import HttpAsyncHook
    from airflow.providers.http.triggers.http import HttpSensorTrigger

    run = HttpAsyncHook.run

    async def counted(self: HttpAsyncHook, *args: Any, **kwargs: Any) -> Any:
        counter[0] += 1
        try:
            return await run(self, *args, **kwargs)
        except Exception as exc:
            if not str(exc).startswith("404") and counter[0] < 1000:
                print(f"anchor error: {type(exc).__name__}: {str(exc)[:200]}", file=sys.stderr)
            raise

    HttpAsyncHook.run = counted  # type: ignore[method-assign]
    headers = {"X-Auth-Token": os.environ["BENCH_TOKEN"], "Content-Type": "application/json"}
    triggers = [
        HttpSensorTrigger(
            endpoint=spec["endpoint"],
            http_conn_id="http_bench",
            method="GET",
            headers=headers,
            poke_interval=POLL_INTERVAL,
        )
        for spec in specs
    ]

    async def nothing() -> None:
        return None

    return triggers, nothing


async def _measure(kind: str, specs: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: PLR0915
    loop = asyncio.get_running_loop()
    n = len(specs)
    opened = [0]
    create_connection = loop.create_connection

    async def counting_create_connection(*args: Any, **kwargs: Any) -> Any:
        opened[0] += 1
        return await create_connection(*args, **kwargs)

    loop.create_connection = counting_create_connection  # type: ignore[method-assign]
    polls = [0]
    gc_pauses: list[float] = []
    gc_started = [0.0]

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if info.get("generation") != 2:
            return
        if phase == "start":
            gc_started[0] = time.perf_counter()
        else:
            gc_pauses.append(time.perf_counter() - gc_started[0])

    gc.collect()
    if os.environ.get("BENCH_GC_FREEZE"):
        gc.freeze()
    gc.callbacks.append(on_gc)
    rss_before = rss_kib()
    cpu_before = time.process_time()
    usage_before = resource.getrusage(resource.RUSAGE_SELF)
    began = time.perf_counter()
    triggers, cleanup = _ours(specs, polls) if kind == "ours" else _http(specs, polls)
    events: dict[int, Any] = {}
    finished_at: list[float] = []
    lags: list[float] = []
    stop = asyncio.Event()

    lag_times: list[float] = []

    async def sample_lag() -> None:
        while not stop.is_set():
            start = loop.time()
            await asyncio.sleep(0.1)
            lags.append(loop.time() - start - 0.1)
            lag_times.append(start)

    async def drive(index: int, trigger: Any) -> None:
        # Deferrals arrive spread over one poll interval, as tasks defer one after another.
        await asyncio.sleep(index * POLL_INTERVAL / n)
        async with contextlib.aclosing(trigger.run()) as events_of_trigger:
            async for event in events_of_trigger:
                events[index] = event.payload
                finished_at.append(time.perf_counter())
                break

    sampler = asyncio.create_task(sample_lag())
    tasks = [asyncio.create_task(drive(i, t)) for i, t in enumerate(triggers)]
    print("READY", flush=True)
    _done, pending = await asyncio.wait(tasks, timeout=CASE_TIMEOUT)
    for task in pending:
        task.cancel()
    stop.set()
    await sampler
    wall = time.perf_counter() - began
    gc.callbacks.remove(on_gc)
    settled = [lag for at, lag in zip(lag_times, lags, strict=True) if at - lag_times[0] >= 2 * POLL_INTERVAL]
    cpu = time.process_time() - cpu_before
    usage = resource.getrusage(resource.RUSAGE_SELF)
    peak = rss_kib("VmHWM")
    await cleanup()
    if kind == "ours":
        ok = sum(1 for e in events.values() if isinstance(e, dict) and e.get("status") == "success")
    else:
        ok = sum(1 for e in events.values() if e is True)
    statuses: dict[str, int] = {}
    for event in events.values():
        key = str(event.get("status") if isinstance(event, dict) else event)
        statuses[key] = statuses.get(key, 0) + 1
    return {
        "kind": kind,
        "n": n,
        "finished": len(events),
        "succeeded": ok,
        "event_statuses": statuses,
        "polls": polls[0],
        "cpu_seconds": round(cpu, 3),
        "cpu_ms_per_poll": round(1000 * cpu / max(1, polls[0]), 4),
        "user_cpu_seconds": round(usage.ru_utime - usage_before.ru_utime, 3),
        "system_cpu_seconds": round(usage.ru_stime - usage_before.ru_stime, 3),
        "rss_before_mib": round(rss_before / 1024, 1),
        "peak_rss_mib": round(peak / 1024, 1),
        "peak_rss_kib_per_wait": round((peak - rss_before) / n, 2),
        "loop_lag_p50_ms": round(1000 * percentile(lags, 50), 2),
        "loop_lag_p99_ms": round(1000 * percentile(lags, 99), 2),
        "loop_lag_max_ms": round(1000 * max(lags, default=0.0), 2),
        "lag_samples": len(lags),
        "loop_lag_p99_after_arrivals_ms": round(1000 * percentile(settled, 99), 2),
        "full_gc_pauses": len(gc_pauses),
        "full_gc_max_ms": round(1000 * max(gc_pauses, default=0.0), 2),
        "connections_opened": opened[0],
        "wall_seconds_to_all_done": round((max(finished_at) if finished_at else time.perf_counter()) - began, 2),
        "wall_seconds": round(wall, 2),
    }


def child_main(case_path: str, out_path: str) -> int:
    pin(0, client_cpus())
    case = json.loads(Path(case_path).read_text(encoding="utf-8"))
    # Import what a triggerer has loaded before it runs triggers, outside the measurement.
    import airflow.sdk
    import airflow.triggers.base

    if case["kind"] == "ours":
        import airflow_provider.core.async_transport
        import airflow_provider.core.exchange
        import airflow_provider.hooks.connection_config
        import airflow_provider.services.css
        import airflow_provider.services.dcs
        import airflow_provider.services.registry
        import airflow_provider.triggers.task  # noqa: F401
    else:
        import aiohttp  # noqa: F401
        import airflow.providers.http.triggers.http  # noqa: F401
    profile_to = os.environ.get("BENCH_PROFILE")
    if profile_to:
        import cProfile

        profiler = cProfile.Profile()
        result = profiler.runcall(asyncio.run, _measure(case["kind"], case["specs"]))
        profiler.dump_stats(profile_to)
    else:
        result = asyncio.run(_measure(case["kind"], case["specs"]))
    Path(out_path).write_text(json.dumps(result), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(child_main(sys.argv[1], sys.argv[2]))
