"""Benchmark 8: a triggerer holding 1,000 edge waits with client certificates, round after round.

Each round starts ``BENCH_EDGE_WAITS`` (1,000) ``HuaweiCloudTaskTrigger`` edge waits in one asyncio
loop against the emulator's mutual-TLS listener, spread over four connections: two with the same
inline PEM text (what users paste), one with file paths, one with the PEM pasted into the
single-line form field (line breaks lost). The waits poll one MEF dump task (MEF runs one at a
time) every ``POLL`` seconds until the round ends it; then the next round starts ``BENCH_EDGE_WAITS``
new waits. ``BENCH_EDGE_ROUNDS`` (5) rounds stand for a day of waits coming and going.

Sampled every second: the loop's lean connection pools (each holds an SSL context with the private
key loaded), the private temp folders of inline PEM files (``hwc-edge-tls-*``), open file
descriptors and RSS. Goal: pools and folders bounded by the distinct certificate sets (3 and 2
here), not by the waits, and nothing left once the waits are gone.

The MEF throttle's 100 ms spacing is set to 0 in the measured process: it paces requests to a real
MEF (10 per second per client) and would make a round of 1,000 first polls last 100 s; pools and
files do not depend on it.

``BENCH_BASELINE_TREE=/path/to/an/exported/commit`` also runs the same rounds with that tree's
provider (``git archive <commit> | tar -x -C /path``), in turns with this one (baseline first);
``BENCH_BASELINE_LABEL`` names it in the results (e.g. the commit).
Results: ``benchmarks/results/edge_pools.json``.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import glob
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from _common import REPO, Emulator, print_table, rss_kib, write_result

WAITS = int(os.environ.get("BENCH_EDGE_WAITS", "1000"))
ROUNDS = int(os.environ.get("BENCH_EDGE_ROUNDS", "5"))
HOLD_SECONDS = float(os.environ.get("BENCH_EDGE_HOLD", "20"))
POLL = 5.0
FOLDER_GLOB = "hwc-edge-tls-*"


def connections(values: dict[str, str], key_name: str, single_line: bool) -> dict[str, str]:
    """The four connections of the waits, as ``AIRFLOW_CONN_*`` JSON."""
    edge = json.loads(values["AIRFLOW_CONN_EDGE_MANAGER_DEFAULT"])
    paths = {
        "client_cert": values["EMULATOR_TLS_CLIENT_CERT"],
        key_name: values["EMULATOR_TLS_CLIENT_KEY"],
        "ca_cert": values["EMULATOR_TLS_CA_CERT"],
    }
    inline = {name: Path(path).read_text() for name, path in paths.items()}
    variants = {"EDGE_INLINE_A": inline, "EDGE_INLINE_B": inline, "EDGE_PATHS": paths}
    if single_line:
        variants["EDGE_ONE_LINE"] = {name: "".join(text.splitlines()) for name, text in inline.items()}
    result = {}
    for conn_id, extra in variants.items():
        conn = {**edge, "extra": {**extra, "timeout": [10, 30]}}
        result[f"AIRFLOW_CONN_{conn_id}"] = json.dumps(conn)
    return result


def run_tree(tree: Path, values: dict[str, str]) -> dict[str, Any]:
    """The rounds in a fresh process whose ``airflow_provider`` comes from ``tree``."""
    env = {**os.environ, "BENCH_EMULATOR": json.dumps(values), "PYTHONPATH": str(tree)}
    env.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="bench-edge-airflow-"))
    env.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    out = Path(tempfile.mkdtemp(prefix="bench-edge-")) / "result.json"
    done = subprocess.run(
        [sys.executable, __file__, "--child", str(out)], env=env, cwd=tree, text=True, check=False, timeout=3600
    )
    if done.returncode != 0 or not out.exists():
        raise RuntimeError(f"edge pools run for {tree} failed (exit {done.returncode})")
    result: dict[str, Any] = json.loads(out.read_text())
    result["tree"] = "this tree" if tree == REPO else os.environ.get("BENCH_BASELINE_LABEL", str(tree))
    return result


def main() -> int:
    trees = [REPO]
    baseline = os.environ.get("BENCH_BASELINE_TREE")
    if baseline:
        trees.insert(0, Path(baseline).resolve())
    runs = []
    with Emulator(speed=1.0, seed=3, extra_args=["--tls"]) as emulator:
        for tree in trees:
            runs.append(run_tree(tree, emulator.values))
            print(json.dumps(runs[-1]), flush=True)
    rows = [
        [
            run["tree"],
            run["waits"],
            run["events"],
            run["max_pools"],
            run["max_folders"],
            run["max_fds"],
            run["rss_growth_kib"],
            run["pools_after"],
            run["folders_after"],
        ]
        for run in runs
    ]
    print_table(
        [
            "provider",
            "waits",
            "events ok",
            "max pools",
            "max PEM folders",
            "max fds",
            "RSS growth KiB",
            "pools after",
            "folders after",
        ],
        rows,
    )
    ours = runs[-1]
    goal = ours["max_pools"] <= ours["distinct_certificate_sets"] and ours["pools_after"] == 0
    goal = goal and ours["max_folders"] <= ours["distinct_inline_sets"] and ours["folders_after"] == 0
    write_result(
        "edge_pools",
        {
            "benchmark": "edge waits with client certificates held round after round in one loop",
            "waits_per_round": WAITS,
            "rounds": ROUNDS,
            "hold_seconds": HOLD_SECONDS,
            "poll_seconds": POLL,
            "goal": "pools and PEM folders bounded by the distinct certificate sets; none left after the waits",
            "goal_met": goal,
            "runs": runs,
        },
    )
    return 0 if goal else 1


# ----------------------------------------------------------------------------------------------
# Child side: the measured process
# ----------------------------------------------------------------------------------------------
async def _rounds(values: dict[str, str]) -> dict[str, Any]:
    from airflow_provider.core import async_transport
    from airflow_provider.core.throttle import EDGE_MANAGER_THROTTLE
    from airflow_provider.hooks import connection_config, pem_files
    from airflow_provider.triggers.task import HuaweiCloudTaskTrigger

    EDGE_MANAGER_THROTTLE.min_interval = 0.0
    key_name = getattr(connection_config, "CLIENT_PRIVATE_KEY", "client_key")
    single_line = hasattr(pem_files, "restore_pem")  # older trees cannot use a PEM without its line breaks
    conns = connections(values, key_name, single_line)
    os.environ.update(conns)
    conn_ids = [name.removeprefix("AIRFLOW_CONN_").lower() for name in conns]
    loop = asyncio.get_running_loop()
    admin = httpx.AsyncClient(base_url=values["EMULATOR_URL"] + "/_emulator", timeout=30)
    samples: list[dict[str, int]] = []
    stop = asyncio.Event()

    def sample() -> dict[str, int]:
        return {
            "pools": sum(1 for pool in async_transport._pools.get(loop, {}).values() if pool is not None),
            "folders": len(glob.glob(os.path.join(tempfile.gettempdir(), FOLDER_GLOB))),
            "fds": len(os.listdir("/proc/self/fd")),
            "rss_kib": rss_kib(),
        }

    async def sampler() -> None:
        while not stop.is_set():
            samples.append(sample())
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)

    async def wait_for(trigger: Any, delay: float) -> str:
        await asyncio.sleep(delay)
        async with contextlib.aclosing(trigger.run()) as events:
            async for event in events:
                return str(event.payload["status"])
        return "none"

    gc.collect()
    folders_before = sample()["folders"]
    rss_before = rss_kib()
    watcher = asyncio.create_task(sampler())
    statuses: list[str] = []
    policy = {"kind": "fixed", "poke_interval": POLL, "min_interval": POLL}
    for _round in range(ROUNDS):
        await admin.post("/outcomes", json={"service": "edge", "outcome": "succeed", "duration": 1e9})
        created = await admin.post("/tasks/mef", json={"nodes": [1]})
        created.raise_for_status()
        task_id = created.json()["id"]
        waits = [
            asyncio.create_task(
                wait_for(
                    HuaweiCloudTaskTrigger(
                        service="edge",
                        conn_id=conn_ids[index % len(conn_ids)],
                        ids={"dump_task_id": task_id},
                        deadline=time.time() + 3600,
                        poll_policy=policy,
                    ),
                    index * POLL / WAITS,  # deferrals arrive spread over one poll interval
                )
            )
            for index in range(WAITS)
        ]
        await asyncio.sleep(HOLD_SECONDS)
        await admin.post("/outcomes", json={"service": "edge", "outcome": "succeed", "duration": 0, "task_id": task_id})
        statuses += await asyncio.gather(*waits)
    await asyncio.sleep(1.5)  # a sample after the last wait let go
    stop.set()
    await watcher
    await admin.aclose()
    after = sample()
    await async_transport.close_shared_clients()
    return {
        "waits": WAITS * ROUNDS,
        "waits_per_round": WAITS,
        "connections": conn_ids,
        "distinct_certificate_sets": 3 if single_line else 2,  # the two inline connections share one
        "distinct_inline_sets": 2 if single_line else 1,
        "events": f"{statuses.count('success')}/{len(statuses)}",
        "max_pools": max(s["pools"] for s in samples),
        "max_folders": max(s["folders"] for s in samples) - folders_before,
        "max_fds": max(s["fds"] for s in samples),
        "rss_growth_kib": max(s["rss_kib"] for s in samples) - rss_before,
        "pools_after": after["pools"],
        "folders_after": after["folders"] - folders_before,
        "samples_every_10_s": samples[::10],  # (the maxima above are over all the 1 s samples)
    }


def child(out: Path) -> None:
    values = json.loads(os.environ["BENCH_EMULATOR"])
    os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "ERROR")
    import airflow.sdk  # noqa: F401 - what a triggerer has loaded before its waits

    import airflow_provider.triggers.task  # noqa: F401

    result = asyncio.run(_rounds(values))
    out.write_text(json.dumps(result), encoding="utf-8")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        child(Path(sys.argv[2]))
        sys.exit(0)
    sys.exit(main())
