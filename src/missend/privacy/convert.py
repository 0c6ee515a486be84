"""Turning an existing clear history into keyed hashes, in one transaction.

Every sender, contact and thread participant is replaced by its keyed hash and display names are
dropped. Recipient-set digests (of 50 or more addresses together) cannot be converted, since they
are hashes of the clear addresses, and are deleted; they only ever fed statistics. Learned-message
keys stay: for mail with a Message-ID they still match, so learning an archive again is still a
no-op; mail without one would be learned a second time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Table, and_, bindparam, delete, or_, select, update
from sqlalchemy.exc import SQLAlchemyError

from missend.history.schema import (
    contacts,
    pack_participants,
    recipient_sets,
    senders,
    threads,
    unpack_participants,
)
from missend.history.store import Store, StoreError
from missend.privacy.mode import PrivacyModeError, enable, read_mode
from missend.privacy.pseudonym import AddressKeys

_PAGE = 5000


@dataclass(frozen=True, slots=True)
class Converted:
    senders: int
    contacts: int
    threads: int
    recipient_sets_dropped: int


def _rewrite(conn: Connection, table: Table, rows: list[dict[str, Any]], **values: Any) -> None:
    if rows:
        conn.execute(update(table).where(table.c.id == bindparam("i")).values(**values), rows)


def _hashed(keys: AddressKeys, participants: str) -> str:
    return pack_participants(frozenset(map(keys.address, unpack_participants(participants))))


def convert(store: Store, keys: AddressKeys) -> Converted:
    """Hash the whole history with `keys` and mark the store hashed; nothing changes on failure."""
    try:
        with store.engine.begin() as conn:
            if read_mode(conn).hashed:
                raise PrivacyModeError("the store already keeps addresses as keyed hashes")
            n_senders = n_contacts = n_threads = 0
            after = 0
            while page := conn.execute(
                select(senders.c.id, senders.c.address)
                .where(senders.c.id > after)
                .order_by(senders.c.id)
                .limit(_PAGE)
            ).all():
                _rewrite(
                    conn,
                    senders,
                    [{"i": i, "a": keys.address(a)} for i, a in page],
                    address=bindparam("a"),
                )
                n_senders += len(page)
                after = page[-1][0]
            after = 0
            while page := conn.execute(
                select(contacts.c.id, contacts.c.address)
                .where(contacts.c.id > after)
                .order_by(contacts.c.id)
                .limit(_PAGE)
            ).all():
                _rewrite(
                    conn,
                    contacts,
                    [{"i": i, "a": keys.address(a)} for i, a in page],
                    address=bindparam("a"),
                    name="",
                )
                n_contacts += len(page)
                after = page[-1][0]
            last: tuple[int, str] = (-1, "")
            t = threads.c
            while rows_ := conn.execute(
                select(t.sender_id, t.thread_hash, t.participants)
                .where(
                    or_(
                        t.sender_id > last[0],
                        and_(t.sender_id == last[0], t.thread_hash > last[1]),
                    )
                )
                .order_by(t.sender_id, t.thread_hash)
                .limit(_PAGE)
            ).all():
                conn.execute(
                    update(threads)
                    .where(t.sender_id == bindparam("s"), t.thread_hash == bindparam("k"))
                    .values(participants=bindparam("p")),
                    [{"s": s, "k": k, "p": _hashed(keys, p)} for s, k, p in rows_],
                )
                n_threads += len(rows_)
                last = (rows_[-1][0], rows_[-1][1])
            dropped = conn.execute(delete(recipient_sets)).rowcount
            enable(conn, keys, require_empty=False)
    except SQLAlchemyError as exc:
        raise StoreError(
            f"hashing the history failed ({type(exc).__name__}); nothing was changed"
        ) from exc
    except PrivacyModeError as exc:
        raise StoreError(str(exc)) from exc
    return Converted(n_senders, n_contacts, n_threads, int(dropped or 0))
