"""Who may send through the relay: a file of `user:hash` lines, checked with scrypt.

A line's hash is `$scrypt$n=16384,r=8,p=1$<salt>$<key>` (base64). scrypt is in the standard library
and memory-hard, so a stolen file is slow to crack. A successful check is remembered for the
process's life (as a keyed digest, never the password), because aiosmtpd calls the authenticator
on the event loop and a client that logs in per message should not cost a full scrypt each time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import threading
from pathlib import Path

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from missend.config import ConfigError

_HASH = re.compile(
    r"\$scrypt\$n=(\d{1,7}),r=(\d{1,3}),p=(\d{1,3})\$([A-Za-z0-9+/=]{1,200})\$([A-Za-z0-9+/=]{1,200})"
)
_MAXMEM = 256 * 1024 * 1024


def hash_password(password: str, *, n: int = 2**14, r: int = 8, p: int = 1) -> str:
    salt = secrets.token_bytes(16)
    key = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=_MAXMEM)
    b64 = base64.b64encode
    return f"$scrypt$n={n},r={r},p={p}${b64(salt).decode()}${b64(key).decode()}"


def verify_password(password: bytes, stored: str) -> bool:
    found = _HASH.fullmatch(stored)
    if not found:
        return False
    n, r, p = (int(found.group(i)) for i in (1, 2, 3))
    salt, key = base64.b64decode(found.group(4)), base64.b64decode(found.group(5))
    try:
        given = hashlib.scrypt(password, salt=salt, n=n, r=r, p=p, maxmem=_MAXMEM, dklen=len(key))
    except ValueError:
        return False
    return hmac.compare_digest(given, key)


def load_users(path: str | Path) -> dict[str, str]:
    """Users and hashes; a malformed line stops start-up with its line number."""
    try:
        text = Path(path).read_text("utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the user file ({exc.strerror})") from exc
    users: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        user, sep, stored = line.partition(":")
        if not sep or not user or not _HASH.fullmatch(stored):
            raise ConfigError(
                f"{path}:{number}: expected user:$scrypt$n=...,r=...,p=...$salt$key "
                "(make one with `missend serve smtp-password USER`)"
            )
        users[user] = stored
    return users


class Authenticator:
    """aiosmtpd authenticator for PLAIN and LOGIN."""

    def __init__(self, users: dict[str, str]) -> None:
        self.users = users
        self._key = secrets.token_bytes(32)
        self._known: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def check(self, user: str, password: bytes) -> bool:
        stored = self.users.get(user)
        if stored is None:
            return False
        digest = hmac.new(self._key, user.encode() + b"\x00" + password, hashlib.sha256).digest()
        with self._lock:
            known = self._known.get(user)
        if known is not None and hmac.compare_digest(known, digest):
            return True
        if not verify_password(password, stored):
            return False
        with self._lock:
            self._known[user] = digest
        return True

    def __call__(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        mechanism: str,
        auth_data: object,
    ) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user = auth_data.login.decode("utf-8", "replace")
        ok = self.check(user, auth_data.password)
        return AuthResult(success=ok, handled=False, auth_data=user if ok else None)
