"""``make demo``: run the archival DAG end to end against the local emulator, then summarize.

Starts the emulator on a free port with its S3-compatible OBS (``--obs``: the downloads are
staged there and the CSS and DIS logs land there), runs ``airflow dags test example_log_archival``
in a throwaway AIRFLOW_HOME (SQLite) with the archive root in a local folder that outlives the run,
prints what happened, and always stops the emulator (also on failure or Ctrl-C). Exit code 0 only
if the pipeline succeeded.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DAG_ID = "example_log_archival"
EMULATOR_SPEED = "120"
STARTUP_TIMEOUT = 60
RUN_TIMEOUT = 600
PROGRESS = re.compile(
    r"(Edge log dump|CloudDC log export|CSS log backup|DCS background task|DIS transfer task)"
    r" \S+: [A-Z_]+.*?(?=\s+\[|$)"
)


def start_emulator(env: dict[str, str]) -> tuple[subprocess.Popen[str], dict[str, str]]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "airflow_provider.emulator",
            "--port",
            "0",
            "--speed",
            EMULATOR_SPEED,
            "--seed",
            "7",
            "--obs",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    found: dict[str, str] = {}
    deadline = time.monotonic() + STARTUP_TIMEOUT
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the emulator exited early (code {proc.poll()})")
        if "=" in line and not line.startswith("#"):
            key, _, value = line.strip().partition("=")
            found[key] = value.strip("'")
        if line.startswith("EMULATOR_READY"):
            return proc, found
    raise RuntimeError("the emulator did not start within 60 s")


def stop(proc: subprocess.Popen[str] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def main() -> int:
    started = time.monotonic()
    home = Path(tempfile.mkdtemp(prefix="hwc-demo-airflow-"))
    work = Path(tempfile.mkdtemp(prefix="hwc-demo-"))
    archive_root = work / "archive"
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "example_dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        "AIRFLOW_VAR_HUAWEICLOUD_LOG_ARCHIVE_ROOT": f"file://{archive_root}",
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    emulator = None
    print(f"== Huawei Cloud logs provider demo (Airflow home {home})")
    try:
        emulator, found = start_emulator(env)
        print(f"== emulator running at {found['EMULATOR_URL']}, its OBS (S3-compatible) at {found['EMULATOR_OBS_URL']}")
        env["AIRFLOW_CONN_HUAWEICLOUD_DEFAULT"] = found["AIRFLOW_CONN_HUAWEICLOUD_DEFAULT"]
        env["AIRFLOW_CONN_EDGE_MANAGER_DEFAULT"] = found["AIRFLOW_CONN_EDGE_MANAGER_DEFAULT"]
        subprocess.run(
            [str(BIN / "airflow"), "db", "migrate"], env=env, check=True, capture_output=True, text=True, timeout=180
        )
        print(f"== running `airflow dags test {DAG_ID}` (deferrable waits run in line)")
        run = subprocess.run(
            [str(BIN / "airflow"), "dags", "test", DAG_ID],
            check=False,
            env=env,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
        )
        output = run.stdout + run.stderr
        (work / "airflow-dags-test.log").write_text(output)
        return summarize(output, run.returncode, archive_root, work, time.monotonic() - started)
    except KeyboardInterrupt:
        print("\n== interrupted")
        return 130
    except (RuntimeError, subprocess.SubprocessError, KeyError) as exc:
        print(f"== demo failed: {exc}")
        return 1
    finally:
        stop(emulator)
        print("== emulator stopped")
        shutil.rmtree(home, ignore_errors=True)


def summarize(output: str, returncode: int, archive_root: Path, work: Path, seconds: float) -> int:
    print("\n-- progress (one line per change):")
    seen: set[str] = set()
    for match in PROGRESS.finditer(output):
        line = match.group(0).strip()
        if line not in seen:
            seen.add(line)
            print(f"   {line}")
    manifests = sorted(archive_root.rglob("manifest.json"))
    manifest = json.loads(manifests[-1].read_text()) if manifests else None
    print("\n-- collections archived:")
    if manifest:
        for entry in manifest["collections"]:
            files = [item for item in entry.get("files", []) if item.get("status") == "archived"]
            extra = f", {len(files)} file(s), {sum(item['bytes'] for item in files)} bytes"
            if entry.get("failed_nodes"):
                extra += f", failed nodes: {entry['failed_nodes']}"
            print(f"   {entry['task']:<20} {entry['state']:<18} ids={entry['remote_ids']}{extra}")
            for item in files[:3]:
                print(f"      {item['source']} -> {item['archived_to']} (sha256 {item['sha256'][:12]}...)")
            if len(files) > 3:
                print(f"      ... and {len(files) - 3} more (manifest.json lists them all)")
        for failure in manifest.get("failures", []):
            print(f"   FAILED {failure['task']}: {failure['error']}")
    for state_line in re.findall(r"DagRun Finished:.*", output)[-1:]:
        print(f"   {state_line.strip()[:200]}")
    ok = returncode == 0 and bool(manifest and manifest.get("ok")) and "state=success" in output.replace(" ", "")
    print("\n-- result:")
    print(f"   archive root : {archive_root}")
    print(f"   manifest     : {manifests[-1] if manifests else 'not written'}")
    print(f"   full log     : {work / 'airflow-dags-test.log'}")
    print(f"   took         : {seconds:.1f} s")
    print(f"   pipeline     : {'SUCCEEDED' if ok else 'FAILED'}")
    if not ok:
        print("\n-- last lines of the run:")
        for line in output.strip().splitlines()[-25:]:
            print(f"   {line}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
