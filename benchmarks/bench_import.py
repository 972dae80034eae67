"""Benchmark 6: what importing one sensor adds to DAG parsing, over ``import airflow.sdk``.

Each variant runs in a fresh interpreter, several times; the median counts. ``-X importtime``
gives the cumulative import time of everything the sensor import loads beyond airflow.sdk;
the wall time of the whole interpreter is reported too. The modules that must stay unloaded
(httpx clients of ours, other services, the emulator, fastapi) are checked as well.
Goal: < 50 ms added. Results: ``benchmarks/results/import.json``.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from typing import Any

from _common import REPO, print_table, write_result

RUNS = 7
GOAL_MS = 50.0
SENSORS = ["css", "dcs", "dis", "clouddc", "edge"]
FORBIDDEN_PREFIXES = ("airflow_provider.emulator", "fastapi", "airflow_provider.testing")
FORBIDDEN = ("airflow_provider.core.async_transport", "airflow_provider.triggers.task", "httpx")


def importtime_ms(statement: str) -> float:
    """Cumulative import time (ms) of the top-level imports ``statement`` adds after airflow.sdk."""
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import airflow.sdk; {statement}"],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=True,
    ).stderr
    total, after_sdk = 0, False
    for line in out.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _self, cumulative, raw_name = line.split("|", 2)
        cumulative, name = cumulative.strip(), raw_name.strip()
        if not cumulative.isdigit():
            continue
        top_level = not raw_name.startswith("  ")  # nested imports are indented by two more spaces
        if name == "airflow.sdk" and top_level:
            after_sdk = True
            continue
        if after_sdk and top_level:
            total += int(cumulative)
    return total / 1000


def wall_ms(statement: str) -> float:
    began = time.perf_counter()
    subprocess.run([sys.executable, "-c", statement], cwd=REPO, check=True, capture_output=True)
    return 1000 * (time.perf_counter() - began)


def loaded_after(statement: str) -> list[str]:
    code = (
        "import sys, json, airflow.sdk; before = set(sys.modules); "
        f"{statement}; print(json.dumps(sorted(set(sys.modules) - before)))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True, capture_output=True, text=True).stdout
    return list(json.loads(out.strip().splitlines()[-1]))


def main() -> int:
    rows: list[dict[str, Any]] = []
    baseline = statistics.median(wall_ms("import airflow.sdk") for _ in range(RUNS))
    for sensor in SENSORS:
        statement = f"import airflow_provider.sensors.{sensor}"
        added = statistics.median(importtime_ms(statement) for _ in range(RUNS))
        wall = statistics.median(wall_ms(f"import airflow.sdk; {statement}") for _ in range(RUNS))
        modules = loaded_after(statement)
        heavy = [m for m in modules if m in FORBIDDEN or m.startswith(FORBIDDEN_PREFIXES)]
        other_services = [m for m in modules if m.startswith("airflow_provider.services.")]
        rows.append(
            {
                "sensor": sensor,
                "importtime_added_ms": round(added, 1),
                "wall_ms": round(wall, 1),
                "wall_added_ms": round(wall - baseline, 1),
                "modules_added": len(modules),
                "heavy_modules_loaded": heavy,
                "service_modules_loaded": other_services,
                "goal_met": added < GOAL_MS and not heavy and not other_services,
            }
        )
    print(f"python -c 'import airflow.sdk': {baseline:.0f} ms wall (median of {RUNS})")
    print_table(
        ["sensor", "added (importtime) ms", "added (wall) ms", "modules", "heavy loaded", "goal"],
        [
            [
                r["sensor"],
                r["importtime_added_ms"],
                r["wall_added_ms"],
                r["modules_added"],
                ",".join(r["heavy_modules_loaded"] + r["service_modules_loaded"]) or "-",
                r["goal_met"],
            ]
            for r in rows
        ],
    )
    write_result(
        "import",
        {
            "benchmark": "DAG-parse import cost of one sensor over airflow.sdk",
            "runs": RUNS,
            "baseline_wall_ms": round(baseline, 1),
            "goal": "< 50 ms added; no httpx client, other service, emulator or fastapi module loaded",
            "results": rows,
        },
    )
    return 0 if all(r["goal_met"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
