"""Where the mail path meets the register: overrides and releases against advice open incidents.

A verdict at or above the threshold action (hold, by default) means missend judged the message
unsafe to send; sending it anyway, or releasing it from the hold queue without an officer
marking it reviewed and safe, is a probable breach, and the 72-hour clock starts at that moment.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from missend.config import Config
from missend.hold.queue import Held, HoldQueue, Reason, now
from missend.hold.release import release
from missend.register.assessment import prefill
from missend.register.model import NewIncident, Source
from missend.register.repository import Register
from missend.verdict import Action

DEFAULT_THRESHOLD = Action.HOLD


def verdict_action(verdict: Mapping[str, Any]) -> Action:
    try:
        return Action(str(verdict.get("action")))
    except ValueError:
        return Action.HOLD  # an unreadable verdict is treated as the cautious case


def against_advice(verdict: Mapping[str, Any], threshold: Action = DEFAULT_THRESHOLD) -> bool:
    return verdict_action(verdict).rank >= threshold.rank


def new_incident(
    verdict: Mapping[str, Any],
    *,
    source: Source,
    aware_at: datetime,
    reported_by: str,
    sender: str = "",
    subject: str = "",
    sent_at: datetime | None = None,
    verdict_id: str | None = None,
    hold_id: str | None = None,
    description: str = "",
    dpo_contact: str = "",
) -> NewIncident:
    """An incident drafted from the verdict's findings (see `assessment.prefill`)."""
    draft = prefill(verdict)
    message_id = verdict.get("message_id")
    return NewIncident(
        title=draft.title,
        source=source,
        aware_at=aware_at,
        description=description,
        sender=sender or str(verdict.get("sender") or ""),
        message_id=message_id if isinstance(message_id, str) else None,
        subject=subject,
        sent_at=sent_at,
        verdict_id=verdict_id,
        hold_id=hold_id,
        recipients=draft.recipients,
        affected=draft.affected,
        categories=draft.categories,
        special_categories=draft.special_categories,
        people=draft.people,
        records=draft.records,
        likelihood=draft.likelihood,
        severity=draft.severity,
        consequences=draft.consequences,
        dpo_contact=dpo_contact,
        reported_by=reported_by,
    )


@dataclass(frozen=True, slots=True)
class Released:
    held: Held
    incident_id: int | None


def release_held(
    queue: HoldQueue,
    register: Register,
    config: Config,
    hold_id: str,
    *,
    by: str,
    reviewed_safe: bool = False,
    note: str = "",
    threshold: Action = DEFAULT_THRESHOLD,
    dpo_contact: str = "",
) -> Released:
    """Release a held message, log it, and open an incident when it goes out against advice.

    Raises LookupError when the message is not there or no longer open, and whatever the
    releaser raised when delivery failed (the message then stays in the queue).
    """
    done = release(queue, config, hold_id, by)
    risky = done.reason == Reason.HOLD and against_advice(done.verdict, threshold)
    incident_id: int | None = None
    with register.audit.transaction() as conn:
        register.audit.append(
            conn,
            by,
            "hold.release",
            hold_id,
            {
                "action": str(verdict_action(done.verdict)),
                "reviewed_safe": reviewed_safe,
                "recipients": len(done.envelope_to),
            },
        )
        if risky and not reviewed_safe:
            stamp = now()
            why = f" Note: {note.strip()}" if note.strip() else ""
            incident_id = register.open_in(
                conn,
                new_incident(
                    done.verdict,
                    source=Source.HOLD_RELEASE,
                    aware_at=stamp,
                    reported_by=by,
                    sender=done.sender,
                    subject=done.subject,
                    sent_at=stamp,
                    hold_id=hold_id,
                    description=(
                        "A message missend held for review was released without being marked "
                        f"reviewed and safe.{why}"
                    ),
                    dpo_contact=dpo_contact,
                ),
                by,
            )
    return Released(done, incident_id)


def cancel_held(
    queue: HoldQueue, register: Register, hold_id: str, *, by: str, note: str = ""
) -> Held:
    """Cancel a held message for good and log it; LookupError when it is not open."""
    done = queue.cancel(hold_id, by, note or None)
    if done is None:
        current = queue.get(hold_id)
        state = current.status if current else "unknown"
        raise LookupError(f"{hold_id} cannot be cancelled (it is {state})")
    register.audit.record(by, "hold.cancel", hold_id, {"recipients": len(done.envelope_to)})
    return done
