"""Helpers every benchmark shares: the emulator process, CPU pinning, tables and result files."""

from __future__ import annotations

import json
import os
import platform
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
REPO = ROOT.parent
RESULTS_DIR = ROOT / "results"
PASSWORD_CONN_PREFIX = "# Password-auth connection: "


def cpus() -> list[int]:
    return sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []


def pin(pid: int, wanted: set[int]) -> bool:
    """Pin ``pid`` (0: this process) to ``wanted`` CPUs; False where the OS does not allow it."""
    if not hasattr(os, "sched_setaffinity") or not wanted:
        return False
    try:
        os.sched_setaffinity(pid, wanted)
    except OSError:
        return False
    return True


def server_cpu() -> set[int]:
    """The emulator gets the first CPU; clients get the others (all of them on a 1-CPU box)."""
    available = cpus()
    return {available[0]} if len(available) >= 2 else set(available)


def client_cpus() -> set[int]:
    available = cpus()
    return set(available[1:]) if len(available) >= 2 else set(available)


@dataclass
class Emulator:
    """``python -m airflow_provider.emulator`` in its own process, pinned to one CPU."""

    speed: float = 1.0
    seed: int = 1
    extra_args: list[str] = field(default_factory=list)
    proc: subprocess.Popen[str] | None = None
    values: dict[str, str] = field(default_factory=dict)
    pinned: bool = False

    def start(self) -> Emulator:
        args = ["--port", "0", "--seed", str(self.seed), "--speed", str(self.speed), *self.extra_args]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "airflow_provider.emulator", *args], stdout=subprocess.PIPE, text=True, cwd=REPO
        )
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            text = line.strip()
            if text.startswith(PASSWORD_CONN_PREFIX):
                self.values["PASSWORD_CONN"] = text[len(PASSWORD_CONN_PREFIX) :].strip("'")
                continue
            key, sep, value = text.partition("=")
            if sep and not key.startswith("#"):
                self.values[key] = value.strip("'")
            if key == "EMULATOR_READY":
                self.pinned = len(cpus()) >= 2 and pin(self.proc.pid, server_cpu())
                return self
        raise RuntimeError("emulator exited before it was ready")

    @property
    def url(self) -> str:
        return self.values["EMULATOR_URL"]

    @property
    def aksk_conn(self) -> str:
        return self.values["AIRFLOW_CONN_HUAWEICLOUD_DEFAULT"]

    @property
    def password_conn(self) -> str:
        return self.values["PASSWORD_CONN"]

    def cpu_seconds(self) -> float:
        """User + system CPU the emulator process used so far (Linux ``/proc``)."""
        assert self.proc is not None
        return proc_cpu_seconds(self.proc.pid)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def proc_cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def rss_kib(kind: str = "VmRSS") -> int:
    """This process's resident set (``VmRSS``) or its peak (``VmHWM``), in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(kind + ":"):
            return int(line.split()[1])
    return 0


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def machine() -> dict[str, Any]:
    try:
        from importlib.metadata import version

        airflow_version = version("apache-airflow")
    except Exception:
        airflow_version = "?"
    mem_total = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_total = int(line.split()[1])
    except OSError:
        pass
    return {
        "cpus": len(cpus()) or os.cpu_count(),
        "memory_gib": round(mem_total / 2**20, 1),
        "python": platform.python_version(),
        "airflow": airflow_version,
        "machine": platform.machine(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
    }


def print_table(columns: list[str], rows: list[list[Any]]) -> None:
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) if cells else len(c) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(columns, widths, strict=True))))
    for row in cells:
        print("  ".join(v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(row, widths, strict=True))))


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value)


def write_result(name: str, report: dict[str, Any]) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps({"machine": machine(), **report}, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {path.relative_to(REPO)}")
    return path


def read_result(name: str) -> dict[str, Any] | None:
    path = RESULTS_DIR / f"{name}.json"
    if not path.exists():
        return None
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data
