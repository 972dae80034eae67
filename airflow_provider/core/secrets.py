"""Where the secrets the provider reads or obtains are reported, so that logs mask them.

Every secret goes through ``register_secret``: connection passwords and secret keys, security
tokens, proxy passwords, inline private keys, and the IAM tokens the core fetches. Airflow's
``mask_secret`` is its sink whatever module was imported first: a triggerer imports only the
trigger module, never a hook, so the sink cannot wait for a hook to add it. The core keeps no
import of Airflow at module level; the sink is looked up on the first secret.

``fingerprint`` gives caches a key that tells credentials apart without holding them.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

_sinks: list[Callable[[str], None]] = []
#: Keys the fingerprints of this process: a fingerprint seen elsewhere (a dump, a log) cannot be
#: used to test guesses of the secret it was made from, as a bare SHA-256 could.
_FINGERPRINT_KEY = os.urandom(32)


def add_secret_sink(sink: Callable[[str], None]) -> None:
    """Also report every secret to ``sink`` (Airflow's ``mask_secret`` is added by itself)."""
    if sink not in _sinks:
        _sinks.append(sink)


@functools.cache  # once per process
def _add_airflow_sink() -> None:
    try:
        from airflow.sdk.log import mask_secret
    except ImportError:  # pragma: no cover - the core used without Airflow installed
        return
    add_secret_sink(mask_secret)


def register_secret(value: str | None, also: Callable[[str], None] | None = None) -> None:
    """Report ``value`` to every sink, and to ``also`` unless it is one of them already.

    :param value: the secret; None and "" are ignored.
    :param also: a caller's own sink (e.g. a test's), called once even if it is a registered one.
    """
    if not value:
        return
    _add_airflow_sink()
    for sink in _sinks:
        sink(value)
    if also is not None and also not in _sinks:
        also(value)


def fingerprint(*parts: str | None) -> str:
    """A keyed digest (HMAC-SHA256, per-process key) of ``parts``, for cache keys holding no secret.

    Each part is length-prefixed, so ``("ab", "c")`` and ``("a", "bc")`` differ, and None differs
    from "".
    """
    payload = "".join("-" if part is None else f"{len(part)}:{part}" for part in parts)
    return hmac.new(_FINGERPRINT_KEY, payload.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()
