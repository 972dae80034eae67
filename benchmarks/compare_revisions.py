"""Benchmark 1's deferred waits run with an older provider and with this one, in turns.

For a change on the measured path (the HTTP client, signing, parsing): the same harness, emulator
and seeds, only the provider differs. The older provider is a tree exported from git::

    git archive <commit> | tar -x -C /tmp/baseline
    BENCH_BASELINE_TREE=/tmp/baseline python benchmarks/compare_revisions.py

Each turn runs the baseline, then this tree, ``BENCH_REPEATS`` (3) times per N in
``BENCH_TRIGGER_SIZES`` (1000); the ratio is taken of the medians, and per turn, since this
machine's speed drifts by a fifth or more over minutes. ``BENCH_WITH_ANCHOR=1`` adds benchmark 2's
``HttpSensorTrigger`` run to each turn, so both trees' ratios to the anchor come from the same turns.
Not part of ``make bench`` (it needs the
baseline tree). ``BENCH_BASELINE_LABEL`` names the baseline in the results (e.g. its commit).
Results: ``benchmarks/results/revisions.json``.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
from pathlib import Path
from typing import Any

from _common import REPO, Emulator, print_table, write_result
from _deferred import SPEED, run_case, seed_ours
from bench_http_anchor import run_anchor

SIZES = [int(v) for v in os.environ.get("BENCH_TRIGGER_SIZES", "1000").split(",")]
REPEATS = int(os.environ.get("BENCH_REPEATS", "3"))


def main() -> int:
    baseline = os.environ.get("BENCH_BASELINE_TREE")
    if not baseline:
        print("set BENCH_BASELINE_TREE to an exported tree of the commit to compare with", file=sys.stderr)
        return 2
    trees = {"baseline": Path(baseline).resolve(), "this tree": REPO}
    with_anchor = os.environ.get("BENCH_WITH_ANCHOR") == "1"
    rows: list[dict[str, Any]] = []
    runs: list[dict[str, Any]] = []
    with Emulator(speed=SPEED, seed=1) as emulator:
        project_id = json.loads(emulator.aksk_conn)["extra"]["project_id"]
        for n in SIZES:
            cpu: dict[str, list[float]] = {name: [] for name in trees}
            anchor: list[float] = []
            for turn in range(REPEATS):
                if with_anchor:
                    result = run_anchor(emulator, project_id, n)
                    result.update(turn=turn, tree="anchor")
                    runs.append(result)
                    anchor.append(result["cpu_ms_per_poll"])
                    print(json.dumps(result), flush=True)
                for name, tree in trees.items():
                    specs = seed_ours(emulator.url, n, seed=n)
                    env = {"AIRFLOW_CONN_HUAWEICLOUD_DEFAULT": emulator.aksk_conn, "PYTHONPATH": str(tree)}
                    result = run_case("ours", n, specs, env)
                    result.update(turn=turn, tree=name)
                    runs.append(result)
                    cpu[name].append(result["cpu_ms_per_poll"])
                    print(json.dumps(result), flush=True)
            medians = {name: statistics.median(values) for name, values in cpu.items()}
            vs_anchor = {}
            if anchor:
                vs_anchor = {
                    "anchor_cpu_ms_per_poll": anchor,
                    "baseline_to_anchor": round(medians["baseline"] / statistics.median(anchor), 3),
                    "this_tree_to_anchor": round(medians["this tree"] / statistics.median(anchor), 3),
                }
            rows.append(
                {
                    **vs_anchor,
                    "n": n,
                    "baseline_cpu_ms_per_poll": cpu["baseline"],
                    "this_tree_cpu_ms_per_poll": cpu["this tree"],
                    "ratio_of_medians": round(medians["this tree"] / medians["baseline"], 3),
                    "ratio_per_turn": [
                        round(new / old, 3) for old, new in zip(cpu["baseline"], cpu["this tree"], strict=True)
                    ],
                }
            )
    print_table(
        ["N", "baseline CPU ms/poll (turns)", "this tree CPU ms/poll (turns)", "this/baseline", "per turn"],
        [
            [
                r["n"],
                " / ".join(f"{v:.3f}" for v in r["baseline_cpu_ms_per_poll"]),
                " / ".join(f"{v:.3f}" for v in r["this_tree_cpu_ms_per_poll"]),
                r["ratio_of_medians"],
                " ".join(f"{v:.2f}" for v in r["ratio_per_turn"]),
            ]
            for r in rows
        ],
    )
    write_result(
        "revisions",
        {
            "benchmark": "benchmark 1's deferred waits, an older provider and this one in turns",
            "baseline": os.environ.get("BENCH_BASELINE_LABEL", str(trees["baseline"])),
            "emulator_speed": SPEED,
            "results": rows,
            "runs": runs,
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
