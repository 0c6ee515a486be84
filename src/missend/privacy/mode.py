"""Whether a store keeps addresses in clear or as keyed hashes, decided once and kept in the store.

The mode lives in the database, not only in each node's configuration, because the danger is a
process that does not know: a `missend learn` run without the privacy settings would otherwise
write addresses in clear into a hashed store, and one run with another key would start a second
history that can never be joined to the first. So a hashed store names its key (by fingerprint and
file) and every process either uses that key or stops.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, insert, select

from missend.history.schema import privacy_settings as t
from missend.history.schema import senders
from missend.privacy.pseudonym import AddressKeys, KeyFileError

_ROW = 1


class PrivacyModeError(RuntimeError):
    """The store and this process disagree on how addresses are kept; the text says how to fix it."""


@dataclass(frozen=True, slots=True)
class Mode:
    hashed: bool
    key_file: str = ""
    since: datetime | None = None


def read_mode(conn: Connection) -> Mode:
    row = conn.execute(select(t).where(t.c.id == _ROW)).first()
    if row is None or not row.hash_addresses:
        return Mode(False)
    return Mode(True, row.key_file, row.created_at)


def _has_history(conn: Connection) -> bool:
    return conn.execute(select(senders.c.id).limit(1)).first() is not None


def enable(conn: Connection, keys: AddressKeys, *, require_empty: bool = True) -> None:
    """Switch an empty store to keyed hashes of addresses (there is no way back)."""
    if read_mode(conn).hashed:
        return
    if require_empty and _has_history(conn):
        raise PrivacyModeError(
            "the store already keeps a history with addresses in clear; keyed hashes can only be "
            "turned on for an empty history (run `missend privacy hash-addresses --convert` to "
            "hash the existing one)"
        )
    conn.execute(
        insert(t).values(
            id=_ROW,
            hash_addresses=True,
            key_check=keys.fingerprint,
            key_file=keys.source,
            created_at=datetime.now(UTC),
        )
    )


def store_keys(
    conn: Connection, configured: AddressKeys | None, *, switch_on: bool = True
) -> AddressKeys | None:
    """The keys this store's addresses are hashed with, or None when it keeps them in clear.

    A process given a key (`privacy.hash_addresses`) switches an empty store to hashed mode when
    `switch_on`; a process given none uses the key file the store names.
    """
    row = conn.execute(select(t).where(t.c.id == _ROW)).first()
    if row is None or not row.hash_addresses:
        if configured is None:
            return None
        if not switch_on:
            return configured
        enable(conn, configured)
        return configured
    if configured is not None:
        if configured.fingerprint != row.key_check:
            raise PrivacyModeError(
                "this store's addresses were hashed with another key than privacy.key_file; "
                "with this key nothing learned before could be found"
            )
        return configured
    if not row.key_file:
        raise PrivacyModeError(
            "this store keeps addresses as keyed hashes; set privacy.hash_addresses and "
            "privacy.key_file to use it"
        )
    try:
        found = AddressKeys.from_file(row.key_file)
    except KeyFileError as exc:
        raise PrivacyModeError(
            f"this store keeps addresses as keyed hashes and its key could not be read here "
            f"({exc}); install the key file or set privacy.key_file"
        ) from exc
    if found.fingerprint != row.key_check:
        raise PrivacyModeError(
            f"{row.key_file} is not the key this store's addresses were hashed with"
        )
    return found
