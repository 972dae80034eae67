"""``python -m airflow_provider.emulator``: start the emulator and print how to use it."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from dataclasses import replace
from typing import TYPE_CHECKING

from airflow_provider.emulator.config import EmulatorConfig
from airflow_provider.emulator.connections import dumps, huaweicloud_password_conn
from airflow_provider.emulator.server import EmulatorServer

if TYPE_CHECKING:
    from collections.abc import Sequence
    from types import FrameType


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m airflow_provider.emulator",
        description="Local emulator of Huawei Cloud IAM, CSS, DCS, DIS, CloudDC and the MEF edge manager.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--tls", action="store_true", help="also serve the edge manager over mutual TLS")
    parser.add_argument("--tls-port", type=int, default=0)
    parser.add_argument(
        "--obs", action="store_true", help="start an S3-compatible server (moto) as OBS; CSS and DIS write to it"
    )
    parser.add_argument("--obs-url", help="use this S3-compatible server as OBS instead of starting one")
    parser.add_argument(
        "--download-bytes", type=int, default=0, help="pad CloudDC log export downloads to this length (benchmarks)"
    )
    parser.add_argument("--speed", type=float, default=1.0, help="emulated seconds per real second")
    parser.add_argument("--seed", type=int, default=0, help="seed for ids, outcomes and fault rates")
    parser.add_argument("--config", help="JSON file overriding identities, durations and quirks")
    parser.add_argument("--quirk", action="append", default=[], metavar="NAME=VALUE")
    return parser


def build_config(args: argparse.Namespace) -> EmulatorConfig:
    """The ``EmulatorConfig`` the command line asks for.

    The ``--config`` file (or the defaults), with ``--speed``, ``--seed``, ``--quirk`` and ``--download-bytes`` applied.

    :raises ValueError: an unknown quirk or form, or an unknown key in the config file.
    """
    base = EmulatorConfig.from_file(args.config) if args.config else EmulatorConfig()
    quirks = dict(item.split("=", 1) for item in args.quirk)
    return replace(
        base,
        speed=args.speed,
        seed=args.seed,
        quirks=base.quirks.updated(**quirks),
        download_bytes=args.download_bytes or base.download_bytes,
    )


def describe(server: EmulatorServer) -> str:
    """What the CLI prints once the server is up: URLs, connections, identities, ending with ``EMULATOR_READY=1``."""
    ids = server.config.identities
    lines = [
        f"EMULATOR_URL={server.url}",
        f"EMULATOR_EDGE_URL={server.edge_listener.url}",
        *([f"EMULATOR_OBS_URL={server.obs_url}"] if server.obs_url else []),
        f"AIRFLOW_CONN_HUAWEICLOUD_DEFAULT='{dumps(server.huaweicloud_conn())}'",
        f"AIRFLOW_CONN_EDGE_MANAGER_DEFAULT='{dumps(server.edge_conn())}'",
        "",
        "# Identities accepted by this emulator (test values, not secrets of any real account):",
        f"#   AK/SK      {ids.access_key} / {ids.secret_key}",
        f"#   IAM user   domain={ids.domain_name} user={ids.user_name} password={ids.password}",
        f"#   project    {ids.project_id} ({ids.region})",
        f"# Password-auth connection: '{dumps(huaweicloud_password_conn(ids, server.url, server.obs_url))}'",
        f"# Resources: {server.state.resources()}",
        f"# Admin API: {server.url}/_emulator/ (reset, faults, outcomes, clock, requests, quirks)",
        f"# speed={server.config.speed} seed={server.config.seed}",
    ]
    if server.tls_files is not None:
        files = server.tls_files
        lines += [
            f"EMULATOR_TLS_CA_CERT={files.ca_cert}",
            f"EMULATOR_TLS_CLIENT_CERT={files.client_cert}",
            f"EMULATOR_TLS_CLIENT_KEY={files.client_key}",
        ]
    lines.append("EMULATOR_READY=1")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the emulator until SIGINT or SIGTERM (``python -m airflow_provider.emulator``).

    :param argv: the arguments; ``sys.argv[1:]`` if None.
    :return: the exit status: 0 after a clean stop, 1 if the server stopped by itself, 2 for a bad configuration.
    """
    args = _parser().parse_args(argv)
    try:
        config = build_config(args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    server = EmulatorServer(
        config,
        host=args.host,
        port=args.port,
        tls=args.tls,
        tls_port=args.tls_port,
        obs=args.obs,
        obs_url=args.obs_url,
    )
    try:
        server.start()
        print(describe(server), flush=True)
        while not stop.wait(0.5):
            if not server.running:
                print("emulator stopped unexpectedly", file=sys.stderr, flush=True)
                return 1
        server.stop()
    finally:
        if server.tls_files is not None:
            server.tls_files.remove()  # the test CA's and the client's private keys go with the emulator
    print("emulator stopped", flush=True)
    return 0
