"""Erasing one person from everything missend keeps (GDPR Art. 17).

What is theirs goes: their history as a sender and as anyone's contact (pairs, profiles, thread
participation, learned-message keys), held messages from or to them, verdict drafts from or to
them. What the law makes the organisation keep stays, with the address replaced by a pseudonym:
the breach register (Art. 33(5) requires documenting every breach) and the audit log that proves
how the register was kept. Everything else that merely mentions them (a note, a decided verdict,
a token's owner) keeps its row and loses the address.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from email.policy import compat32
from typing import Any

from sqlalchemy import Column, Connection, String, Table, delete, func, or_, select, update
from sqlalchemy.exc import SQLAlchemyError

from missend.audit.log import AuditLog
from missend.history import schema
from missend.history.schema import api_tokens, dashboard_sessions, dashboard_users, incidents
from missend.history.schema import held_messages as held
from missend.history.schema import incident_actions as actions
from missend.history.schema import verdicts as vt
from missend.history.store import Store, StoreError
from missend.hold.queue import OPEN, now
from missend.message.addresses import normalize_email, parse_addresses
from missend.privacy.audit import pseudonymise_log
from missend.privacy.pseudonym import AddressKeys
from missend.privacy.scrub import Scrubber

_RAW_PAGE = 20
_HEADERS = ("from", "sender", "reply-to", "to", "cc", "bcc", "resent-to", "resent-cc")
_INCIDENT_TEXTS = (
    "title",
    "description",
    "subject",
    "consequences",
    "measures",
    "regulator_reasoning",
    "subjects_reasoning",
    "dpo_contact",
    "reported_by",
    "message_id",
)
_INCIDENT_LISTS = ("recipients", "affected", "categories", "special_categories")
ACTOR = "missend forget"


def pseudonym_for(email: str, keys: AddressKeys | None) -> str:
    """Stable under the organisation's key (the same person, the same pseudonym, in every run);
    random without one, which makes the register entry anonymous rather than pseudonymous."""
    if keys is not None:
        return keys.pseudonym(email)
    return f"erased-{secrets.token_hex(8)}@erased.invalid"


@dataclass(frozen=True, slots=True)
class HeldMatch:
    id: str
    status: str
    subject: str


@dataclass(slots=True)
class ErasureReport:
    pseudonym: str
    history_rows: int = 0
    held_deleted: int = 0
    held_open_deleted: int = 0
    held_rewritten: int = 0
    held_content_mentions: int = 0
    drafts_deleted: int = 0
    drafts_cleared: int = 0
    verdicts_deleted: int = 0
    verdicts_rewritten: int = 0
    incidents: int = 0
    incident_actions: int = 0
    audit_rewritten: int = 0
    audit_relinked: int = 0
    tokens_revoked: int = 0
    tokens_rewritten: int = 0
    users_disabled: int = 0
    users_rewritten: int = 0
    remaining: dict[str, int] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in self.__slots__ if k not in ("pseudonym", "remaining")}


def _header_addresses(raw: bytes) -> set[str]:
    try:
        headers = BytesHeaderParser(policy=compat32).parsebytes(raw)
    except (ValueError, TypeError, UnicodeError):
        return set()
    values = [str(v) for name in _HEADERS for v in headers.get_all(name, [])]
    return {a.email for a in parse_addresses(values)}


def _mentions_bytes(scrub: Scrubber, raw: bytes | None) -> bool:
    if not raw:
        return False
    text = raw.decode("utf-8", "replace")
    return scrub.mentions(text)


def _theirs(scrub: Scrubber, sender: str, envelope: Sequence[str], raw: bytes | None) -> bool:
    """From them or addressed to them: in the envelope or in the message's own headers."""
    people = {normalize_email(sender), *(normalize_email(e) for e in envelope)}
    if raw:
        people |= _header_addresses(raw)
    return any(form in people for form in scrub.forms)


def _pages(
    conn: Connection, table: Table, key: Column[Any], *cols: Any, page: int = _RAW_PAGE
) -> Iterator[Any]:
    """Rows in key order, a few at a time: held messages and drafts can be large."""
    after: Any = None
    while True:
        query = select(key, *cols).order_by(key).limit(page)
        if after is not None:
            query = query.where(key > after)
        rows = conn.execute(query).all()
        yield from rows
        if len(rows) < page:
            return
        after = rows[-1][0]


def held_to_erase(conn: Connection, scrub: Scrubber) -> list[HeldMatch]:
    """Held or delayed messages from or to the person: the ones erasure deletes."""
    c = held.c
    return [
        HeldMatch(row.id, row.status, row.subject)
        for row in _pages(
            conn, held, c.id, c.status, c.subject, c.sender, c.envelope_from, c.envelope_to, c.raw
        )
        if _theirs(
            scrub, row.sender, [row.envelope_from, *json.loads(row.envelope_to)], bytes(row.raw)
        )
    ]


def preview(store: Store, address: str) -> list[HeldMatch]:
    """The held messages `erase` would delete, for asking before it does."""
    scrub = Scrubber(address, "")
    try:
        with store.engine.connect() as conn:
            return held_to_erase(conn, scrub)
    except SQLAlchemyError as exc:
        raise StoreError(f"reading the hold queue failed ({type(exc).__name__})") from exc


def _text_filter(scrub: Scrubber, *cols: Any) -> Any:
    return or_(
        *(func.lower(col).contains(n, autoescape=True) for col in cols for n in scrub.needles)
    )


def _erase_held(conn: Connection, scrub: Scrubber, report: ErasureReport) -> None:
    c = held.c
    doomed = held_to_erase(conn, scrub)
    for match in doomed:
        conn.execute(delete(held).where(c.id == match.id))
    report.held_deleted = len(doomed)
    report.held_open_deleted = sum(1 for m in doomed if m.status in OPEN)
    for row in _pages(conn, held, c.id, c.raw):
        if _mentions_bytes(scrub, bytes(row.raw)):
            report.held_content_mentions += 1
    texts = (c.subject, c.verdict, c.decided_by, c.note, c.last_error, c.sender, c.envelope_from)
    for row in conn.execute(select(held).where(_text_filter(scrub, *texts))).all():
        values = {
            "subject": scrub.text(row.subject)[:998],
            "verdict": scrub.json_text(row.verdict),
            "decided_by": scrub.text(row.decided_by)[:320] if row.decided_by else row.decided_by,
            "note": scrub.text(row.note) if row.note else row.note,
            "last_error": scrub.text(row.last_error) if row.last_error else row.last_error,
        }
        if any(values[k] != getattr(row, k) for k in values):
            conn.execute(update(held).where(c.id == row.id).values(**values))
            report.held_rewritten += 1


def _erase_verdicts(conn: Connection, scrub: Scrubber, report: ErasureReport) -> None:
    c = vt.c
    for row in _pages(conn, vt, c.id, c.sender, c.raw, c.decision, c.incident_id):
        raw = bytes(row.raw) if row.raw is not None else None
        mine = _theirs(scrub, row.sender, (), raw)
        if raw is not None and row.decision is None:
            if mine:
                conn.execute(delete(vt).where(c.id == row.id))
                report.drafts_deleted += 1
            elif _mentions_bytes(scrub, raw):
                conn.execute(update(vt).where(c.id == row.id).values(raw=None))
                report.drafts_cleared += 1
        elif scrub.is_address(row.sender) and row.incident_id is None:
            conn.execute(delete(vt).where(c.id == row.id))
            report.verdicts_deleted += 1
    texts = (c.sender, c.subject, c.verdict, c.reason, c.message_id)
    for row in conn.execute(select(vt).where(_text_filter(scrub, *texts))).all():
        conn.execute(
            update(vt)
            .where(c.id == row.id)
            .values(
                sender=scrub.text(row.sender)[:320],
                subject=scrub.text(row.subject)[:998],
                verdict=scrub.json_text(row.verdict),
                reason=scrub.text(row.reason) if row.reason else row.reason,
                message_id=scrub.text(row.message_id)[:998] if row.message_id else None,
            )
        )
        report.verdicts_rewritten += 1


def _erase_register(conn: Connection, scrub: Scrubber, report: ErasureReport) -> list[int]:
    c = incidents.c
    cols = [c[n] for n in (*_INCIDENT_TEXTS, *_INCIDENT_LISTS, "sender")]
    changed: list[int] = []
    for row in conn.execute(select(incidents).where(_text_filter(scrub, *cols))).all():
        values: dict[str, Any] = {
            n: scrub.text(getattr(row, n)) for n in _INCIDENT_TEXTS if getattr(row, n)
        }
        for n in _INCIDENT_LISTS:
            values[n] = json.dumps(scrub.addresses(json.loads(getattr(row, n))))
        values["sender"] = scrub.text(row.sender)[:320]
        if all(values[k] == getattr(row, k) for k in values):
            continue
        conn.execute(
            update(incidents)
            .where(c.id == row.id)
            .values(**values, version=row.version + 1, updated_at=now())
        )
        changed.append(int(row.id))
    a = actions.c
    for row in conn.execute(
        select(actions).where(_text_filter(scrub, a.recipient, a.description, a.recorded_by))
    ).all():
        conn.execute(
            update(actions)
            .where(a.id == row.id)
            .values(
                recipient=scrub.text(row.recipient) if row.recipient else row.recipient,
                description=scrub.text(row.description),
                recorded_by=scrub.text(row.recorded_by)[:320],
            )
        )
        report.incident_actions += 1
    report.incidents = len(changed)
    return changed


def _erase_accounts(conn: Connection, scrub: Scrubber, report: ErasureReport) -> None:
    t = api_tokens.c
    for row in conn.execute(
        select(api_tokens).where(_text_filter(scrub, t.sender, t.label, t.created_by))
    ).all():
        values: dict[str, Any] = {
            "sender": scrub.text(row.sender) if row.sender else row.sender,
            "label": scrub.text(row.label)[:200],
            "created_by": scrub.text(row.created_by)[:64],
        }
        if scrub.is_address(row.sender) and row.revoked_at is None:
            values["revoked_at"] = now()
            report.tokens_revoked += 1
        conn.execute(update(api_tokens).where(t.id == row.id).values(**values))
        report.tokens_rewritten += 1
    u = dashboard_users.c
    for row in conn.execute(
        select(dashboard_users).where(_text_filter(scrub, u.name, u.created_by))
    ).all():
        values = {"created_by": scrub.text(row.created_by)[:64]}
        if scrub.mentions(row.name):
            values["name"] = scrub.pseudonym
            if row.disabled_at is None:
                values["disabled_at"] = now()
                report.users_disabled += 1
            conn.execute(delete(dashboard_sessions).where(dashboard_sessions.c.user_id == row.id))
        conn.execute(update(dashboard_users).where(u.id == row.id).values(**values))
        report.users_rewritten += 1


def remaining(conn: Connection, scrub: Scrubber) -> dict[str, int]:
    """Text columns anywhere in the store that still contain the address: should be none."""
    found: dict[str, int] = {}
    for table in schema.metadata.sorted_tables:
        for col in table.columns:
            if not isinstance(col.type, String):
                continue
            n = conn.execute(
                select(func.count()).select_from(table).where(_text_filter(scrub, col))
            ).scalar_one()
            if n:
                found[f"{table.name}.{col.name}"] = int(n)
    return found


def erase(
    store: Store,
    address: str,
    *,
    names: Sequence[str] = (),
    by: str = ACTOR,
    verify: bool = True,
) -> ErasureReport:
    """Erase the person everywhere; the register and the audit log keep them as a pseudonym.

    The history goes first (its own transaction; erasing it again is harmless), then everything
    else in one audit transaction, so the register, its log and the erasure entry change together.
    """
    email = normalize_email(address)
    keys = store.keys or _stored_keys(store)
    scrub = Scrubber(email, pseudonym_for(email, keys), names)
    report = ErasureReport(scrub.pseudonym)
    report.history_rows = store.forget(email)
    log = AuditLog(store)
    with log.transaction() as conn:
        _erase_held(conn, scrub, report)
        _erase_verdicts(conn, scrub, report)
        changed = _erase_register(conn, scrub, report)
        _erase_accounts(conn, scrub, report)
        relinked = pseudonymise_log(conn, scrub)
        report.audit_rewritten = len(relinked.rewritten)
        report.audit_relinked = relinked.relinked
        details: dict[str, Any] = {"pseudonym": scrub.pseudonym, **report.counts()}
        details["incident_ids"] = changed
        if relinked.relinked:
            details["audit_first_rewritten"] = relinked.rewritten[0] if relinked.rewritten else None
            details["audit_previous_head"] = relinked.previous_head
        log.append(conn, by, "privacy.erase", scrub.pseudonym[:64], details)
        if verify:
            report.remaining = remaining(conn, scrub)
    return report


def _stored_keys(store: Store) -> AddressKeys | None:
    """The store's own key when it keeps hashes, so pseudonyms stay stable without a config."""
    try:
        return store.address_keys()
    except StoreError:
        return None
