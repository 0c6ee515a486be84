"""API tokens: `msd_<id>_<secret>`, the secret kept only as an argon2id hash.

The id finds the row without a scan, so a made-up token costs one index lookup, not an argon2
run. A verified token is remembered for a short while under its SHA-256, so a busy client does
not pay argon2 on every request; revocation takes effect when that memory expires.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import insert, select, update

from missend.history.schema import api_tokens as t
from missend.history.store import Store
from missend.hold.queue import now
from missend.message.addresses import normalize_email

PREFIX = "msd_"
_HASHER = PasswordHasher()  # argon2id, RFC 9106 low-memory profile (t=3, 64 MiB, p=4)
_CACHE_SIZE = 10_000


class Role(StrEnum):
    CLIENT = "client"
    OFFICER = "officer"
    ADMIN = "admin"


class TokenError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the token's id, role and, for a client, the one sender it speaks for."""

    token_id: str
    role: Role
    sender: str | None = None
    label: str = ""

    @property
    def actor(self) -> str:
        return f"token:{self.token_id} ({self.role})"

    def may_act_for(self, sender: str) -> bool:
        return self.role != Role.CLIENT or (self.sender is not None and self.sender == sender)


@dataclass(frozen=True, slots=True)
class TokenInfo:
    id: str
    role: Role
    sender: str | None
    label: str
    created_at: datetime
    created_by: str
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class Issued:
    token: str
    info: TokenInfo


def _split(token: str) -> tuple[str, str] | None:
    if not token.startswith(PREFIX) or len(token) > 200:
        return None
    token_id, sep, secret = token[len(PREFIX) :].partition("_")
    if not sep or not token_id or not secret:
        return None
    return token_id, secret


class TokenStore:
    def __init__(
        self, store: Store, cache_seconds: float = 60.0, hasher: PasswordHasher | None = None
    ) -> None:
        self.engine = store.engine
        self.hasher = hasher or _HASHER
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, Principal]] = {}
        self._lock = threading.Lock()

    def create(
        self, role: Role | str, *, sender: str | None = None, label: str = "", by: str = ""
    ) -> Issued:
        role = Role(role)
        if role == Role.CLIENT and not sender:
            raise TokenError("a client token must be bound to a sender address (--sender)")
        email = normalize_email(sender) if sender else None
        if email is not None and ("@" not in email or any(c.isspace() for c in email)):
            raise TokenError(f"{sender!r} is not an e-mail address")
        token_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        stamp = now()
        with self.engine.begin() as conn:
            conn.execute(
                insert(t).values(
                    id=token_id,
                    secret_hash=self.hasher.hash(secret),
                    role=str(role),
                    sender=email,
                    label=label[:200],
                    created_at=stamp,
                    created_by=by[:64],
                )
            )
        info = TokenInfo(token_id, role, email, label[:200], stamp, by[:64], None)
        return Issued(f"{PREFIX}{token_id}_{secret}", info)

    def authenticate(self, token: str) -> Principal | None:
        parts = _split(token)
        if parts is None:
            return None
        key = hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()
        stamp = time.monotonic()
        with self._lock:
            hit = self._cache.get(key)
        if hit and stamp - hit[0] < self.cache_seconds:
            return hit[1]
        token_id, secret = parts
        with self.engine.connect() as conn:
            row = conn.execute(select(t).where(t.c.id == token_id)).first()
        if row is None or row.revoked_at is not None:
            return None
        try:
            self.hasher.verify(row.secret_hash, secret)
        except (VerificationError, InvalidHashError):
            return None
        principal = Principal(row.id, Role(row.role), row.sender, row.label)
        with self._lock:
            if len(self._cache) >= _CACHE_SIZE:
                self._cache.pop(next(iter(self._cache)))
            self._cache[key] = (stamp, principal)
        return principal

    def list(self) -> list[TokenInfo]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(t).order_by(t.c.created_at)).all()
        return [
            TokenInfo(
                r.id, Role(r.role), r.sender, r.label, r.created_at, r.created_by, r.revoked_at
            )
            for r in rows
        ]

    def revoke(self, token_id: str) -> bool:
        with self.engine.begin() as conn:
            done = conn.execute(
                update(t)
                .where(t.c.id == token_id, t.c.revoked_at.is_(None))
                .values(revoked_at=now())
            ).rowcount
        with self._lock:
            for key in [k for k, (_, p) in self._cache.items() if p.token_id == token_id]:
                del self._cache[key]
        return bool(done)
