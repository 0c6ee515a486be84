"""Dashboard accounts: officers and admins who sign in with a name and a password.

Separate from API tokens on purpose: a token is a machine credential pasted into a mail client or
a script, a password is typed by a person into a browser, and the two are issued, rotated and
revoked on different occasions. Passwords are kept only as argon2id hashes (the same hasher as the
tokens); an unknown name costs one argon2 verification too, so timing does not tell which exist.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Row, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from missend.api.tokens import Role
from missend.history.schema import dashboard_sessions as st
from missend.history.schema import dashboard_users as t
from missend.history.store import Store
from missend.hold.queue import now

ROLES = (Role.OFFICER, Role.ADMIN)
MIN_PASSWORD = 12
MAX_PASSWORD = 1024
_NAME = re.compile(r"[a-z0-9][a-z0-9._@+-]{0,119}")


class AccountError(ValueError):
    """The account cannot be made or changed as asked; the text says why."""


@dataclass(frozen=True, slots=True)
class User:
    id: int
    name: str
    role: Role
    created_at: datetime
    last_login_at: datetime | None
    disabled_at: datetime | None

    @property
    def actor(self) -> str:
        """How the audit log and the register name what this person did."""
        return f"dashboard:{self.name} ({self.role})"


def clean_name(name: str) -> str:
    folded = name.strip().casefold()
    if not _NAME.fullmatch(folded):
        raise AccountError(
            "a user name is 1-120 letters, digits or . _ @ + -, starting with a letter or digit"
        )
    return folded


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password must have at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise AccountError(f"the password must have at most {MAX_PASSWORD} characters")


def _user(row: Row[Any]) -> User:
    return User(
        id=row.id,
        name=row.name,
        role=Role(row.role),
        created_at=row.created_at,
        last_login_at=row.last_login_at,
        disabled_at=row.disabled_at,
    )


class Accounts:
    def __init__(self, store: Store, hasher: PasswordHasher | None = None) -> None:
        self.engine = store.engine
        self.hasher = hasher or PasswordHasher()
        self._decoy: str | None = None
        self._lock = threading.Lock()

    def create(self, name: str, password: str, role: Role | str, *, by: str = "") -> User:
        name = clean_name(name)
        try:
            role = Role(role)
        except ValueError:
            raise AccountError("the role must be officer or admin") from None
        if role not in ROLES:
            raise AccountError("the role must be officer or admin")
        check_password(password)
        stamp = now()
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(t).values(
                        name=name,
                        password_hash=self.hasher.hash(password),
                        role=str(role),
                        created_at=stamp,
                        created_by=by[:64],
                        password_changed_at=stamp,
                    )
                )
        except IntegrityError:
            raise AccountError(f"there is already a user called {name}") from None
        found = self.find(name)
        assert found is not None
        return found

    def find(self, name: str) -> User | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(t).where(t.c.name == name.strip().casefold())).first()
        return _user(row) if row else None

    def get(self, user_id: int) -> User | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(t).where(t.c.id == user_id)).first()
        return _user(row) if row else None

    def list(self) -> list[User]:
        with self.engine.connect() as conn:
            return [_user(r) for r in conn.execute(select(t).order_by(t.c.name))]

    def _decoy_hash(self) -> str:
        with self._lock:
            if self._decoy is None:
                self._decoy = self.hasher.hash("not a password anyone has")
            return self._decoy

    def authenticate(self, name: str, password: str) -> User | None:
        """The active user with this name and password, or None (the same work either way)."""
        folded = name.strip().casefold()
        row = None
        if _NAME.fullmatch(folded) and len(password) <= MAX_PASSWORD:
            with self.engine.connect() as conn:
                row = conn.execute(select(t).where(t.c.name == folded)).first()
        stored = row.password_hash if row is not None else self._decoy_hash()
        try:
            self.hasher.verify(stored, password[:MAX_PASSWORD])
        except (VerificationError, InvalidHashError):
            return None
        if row is None or row.disabled_at is not None:
            return None
        values: dict[str, object] = {"last_login_at": now()}
        if self.hasher.check_needs_rehash(row.password_hash):
            values["password_hash"] = self.hasher.hash(password)
        with self.engine.begin() as conn:
            conn.execute(update(t).where(t.c.id == row.id).values(**values))
        return self.get(row.id)

    def set_password(self, name: str, password: str) -> bool:
        """Change the password and sign the user out everywhere."""
        check_password(password)
        return self._change(
            name, password_hash=self.hasher.hash(password), password_changed_at=now()
        )

    def disable(self, name: str) -> bool:
        """Refuse further sign-ins and end the user's sessions; the account stays for the record."""
        return self._change(name, disabled_at=now())

    def _change(self, name: str, **values: object) -> bool:
        folded = name.strip().casefold()
        with self.engine.begin() as conn:
            row = conn.execute(select(t.c.id).where(t.c.name == folded)).first()
            if row is None:
                return False
            conn.execute(update(t).where(t.c.id == row.id).values(**values))
            conn.execute(delete(st).where(st.c.user_id == row.id))
        return True
