"""Verdicts handed to mail clients, waiting for the sender's decision.

The draft is kept with its verdict only until the decision (so what was sent can be learned), or
until `verdict_hours` pass without one; the row itself, without content, stays as the record of
what the sender was told.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from missend.history.schema import verdicts as t
from missend.history.store import Store
from missend.hold.queue import now
from missend.verdict import Verdict

RETENTION = timedelta(days=90)


@dataclass(frozen=True, slots=True)
class VerdictRecord:
    id: str
    sender: str
    action: str
    risk: float
    recipients: int
    message_id: str | None
    subject: str
    verdict: dict[str, Any]
    raw: bytes | None
    token_id: str | None
    created_at: datetime
    decision: str | None
    reason: str | None
    decided_at: datetime | None
    incident_id: int | None


def _record(row: Any) -> VerdictRecord:
    return VerdictRecord(
        id=row.id,
        sender=row.sender,
        action=row.action,
        risk=row.risk,
        recipients=row.recipients,
        message_id=row.message_id,
        subject=row.subject,
        verdict=json.loads(row.verdict),
        raw=bytes(row.raw) if row.raw is not None else None,
        token_id=row.token_id,
        created_at=row.created_at,
        decision=row.decision,
        reason=row.reason,
        decided_at=row.decided_at,
        incident_id=row.incident_id,
    )


class VerdictRecords:
    def __init__(self, store: Store) -> None:
        self.engine = store.engine

    def save(
        self,
        conn: Connection,
        verdict: Verdict,
        raw: bytes,
        subject: str,
        token_id: str | None,
    ) -> str:
        verdict_id = secrets.token_hex(12)
        conn.execute(
            insert(t).values(
                id=verdict_id,
                sender=verdict.sender,
                action=str(verdict.action),
                risk=verdict.risk,
                recipients=verdict.recipients,
                message_id=(verdict.message_id or None) and verdict.message_id[:998],
                subject=subject[:998],
                verdict=json.dumps(verdict.to_dict()),
                raw=raw,
                token_id=token_id,
                created_at=now(),
            )
        )
        return verdict_id

    def get(self, verdict_id: str) -> VerdictRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(t).where(t.c.id == verdict_id)).first()
        return _record(row) if row else None

    def decide(
        self,
        conn: Connection,
        verdict_id: str,
        decision: str,
        reason: str | None,
        incident_id: int | None,
    ) -> bool:
        """Record the decision once; False when another request decided first."""
        result = conn.execute(
            update(t)
            .where(t.c.id == verdict_id, t.c.decision.is_(None))
            .values(
                decision=decision,
                reason=reason,
                decided_at=now(),
                incident_id=incident_id,
                raw=None,
            )
        )
        return result.rowcount == 1

    def purge(self, keep_drafts: timedelta, keep_rows: timedelta = RETENTION) -> int:
        """Drop drafts nobody decided on in time, and old rows altogether."""
        stamp = now()
        with self.engine.begin() as conn:
            cleared = conn.execute(
                update(t)
                .where(t.c.raw.is_not(None), t.c.created_at < stamp - keep_drafts)
                .values(raw=None)
            ).rowcount
            gone = conn.execute(delete(t).where(t.c.created_at < stamp - keep_rows)).rowcount
        return int(cleared or 0) + int(gone or 0)
