"""The history store keeps exactly what `SenderHistory.observe` learns, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
import string
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, event, func, select, text

from missend.history import schema
from missend.history.model import SenderHistory
from missend.history.store import (
    _MIGRATION_LOCK as MIGRATION_LOCK,
)
from missend.history.store import (
    MIGRATIONS,
    SQLITE_CACHE_MIB,
    SQLITE_LEARN_WAL_PAGES,
    SQLITE_WAL_PAGES,
    Store,
    StoreError,
    default_url,
    message_key,
)
from missend.history.terms import term_counts
from missend.message import Message, parse_message

ALICE = "alice@example.org"
WHEN = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


def mail(
    sender: str,
    to: Sequence[str],
    *,
    cc: Sequence[str] = (),
    subject: str = "hello",
    body: str = "",
    when: datetime | None = WHEN,
    msgid: str | None = None,
    refs: Sequence[str] = (),
) -> Message:
    lines = [f"From: {sender}", f"To: {', '.join(to)}"]
    if cc:
        lines.append(f"Cc: {', '.join(cc)}")
    lines.append(f"Subject: {subject}")
    if when is not None:
        lines.append(f"Date: {format_datetime(when)}")
    if msgid:
        lines.append(f"Message-ID: {msgid}")
    if refs:
        lines.append(f"References: {' '.join(refs)}")
    return parse_message(("\r\n".join([*lines, "", body])).encode())


def observed(messages: Sequence[Message], sender: str) -> SenderHistory:
    history = SenderHistory(sender)
    for message in messages:
        if message.sender and message.sender.email == sender:
            history.observe(message)
    return history


def assert_same(stored: SenderHistory, learned: SenderHistory) -> None:
    assert stored.sender == learned.sender
    assert stored.message_count == learned.message_count
    assert stored.contacts == learned.contacts
    assert stored.pairs == learned.pairs
    assert stored.neighbours == learned.neighbours
    assert stored.recipient_sets == learned.recipient_sets
    assert stored.profiles == learned.profiles
    assert dict(stored.threads) == dict(learned.threads)


def rows(url: str) -> dict[str, list[tuple[Any, ...]]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {
                table.name: sorted((tuple(r) for r in conn.execute(select(table))), key=repr)
                for table in schema.metadata.sorted_tables
            }
    finally:
        engine.dispose()


def wal_pragmas(store: Store) -> list[str]:
    """The WAL pragmas the store sends from now on, in order."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.startswith("PRAGMA wal"):
            seen.append(statement.removeprefix("PRAGMA "))

    event.listen(store.engine, "before_cursor_execute", record)
    return seen


def corpus(seed: int = 7, count: int = 300) -> list[Message]:
    """Varied sent mail: names, big lists, threads, missing ids and dates, rich vocabularies."""
    rng = random.Random(seed)
    people = [f"p{i}@corp{i % 4}.example" for i in range(40)]
    names = {p: f"Person {p[1:3].strip('@')}" for p in people}
    senders = [ALICE, "bob@example.org", "carol@example.net"]
    vocabulary = [
        "".join(rng.choices(string.ascii_lowercase, k=rng.randint(4, 9))) for _ in range(3000)
    ]
    sent_ids: list[str] = []
    out: list[Message] = []
    start = datetime(2023, 1, 1, tzinfo=timezone(timedelta(hours=-8)))
    for n in range(count):
        sender = rng.choice(senders)
        size = rng.choice([1, 1, 2, 3, 5, 8, 60, 120]) if n % 9 == 0 else rng.choice([1, 2, 3])
        favourites = people[:3] if rng.random() < 0.6 else []
        chosen = list(dict.fromkeys(favourites + rng.sample(people, min(size, len(people)))))
        if size > len(people):
            chosen += [f"list{i}@big.example" for i in range(size)]
        chosen = chosen[:size] + ([sender] if rng.random() < 0.05 else [])
        to = [f"{names[p]} <{p}>" if p in names and rng.random() < 0.5 else p for p in chosen]
        msgid = f"<m{n}.{seed}@mail.example>" if rng.random() > 0.1 else None
        refs = rng.sample(sent_ids, min(len(sent_ids), rng.randint(0, 2))) if sent_ids else []
        when = start + timedelta(hours=rng.randint(-500, 5000)) if rng.random() > 0.05 else None
        body = " ".join(rng.choices(vocabulary, k=rng.randint(20, 80)))
        out.append(
            mail(
                sender,
                to,
                subject=rng.choice(vocabulary),
                body=body,
                when=when,
                msgid=msgid,
                refs=refs,
            )
        )
        if msgid:
            sent_ids.append(msgid)
    return out


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    with Store.open(store_url) as opened:
        yield opened


class TestMigrations:
    def test_fresh_database_is_migrated_to_the_packaged_head(
        self, store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.chdir(tmp_path)
        with Store.open(store_url) as store:
            head = sorted(p.name for p in (MIGRATIONS / "versions").glob("0*.py"))[-1][:4]
            assert store.revision() == head
            assert store.stats().revision == head
            with store.engine.connect() as conn:
                assert compare_metadata(MigrationContext.configure(conn), schema.metadata) == []

    def test_opening_again_keeps_data(self, store_url: str) -> None:
        with Store.open(store_url) as store:
            store.learn([mail(ALICE, ["bob@example.org"], msgid="<1@x>")])
        with Store.open(store_url) as store:
            assert store.snapshot(ALICE).contact("bob@example.org") is not None


class TestLearning:
    def test_snapshot_equals_observing_the_same_messages(self, store_url: str) -> None:
        messages = corpus()
        favourite = "p0@corp0.example"
        sent_to_favourite: Counter[int] = Counter()
        for m in messages:
            if m.sender and m.sender.email == ALICE and favourite in m.recipient_emails:
                sent_to_favourite.update(term_counts(m.subject, m.body_text))
        assert len(sent_to_favourite) > 400, "the corpus must make observe trim a profile"

        with Store.open(store_url, batch_size=7) as store:
            report = store.learn(messages)
            assert report.learned == len(messages)
            for sender in {m.sender.email for m in messages if m.sender}:
                assert_same(store.snapshot(sender), observed(messages, sender))

    def test_big_recipient_lists_are_kept_as_set_digests(self, store: Store) -> None:
        crowd = [f"c{i}@example.com" for i in range(60)]
        store.learn([mail(ALICE, crowd, msgid="<a@x>"), mail(ALICE, crowd[::-1], msgid="<b@x>")])
        history = store.snapshot(ALICE)
        assert list(history.recipient_sets.values()) == [2]
        assert not history.pairs

    def test_threads_answer_raw_ids_but_store_only_hashes(
        self, store: Store, store_url: str
    ) -> None:
        store.learn([mail(ALICE, ["bob@example.org"], msgid="<Root@Mail.Example>")])
        store.learn(
            [mail(ALICE, ["carol@example.org"], msgid="<r2@x>", refs=["<root@mail.example>"])]
        )
        history = store.snapshot(ALICE)
        assert history.thread_participants(("<root@mail.example>",)) == {
            ALICE,
            "bob@example.org",
            "carol@example.org",
        }
        stored = rows(store_url)["threads"]
        assert stored
        assert all("<" not in repr(row) and "mail.example" not in repr(row) for row in stored)

    def test_times_come_back_aware_in_utc(self, store: Store) -> None:
        pacific = datetime(2001, 5, 14, 9, 30, tzinfo=timezone(timedelta(hours=-7)))
        store.learn([mail(ALICE, ["bob@example.org"], when=pacific, msgid="<t@x>")])
        contact = store.snapshot(ALICE).contact("bob@example.org")
        assert contact is not None
        assert contact.first_seen is not None
        assert contact.first_seen.tzinfo == UTC
        assert contact.first_seen == pacific

    def test_unknown_sender_has_an_empty_history(self, store: Store) -> None:
        assert store.snapshot("nobody@example.org") == SenderHistory("nobody@example.org")

    def test_report_counts_and_progress(self, store_url: str) -> None:
        messages = [mail(ALICE, [f"x{i}@example.org"], msgid=f"<{i}@x>") for i in range(5)]
        anonymous = parse_message(b"To: bob@example.org\r\nSubject: who\r\n\r\nhi")
        seen: list[int] = []
        with Store.open(store_url, batch_size=2) as store:
            report = store.learn([*messages, anonymous, messages[0]], progress=seen.append)
        assert seen == [2, 2, 2, 1]
        assert (report.seen, report.learned, report.without_sender) == (7, 5, 1)
        assert report.duplicates == report.skipped == 1
        assert report.senders == 1


class TestIdempotence:
    def test_learning_the_same_archive_twice_changes_nothing(self, store_url: str) -> None:
        messages = corpus(seed=3, count=120)
        with Store.open(store_url, batch_size=50) as store:
            store.learn(messages)
            before = rows(store_url)
            again = store.learn(messages)
            assert again.learned == 0
            assert again.duplicates == len(messages)
            assert rows(store_url) == before
            assert_same(store.snapshot(ALICE), observed(messages, ALICE))

    def test_message_key_uses_the_id_else_what_the_message_says(self) -> None:
        a = mail(ALICE, ["b@example.org"], subject="one", msgid="<same@x>")
        b = mail(ALICE, ["c@example.org"], subject="two", msgid="<same@x>")
        assert message_key(a) == message_key(b)
        c = mail(ALICE, ["b@example.org"], subject="one")
        d = mail(ALICE, ["b@example.org"], subject="one")
        e = mail(ALICE, ["b@example.org"], subject="other")
        assert message_key(c) == message_key(d) != message_key(e)
        assert len(message_key(c)) == 64

    def test_messages_without_id_are_learned_once(self, store: Store) -> None:
        m = mail(ALICE, ["b@example.org"], subject="no id")
        store.learn([m])
        store.learn([m])
        contact = store.snapshot(ALICE).contact("b@example.org")
        assert contact is not None
        assert contact.count == 1


class TestForget:
    def test_forgetting_a_contact_removes_every_trace(self, store: Store, store_url: str) -> None:
        bob = "bob@example.org"
        messages = [
            mail(
                ALICE, [f"Bob B <{bob}>", "carol@example.org"], body="budget figures", msgid="<1@x>"
            ),
            mail(ALICE, ["carol@example.org", "dave@example.org"], msgid="<2@x>", refs=["<1@x>"]),
            mail("erin@example.org", [bob], body="lunch plans", msgid="<3@x>"),
            mail(bob, [ALICE], body="reply", msgid="<4@x>"),
        ]
        store.learn(messages)
        assert store.forget("Bob@Example.org") > 0

        for table, stored in rows(store_url).items():
            assert not any("bob@" in str(value) for row in stored for value in row), table
        alice = store.snapshot(ALICE)
        assert set(alice.contacts) == {"carol@example.org", "dave@example.org"}
        assert dict(alice.pairs) == {("carol@example.org", "dave@example.org"): 1}
        assert bob not in alice.neighbours
        assert bob not in alice.profiles
        assert alice.thread_participants(("<1@x>",)) == {
            ALICE,
            "carol@example.org",
            "dave@example.org",
        }
        assert store.snapshot("erin@example.org").contacts == {}
        assert store.snapshot(bob) == SenderHistory(bob)

    def test_forgetting_a_sender_leaves_other_senders_alone(self, store: Store) -> None:
        store.learn(
            [
                mail(ALICE, ["x@example.org"], msgid="<1@x>"),
                mail("erin@example.org", ["x@example.org"], msgid="<2@x>"),
            ]
        )
        store.forget(ALICE)
        assert store.snapshot(ALICE) == SenderHistory(ALICE)
        assert store.snapshot("erin@example.org").contact("x@example.org") is not None
        assert store.stats().senders == 1


class TestRetention:
    def test_old_contacts_pairs_threads_and_sets_go_recent_ones_stay(self, store: Store) -> None:
        old = datetime(2020, 6, 1, tzinfo=UTC)
        new = datetime(2024, 6, 1, tzinfo=UTC)
        crowd = [f"c{i}@example.com" for i in range(60)]
        store.learn(
            [
                mail(
                    ALICE,
                    ["bob@example.org", "carol@example.org"],
                    body="old plans",
                    when=old,
                    msgid="<o@x>",
                ),
                mail(ALICE, crowd, when=old, msgid="<crowd@x>"),
                mail(
                    ALICE,
                    ["carol@example.org", "dave@example.org"],
                    body="new plans",
                    when=new,
                    msgid="<n@x>",
                ),
            ]
        )
        report = store.apply_retention(datetime(2023, 1, 1, tzinfo=UTC))

        assert (report.contacts, report.threads, report.recipient_sets) == (61, 2, 1)
        history = store.snapshot(ALICE)
        assert set(history.contacts) == {"carol@example.org", "dave@example.org"}
        carol = history.contacts["carol@example.org"]
        assert (carol.count, carol.first_seen, carol.last_seen) == (2, old, new)
        assert dict(history.pairs) == {("carol@example.org", "dave@example.org"): 1}
        assert set(history.profiles) == {"carol@example.org", "dave@example.org"}
        assert not history.recipient_sets
        assert history.thread_participants(("<o@x>",)) == frozenset()
        assert history.thread_participants(("<n@x>",)) == {
            ALICE,
            "carol@example.org",
            "dave@example.org",
        }


class TestOperations:
    def test_stats_count_rows(self, store: Store) -> None:
        store.learn(
            [
                mail(
                    ALICE,
                    ["b@example.org", "c@example.org"],
                    body="quarterly numbers",
                    msgid="<1@x>",
                )
            ]
        )
        stats = store.stats()
        assert (
            stats.senders,
            stats.contacts,
            stats.pairs,
            stats.threads,
            stats.profiles,
            stats.ingested,
        ) == (1, 2, 1, 1, 2, 1)

    def test_sqlite_runs_in_wal_mode_with_foreign_keys(self, sqlite_url: str) -> None:
        with Store.open(sqlite_url) as store, store.engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
            assert conn.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
            assert conn.execute(text("PRAGMA busy_timeout")).scalar_one() >= 1000

    def test_sqlite_keeps_a_page_cache_sized_for_learning_not_its_2_mib_default(
        self, sqlite_url: str
    ) -> None:
        with Store.open(sqlite_url) as store, store.engine.connect() as conn:
            assert conn.execute(text("PRAGMA cache_size")).scalar_one() == -SQLITE_CACHE_MIB * 1024

    def test_a_long_learn_lets_the_wal_grow_then_copies_it_back_and_restores_the_default(
        self, sqlite_url: str
    ) -> None:
        with Store.open(sqlite_url, batch_size=7) as store:
            pragmas = wal_pragmas(store)
            store.learn(corpus(count=60))
            assert pragmas == [
                f"wal_autocheckpoint={SQLITE_LEARN_WAL_PAGES}",
                f"wal_autocheckpoint={SQLITE_WAL_PAGES}",
                "wal_checkpoint(PASSIVE)",
            ]
            with store.engine.connect() as conn:
                assert conn.execute(text("PRAGMA wal_autocheckpoint")).scalar_one() == 1000
                busy, frames, copied = conn.execute(text("PRAGMA wal_checkpoint(PASSIVE)")).one()
                assert (busy, frames) == (0, copied)

    def test_a_one_batch_learn_such_as_the_mail_paths_keeps_sqlites_checkpoints(
        self, sqlite_url: str
    ) -> None:
        with Store.open(sqlite_url, batch_size=7) as store:
            pragmas = wal_pragmas(store)
            store.learn(corpus(count=7))
            assert pragmas == []

    def test_default_url_is_a_sqlite_file_in_the_user_data_folder(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
        url = default_url()
        assert url == f"sqlite:///{tmp_path / 'missend' / 'history.sqlite3'}"
        assert (tmp_path / "missend").is_dir()


class TestUnavailable:
    def test_a_database_that_is_down_raises_store_error_without_the_password(self) -> None:
        with pytest.raises(StoreError) as caught:
            Store.open("postgresql+psycopg://postgres:s3cret@127.0.0.1:1/missend")
        assert "s3cret" not in str(caught.value)

    def test_reading_from_a_database_that_is_down_raises_store_error(self) -> None:
        store = Store("postgresql+psycopg://postgres@127.0.0.1:1/missend")
        with pytest.raises(StoreError):
            store.snapshot(ALICE)
        with pytest.raises(StoreError):
            store.learn([mail(ALICE, ["b@example.org"])])

    def test_an_unopenable_sqlite_file_raises_store_error(self, tmp_path: Path) -> None:
        with pytest.raises(StoreError):
            Store.open(f"sqlite:///{tmp_path / 'missing' / 'history.sqlite3'}")

    def test_an_unsupported_database_is_refused(self) -> None:
        with pytest.raises(StoreError, match="SQLite or PostgreSQL"):
            Store("mysql://localhost/missend")


def test_nodes_opening_a_new_database_together_all_start(store_url: str) -> None:
    import subprocess
    import sys

    code = "import sys; from missend.history.store import Store; Store.open(sys.argv[1]).close()"
    nodes = [
        subprocess.Popen([sys.executable, "-c", code, store_url], stderr=subprocess.PIPE)
        for _ in range(4)
    ]
    errors = [p.communicate(timeout=120)[1].decode() for p in nodes]
    assert [p.returncode for p in nodes] == [0] * 4, errors


class TestStatementTimeout:
    """In the mail path a stuck store must give a 4xx in seconds, not hold every connection."""

    @pytest.mark.postgres
    def test_a_read_stuck_behind_a_lock_gives_up_after_the_timeout(
        self, postgresql_url: str
    ) -> None:
        with Store.open(postgresql_url, timeout=0.3) as store:
            store.learn([mail(ALICE, ["bob@example.org"])])
            blocker = create_engine(postgresql_url)
            try:
                with blocker.connect() as conn:
                    conn.execute(text("LOCK TABLE senders IN ACCESS EXCLUSIVE MODE"))
                    started = time.monotonic()
                    with pytest.raises(StoreError):
                        store.snapshot(ALICE)
                    assert time.monotonic() - started < 3
                    conn.rollback()
            finally:
                blocker.dispose()
            assert store.snapshot(ALICE).contacts["bob@example.org"].count == 1

    @pytest.mark.postgres
    def test_the_schema_upgrade_may_wait_longer_than_the_timeout(self, postgresql_url: str) -> None:
        holder = create_engine(postgresql_url)
        try:
            with holder.connect() as conn:
                conn.execute(select(func.pg_advisory_lock(MIGRATION_LOCK)))
                release = threading.Timer(
                    2.5, lambda: conn.execute(select(func.pg_advisory_unlock(MIGRATION_LOCK)))
                )
                release.start()
                started = time.monotonic()
                with Store.open(postgresql_url, timeout=0.2) as store:
                    assert store.revision() is not None
                assert time.monotonic() - started >= 2.4
                release.join()
        finally:
            holder.dispose()

    def test_on_sqlite_a_write_waits_for_the_timeout_not_ten_seconds(self, sqlite_url: str) -> None:
        with Store.open(sqlite_url, timeout=0.3) as store:
            writer = create_engine(sqlite_url)
            try:
                with writer.connect() as conn:
                    conn.exec_driver_sql("BEGIN IMMEDIATE")
                    started = time.monotonic()
                    with pytest.raises(StoreError):
                        store.learn([mail(ALICE, ["bob@example.org"])])
                    assert time.monotonic() - started < 3
                    conn.rollback()
            finally:
                writer.dispose()
            assert store.learn([mail(ALICE, ["bob@example.org"])]).learned == 1
