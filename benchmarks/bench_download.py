"""Benchmark 9: downloading a 1 GiB archive, and archiving it into an S3-compatible store.

* Download: the emulator (its own process, pinned to one CPU) serves a CloudDC export padded to
  ``BENCH_DOWNLOAD_MIB`` (default 1024) MiB on loopback. In turns: the provider's download
  (``CloudDCHook.fetch_server_logs``: streamed to disk, SHA-256 in the same pass), each in a fresh
  process that reports its time and peak RSS growth, and ``curl -o`` of the same URL with the same
  signed headers. Goals: throughput >= 0.8x curl's (ratio of medians), RSS growth <= 64 MiB.
* Archive: the downloaded file into the emulator's S3-compatible server (moto, ``--obs``), in
  turns: the archive step's atomic, hashed upload (``objects.put_file``) against a plain s3fs
  ``put`` of the same file.

Prints a table and writes ``benchmarks/results/download.json``.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import REPO, ROOT, Emulator, client_cpus, pin, print_table, write_result

MIB = 1 << 20
SIZE_MIB = int(os.environ.get("BENCH_DOWNLOAD_MIB", "1024"))
TURNS = int(os.environ.get("BENCH_DOWNLOAD_TURNS", "3"))
SERVER = "a3b1c2d4-0000-4e5f-8a9b-emulator0001"
BUCKET = "huaweicloud-log-archive"

#: Run in a fresh interpreter: the provider's download, its wall time and its peak RSS growth.
OURS = """
import json, os, sys, time
from pathlib import Path
os.environ["AIRFLOW_CONN_HUAWEICLOUD_DEFAULT"] = sys.argv[1]
sys.path.insert(0, sys.argv[5])
from airflow_provider.hooks.clouddc import CloudDCHook
from _common import rss_kib
hook = CloudDCHook()
hook.transport  # the session exists before the baseline
before = rss_kib()
started = time.perf_counter()
got = hook.fetch_server_logs(sys.argv[2], sys.argv[3], Path(sys.argv[4]))
seconds = time.perf_counter() - started
print(json.dumps({"seconds": seconds, "bytes": got.size, "sha256": got.sha256,
                  "rss_growth_mib": (rss_kib("VmHWM") - before) / 1024}))
"""


def _export(conn: str) -> tuple[str, str, dict[str, str]]:
    """A completed export, its content URL and the signed headers a GET of it carries."""
    os.environ["AIRFLOW_CONN_HUAWEICLOUD_DEFAULT"] = conn
    from airflow_provider.core.transport import outgoing, resolve_target
    from airflow_provider.hooks.clouddc import CloudDCHook
    from airflow_provider.services import clouddc

    hook = CloudDCHook()
    export = hook.export_server_logs(SERVER)
    assert export.export_id
    while hook.get_server_log_export(SERVER, export.export_id).status != "completed":
        time.sleep(0.2)
    request = clouddc.download_request(hook.project_id, SERVER, export.export_id)
    target = resolve_target(hook.config.resolver("clouddc"), request)
    headers = hook.config.auth.apply(outgoing(request, target))
    hook.close()
    return export.export_id, target.url, headers


def _ours(conn: str, export_id: str, path: Path) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-c", OURS, conn, SERVER, export_id, str(path), str(ROOT)],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _curl(url: str, headers: dict[str, str], path: Path) -> float:
    argv = ["curl", "-sS", "--fail", "-o", str(path), url]
    for name, value in headers.items():
        argv += ["-H", f"{name}: {value}"]
    started = time.perf_counter()
    subprocess.run(argv, check=True)
    return time.perf_counter() - started


def _archive_turns(obs_url: str, source: Path, turns: int) -> tuple[list[float], list[float]]:
    """Seconds of ``objects.put_file`` and of a plain s3fs ``put`` of ``source``, in turns."""
    import s3fs

    from airflow_provider.objects import path_of, put_file

    plain = s3fs.S3FileSystem(
        key="bench",
        secret="bench",
        endpoint_url=obs_url,
        use_listings_cache=False,
        config_kwargs={"request_checksum_calculation": "when_required"},
    )
    ours_s, plain_s = [], []
    for turn in range(turns):
        target = path_of(f"obs://{BUCKET}/bench/ours-{turn}.bin")
        started = time.perf_counter()
        put_file(source, target)
        ours_s.append(time.perf_counter() - started)
        started = time.perf_counter()
        plain.put(str(source), f"{BUCKET}/bench/plain-{turn}.bin")
        plain_s.append(time.perf_counter() - started)
        target.unlink()
        plain.rm(f"{BUCKET}/bench/plain-{turn}.bin")
    return ours_s, plain_s


def main() -> int:
    if shutil.which("curl") is None:
        print("curl is not installed (apt-get install -y curl; `make bench` does): cannot measure the anchor")
        return 1
    size = SIZE_MIB * MIB
    folder = Path(tempfile.mkdtemp(prefix="bench-download-"))
    emulator = Emulator(speed=1000.0, extra_args=["--obs", "--download-bytes", str(size)])
    try:
        emulator.start()
        pin(0, client_cpus())
        conn = emulator.aksk_conn
        export_id, url, headers = _export(conn)
        ours, curl = [], []
        for turn in range(TURNS):
            got = _ours(conn, export_id, folder / f"ours-{turn}.tar.gz")
            assert got["bytes"] == size, got
            ours.append(got)
            curl.append(_curl(url, headers, folder / f"curl-{turn}.tar.gz"))
            assert (folder / f"curl-{turn}.tar.gz").stat().st_size == size
            (folder / f"curl-{turn}.tar.gz").unlink()
            if turn:
                (folder / f"ours-{turn}.tar.gz").unlink()
        ours_s = statistics.median(g["seconds"] for g in ours)
        curl_s = statistics.median(curl)
        rss = max(g["rss_growth_mib"] for g in ours)
        os.environ["AIRFLOW_CONN_HUAWEICLOUD_DEFAULT"] = conn
        put_ours, put_plain = _archive_turns(emulator.values["EMULATOR_OBS_URL"], folder / "ours-0.tar.gz", TURNS)
    finally:
        emulator.stop()
        shutil.rmtree(folder, ignore_errors=True)
    mib_s = SIZE_MIB / ours_s
    ratio = (SIZE_MIB / ours_s) / (SIZE_MIB / curl_s)
    put_ratio = statistics.median(put_plain) / statistics.median(put_ours)
    rows = [
        ["download, ours (MiB/s, median)", round(mib_s, 1)],
        ["download, curl -o (MiB/s, median)", round(SIZE_MIB / curl_s, 1)],
        ["throughput ratio ours/curl (goal >= 0.8)", round(ratio, 3)],
        ["peak RSS growth, ours (MiB, worst turn; goal <= 64)", round(rss, 1)],
        ["archive put_file (MiB/s, median)", round(SIZE_MIB / statistics.median(put_ours), 1)],
        ["plain s3fs put (MiB/s, median)", round(SIZE_MIB / statistics.median(put_plain), 1)],
        ["archive throughput ratio ours/plain", round(put_ratio, 3)],
    ]
    print(f"{SIZE_MIB} MiB archive, {TURNS} turns each, emulator pinned: {emulator.pinned}")
    print_table(["measure", "value"], rows)
    write_result(
        "download",
        {
            "size_mib": SIZE_MIB,
            "turns": TURNS,
            "ours_seconds": [g["seconds"] for g in ours],
            "curl_seconds": curl,
            "rss_growth_mib": [g["rss_growth_mib"] for g in ours],
            "ratio": ratio,
            "put_file_seconds": put_ours,
            "s3fs_put_seconds": put_plain,
            "put_ratio": put_ratio,
            "goals_met": {"throughput": ratio >= 0.8, "rss": rss <= 64},
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
