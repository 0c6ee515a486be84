"""What the records say about people and mistakes: near-misses per week by detector, the senders
who most need a word, and how often advice is overridden.

Read from the verdicts given to mail clients (kept 90 days) and the hold queue (until its
retention removes decided rows). A flagged message is one with a finding at warn or above; it was
caught when the sender fixed or cancelled it (or the held message was cancelled), and overridden
when it was sent anyway (or released from the hold queue).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import select

from missend.history.schema import held_messages as ht
from missend.history.schema import verdicts as vt
from missend.history.store import Store
from missend.register.deadlines import as_utc
from missend.verdict import Action

MAX_ROWS = 200_000
TOP_SENDERS = 10


class Outcome(StrEnum):
    CAUGHT = "caught"
    OVERRIDDEN = "overridden"
    PENDING = "pending"


@dataclass(frozen=True, slots=True)
class Event:
    at: datetime
    sender: str
    detectors: tuple[str, ...]
    outcome: Outcome


@dataclass(frozen=True, slots=True)
class SenderRow:
    sender: str
    flagged: int
    caught: int
    overridden: int


@dataclass(frozen=True)
class Trends:
    weeks: tuple[date, ...]
    detectors: tuple[str, ...]
    caught: dict[str, tuple[int, ...]] = field(default_factory=dict)
    overridden: tuple[int, ...] = ()
    decided: tuple[int, ...] = ()
    senders: tuple[SenderRow, ...] = ()
    totals: dict[str, int] = field(default_factory=dict)

    @property
    def override_rate(self) -> float | None:
        decided = self.totals.get("decided", 0)
        return self.totals.get("overridden", 0) / decided if decided else None


def week_of(at: datetime) -> date:
    """The Monday (UTC) of the week `at` falls in."""
    day = as_utc(at).date()
    return day - timedelta(days=day.weekday())


def flagged_detectors(verdict: dict[str, Any]) -> tuple[str, ...]:
    names: dict[str, None] = {}
    for finding in verdict.get("findings") or ():
        if isinstance(finding, dict) and finding.get("action") not in (None, str(Action.ALLOW)):
            names[str(finding.get("detector") or "unknown")] = None
    return tuple(names)


def summarise(events: Iterable[Event], weeks: int, at: datetime | None = None) -> Trends:
    """Bucket the events into the last `weeks` weeks, this one included; older ones are ignored."""
    last = week_of(at or datetime.now(UTC))
    starts = tuple(last - timedelta(weeks=weeks - 1 - i) for i in range(weeks))
    index = {start: i for i, start in enumerate(starts)}
    caught: dict[str, list[int]] = {}
    overridden = [0] * weeks
    decided = [0] * weeks
    per_sender: dict[str, Counter[str]] = {}
    totals: Counter[str] = Counter()
    for event in events:
        slot = index.get(week_of(event.at))
        if slot is None:
            continue
        totals["flagged"] += 1
        totals[str(event.outcome)] += 1
        counts = per_sender.setdefault(event.sender, Counter())
        counts["flagged"] += 1
        counts[str(event.outcome)] += 1
        if event.outcome == Outcome.PENDING:
            continue
        decided[slot] += 1
        totals["decided"] += 1
        if event.outcome == Outcome.OVERRIDDEN:
            overridden[slot] += 1
            continue
        for name in event.detectors:
            caught.setdefault(name, [0] * weeks)[slot] += 1
    ranked = sorted(
        per_sender.items(), key=lambda kv: (-kv[1]["flagged"], -kv[1]["overridden"], kv[0])
    )
    return Trends(
        weeks=starts,
        detectors=tuple(sorted(caught)),
        caught={name: tuple(values) for name, values in sorted(caught.items())},
        overridden=tuple(overridden),
        decided=tuple(decided),
        senders=tuple(
            SenderRow(sender, c["flagged"], c["caught"], c["overridden"])
            for sender, c in ranked[:TOP_SENDERS]
        ),
        totals=dict(totals),
    )


def _verdict_outcome(decision: str | None) -> Outcome:
    if decision in ("fixed", "cancelled"):
        return Outcome.CAUGHT
    if decision == "sent_anyway":
        return Outcome.OVERRIDDEN
    return Outcome.PENDING


def _hold_outcome(status: str) -> Outcome:
    if status == "cancelled":
        return Outcome.CAUGHT
    if status == "released":
        return Outcome.OVERRIDDEN
    return Outcome.PENDING


def _loads(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def load_events(store: Store, since: datetime) -> list[Event]:
    """Flagged verdicts and held messages since a time, at most MAX_ROWS of each (newest first)."""
    quiet = str(Action.ALLOW)
    events: list[Event] = []
    with store.engine.connect() as conn:
        rows: Sequence[Any] = conn.execute(
            select(vt.c.created_at, vt.c.sender, vt.c.verdict, vt.c.decision)
            .where(vt.c.created_at >= since, vt.c.action != quiet)
            .order_by(vt.c.created_at.desc())
            .limit(MAX_ROWS)
        ).all()
        for row in rows:
            detectors = flagged_detectors(_loads(row.verdict))
            if detectors:
                events.append(
                    Event(row.created_at, row.sender, detectors, _verdict_outcome(row.decision))
                )
        held: Sequence[Any] = conn.execute(
            select(ht.c.created_at, ht.c.sender, ht.c.verdict, ht.c.status)
            .where(ht.c.created_at >= since, ht.c.reason == "hold")
            .order_by(ht.c.created_at.desc())
            .limit(MAX_ROWS)
        ).all()
        for row in held:
            detectors = flagged_detectors(_loads(row.verdict))
            if detectors:
                events.append(
                    Event(row.created_at, row.sender, detectors, _hold_outcome(row.status))
                )
    return events


def trends(store: Store, weeks: int, at: datetime | None = None) -> Trends:
    stamp = at or datetime.now(UTC)
    since = datetime.combine(week_of(stamp), datetime.min.time(), UTC) - timedelta(weeks=weeks - 1)
    return summarise(load_events(store, since), weeks, stamp)
