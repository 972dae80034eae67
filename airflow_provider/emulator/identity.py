"""IAM state: users, permanent and temporary access keys, and issued tokens.

Secrets are looked up by access key in a dict so verifying a signature costs one lookup,
not a scan; the gateway's hot path depends on that.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from airflow_provider.emulator.config import Identities


@dataclass
class IssuedToken:
    value: str
    expires_at: float
    issued_at: float
    project_id: str


@dataclass
class TemporaryKey:
    access_key: str
    secret_key: str
    security_token: str
    expires_at: float


@dataclass(frozen=True)
class KeyLookup:
    secret_key: str
    security_token: str | None
    expires_at: float | None


class IdentityStore:
    def __init__(self, identities: Identities, token_lifetime: float) -> None:
        self.identities = identities
        self.token_lifetime = token_lifetime
        self._lock = threading.Lock()
        self._tokens: dict[str, IssuedToken] = {}
        self._permanent = {identities.access_key: identities.secret_key}
        self._temporary: dict[str, TemporaryKey] = {}

    def check_password(self, domain: str | None, user: str, password: str) -> bool:
        ids = self.identities
        domain_ok = domain in (None, ids.domain_name, ids.domain_id)
        return domain_ok and user == ids.user_name and secrets.compare_digest(password, ids.password)

    def project_matches(self, project_id: str | None, project_name: str | None) -> bool:
        return project_id == self.identities.project_id or project_name == self.identities.region

    def issue_token(self) -> IssuedToken:
        now = time.time()
        token = IssuedToken(
            value="MII" + secrets.token_urlsafe(96),
            expires_at=now + self.token_lifetime,
            issued_at=now,
            project_id=self.identities.project_id,
        )
        with self._lock:
            self._tokens[token.value] = token
        return token

    def token(self, value: str) -> IssuedToken | None:
        return self._tokens.get(value)

    def issue_temporary_key(self, duration: float) -> TemporaryKey:
        key = TemporaryKey(
            access_key="TMP" + secrets.token_hex(9).upper()[:17],
            secret_key=secrets.token_urlsafe(30),
            security_token="gQ" + secrets.token_urlsafe(180),
            expires_at=time.time() + duration,
        )
        with self._lock:
            self._temporary[key.access_key] = key
        return key

    def lookup_key(self, access_key: str) -> KeyLookup | None:
        permanent = self._permanent.get(access_key)
        if permanent is not None:
            return KeyLookup(permanent, None, None)
        temporary = self._temporary.get(access_key)
        if temporary is None:
            return None
        return KeyLookup(temporary.secret_key, temporary.security_token, temporary.expires_at)

    def expire_all(self, *, temporary_keys: bool = True) -> int:
        """Make every issued token (and temporary key) expired now; returns how many."""
        past = time.time() - 1
        with self._lock:
            for token in self._tokens.values():
                token.expires_at = past
            count = len(self._tokens)
            if temporary_keys:
                for key in self._temporary.values():
                    key.expires_at = past
                count += len(self._temporary)
        return count
