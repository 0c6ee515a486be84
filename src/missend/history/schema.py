"""The history tables: only what detection needs, never a subject or a body.

Addresses and display names are kept because the detectors compare them; everything derived from
content (message ids, recipient lists over 50, words) is kept as one-way hashes. Child rows hang
off their sender or contact with ON DELETE CASCADE so erasing a person is one delete per table root.
"""

from __future__ import annotations

import json
import sys
from array import array
from collections import Counter
from datetime import UTC, datetime
from itertools import chain

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments a column declared exactly INTEGER PRIMARY KEY.
Id = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, on every backend.

    SQLite has no time zones and would store the wall-clock time of whatever offset it is given,
    so values are converted to UTC before binding; naive values are taken to be UTC already.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC) if dialect.name != "sqlite" else value
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Sender(Base):
    __tablename__ = "senders"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    address: Mapped[str] = mapped_column(String(320), unique=True)
    message_count: Mapped[int] = mapped_column(Integer, default=0)
    first_seen: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_seen: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ContactRow(Base):
    __tablename__ = "contacts"
    __table_args__ = (
        UniqueConstraint("sender_id", "address"),
        Index("ix_contacts_address", "address"),
        Index("ix_contacts_last_seen", "last_seen"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    sender_id: Mapped[int] = mapped_column(ForeignKey("senders.id", ondelete="CASCADE"))
    address: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(320), default="")
    count: Mapped[int] = mapped_column(Integer, default=0)
    first_seen: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_seen: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Pair(Base):
    """How often two contacts were addressed together; `a_id` is the contact whose address sorts first."""

    __tablename__ = "pairs"
    __table_args__ = (
        Index("ix_pairs_a_id", "a_id"),
        Index("ix_pairs_b_id", "b_id"),
    )

    sender_id: Mapped[int] = mapped_column(
        ForeignKey("senders.id", ondelete="CASCADE"), primary_key=True
    )
    a_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True
    )
    b_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True
    )
    count: Mapped[int] = mapped_column(Integer, default=0)


class RecipientSet(Base):
    __tablename__ = "recipient_sets"
    __table_args__ = (Index("ix_recipient_sets_last_seen", "last_seen"),)

    sender_id: Mapped[int] = mapped_column(
        ForeignKey("senders.id", ondelete="CASCADE"), primary_key=True
    )
    set_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    last_seen: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Thread(Base):
    """Who took part in a thread, keyed by the SHA-256 of a message id rather than the id itself."""

    __tablename__ = "threads"
    __table_args__ = (Index("ix_threads_last_seen", "last_seen"),)

    sender_id: Mapped[int] = mapped_column(
        ForeignKey("senders.id", ondelete="CASCADE"), primary_key=True
    )
    thread_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    participants: Mapped[str] = mapped_column(Text)
    last_seen: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Profile(Base):
    """A contact's hashed term buckets: little-endian uint32 (bucket, count) pairs in learning order."""

    __tablename__ = "profiles"
    __table_args__ = (Index("ix_profiles_sender_id", "sender_id"),)

    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True
    )
    sender_id: Mapped[int] = mapped_column(ForeignKey("senders.id", ondelete="CASCADE"))
    buckets: Mapped[bytes] = mapped_column(LargeBinary)


class Ingested(Base):
    """Which messages were learned already, as SHA-256 keys, so learning an archive twice is a no-op."""

    __tablename__ = "ingested"

    sender_id: Mapped[int] = mapped_column(
        ForeignKey("senders.id", ondelete="CASCADE"), primary_key=True
    )
    message_key: Mapped[str] = mapped_column(String(64), primary_key=True)


class HeldMessage(Base):
    """A message kept back (held for review, or delayed for undo-send) until released or cancelled.

    The whole message is kept because releasing must deliver exactly what was checked; a row is
    deleted by retention once it is decided, so content is stored no longer than the decision needs.
    """

    __tablename__ = "held_messages"
    __table_args__ = (
        Index("ix_held_messages_status", "status"),
        Index("ix_held_messages_sender", "sender"),
        Index("ix_held_messages_release_after", "release_after"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(16))
    sender: Mapped[str] = mapped_column(String(320))
    envelope_from: Mapped[str] = mapped_column(String(320))
    envelope_to: Mapped[str] = mapped_column(Text)
    subject: Mapped[str] = mapped_column(String(998), default="")
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    verdict: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16))
    mta_queue_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    release_after: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(320))
    note: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


metadata = Base.metadata
senders: Table = metadata.tables["senders"]
contacts: Table = metadata.tables["contacts"]
pairs: Table = metadata.tables["pairs"]
recipient_sets: Table = metadata.tables["recipient_sets"]
threads: Table = metadata.tables["threads"]
profiles: Table = metadata.tables["profiles"]
ingested: Table = metadata.tables["ingested"]
held_messages: Table = metadata.tables["held_messages"]


_LITTLE = sys.byteorder == "little"


def pack_profile(profile: Counter[int]) -> bytes:
    """Buckets and counts as little-endian uint32 pairs, in the profile's own order.

    The order is kept because `terms.trim` breaks ties by it, so a profile read back trims exactly
    as the one in memory would have.
    """
    try:
        values = array("I", chain.from_iterable(profile.items()))
    except OverflowError:
        values = array("I", (min(v, 0xFFFFFFFF) for v in chain.from_iterable(profile.items())))
    if not _LITTLE:
        values.byteswap()
    return values.tobytes()


def unpack_profile(blob: bytes) -> Counter[int]:
    values = array("I")
    values.frombytes(blob)
    if not _LITTLE:
        values.byteswap()
    return Counter(dict(zip(values[::2], values[1::2], strict=True)))


def pack_participants(emails: frozenset[str]) -> str:
    return json.dumps(sorted(emails))


def unpack_participants(text: str) -> frozenset[str]:
    return frozenset(json.loads(text))


# --- API tokens, verdicts, breach register and audit log (revision 0003) ---


class ApiToken(Base):
    """A bearer token: the public `id` finds the row, the secret part is kept only as argon2id."""

    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    secret_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    sender: Mapped[str | None] = mapped_column(String(320))
    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(64), default="")
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class VerdictRecord(Base):
    """A verdict given to a mail client, kept until the sender says what they did with it.

    The draft (`raw`) is kept only until the decision, so the sent message can be learned; it is
    cleared when the decision arrives and purged with the row by retention.
    """

    __tablename__ = "verdicts"
    __table_args__ = (
        Index("ix_verdicts_sender", "sender"),
        Index("ix_verdicts_created_at", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    sender: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(16))
    risk: Mapped[float] = mapped_column(Float)
    recipients: Mapped[int] = mapped_column(Integer)
    message_id: Mapped[str | None] = mapped_column(String(998))
    subject: Mapped[str] = mapped_column(String(998), default="")
    verdict: Mapped[str] = mapped_column(Text)
    raw: Mapped[bytes | None] = mapped_column(LargeBinary)
    token_id: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decision: Mapped[str | None] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    incident_id: Mapped[int | None] = mapped_column(Integer)


class IncidentRecord(Base):
    """One entry of the breach register (GDPR Art. 33(5)); lists are JSON arrays."""

    __tablename__ = "incidents"
    __table_args__ = (
        Index("ix_incidents_status", "status"),
        Index("ix_incidents_deadline_at", "deadline_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    status: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    sender: Mapped[str] = mapped_column(String(320), default="")
    message_id: Mapped[str | None] = mapped_column(String(998))
    subject: Mapped[str] = mapped_column(String(998), default="")
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    verdict_id: Mapped[str | None] = mapped_column(String(32))
    hold_id: Mapped[str | None] = mapped_column(String(32))
    recipients: Mapped[str] = mapped_column(Text)
    affected: Mapped[str] = mapped_column(Text)
    categories: Mapped[str] = mapped_column(Text)
    special_categories: Mapped[str] = mapped_column(Text)
    people: Mapped[int] = mapped_column(Integer)
    records: Mapped[int] = mapped_column(Integer)
    aware_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deadline_at: Mapped[datetime] = mapped_column(UTCDateTime)
    likelihood: Mapped[str | None] = mapped_column(String(16))
    severity: Mapped[str | None] = mapped_column(String(16))
    consequences: Mapped[str] = mapped_column(Text, default="")
    measures: Mapped[str] = mapped_column(Text, default="")
    notify_regulator: Mapped[bool | None] = mapped_column(Boolean)
    regulator_reasoning: Mapped[str] = mapped_column(Text, default="")
    regulator_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    notify_subjects: Mapped[bool | None] = mapped_column(Boolean)
    subjects_reasoning: Mapped[str] = mapped_column(Text, default="")
    subjects_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    dpo_contact: Mapped[str] = mapped_column(String(500), default="")
    reported_by: Mapped[str] = mapped_column(String(320), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)


class IncidentActionRecord(Base):
    """Something done about an incident (recall or deletion request, apology, notification)."""

    __tablename__ = "incident_actions"
    __table_args__ = (Index("ix_incident_actions_incident_id", "incident_id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(Text, default="")
    recipient: Mapped[str | None] = mapped_column(String(320))
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_by: Mapped[str] = mapped_column(String(320), default="")
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AuditEntryRecord(Base):
    """One link of the hash chain: `hash` = SHA-256(`prev_hash` + the entry's canonical JSON)."""

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(64), default="")
    details: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The chain's last link, in one row that appenders lock, so appends from many nodes serialise."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Id)
    hash: Mapped[str] = mapped_column(String(64))


api_tokens: Table = metadata.tables["api_tokens"]
verdicts: Table = metadata.tables["verdicts"]
incidents: Table = metadata.tables["incidents"]
incident_actions: Table = metadata.tables["incident_actions"]
audit_log: Table = metadata.tables["audit_log"]
audit_head: Table = metadata.tables["audit_head"]


class ModelRow(Base):
    """A trained model, versioned: every training adds a row; checks use the newest of a name."""

    __tablename__ = "models"
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sha256: Mapped[str] = mapped_column(String(64))
    metrics: Mapped[str] = mapped_column(Text, default="{}")
    blob: Mapped[bytes] = mapped_column(LargeBinary)


models: Table = metadata.tables["models"]


# --- Dashboard users, their sessions and the cookie-signing key (revision 0005) ---


class DashboardUser(Base):
    """An officer or admin who signs in to the dashboard; the password is kept only as argon2id."""

    __tablename__ = "dashboard_users"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(64), default="")
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DashboardSession(Base):
    """A signed-in browser, found by the SHA-256 of its cookie; deleting the row signs it out."""

    __tablename__ = "dashboard_sessions"
    __table_args__ = (
        Index("ix_dashboard_sessions_user_id", "user_id"),
        Index("ix_dashboard_sessions_expires_at", "expires_at"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("dashboard_users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DashboardKey(Base):
    """The key that signs session cookies and derives CSRF tokens, shared by every API node."""

    __tablename__ = "dashboard_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    key: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


dashboard_users: Table = metadata.tables["dashboard_users"]
dashboard_sessions: Table = metadata.tables["dashboard_sessions"]
dashboard_keys: Table = metadata.tables["dashboard_keys"]


# --- How the store keeps addresses (revision 0006) ---


class PrivacySetting(Base):
    """One row once addresses are kept as keyed hashes: it names the key, never holds it.

    `key_check` is an HMAC of a constant under the key, so a process given another key is stopped
    before it writes a second, unlinkable history; `key_file` is where the key was read from, so a
    process started without the privacy settings still hashes (or refuses) instead of writing
    addresses in clear.
    """

    __tablename__ = "privacy_settings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    hash_addresses: Mapped[bool] = mapped_column(Boolean)
    key_check: Mapped[str] = mapped_column(String(64))
    key_file: Mapped[str] = mapped_column(String(1000), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


privacy_settings: Table = metadata.tables["privacy_settings"]
