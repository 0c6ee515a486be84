"""Where sender histories live between runs: SQLite for one machine, PostgreSQL for a fleet.

Learning reuses `SenderHistory.observe` as the only learning logic. Each batch is observed in memory
and merged into the database: counts are added by upsert, first/last seen widened, and the two
parts observe cannot merge by addition (thread participants and trimmed term profiles) are first
read back into the in-memory history for the rows the batch touches, so the stored result equals
observing every message in one pass.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any, TypeVar

import platformdirs
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import (
    URL,
    ColumnElement,
    Connection,
    Engine,
    Table,
    bindparam,
    case,
    create_engine,
    delete,
    event,
    func,
    literal_column,
    make_url,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from missend.history.bulk import BulkStatement
from missend.history.model import (
    MAX_PAIR_RECIPIENTS,
    Contact,
    SenderHistory,
    earliest,
    latest,
    set_key,
    thread_key,
)
from missend.history.schema import (
    contacts,
    ingested,
    models,
    pack_participants,
    pack_profile,
    pairs,
    profiles,
    recipient_sets,
    senders,
    threads,
    unpack_participants,
    unpack_profile,
)
from missend.message.addresses import normalize_email
from missend.message.model import Message, Recipient
from missend.privacy.mode import PrivacyModeError, store_keys
from missend.privacy.pseudonym import AddressKeys

MIGRATIONS = Path(__file__).with_name("migrations")
BATCH_SIZE = 2000
_CHUNK = 2000
# Built once with their values as parameters: a statement built per call with its values in it
# has its cache key worked out over every value each time (a fifth of the milter's learning).
_SEED_PROFILES = (
    select(contacts.c.id, contacts.c.address, profiles.c.buckets)
    .join(profiles, profiles.c.contact_id == contacts.c.id)
    .where(
        contacts.c.sender_id == bindparam("sender"),
        contacts.c.address.in_(bindparam("values", expanding=True)),
    )
)
_SEED_THREADS = select(threads.c.thread_hash, threads.c.participants).where(
    threads.c.sender_id == bindparam("sender"),
    threads.c.thread_hash.in_(bindparam("values", expanding=True)),
)
_CONTACT_IDS = select(contacts.c.address, contacts.c.id).where(
    contacts.c.sender_id == bindparam("sender"),
    contacts.c.address.in_(bindparam("values", expanding=True)),
)
_DIALECTS = ("sqlite", "postgresql")
_MIGRATION_LOCK = 0x6D6973736E64  # "missnd": one advisory lock id for schema upgrades
_T = TypeVar("_T")


class StoreError(RuntimeError):
    """The history store could not be used; callers should defer (SMTP 4xx), not pass mail unchecked."""


@dataclass(frozen=True, slots=True)
class LearnReport:
    seen: int = 0
    learned: int = 0
    duplicates: int = 0
    without_sender: int = 0
    senders: int = 0
    seconds: float = 0.0

    @property
    def skipped(self) -> int:
        """Messages not learned because they had been learned before."""
        return self.duplicates

    @property
    def rate(self) -> float:
        return self.seen / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True, slots=True)
class RetentionReport:
    contacts: int
    threads: int
    recipient_sets: int


@dataclass(frozen=True, slots=True)
class StoreStats:
    revision: str | None
    senders: int
    contacts: int
    pairs: int
    recipient_sets: int
    threads: int
    profiles: int
    ingested: int


DIRECTORY_LIMIT = 500_000
"""Addresses kept in memory for the organisation's directory: a few tens of megabytes."""
DIRECTORY_PAIR_LIMIT = 500_000
"""Pairs of addresses written to together kept in memory beside them: the most senders' first."""


def default_url() -> str:
    """A SQLite file in the user's data directory, created on first use."""
    folder = Path(platformdirs.user_data_dir("missend"))
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'history.sqlite3'}"


def message_key(message: Message) -> str:
    """What identifies a message for idempotent learning: its Message-ID, else its envelope facts."""
    if message.message_id:
        basis = message.message_id
    else:
        sender = message.sender.email if message.sender else ""
        when = message.date.isoformat() if message.date else ""
        basis = "\n".join(
            (sender, when, ",".join(sorted(message.recipient_emails)), message.subject)
        )
    return hashlib.sha256(basis.encode("utf-8", "surrogateescape")).hexdigest()


@dataclass(slots=True)
class _Totals:
    seen: int = 0
    learned: int = 0
    duplicates: int = 0
    without_sender: int = 0
    senders: set[str] = field(default_factory=set)


@dataclass(slots=True)
class _Delta:
    """One sender's batch: the in-memory history plus the timestamps observe does not keep."""

    sender_id: int
    history: SenderHistory
    first: datetime | None = None
    last: datetime | None = None
    thread_last: dict[str, datetime] = field(default_factory=dict)
    set_last: dict[str, datetime] = field(default_factory=dict)
    known: dict[str, int] = field(default_factory=dict)


def _chunks(items: Iterable[_T], size: int) -> Iterator[list[_T]]:
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


def _sql_earliest(old: ColumnElement[Any], new: ColumnElement[Any]) -> ColumnElement[Any]:
    return case((old.is_(None), new), (new.is_(None), old), (new < old, new), else_=old)


def _sql_latest(old: ColumnElement[Any], new: ColumnElement[Any]) -> ColumnElement[Any]:
    return case((old.is_(None), new), (new.is_(None), old), (new > old, new), else_=old)


SQLITE_BUSY_MS = 10_000
SQLITE_CACHE_MIB = 64
"""Page cache per connection (SQLite's own default is 2 MiB). The store's indexes are keyed by
hashes, so each learning batch touches pages all over them; with the default cache those pages
are read back from the OS again every batch. Memory is taken only as pages are read."""


SQLITE_WAL_PAGES = 1_000
SQLITE_LEARN_WAL_PAGES = 20_000


def _sqlite_pragmas(busy_ms: int) -> Callable[[Any, Any], None]:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_MIB * 1024}")
        finally:
            cursor.close()

    return on_connect


def _make_engine(url: URL, timeout: float | None = None) -> Engine:
    """`timeout` bounds each statement (PostgreSQL's statement_timeout, which also ends lock
    waits; SQLite's busy timeout): the mail path answers 4xx rather than wait on a stuck store."""
    backend = url.get_backend_name()
    if backend not in _DIALECTS:
        raise StoreError(f"the history store needs SQLite or PostgreSQL, not {backend!r}")
    ms = max(1, round(timeout * 1000)) if timeout else None
    connect_args: dict[str, Any] = {}
    if backend == "postgresql":
        if "connect_timeout" not in url.query:
            connect_args["connect_timeout"] = 5
        if ms is not None:
            given = url.query.get("options", "")
            given = given if isinstance(given, str) else " ".join(given)
            connect_args["options"] = f"{given} -c statement_timeout={ms}".strip()
    try:
        engine = create_engine(url, connect_args=connect_args, pool_pre_ping=backend != "sqlite")
    except (ArgumentError, ImportError, SQLAlchemyError) as exc:
        raise StoreError(f"the history store URL cannot be used ({type(exc).__name__})") from exc
    if backend == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas(ms or SQLITE_BUSY_MS))
    return engine


class Store:
    """One history database. Thread-safe: every call takes its own pooled connection."""

    def __init__(
        self,
        url: str | URL,
        *,
        batch_size: int = BATCH_SIZE,
        keys: AddressKeys | None = None,
        timeout: float | None = None,
    ) -> None:
        self.keys = keys
        self._keys_in_use: tuple[AddressKeys | None] | None = None
        try:
            self.url = make_url(url)
        except ArgumentError as exc:
            raise StoreError("the history store URL cannot be read") from exc
        self.engine = _make_engine(self.url, timeout)
        self.batch_size = max(1, batch_size)
        self._insert = sqlite.insert if self.engine.dialect.name == "sqlite" else postgresql.insert
        self._bulk: dict[str, BulkStatement] = {}

    @classmethod
    def open(
        cls,
        url: str | URL | None = None,
        *,
        batch_size: int = BATCH_SIZE,
        keys: AddressKeys | None = None,
        timeout: float | None = None,
    ) -> Store:
        """Connect and bring the schema to the newest revision.

        `keys` (from `privacy.key_file`) make the history keep addresses only as keyed hashes.
        `timeout` (from `store.timeout`) bounds each statement, for the mail path.
        """
        store = cls(
            url if url is not None else default_url(),
            batch_size=batch_size,
            keys=keys,
            timeout=timeout,
        )
        try:
            store.migrate()
        except BaseException:
            store.close()
            raise
        return store

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @contextmanager
    def _guard(self, doing: str) -> Iterator[None]:
        try:
            yield
        except SQLAlchemyError as exc:
            where = self.url.render_as_string(hide_password=True)
            raise StoreError(
                f"the history store {where} failed while {doing} ({type(exc).__name__})"
            ) from exc

    def _config(self, connection: Connection) -> Config:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.set_main_option("path_separator", "os")
        config.attributes["connection"] = connection
        return config

    def migrate(self) -> None:
        """Upgrade to head, skipping Alembic entirely when the schema is already current.

        Nodes starting together on a new database race to create it: on PostgreSQL an advisory
        lock makes them take turns; on SQLite (no such lock) the loser of the race finds the
        schema already at head when it looks again, and that is success.
        """
        for attempt in range(3):
            try:
                self._upgrade()
                return
            except StoreError:
                if attempt == 2 or self._head() != self.revision():
                    if attempt == 2:
                        raise
                    time.sleep(0.2 * (attempt + 1))
                    continue
                return

    def _head(self) -> str | None:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.set_main_option("path_separator", "os")
        return ScriptDirectory.from_config(config).get_current_head()

    def _upgrade(self) -> None:
        with self._guard("migrating"), self.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                # A migration may take longer than the mail path's statement timeout.
                connection.execute(select(func.set_config("statement_timeout", "0", True)))
                connection.execute(select(func.pg_advisory_xact_lock(_MIGRATION_LOCK)))
            config = self._config(connection)
            head = ScriptDirectory.from_config(config).get_current_head()
            if MigrationContext.configure(connection).get_current_revision() != head:
                command.upgrade(config, "head")

    def revision(self) -> str | None:
        with self._guard("reading the schema version"), self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    def address_keys(self, *, recheck: bool = False) -> AddressKeys | None:
        """The keys this store hashes addresses with, or None when it keeps them in clear.

        Hashed mode, once seen, is kept (there is no way back); clear mode is read again when
        `recheck` asks, so a learner never writes clear addresses after hashing was turned on.
        """
        if self._keys_in_use is None or (recheck and self._keys_in_use[0] is None):
            try:
                with self._guard("reading the privacy settings"), self.engine.begin() as conn:
                    self._keys_in_use = (store_keys(conn, self.keys),)
            except PrivacyModeError as exc:
                raise StoreError(str(exc)) from exc
        return self._keys_in_use[0]

    def snapshot(self, sender: str, recipients: Iterable[str | Recipient] = ()) -> SenderHistory:
        """Everything known about one sender, as the read model detectors use.

        With keyed hashes, only the sender and `recipients` (the draft's) come back in clear;
        `reveal` does the same for another draft from a history read before.
        """
        keys = self.address_keys()
        if keys is None:
            return self._snapshot(sender)
        history = self._snapshot(keys.address(sender))
        return keys.reveal(history, sender, recipients)

    def reveal(
        self, history: SenderHistory, recipients: Iterable[str | Recipient]
    ) -> SenderHistory:
        """`history` for checking a draft to `recipients`; the same object when addresses are clear."""
        keys = self.address_keys()
        return history if keys is None else keys.reveal(history, history.sender, recipients)

    def _snapshot(self, sender: str) -> SenderHistory:
        with self._guard("reading a history"), self.engine.connect() as conn:
            row = conn.execute(
                select(senders.c.id, senders.c.message_count).where(senders.c.address == sender)
            ).first()
            if row is None:
                return SenderHistory(sender)
            sid = row.id
            history = SenderHistory(sender, message_count=row.message_count)
            names: dict[int, str] = {}
            for cid, address, name, count, first, last in conn.execute(
                select(
                    contacts.c.id,
                    contacts.c.address,
                    contacts.c.name,
                    contacts.c.count,
                    contacts.c.first_seen,
                    contacts.c.last_seen,
                ).where(contacts.c.sender_id == sid)
            ):
                names[cid] = address
                history.contacts[address] = Contact(address, name, count, first, last)
            for a, b, count in conn.execute(
                select(pairs.c.a_id, pairs.c.b_id, pairs.c.count).where(pairs.c.sender_id == sid)
            ):
                if a in names and b in names:
                    history.add_pair(names[a], names[b], count)
            for key, count in conn.execute(
                select(recipient_sets.c.set_hash, recipient_sets.c.count).where(
                    recipient_sets.c.sender_id == sid
                )
            ):
                history.recipient_sets[key] = count
            for key, participants in conn.execute(
                select(threads.c.thread_hash, threads.c.participants).where(
                    threads.c.sender_id == sid
                )
            ):
                history.threads[key] = unpack_participants(participants)
            for cid, blob in conn.execute(
                select(profiles.c.contact_id, profiles.c.buckets).where(profiles.c.sender_id == sid)
            ):
                if cid in names:
                    history.profiles[names[cid]] = unpack_profile(blob)
            return history

    def learn(
        self, messages: Iterable[Message], progress: Callable[[int], None] | None = None
    ) -> LearnReport:
        """Learn from sent messages, each batch in its own transaction; known messages are skipped."""
        start = time.perf_counter()
        totals = _Totals()
        keys = self.address_keys(recheck=True)
        if keys is not None:
            messages = keys.messages(messages)
        with self._guard("learning"), self.engine.connect() as conn:
            deferred = False
            try:
                for number, batch in enumerate(_chunks(messages, self.batch_size)):
                    if number == 1:
                        deferred = self._defer_checkpoints(conn, True)
                    with conn.begin():
                        self._learn_batch(conn, batch, totals)
                    if progress is not None:
                        progress(len(batch))
            finally:
                if deferred:
                    self._defer_checkpoints(conn, False)
        return LearnReport(
            seen=totals.seen,
            learned=totals.learned,
            duplicates=totals.duplicates,
            without_sender=totals.without_sender,
            senders=len(totals.senders),
            seconds=time.perf_counter() - start,
        )

    def _defer_checkpoints(self, conn: Connection, defer: bool) -> bool:
        """A long learn on SQLite spends a tenth of its time copying the WAL back into the database
        every 1,000 pages; letting the WAL grow to SQLITE_LEARN_WAL_PAGES first copies each hot page
        once instead of many times. Only multi-batch learns do this, so the mail path's one-message
        learns keep SQLite's default, and the last copy-back is a passive one that waits on no one."""
        if conn.dialect.name != "sqlite":
            return False
        pages = SQLITE_LEARN_WAL_PAGES if defer else SQLITE_WAL_PAGES
        conn.exec_driver_sql(f"PRAGMA wal_autocheckpoint={pages}")
        if not defer:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
        conn.commit()
        return True

    def _learn_batch(self, conn: Connection, batch: Sequence[Message], totals: _Totals) -> None:
        keyed: dict[str, dict[str, Message]] = {}
        for message in batch:
            totals.seen += 1
            author = message.sender
            if author is None or not author.email:
                totals.without_sender += 1
                continue
            mine = keyed.setdefault(author.email, {})
            key = message_key(message)
            if key in mine:
                totals.duplicates += 1
            else:
                mine[key] = message
        if not keyed:
            return
        sender_ids = self._sender_ids(conn, list(keyed))
        fresh = self._claim(conn, [(sender_ids[s], k) for s, mine in keyed.items() for k in mine])
        deltas: list[_Delta] = []
        for sender, mine in keyed.items():
            sid = sender_ids[sender]
            todo = [m for k, m in mine.items() if (sid, k) in fresh]
            totals.duplicates += len(mine) - len(todo)
            if todo:
                totals.learned += len(todo)
                totals.senders.add(sender)
                deltas.append(self._observe(conn, sid, sender, todo))
        if deltas:
            self._write(conn, deltas)

    def _sender_ids(self, conn: Connection, addresses: list[str]) -> dict[str, int]:
        insert = self._insert(senders)
        stmt = insert.on_conflict_do_update(
            index_elements=[senders.c.address], set_={"address": insert.excluded.address}
        ).returning(senders.c.address, senders.c.id)
        rows = conn.execute(stmt, [{"address": a, "message_count": 0} for a in addresses])
        return dict(rows.all())

    def _claim(self, conn: Connection, keys: list[tuple[int, str]]) -> set[tuple[int, str]]:
        """Record the batch's message keys; only those not recorded before come back."""
        stmt = (
            self._insert(ingested)
            .on_conflict_do_nothing()
            .returning(ingested.c.sender_id, ingested.c.message_key)
        )
        rows = [{"sender_id": s, "message_key": k} for s, k in keys]
        return {(sid, key) for sid, key in conn.execute(stmt, rows)}

    def _observe(self, conn: Connection, sid: int, sender: str, todo: list[Message]) -> _Delta:
        delta = _Delta(sid, SenderHistory(sender))
        history = delta.history
        self._seed(conn, delta, todo)
        for message in todo:
            before = history.message_count
            history.observe(message)
            when = message.date
            if history.message_count == before or when is None:
                continue
            delta.first = earliest(delta.first, when)
            delta.last = latest(delta.last, when)
            ids = message.conversation_ids
            for key in map(thread_key, ids):
                if key in history.threads:
                    delta.thread_last[key] = latest(delta.thread_last.get(key), when) or when
            if len(message.recipients) > MAX_PAIR_RECIPIENTS:
                emails = [e for e in dict.fromkeys(message.recipient_emails) if e != sender]
                key = set_key(emails)
                if key in history.recipient_sets:
                    delta.set_last[key] = latest(delta.set_last.get(key), when) or when
        return delta

    def _seed(self, conn: Connection, delta: _Delta, todo: list[Message]) -> None:
        """Load the stored profiles and threads this batch will extend, so observe continues them."""
        history = delta.history
        emails = {e for m in todo for e in m.recipient_emails if e != history.sender}
        for chunk in _chunks(emails, _CHUNK):
            for cid, address, blob in conn.execute(
                _SEED_PROFILES, {"sender": delta.sender_id, "values": list(chunk)}
            ):
                delta.known[address] = cid
                history.profiles[address] = unpack_profile(blob)
        keys = {thread_key(mid) for m in todo for mid in m.conversation_ids}
        for chunk in _chunks(keys, _CHUNK):
            for key, participants in conn.execute(
                _SEED_THREADS, {"sender": delta.sender_id, "values": list(chunk)}
            ):
                history.threads[key] = unpack_participants(participants)

    def _upsert(
        self,
        conn: Connection,
        table: Table,
        rows: list[dict[str, Any]],
        keys: Sequence[str],
        merge: Callable[[Any], dict[str, Any]],
    ) -> None:
        """One statement per table, compiled on first use: each table has one merge rule."""
        if not rows:
            return
        bulk = self._bulk.get(table.name)
        if bulk is None:
            stmt = self._insert(table).values({name: bindparam(name) for name in rows[0]})
            stmt = stmt.on_conflict_do_update(
                index_elements=[table.c[k] for k in keys], set_=merge(stmt.excluded)
            )
            bulk = BulkStatement(stmt, table, list(rows[0]), self.engine.dialect)
            self._bulk[table.name] = bulk
        bulk.execute(conn, rows)

    def _write(self, conn: Connection, deltas: list[_Delta]) -> None:
        ids = self._write_contacts(conn, deltas)
        pair_rows: list[dict[str, Any]] = []
        set_rows: list[dict[str, Any]] = []
        thread_rows: list[dict[str, Any]] = []
        profile_rows: list[dict[str, Any]] = []
        sender_rows: list[dict[str, Any]] = []
        for d in deltas:
            h, sid = d.history, d.sender_id
            known = {**d.known, **ids[sid]}
            sender_rows.append(
                {
                    "address": h.sender,
                    "message_count": h.message_count,
                    "first_seen": d.first,
                    "last_seen": d.last,
                }
            )
            for (a, b), count in h.pairs.items():
                pair_rows.append(
                    {"sender_id": sid, "a_id": known[a], "b_id": known[b], "count": count}
                )
            for key, count in h.recipient_sets.items():
                set_rows.append(
                    {
                        "sender_id": sid,
                        "set_hash": key,
                        "count": count,
                        "last_seen": d.set_last.get(key),
                    }
                )
            for key, participants in h.threads.items():
                thread_rows.append(
                    {
                        "sender_id": sid,
                        "thread_hash": key,
                        "participants": pack_participants(participants),
                        "last_seen": d.thread_last.get(key),
                    }
                )
            for email, profile in h.profiles.items():
                profile_rows.append(
                    {"contact_id": known[email], "sender_id": sid, "buckets": pack_profile(profile)}
                )
        c = senders.c
        self._upsert(
            conn,
            senders,
            sender_rows,
            ["address"],
            lambda new: {
                "message_count": c.message_count + new.message_count,
                "first_seen": _sql_earliest(c.first_seen, new.first_seen),
                "last_seen": _sql_latest(c.last_seen, new.last_seen),
            },
        )
        self._upsert(
            conn,
            pairs,
            pair_rows,
            ["sender_id", "a_id", "b_id"],
            lambda new: {"count": pairs.c.count + new.count},
        )
        self._upsert(
            conn,
            recipient_sets,
            set_rows,
            ["sender_id", "set_hash"],
            lambda new: {
                "count": recipient_sets.c.count + new.count,
                "last_seen": _sql_latest(recipient_sets.c.last_seen, new.last_seen),
            },
        )
        self._upsert(
            conn,
            threads,
            thread_rows,
            ["sender_id", "thread_hash"],
            lambda new: {
                "participants": new.participants,
                "last_seen": _sql_latest(threads.c.last_seen, new.last_seen),
            },
        )
        self._upsert(
            conn, profiles, profile_rows, ["contact_id"], lambda new: {"buckets": new.buckets}
        )

    def _write_contacts(self, conn: Connection, deltas: list[_Delta]) -> dict[int, dict[str, int]]:
        """Upsert every contact the batch touched; the ids of those not seeded are read back."""
        rows = [
            {
                "sender_id": d.sender_id,
                "address": ct.email,
                "name": ct.name,
                "count": ct.count,
                "first_seen": ct.first_seen,
                "last_seen": ct.last_seen,
            }
            for d in deltas
            for ct in d.history.contacts.values()
        ]
        c = contacts.c
        self._upsert(
            conn,
            contacts,
            rows,
            ["sender_id", "address"],
            lambda new: {
                "name": func.coalesce(func.nullif(new.name, literal_column("''")), c.name),
                "count": c.count + new.count,
                "first_seen": _sql_earliest(c.first_seen, new.first_seen),
                "last_seen": _sql_latest(c.last_seen, new.last_seen),
            },
        )
        ids: dict[int, dict[str, int]] = {}
        for d in deltas:
            mine = ids[d.sender_id] = {}
            unseeded = [e for e in d.history.contacts if e not in d.known]
            for chunk in _chunks(unseeded, _CHUNK):
                for address, cid in conn.execute(
                    _CONTACT_IDS, {"sender": d.sender_id, "values": chunk}
                ):
                    mine[address] = cid
        return ids

    def forget(self, address: str) -> int:
        """Erase one person everywhere: as a sender, as anyone's contact, and from every thread.

        Recipient-set digests stay: each hashes 50 or more addresses together and cannot be traced
        back to any one of them. Returns how many rows were deleted or rewritten.
        """
        email = normalize_email(address)
        if not email:
            return 0
        with self._guard("erasing an address"), self.engine.begin() as conn:
            try:
                keys = store_keys(conn, self.keys, switch_on=False)
            except PrivacyModeError as exc:
                raise StoreError(str(exc)) from exc
            forms = {email} | ({keys.address(email)} if keys is not None else set())
            changed = conn.execute(delete(senders).where(senders.c.address.in_(forms))).rowcount
            changed += conn.execute(delete(contacts).where(contacts.c.address.in_(forms))).rowcount
            rewrites: list[dict[str, Any]] = []
            for form in forms:
                for sid, key, participants in conn.execute(
                    select(
                        threads.c.sender_id, threads.c.thread_hash, threads.c.participants
                    ).where(threads.c.participants.contains(json.dumps(form), autoescape=True))
                ):
                    rest = unpack_participants(participants) - forms
                    rewrites.append({"s": sid, "k": key, "p": pack_participants(rest)})
            if rewrites:
                conn.execute(
                    update(threads)
                    .where(
                        threads.c.sender_id == bindparam("s"),
                        threads.c.thread_hash == bindparam("k"),
                    )
                    .values(participants=bindparam("p")),
                    rewrites,
                )
            return changed + len(rewrites)

    def apply_retention(self, older_than: datetime) -> RetentionReport:
        """Delete contacts (with their pairs and profiles), threads and recipient sets not seen since.

        Rows with no date at all are kept: their age is unknown.
        """
        with self._guard("applying retention"), self.engine.begin() as conn:
            gone_contacts = conn.execute(
                delete(contacts).where(contacts.c.last_seen < older_than)
            ).rowcount
            gone_threads = conn.execute(
                delete(threads).where(threads.c.last_seen < older_than)
            ).rowcount
            gone_sets = conn.execute(
                delete(recipient_sets).where(recipient_sets.c.last_seen < older_than)
            ).rowcount
        return RetentionReport(gone_contacts, gone_threads, gone_sets)

    def save_model(self, name: str, blob: bytes, metrics: dict[str, Any] | None = None) -> int:
        """Store a new version of a model; returns its version number."""
        with self._guard("saving a model"), self.engine.begin() as conn:
            current = conn.execute(
                select(func.max(models.c.version)).where(models.c.name == name)
            ).scalar()
            version = int(current or 0) + 1
            conn.execute(
                models.insert().values(
                    name=name,
                    version=version,
                    created_at=datetime.now(UTC),
                    sha256=hashlib.sha256(blob).hexdigest(),
                    metrics=json.dumps(metrics or {}, sort_keys=True),
                    blob=blob,
                )
            )
        return version

    def load_model(self, name: str) -> tuple[int, bytes] | None:
        """The newest version of a model and its bytes, or None when none was trained."""
        with self._guard("loading a model"), self.engine.connect() as conn:
            row = conn.execute(
                select(models.c.version, models.c.blob, models.c.sha256)
                .where(models.c.name == name)
                .order_by(models.c.version.desc())
                .limit(1)
            ).first()
        if row is None:
            return None
        blob = bytes(row.blob)
        if hashlib.sha256(blob).hexdigest() != row.sha256:
            raise StoreError(f"the stored {name} model version {row.version} is corrupt")
        return int(row.version), blob

    def directory_counts(self, limit: int = DIRECTORY_LIMIT) -> dict[str, int]:
        """How many senders wrote to each address, the most written-to first, up to `limit`: the
        organisation's address book as the misdirect model reads it (stored form of addresses)."""
        n = func.count().label("n")
        query = (
            select(contacts.c.address, n)
            .group_by(contacts.c.address)
            .order_by(n.desc())
            .limit(limit)
        )
        with self._guard("reading the organisation's directory"), self.engine.connect() as conn:
            return {str(address): int(count) for address, count in conn.execute(query)}

    def directory_pairs(self, limit: int = DIRECTORY_PAIR_LIMIT) -> Iterator[tuple[str, str, int]]:
        """How many senders wrote to each pair of addresses in one message, the most senders
        first, up to `limit` (stored form of addresses; a pair may come twice, in either order)."""
        first, second = contacts.alias("first"), contacts.alias("second")
        n = func.count().label("n")
        query = (
            select(first.c.address, second.c.address, n)
            .select_from(
                pairs.join(first, first.c.id == pairs.c.a_id).join(
                    second, second.c.id == pairs.c.b_id
                )
            )
            .group_by(first.c.address, second.c.address)
            .order_by(n.desc())
            .limit(limit)
        )
        with self._guard("reading the organisation's directory"), self.engine.connect() as conn:
            for a, b, count in conn.execute(query):
                yield str(a), str(b), int(count)

    def stats(self) -> StoreStats:
        tables = (senders, contacts, pairs, recipient_sets, threads, profiles, ingested)
        with self._guard("counting rows"), self.engine.connect() as conn:
            counts = [
                conn.execute(select(func.count()).select_from(t)).scalar_one() for t in tables
            ]
            revision = MigrationContext.configure(conn).get_current_revision()
        return StoreStats(revision, *counts)


__all__ = [
    "LearnReport",
    "RetentionReport",
    "Store",
    "StoreError",
    "StoreStats",
    "default_url",
    "message_key",
]
