"""The audit log: one chain however many writers, and any edit in the database is named."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import pairwise
from threading import Barrier, Thread

import pytest
from sqlalchemy import delete, text, update

from missend.audit.log import GENESIS, AuditLog, canonical, link
from missend.history.schema import audit_log
from missend.history.store import Store


@pytest.fixture
def log(store_url: str) -> Iterator[AuditLog]:
    with Store.open(store_url) as store:
        yield AuditLog(store)


def fill(log: AuditLog, n: int) -> None:
    for i in range(n):
        log.record(
            "token:abc (officer)", "incident.update", str(i), {"fields": ["severity"], "n": i}
        )


def test_entries_form_a_chain_from_the_genesis_hash(log: AuditLog) -> None:
    fill(log, 3)
    entries = log.entries()
    assert [e.seq for e in entries] == [1, 2, 3]
    assert entries[0].prev_hash == GENESIS
    for before, after in pairwise(entries):
        assert after.prev_hash == before.hash
    first = entries[0]
    body = canonical(first.seq, first.at, first.actor, first.action, first.subject, first.details)
    assert first.hash == link(GENESIS, body)
    assert log.verify().ok
    assert log.verify().entries == 3


def test_an_empty_log_verifies(log: AuditLog) -> None:
    result = log.verify()
    assert result.ok
    assert result.entries == 0


@pytest.mark.parametrize(
    "change",
    [
        {"actor": "someone else"},
        {"details": '{"fields":["severity"],"n":99}'},
        {"action": "incident.close"},
    ],
)
def test_editing_one_entry_in_the_database_names_it(log: AuditLog, change: dict[str, str]) -> None:
    fill(log, 5)
    with log.engine.begin() as conn:
        conn.execute(update(audit_log).where(audit_log.c.seq == 3).values(**change))
    result = log.verify()
    assert not result.ok
    assert result.first_bad == 3
    assert "3" in result.reason


def test_rehashing_an_edited_entry_is_caught_at_the_next_link(log: AuditLog) -> None:
    fill(log, 4)
    entry = log.entries()[1]
    forged_body = canonical(
        entry.seq, entry.at, "forger", entry.action, entry.subject, entry.details
    )
    with log.engine.begin() as conn:
        conn.execute(
            update(audit_log)
            .where(audit_log.c.seq == 2)
            .values(actor="forger", hash=link(entry.prev_hash, forged_body))
        )
    result = log.verify()
    assert not result.ok
    assert result.first_bad == 3


def test_deleting_an_entry_or_the_tail_is_caught(log: AuditLog) -> None:
    fill(log, 5)
    with log.engine.begin() as conn:
        conn.execute(delete(audit_log).where(audit_log.c.seq == 5))
    tail = log.verify()
    assert not tail.ok
    assert tail.first_bad == 5
    with log.engine.begin() as conn:
        conn.execute(delete(audit_log).where(audit_log.c.seq == 2))
    middle = log.verify()
    assert not middle.ok
    assert middle.first_bad == 2


def test_concurrent_writers_build_one_unbroken_chain(store_url: str) -> None:
    writers, each = 6, 8
    barrier = Barrier(writers)
    errors: list[BaseException] = []

    def write(n: int) -> None:
        with Store(store_url) as store:
            log = AuditLog(store)
            barrier.wait()
            try:
                for i in range(each):
                    log.record(f"node-{n}", "verdict", f"{n}-{i}", {"i": i})
            except BaseException as exc:
                errors.append(exc)

    Store.open(store_url).close()
    threads = [Thread(target=write, args=(n,)) for n in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with Store(store_url) as store:
        log = AuditLog(store)
        result = log.verify()
        assert result.ok, result.reason
        assert result.entries == writers * each
        with store.engine.connect() as conn:
            subjects = conn.execute(text("SELECT COUNT(DISTINCT subject) FROM audit_log")).scalar()
        assert subjects == writers * each


def test_an_append_rolled_back_with_its_change_leaves_no_trace(log: AuditLog) -> None:
    fill(log, 1)

    def change_that_fails() -> None:
        with log.transaction() as conn:
            log.append(conn, "cli", "incident.create", "9")
            raise RuntimeError("the change failed")

    with pytest.raises(RuntimeError):
        change_that_fails()
    assert [e.seq for e in log.entries()] == [1]
    fill(log, 1)
    assert log.verify().ok
