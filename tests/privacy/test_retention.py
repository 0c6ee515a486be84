"""Retention: what is older than the limits goes, what is newer stays, open mail is never touched."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from missend.api.verdicts import VerdictRecords
from missend.audit.log import AuditLog
from missend.engine import Engine
from missend.history.schema import held_messages, verdicts
from missend.history.store import Store
from missend.hold.queue import HoldQueue, Status
from missend.message import parse_message
from missend.privacy.retention import apply_retention, months_before
from missend.testing import raw_message

NOW = datetime.now(UTC)
OLD = NOW - timedelta(days=30 * 31)
RECENT = NOW - timedelta(days=20)
PAT = "pat@org.example"


def sent(sender: str, to: list[str], when: datetime, n: int) -> bytes:
    return raw_message(sender, to, date=when, message_id=f"<{n}@org.example>", subject=f"s{n}")


def test_history_older_than_the_limit_is_forgotten_and_newer_kept(store_url: str) -> None:
    with Store.open(store_url) as store:
        store.learn(
            parse_message(r)
            for r in (
                sent(PAT, ["gone@old.example", "both@x.example"], OLD, 1),
                sent(PAT, ["kept@new.example", "both@x.example"], RECENT, 2),
                sent("left@org.example", ["someone@x.example"], OLD, 3),
            )
        )
        result = apply_retention(store, months=24, held_days=30, verdict_hours=24)
        pat = store.snapshot(PAT)
        left = store.snapshot("left@org.example")
        stats = store.stats()
    assert set(pat.contacts) == {"kept@new.example", "both@x.example"}
    assert pat.together("kept@new.example", "both@x.example") == 1
    assert pat.contact("both@x.example").count == 2  # type: ignore[union-attr]
    assert left.message_count == 0
    assert result.senders == 1
    assert result.history.contacts == 2
    assert result.history.threads >= 1
    assert stats.senders == 1
    assert stats.pairs == 1
    assert (
        stats.ingested == 2
    )  # the kept sender's message keys (hashes), so relearning stays a no-op


def test_decided_held_messages_go_after_held_days_and_open_ones_stay(store_url: str) -> None:
    with Store.open(store_url) as store:
        queue = HoldQueue(store)
        old_decided = queue.hold(b"m1", PAT, ["a@x.example"], {})
        queue.cancel(old_decided.id)
        new_decided = queue.hold(b"m2", PAT, ["a@x.example"], {})
        queue.cancel(new_decided.id)
        old_open = queue.hold(b"m3", PAT, ["a@x.example"], {})
        with store.engine.begin() as conn:
            conn.execute(
                held_messages.update()
                .where(held_messages.c.id.in_([old_decided.id, old_open.id]))
                .values(updated_at=NOW - timedelta(days=40), created_at=NOW - timedelta(days=40))
            )
        result = apply_retention(store, months=24, held_days=30, verdict_hours=24)
        left = {h.id: h.status for h in queue.find(status=None)}
    assert left == {new_decided.id: Status.CANCELLED, old_open.id: Status.HELD}
    assert result.held == 1


def test_verdict_drafts_nobody_decided_on_lose_their_content(store_url: str) -> None:
    raw = raw_message(PAT, ["a@x.example"])
    verdict = Engine().check(parse_message(raw))
    with Store.open(store_url) as store:
        records = VerdictRecords(store)
        with AuditLog(store).transaction() as conn:
            stale = records.save(conn, verdict, raw, "old", None)
            fresh = records.save(conn, verdict, raw, "new", None)
        with store.engine.begin() as conn:
            conn.execute(
                verdicts.update()
                .where(verdicts.c.id == stale)
                .values(created_at=NOW - timedelta(hours=30))
            )
        result = apply_retention(store, months=24, held_days=30, verdict_hours=24)
        old, new = records.get(stale), records.get(fresh)
        logged = AuditLog(store).entries()[-1]
    assert old is not None
    assert old.raw is None
    assert new is not None
    assert new.raw == raw
    assert result.verdicts == 1
    assert logged.action == "privacy.retention"
    assert logged.details["verdict_drafts_and_rows"] == 1
    assert "a@x.example" not in str(logged.to_dict())


def test_months_are_calendar_months() -> None:
    assert months_before(datetime(2026, 3, 31, 12, tzinfo=UTC), 1) == datetime(
        2026, 2, 28, 12, tzinfo=UTC
    )
    assert months_before(datetime(2026, 1, 15, tzinfo=UTC), 13) == datetime(
        2024, 12, 15, tzinfo=UTC
    )
    assert months_before(datetime(2024, 5, 31, tzinfo=UTC), 3) == datetime(2024, 2, 29, tzinfo=UTC)
