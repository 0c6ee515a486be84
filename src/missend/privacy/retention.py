"""Storage limitation (GDPR Art. 5(1)(e)): keep what detection needs for as long as it needs it.

Three clocks, one command:
- the history forgets contacts, threads, recipient sets and whole senders not written to for
  `privacy.retention_months` (a contact still in use keeps its full count: the history keeps
  totals, not a dated log, so it can only forget whole rows);
- held and delayed messages are deleted `privacy.held_days` after they were released or cancelled
  (open ones are never touched: they are still someone's mail);
- verdict drafts the sender never decided on lose their content after `api.verdict_hours`, as the
  API does on its own.
The breach register and the audit log are records the law requires and are never aged out here.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.exc import SQLAlchemyError

from missend.api.verdicts import RETENTION, VerdictRecords
from missend.audit.log import AuditLog
from missend.history.schema import senders
from missend.history.store import RetentionReport, Store, StoreError
from missend.hold.queue import HoldQueue


@dataclass(frozen=True, slots=True)
class RetentionResult:
    cutoff: datetime
    history: RetentionReport
    senders: int
    held_cutoff: datetime
    held: int
    verdicts: int

    def counts(self) -> dict[str, int]:
        return {
            "senders": self.senders,
            "contacts": self.history.contacts,
            "threads": self.history.threads,
            "recipient_sets": self.history.recipient_sets,
            "held_messages": self.held,
            "verdict_drafts_and_rows": self.verdicts,
        }


def months_before(when: datetime, months: int) -> datetime:
    """The same day and time `months` calendar months earlier (the 31st becomes the month's end)."""
    index = when.year * 12 + when.month - 1 - months
    year, month = divmod(index, 12)
    day = min(when.day, calendar.monthrange(year, month + 1)[1])
    return when.replace(year=year, month=month + 1, day=day)


def apply_retention(
    store: Store,
    *,
    months: int,
    held_days: int,
    verdict_hours: int,
    at: datetime | None = None,
    by: str = "missend retention",
) -> RetentionResult:
    """Delete what is older than the limits and log the counts (never what was deleted)."""
    if months <= 0:
        raise ValueError("the retention period must be at least one month")
    stamp = at or datetime.now(UTC)
    cutoff = months_before(stamp, months)
    history = store.apply_retention(cutoff)
    try:
        with store.engine.begin() as conn:
            gone = conn.execute(delete(senders).where(senders.c.last_seen < cutoff)).rowcount
    except SQLAlchemyError as exc:
        raise StoreError(f"applying retention to senders failed ({type(exc).__name__})") from exc
    held_cutoff = stamp - timedelta(days=held_days)
    held = HoldQueue(store).purge(held_cutoff)
    try:
        verdicts = VerdictRecords(store).purge(timedelta(hours=verdict_hours), RETENTION)
    except SQLAlchemyError as exc:
        raise StoreError(f"purging verdict drafts failed ({type(exc).__name__})") from exc
    result = RetentionResult(cutoff, history, int(gone or 0), held_cutoff, held, verdicts)
    AuditLog(store).record(
        by,
        "privacy.retention",
        cutoff.date().isoformat(),
        {**result.counts(), "months": months, "held_days": held_days},
    )
    return result
