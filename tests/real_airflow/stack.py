"""A real Airflow deployment for one test: api-server, scheduler, dag-processor, triggerer.

LocalExecutor on SQLite (works in 3.3), parallelism 4, a throwaway AIRFLOW_HOME, the emulator in
its own process. Or CeleryExecutor (``start_celery``): a Redis broker started here on a free
loopback port and Celery workers, each with its own temp folder, queue and host name. Every process
is started here and stopped by PID, also when a test fails.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

BIN = Path(sys.executable).parent
COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _listening(port: int | None) -> bool:
    if port is None:
        return False
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        return True
    return False


def wait_for(
    predicate: Any, timeout: float, what: str, interval: float = 0.5, diagnose: Callable[[], str] | None = None
) -> Any:
    """``predicate()``'s first truthy value; a timeout names ``what`` and adds ``diagnose()``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    detail = f"\n{diagnose()}" if diagnose is not None else ""
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}{detail}")


_MIGRATED: list[Path] = []


def _migrated_database(stack: AirflowStack) -> Path:
    """A metadata database ``airflow db migrate`` made once per test session, copied by each stack
    (the migration is the same every time and costs seconds of CPU)."""
    if not _MIGRATED:
        folder = Path(tempfile.mkdtemp(prefix="hwc-airflow-db-"))
        env = {
            **stack.env,
            "AIRFLOW_HOME": str(folder),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{folder}/airflow.db",
        }
        subprocess.run([str(BIN / "airflow"), "db", "migrate"], env=env, capture_output=True, timeout=300, check=True)
        _MIGRATED.append(folder / "airflow.db")
    return _MIGRATED[0]


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path
    stopped: bool = False  # by the test (a kill it meant), not by a crash

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
        self.stopped = True
        if self.popen.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, sig)
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@dataclass
class AirflowStack:
    home: Path
    dags_folder: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    processes: dict[str, Process] = field(default_factory=dict)
    emulator: Process | None = None
    emulator_env: dict[str, str] = field(default_factory=dict)
    api_port: int = field(default_factory=free_port)
    # One JWT secret and Fernet key for every component, given (not left to the first component that
    # writes airflow.cfg: components starting together each made their own, "Invalid auth token").
    jwt_secret: str = field(default_factory=lambda: secrets.token_urlsafe(64))
    fernet_key: str = field(default_factory=lambda: base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())
    redis_port: int | None = None

    @property
    def env(self) -> dict[str, str]:
        env = {
            **os.environ,
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_folder),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor" if self.redis_port is None else "CeleryExecutor",
            "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.home}/airflow.db",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{self.api_port}/execution/",
            "AIRFLOW__API__PORT": str(self.api_port),
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API_AUTH__JWT_SECRET": self.jwt_secret,
            "AIRFLOW__CORE__FERNET_KEY": self.fernet_key,
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "1",
            "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD": "5",
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            **self.emulator_env,
            **self.celery_env,
            **self.extra_env,
        }
        env.pop("AIRFLOW__CORE__DAGS_FOLDER_OVERRIDE", None)
        env.pop("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST", None)  # the unit tests' bundles
        return env

    @property
    def celery_env(self) -> dict[str, str]:
        if self.redis_port is None:
            return {}
        broker = f"redis://127.0.0.1:{self.redis_port}"
        return {
            "AIRFLOW__CELERY__BROKER_URL": f"{broker}/0",
            "AIRFLOW__CELERY__RESULT_BACKEND": f"{broker}/1",
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": "2",
            # Each worker names itself (HWC_WORKER_NAME): the task instance's hostname says which ran it.
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": "hwc_worker_name.hostname",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(self.home), os.environ.get("PYTHONPATH")])),
        }

    def airflow(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN / "airflow"), *args], env=self.env, capture_output=True, text=True, timeout=timeout, check=True
        )

    def _spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> Process:
        log_path = self.home / f"{name}.out"
        handle = log_path.open("ab")
        popen = subprocess.Popen(
            argv,
            env={**self.env, **(env or {})},
            stdout=handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        handle.close()
        return Process(name, popen, log_path)

    def start_emulator(self, speed: float = 1.0, *, obs: bool = False) -> str:
        argv = [sys.executable, "-m", "airflow_provider.emulator", "--port", "0", "--speed", str(speed), "--seed", "3"]
        if obs:
            argv.append("--obs")
        self.emulator = self._spawn("emulator", argv)
        emulator = self.emulator
        text = wait_for(lambda: "EMULATOR_READY" in (t := emulator.log()) and t, 60, "the emulator")
        for line in text.splitlines():
            if line.startswith(("AIRFLOW_CONN_", "EMULATOR_URL=", "EMULATOR_OBS_URL=")):
                key, _, value = line.partition("=")
                self.emulator_env[key] = value.strip("'")
        return self.emulator_env["EMULATOR_URL"]

    def start(self, component: str) -> Process:
        process = self._spawn(component, [str(BIN / "airflow"), component])
        self.processes[component] = process
        return process

    def start_all(self) -> None:
        shutil.copyfile(_migrated_database(self), self.home / "airflow.db")
        for component in COMPONENTS:
            self.start(component)
        wait_for(self.api_ready, 120, "the api-server")

    def api_ready(self) -> bool:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.api_port), timeout=1):
            return True
        return False

    def start_celery(self, workers: dict[str, str]) -> None:
        """Redis on a free loopback port, then one Celery worker per ``{name: queue}``, each with a
        temp folder (``TMPDIR``) of its own: a task cannot see what another worker left on disk."""
        self.redis_port = free_port()
        self.processes["redis"] = self._spawn(
            "redis",
            ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        )
        wait_for(lambda: _listening(self.redis_port), 30, "redis-server")
        (self.home / "hwc_worker_name.py").write_text(
            "import os, socket\n\n\ndef hostname():\n    return os.environ.get('HWC_WORKER_NAME') or socket.getfqdn()\n"
        )
        for name, queue in workers.items():
            tmp = self.home / f"tmp-{name}"
            tmp.mkdir()
            argv = [str(BIN / "airflow"), "celery", "worker", "--celery-hostname", name, "--queues", queue]
            argv += ["--concurrency", "2", "--skip-serve-logs"]
            env = {"TMPDIR": str(tmp), "HWC_WORKER_NAME": name}
            self.processes[f"worker-{name}"] = self._spawn(f"worker-{name}", argv, env)

    def stop_all(self, grace: float = 5) -> None:
        """SIGTERM to every process group at once, SIGKILL to what still runs after ``grace`` seconds
        (one after the other, each component's own shutdown wait added up to minutes per test)."""
        everything = [*list(self.processes.values())[::-1], *([self.emulator] if self.emulator else [])]
        for process in everything:
            if process.popen.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.popen.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for process in everything:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.popen.wait(timeout=max(0.0, deadline - time.monotonic()))
            process.stop(signal.SIGKILL, timeout=10)

    def check_alive(self) -> None:
        """Raise, with its output, if a component has exited: a wait on a run would only time out."""
        for name, process in self.processes.items():
            code = process.popen.poll()
            if code is not None and not process.stopped:
                raise AssertionError(f"{name} exited with {code}:\n{process.log()[-3000:]}")

    def diagnose(self, dag_id: str, run_id: str, tail: int = 1500) -> str:
        """What a timed-out wait reports: the run's task states and the end of each component's output."""
        parts = [f"task states: {self.task_states(dag_id, run_id)}"]
        for name, process in {**self.processes, **({"emulator": self.emulator} if self.emulator else {})}.items():
            parts.append(f"--- {name} (exit {process.popen.poll()}) ---\n{process.log()[-tail:]}")
        parts.append(f"--- task logs ---\n{self.task_logs(dag_id, run_id)[-tail * 2 :]}")
        return "\n".join(parts)

    # Observing runs through the metadata database (fast; no CLI start-up per check).
    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with contextlib.closing(sqlite3.connect(self.home / "airflow.db", timeout=10)) as db:
            return db.execute(sql, params).fetchall()

    def run_state(self, dag_id: str, run_id: str) -> str | None:
        self.check_alive()
        rows = self.query("SELECT state FROM dag_run WHERE dag_id=? AND run_id=?", dag_id, run_id)
        return rows[0][0] if rows else None

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float, interval: float = 0.5) -> str:
        """The run's final state (success or failed); a timeout reports the run's tasks and components."""

        def finished() -> str | None:
            state = self.run_state(dag_id, run_id)
            return state if state in ("success", "failed") else None

        result: str = wait_for(
            finished, timeout, f"dag run {run_id}", interval, diagnose=lambda: self.diagnose(dag_id, run_id)
        )
        return result

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str | None]:
        self.check_alive()
        rows = self.query("SELECT task_id, state FROM task_instance WHERE dag_id=? AND run_id=?", dag_id, run_id)
        return {task_id: state for task_id, state in rows}

    def trigger(self, dag_id: str, conf: dict[str, Any] | None = None) -> str:
        run_id = f"manual__test_{secrets.token_hex(4)}"
        args = ["dags", "trigger", dag_id, "--run-id", run_id]
        if conf:
            args += ["--conf", json.dumps(conf)]
        self.airflow(*args)
        return run_id

    def clear_task(self, dag_id: str, run_id: str, task_id: str) -> None:
        """Clear one task instance as the UI's Clear button does (the REST API; the CLI's
        ``tasks clear`` selects runs by logical date, which a manually triggered run lacks)."""
        import httpx

        response = httpx.post(
            f"http://127.0.0.1:{self.api_port}/api/v2/dags/{dag_id}/clearTaskInstances",
            json={"dry_run": False, "only_failed": False, "task_ids": [task_id], "dag_run_id": run_id},
            timeout=30,
        )
        response.raise_for_status()
        cleared = response.json().get("task_instances", [])
        if not cleared:
            raise AssertionError(f"nothing cleared for {dag_id}/{run_id}/{task_id}: {response.text[:300]}")

    def task_logs(self, dag_id: str, run_id: str) -> str:
        folder = self.home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}"
        return (
            "\n".join(p.read_text(errors="replace") for p in sorted(folder.rglob("*.log"))) if folder.exists() else ""
        )
