"""The hold queue: messages kept back for a second look, or delayed so the sender can still undo.

A message is in the queue once `hold` returns: the row is committed before the caller answers the
client 250. State changes are compare-and-set on `status`, so when several gateway nodes share one
PostgreSQL store, exactly one of them releases a given message.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Row, delete, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from missend.history.schema import held_messages as t
from missend.history.store import Store, StoreError


class Status(StrEnum):
    HELD = "held"
    DELAYED = "delayed"
    RELEASING = "releasing"
    RELEASED = "released"
    CANCELLED = "cancelled"


class Reason(StrEnum):
    HOLD = "hold"
    DELAY = "delay"


OPEN = (Status.HELD, Status.DELAYED)


@dataclass(frozen=True, slots=True)
class Held:
    id: str
    status: Status
    reason: Reason
    sender: str
    envelope_from: str
    envelope_to: tuple[str, ...]
    subject: str
    raw: bytes
    verdict: dict[str, Any]
    source: str
    mta_queue_id: str | None
    created_at: datetime
    updated_at: datetime
    release_after: datetime | None
    decided_by: str | None
    note: str | None
    attempts: int
    last_error: str | None

    def summary(self) -> dict[str, Any]:
        """What listing shows: no message content beyond the subject."""
        return {
            "id": self.id,
            "status": str(self.status),
            "reason": str(self.reason),
            "sender": self.sender,
            "recipients": len(self.envelope_to),
            "subject": self.subject,
            "action": self.verdict.get("action"),
            "risk": self.verdict.get("risk"),
            "created_at": self.created_at.isoformat(),
            "release_after": self.release_after.isoformat() if self.release_after else None,
            "decided_by": self.decided_by,
            "source": self.source,
        }


def _held(row: Row[Any]) -> Held:
    return Held(
        id=row.id,
        status=Status(row.status),
        reason=Reason(row.reason),
        sender=row.sender,
        envelope_from=row.envelope_from,
        envelope_to=tuple(json.loads(row.envelope_to)),
        subject=row.subject,
        raw=bytes(row.raw),
        verdict=json.loads(row.verdict),
        source=row.source,
        mta_queue_id=row.mta_queue_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
        release_after=row.release_after,
        decided_by=row.decided_by,
        note=row.note,
        attempts=row.attempts,
        last_error=row.last_error,
    )


def now() -> datetime:
    return datetime.now(UTC)


class HoldQueue:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.engine = store.engine

    @contextmanager
    def _guard(self, doing: str) -> Iterator[None]:
        try:
            yield
        except SQLAlchemyError as exc:
            raise StoreError(f"the hold queue failed while {doing} ({type(exc).__name__})") from exc

    def hold(
        self,
        raw: bytes,
        envelope_from: str,
        envelope_to: Sequence[str],
        verdict: dict[str, Any],
        *,
        sender: str = "",
        subject: str = "",
        reason: Reason = Reason.HOLD,
        delay: timedelta | None = None,
        source: str = "smtp",
        mta_queue_id: str | None = None,
    ) -> Held:
        """Store the message durably; when this returns, the message is safe."""
        stamp = now()
        hold_id = secrets.token_hex(12)
        row = {
            "id": hold_id,
            "status": str(Status.DELAYED if reason == Reason.DELAY else Status.HELD),
            "reason": str(reason),
            "sender": sender or envelope_from,
            "envelope_from": envelope_from,
            "envelope_to": json.dumps(list(envelope_to)),
            "subject": subject[:998],
            "raw": raw,
            "verdict": json.dumps(verdict),
            "source": source,
            "mta_queue_id": mta_queue_id,
            "created_at": stamp,
            "updated_at": stamp,
            "release_after": stamp + delay if delay is not None else None,
            "attempts": 0,
        }
        with self._guard("holding a message"), self.engine.begin() as conn:
            conn.execute(insert(t).values(**row))
        held = self.get(hold_id)
        assert held is not None
        return held

    def get(self, id_: str) -> Held | None:
        with self._guard("reading a held message"), self.engine.connect() as conn:
            row = conn.execute(select(t).where(t.c.id == id_)).first()
        return _held(row) if row else None

    def find(
        self, status: Sequence[Status] | None = OPEN, sender: str | None = None, limit: int = 500
    ) -> list[Held]:
        query = select(t).order_by(t.c.created_at).limit(limit)
        if status:
            query = query.where(t.c.status.in_([str(s) for s in status]))
        if sender:
            query = query.where(t.c.sender == sender)
        with self._guard("listing held messages"), self.engine.connect() as conn:
            return [_held(row) for row in conn.execute(query)]

    def due(self, at: datetime | None = None) -> list[Held]:
        """Delayed messages whose undo window has passed."""
        query = select(t).where(
            t.c.status == str(Status.DELAYED), t.c.release_after <= (at or now())
        )
        with self._guard("listing due messages"), self.engine.connect() as conn:
            return [_held(row) for row in conn.execute(query.order_by(t.c.release_after))]

    def _transition(
        self, id_: str, from_: Sequence[Status], to: Status, **values: Any
    ) -> Held | None:
        with self._guard("updating a held message"), self.engine.begin() as conn:
            result = conn.execute(
                update(t)
                .where(t.c.id == id_, t.c.status.in_([str(s) for s in from_]))
                .values(status=str(to), updated_at=now(), **values)
            )
        return self.get(id_) if result.rowcount == 1 else None

    def claim(self, id_: str, by: str | None = None) -> Held | None:
        """Take an open message for release; None if another node or person took it first."""
        return self._transition(id_, OPEN, Status.RELEASING, decided_by=by)

    def released(self, id_: str) -> Held | None:
        return self._transition(id_, (Status.RELEASING,), Status.RELEASED, last_error=None)

    def release_failed(self, id_: str, error: str) -> Held | None:
        """Put a message back after a failed delivery, so it can be released again."""
        held = self.get(id_)
        if held is None:
            return None
        back = Status.DELAYED if held.reason == Reason.DELAY else Status.HELD
        return self._transition(
            id_, (Status.RELEASING,), back, last_error=error[:500], attempts=held.attempts + 1
        )

    def cancel(self, id_: str, by: str | None = None, note: str | None = None) -> Held | None:
        return self._transition(id_, OPEN, Status.CANCELLED, decided_by=by, note=note)

    def stale_releasing(self, older_than: timedelta) -> list[Held]:
        """Releases a crashed node left half-done: to be retried (SMTP delivery is at-least-once)."""
        cutoff = now() - older_than
        query = select(t).where(t.c.status == str(Status.RELEASING), t.c.updated_at < cutoff)
        with self._guard("listing stale releases"), self.engine.connect() as conn:
            return [_held(row) for row in conn.execute(query)]

    def requeue(self, id_: str) -> Held | None:
        held = self.get(id_)
        if held is None:
            return None
        back = Status.DELAYED if held.reason == Reason.DELAY else Status.HELD
        return self._transition(id_, (Status.RELEASING,), back)

    def purge(self, decided_before: datetime) -> int:
        """Delete released and cancelled messages decided before the cut-off (retention)."""
        with self._guard("purging held messages"), self.engine.begin() as conn:
            result = conn.execute(
                delete(t).where(
                    t.c.status.in_([str(Status.RELEASED), str(Status.CANCELLED)]),
                    t.c.updated_at < decided_before,
                )
            )
        return int(result.rowcount or 0)
