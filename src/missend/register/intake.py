"""A mis-send reported by hand ("I sent this to the wrong people"), drafted from the message itself.

The message is checked by the engine as if it were about to be sent: the findings name the
exposed or misdirected recipients and the personal data, which is what the register needs first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from missend.engine import Engine
from missend.history.model import SenderHistory
from missend.message.parse import parse_message
from missend.register.hooks import new_incident
from missend.register.model import NewIncident, Source


def draft_from_message(
    raw: bytes,
    engine: Engine,
    *,
    aware_at: datetime,
    reported_by: str,
    history: SenderHistory | None = None,
    recipients: Sequence[str] = (),
    affected: Sequence[str] = (),
    description: str = "",
    dpo_contact: str = "",
) -> NewIncident:
    """Recipients and affected people given by the reporter replace what the findings suggest."""
    message = parse_message(raw)
    verdict = engine.check(message, history).to_dict()
    draft = new_incident(
        verdict,
        source=Source.REPORT,
        aware_at=aware_at,
        reported_by=reported_by,
        sender=message.sender.email if message.sender else "",
        subject=message.subject,
        sent_at=message.date,
        description=description,
        dpo_contact=dpo_contact,
    )
    if recipients:
        draft = replace(draft, recipients=tuple(recipients))
    if affected:
        draft = replace(draft, affected=tuple(affected), people=max(draft.people, len(affected)))
    if not draft.recipients and not recipients:
        draft = replace(draft, title="Message reported as sent to the wrong people")
    return draft
