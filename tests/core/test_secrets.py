"""Where secrets go (Airflow's masker, whatever was imported) and the fingerprints caches key by."""

from __future__ import annotations

import secrets as random_secrets
import subprocess
import sys

from airflow_provider.core.secrets import fingerprint, register_secret


def test_register_secret_reaches_airflows_masker_with_no_sink_added() -> None:
    """In a fresh process that imports only the core: no hook ever added a sink."""
    script = (
        "import sys\n"
        "from airflow_provider.core.secrets import register_secret\n"
        "register_secret(sys.argv[1])\n"
        "from airflow.sdk.log import redact\n"
        "assert not any(name.startswith('airflow_provider.hooks') for name in sys.modules)\n"
        "print(redact(f'a {sys.argv[1]} b'), '|', redact(f'a {sys.argv[2]} b'))\n"
    )
    secret, other = random_secrets.token_hex(8), random_secrets.token_hex(8)
    done = subprocess.run(
        [sys.executable, "-c", script, secret, other], capture_output=True, text=True, check=False, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == f"a *** b | a {other} b"


def test_a_caller_sink_is_called_once(secret_sink: list[str]) -> None:
    seen: list[str] = []
    register_secret("one-secret-value", also=seen.append)
    register_secret("two-secret-value", also=secret_sink.append)  # already a sink: not twice
    assert seen == ["one-secret-value"]
    assert secret_sink.count("two-secret-value") == 1


def test_fingerprints_tell_parts_apart_and_hold_no_secret() -> None:
    password = "Pa55word-" + random_secrets.token_hex(4)
    digest = fingerprint("user", password)
    assert password not in digest
    assert len(digest) == 64
    assert digest == fingerprint("user", password)
    assert len({fingerprint("ab", "c"), fingerprint("a", "bc"), fingerprint("abc"), fingerprint("ab", "c", None)}) == 4
    assert fingerprint(None) != fingerprint("") != fingerprint("-")
