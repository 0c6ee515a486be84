"""Signed-in browsers: signed, expiring session cookies backed by a row that signing out deletes.

The cookie is `<random token>.<HMAC>`: the signature lets a forged or altered cookie be refused
before the store is asked, and the row (kept under the token's SHA-256, never the token) lets
signing out, disabling a user or changing a password end a session at once. A session ends at
its absolute lifetime or after the idle time, whichever comes first. CSRF tokens are derived from
the session token with the same key, so each session has its own and nothing more is stored.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, select, update

from missend.dashboard.accounts import Accounts, User
from missend.dashboard.settings import DashboardSettings
from missend.history.schema import dashboard_keys as kt
from missend.history.schema import dashboard_sessions as t
from missend.history.store import Store, StoreError
from missend.hold.queue import now

_TOUCH_EVERY = timedelta(seconds=60)
_MAX_COOKIE = 200


@dataclass(frozen=True, slots=True)
class Session:
    id: str
    user: User
    csrf: str
    expires_at: datetime


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


class Sessions:
    def __init__(self, store: Store, accounts: Accounts, settings: DashboardSettings) -> None:
        self.engine = store.engine
        self.accounts = accounts
        self.settings = settings
        self._key: bytes | None = None
        self._lock = threading.Lock()

    @property
    def cookie_name(self) -> str:
        """`__Host-` makes the browser refuse the cookie unless it is Secure, host-only, path /."""
        return "__Host-missend_session" if self.settings.secure_cookies else "missend_session"

    @property
    def login_cookie_name(self) -> str:
        return "__Host-missend_login" if self.settings.secure_cookies else "missend_login"

    @property
    def lifetime(self) -> timedelta:
        return timedelta(hours=self.settings.session_hours)

    def key(self) -> bytes:
        with self._lock:
            if self._key is None:
                with self.engine.connect() as conn:
                    row = conn.execute(select(kt.c.key).where(kt.c.id == 1)).first()
                if row is None:
                    raise StoreError("the dashboard signing key is missing from the store")
                self._key = row.key.encode("ascii")
            return self._key

    def _sign(self, purpose: str, value: str) -> str:
        mac = hmac.new(self.key(), f"{purpose}:{value}".encode("ascii"), hashlib.sha256)
        return _b64(mac.digest())

    def _unsign(self, purpose: str, cookie: str | None) -> str | None:
        if not cookie or len(cookie) > _MAX_COOKIE or not cookie.isascii():
            return None
        value, dot, signature = cookie.partition(".")
        if not dot or not value:
            return None
        if not hmac.compare_digest(signature, self._sign(purpose, value)):
            return None
        return value

    def start(self, user: User) -> str:
        """A new session for a user who just proved who they are; returns the cookie value."""
        token = secrets.token_urlsafe(32)
        stamp = now()
        with self.engine.begin() as conn:
            idle = stamp - timedelta(minutes=self.settings.idle_minutes)
            conn.execute(delete(t).where((t.c.expires_at < stamp) | (t.c.seen_at < idle)))
            conn.execute(
                insert(t).values(
                    id=_digest(token),
                    user_id=user.id,
                    created_at=stamp,
                    seen_at=stamp,
                    expires_at=stamp + self.lifetime,
                )
            )
        return f"{token}.{self._sign('session', token)}"

    def find(self, cookie: str | None) -> Session | None:
        token = self._unsign("session", cookie)
        if token is None:
            return None
        session_id = _digest(token)
        with self.engine.connect() as conn:
            row = conn.execute(select(t).where(t.c.id == session_id)).first()
        if row is None:
            return None
        stamp = now()
        idle = timedelta(minutes=self.settings.idle_minutes)
        if row.expires_at <= stamp or row.seen_at + idle <= stamp:
            self._end(session_id)
            return None
        user = self.accounts.get(row.user_id)
        if user is None or user.disabled_at is not None:
            self._end(session_id)
            return None
        if stamp - row.seen_at >= _TOUCH_EVERY:
            with self.engine.begin() as conn:
                conn.execute(update(t).where(t.c.id == session_id).values(seen_at=stamp))
        return Session(session_id, user, self._sign("csrf", token), row.expires_at)

    def end(self, cookie: str | None) -> None:
        token = self._unsign("session", cookie)
        if token is not None:
            self._end(_digest(token))

    def _end(self, session_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(t).where(t.c.id == session_id))

    def login_nonce(self) -> tuple[str, str]:
        """A signed cookie and the matching form token for the sign-in form (login CSRF)."""
        nonce = secrets.token_urlsafe(16)
        return f"{nonce}.{self._sign('login', nonce)}", self._sign("login-form", nonce)

    def login_form_ok(self, cookie: str | None, given: str) -> bool:
        nonce = self._unsign("login", cookie)
        return nonce is not None and hmac.compare_digest(
            given.encode("utf-8", "replace"), self._sign("login-form", nonce).encode("ascii")
        )

    @staticmethod
    def csrf_ok(session: Session, given: str) -> bool:
        return hmac.compare_digest(given.encode("utf-8", "replace"), session.csrf.encode("ascii"))
