"""Pseudonymising the audit log without losing what makes it trustworthy.

The log is a hash chain, so replacing an address in one entry changes every hash after it. The
entries are re-linked from the first one that mentions the person, after checking that each of
them still fits the chain as it was: a chain that was already broken is left alone, so erasure can
never be used to launder a tampered log. The head hash before re-linking is written into the
`privacy.erase` entry that follows, so a copy of the old head kept elsewhere still proves that the
change was this erasure and nothing else.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, func, or_, select, update

from missend.audit.log import GENESIS, canonical, link
from missend.history.schema import audit_head as head_table
from missend.history.schema import audit_log as log_table
from missend.privacy.scrub import Scrubber

_HEAD = 1
_PAGE = 1000


class AuditChainBroken(RuntimeError):
    """The log failed verification before erasure touched it; nothing was rewritten."""


@dataclass(frozen=True, slots=True)
class Relinked:
    rewritten: tuple[int, ...] = ()
    relinked: int = 0
    previous_head: str = ""


def _details_text(details: Any) -> str:
    return json.dumps(details, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def pseudonymise_log(conn: Connection, scrub: Scrubber) -> Relinked:
    """Replace the person in every entry that names them and re-link the chain after it.

    Runs inside the caller's audit transaction (`AuditLog.transaction`), which holds the head.
    """
    head = conn.execute(
        select(head_table.c.seq, head_table.c.hash)
        .where(head_table.c.id == _HEAD)
        .with_for_update()
    ).first()
    if head is None:
        return Relinked()
    c = log_table.c
    needles = [
        func.lower(col).contains(n, autoescape=True)
        for col in (c.actor, c.subject, c.details)
        for n in scrub.needles
    ]
    first = conn.execute(select(func.min(c.seq)).where(or_(*needles))).scalar()
    if first is None:
        return Relinked()
    before = conn.execute(select(c.hash).where(c.seq == first - 1)).scalar()
    prev_old = prev_new = before if before is not None else GENESIS
    rewritten: list[int] = []
    relinked = 0
    after = first - 1
    while True:
        page = conn.execute(
            select(log_table).where(c.seq > after).order_by(c.seq).limit(_PAGE)
        ).all()
        updates: list[dict[str, Any]] = []
        for row in page:
            if row.seq != after + 1:
                raise AuditChainBroken(f"entry {after + 1} is missing; run `missend audit verify`")
            details = json.loads(row.details)
            old = canonical(row.seq, row.at, row.actor, row.action, row.subject, details)
            if row.prev_hash != prev_old or link(prev_old, old) != row.hash:
                raise AuditChainBroken(
                    f"entry {row.seq} does not fit the chain; run `missend audit verify`"
                )
            actor = scrub.text(row.actor)[:200]
            subject = scrub.text(row.subject)[:64]
            new_details = scrub.value(details)
            if (actor, subject, new_details) != (row.actor, row.subject, details):
                rewritten.append(row.seq)
            digest = link(
                prev_new, canonical(row.seq, row.at, actor, row.action, subject, new_details)
            )
            updates.append(
                {
                    "s": row.seq,
                    "a": actor,
                    "j": subject,
                    "d": _details_text(new_details),
                    "p": prev_new,
                    "h": digest,
                }
            )
            prev_old, prev_new, after = row.hash, digest, row.seq
        if updates:
            conn.execute(
                update(log_table)
                .where(c.seq == bindparam("s"))
                .values(
                    actor=bindparam("a"),
                    subject=bindparam("j"),
                    details=bindparam("d"),
                    prev_hash=bindparam("p"),
                    hash=bindparam("h"),
                ),
                updates,
            )
            relinked += len(updates)
        if len(page) < _PAGE:
            break
    if head.seq != after or head.hash != prev_old:
        raise AuditChainBroken(
            "the head row does not match the last entry; run `missend audit verify`"
        )
    conn.execute(update(head_table).where(head_table.c.id == _HEAD).values(hash=prev_new))
    return Relinked(tuple(rewritten), relinked, head.hash)
