"""An append-only log whose entries are chained by SHA-256, so an edit anywhere shows.

Each entry's hash covers the previous entry's hash and its own canonical JSON; `verify` walks the
chain and names the first entry that does not fit. Appends serialise on one head row: on
PostgreSQL it is locked with `SELECT ... FOR UPDATE`, on SQLite the transaction starts with
`BEGIN IMMEDIATE`, so several API or relay nodes can write at once and still form one chain. The
head row also records the last link, so deleting entries from the end is caught too.

Entries hold ids, actions, counts and the actor, never message content or addresses: a log that
cannot be edited cannot be cleaned of personal data later either.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from missend.history.schema import audit_head as head_table
from missend.history.schema import audit_log as log_table
from missend.history.store import Store, StoreError

GENESIS = "0" * 64
_HEAD = 1
_READ_BATCH = 1000


class AuditError(StoreError):
    """The audit log could not be written; the change it records must not go ahead unlogged."""


@dataclass(frozen=True, slots=True)
class Entry:
    seq: int
    at: datetime
    actor: str
    action: str
    subject: str
    details: Mapping[str, Any] = field(default_factory=dict)
    prev_hash: str = GENESIS
    hash: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": stamp(self.at),
            "actor": self.actor,
            "action": self.action,
            "subject": self.subject,
            "details": dict(self.details),
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


@dataclass(frozen=True, slots=True)
class Verification:
    ok: bool
    entries: int
    first_bad: int | None = None
    reason: str = ""


def stamp(at: datetime) -> str:
    aware = at if at.tzinfo else at.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat(timespec="microseconds")


def canonical(
    seq: int, at: datetime, actor: str, action: str, subject: str, details: Mapping[str, Any]
) -> bytes:
    """The bytes that are hashed: sorted keys, no spaces, UTF-8, so any reader can recompute them."""
    body = {
        "seq": seq,
        "at": stamp(at),
        "actor": actor,
        "action": action,
        "subject": subject,
        "details": details,
    }
    return json.dumps(
        body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def link(prev_hash: str, body: bytes) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + body).hexdigest()


def _details_text(details: Mapping[str, Any]) -> str:
    return json.dumps(details, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class AuditLog:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.engine = store.engine

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A write transaction that may append; on SQLite it holds the write lock from the start.

        Appending last in the transaction keeps the lock order (rows first, then the head) the same
        for every writer, so two writers cannot deadlock.
        """
        try:
            with self.engine.connect() as conn:
                if conn.dialect.name == "sqlite":
                    conn.exec_driver_sql("BEGIN IMMEDIATE")
                try:
                    yield conn
                except BaseException:
                    conn.rollback()
                    raise
                conn.commit()
        except SQLAlchemyError as exc:
            raise AuditError(f"the audit log could not be written ({type(exc).__name__})") from exc

    def append(
        self,
        conn: Connection,
        actor: str,
        action: str,
        subject: str = "",
        details: Mapping[str, Any] | None = None,
    ) -> Entry:
        """Add one entry inside the caller's transaction (see `transaction`)."""
        details = dict(details or {})
        head = conn.execute(
            select(head_table.c.seq, head_table.c.hash)
            .where(head_table.c.id == _HEAD)
            .with_for_update()
        ).first()
        if head is None:
            raise AuditError("the audit log has lost its head row; run `missend audit verify`")
        seq = int(head.seq) + 1
        at = datetime.now(UTC)
        actor, action, subject = actor[:200], action[:64], subject[:64]
        digest = link(head.hash, canonical(seq, at, actor, action, subject, details))
        conn.execute(
            insert(log_table).values(
                seq=seq,
                at=at,
                actor=actor,
                action=action,
                subject=subject,
                details=_details_text(details),
                prev_hash=head.hash,
                hash=digest,
            )
        )
        conn.execute(
            update(head_table).where(head_table.c.id == _HEAD).values(seq=seq, hash=digest)
        )
        return Entry(seq, at, actor, action, subject, details, head.hash, digest)

    def record(
        self, actor: str, action: str, subject: str = "", details: Mapping[str, Any] | None = None
    ) -> Entry:
        """Append one entry in its own transaction."""
        with self.transaction() as conn:
            return self.append(conn, actor, action, subject, details)

    def entries(self, after: int = 0, limit: int = 100) -> list[Entry]:
        query = (
            select(log_table).where(log_table.c.seq > after).order_by(log_table.c.seq).limit(limit)
        )
        with self._reading(), self.engine.connect() as conn:
            return [_entry(row) for row in conn.execute(query)]

    @contextmanager
    def _reading(self) -> Iterator[None]:
        try:
            yield
        except SQLAlchemyError as exc:
            raise StoreError(f"the audit log could not be read ({type(exc).__name__})") from exc

    def verify(self) -> Verification:
        """Walk the whole chain; the first entry that was changed, removed or relinked is named."""
        prev, expected, count = GENESIS, 1, 0
        with self._reading(), self.engine.connect() as conn:
            for row in _rows(conn):
                if row.seq != expected:
                    return Verification(
                        False, count, expected, f"entry {expected} is missing (deleted)"
                    )
                try:
                    details = json.loads(row.details)
                    body = canonical(row.seq, row.at, row.actor, row.action, row.subject, details)
                except (ValueError, TypeError):
                    return Verification(False, count, row.seq, f"entry {row.seq} was changed")
                if link(row.prev_hash, body) != row.hash:
                    return Verification(False, count, row.seq, f"entry {row.seq} was changed")
                if row.prev_hash != prev:
                    return Verification(
                        False,
                        count,
                        row.seq,
                        f"entry {row.seq} does not follow entry {row.seq - 1}: "
                        f"entry {row.seq - 1} or its hash was changed",
                    )
                prev, expected, count = row.hash, expected + 1, count + 1
            head = conn.execute(
                select(head_table.c.seq, head_table.c.hash).where(head_table.c.id == _HEAD)
            ).first()
        if head is None:
            return Verification(False, count, expected, "the head row is missing")
        if head.seq != count or head.hash != prev:
            if head.seq > count:
                return Verification(
                    False, count, expected, f"entries {expected} to {head.seq} are missing"
                )
            return Verification(
                False, count, head.seq or None, "the head row does not match the last entry"
            )
        return Verification(True, count)


def _rows(conn: Connection) -> Iterator[Any]:
    """Every entry in order, a page at a time (keyset paging: no server-side cursor to leak)."""
    after = 0
    while True:
        page = conn.execute(
            select(log_table)
            .where(log_table.c.seq > after)
            .order_by(log_table.c.seq)
            .limit(_READ_BATCH)
        ).all()
        yield from page
        if len(page) < _READ_BATCH:
            return
        after = page[-1].seq


def _entry(row: Any) -> Entry:
    return Entry(
        seq=row.seq,
        at=row.at,
        actor=row.actor,
        action=row.action,
        subject=row.subject,
        details=json.loads(row.details),
        prev_hash=row.prev_hash,
        hash=row.hash,
    )
