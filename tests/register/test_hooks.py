"""Overrides open incidents: a held message released against advice starts the 72-hour clock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from missend.audit.log import AuditLog
from missend.config import Config
from missend.engine import Engine
from missend.history.store import Store
from missend.hold.queue import Held, HoldQueue, Reason, Status
from missend.hold.release import register as register_releaser
from missend.message.parse import parse_message
from missend.register import Register, Source
from missend.register.hooks import against_advice, cancel_held, release_held
from missend.verdict import Action

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "messages"
SOURCE = "register-test"
delivered: list[str] = []


def _deliver(config: Config, held: Held) -> None:
    delivered.append(held.id)


register_releaser(SOURCE, _deliver)


@pytest.fixture
def parts(store_url: str) -> Iterator[tuple[HoldQueue, Register]]:
    with Store.open(store_url) as store:
        yield HoldQueue(store), Register(store)


def hold_payroll(queue: HoldQueue, reason: Reason = Reason.HOLD) -> Held:
    raw = (EXAMPLES / "wrong-attachment-payroll-to-supplier.eml").read_bytes()
    message = parse_message(raw)
    verdict = Engine().check(message).to_dict()
    assert verdict["action"] == "hold"
    return queue.hold(
        raw,
        message.sender.email if message.sender else "",
        list(message.recipient_emails),
        verdict,
        sender=message.sender.email if message.sender else "",
        subject=message.subject,
        source=SOURCE,
        reason=reason,
    )


def test_releasing_a_held_message_against_advice_opens_a_prefilled_incident(
    parts: tuple[HoldQueue, Register],
) -> None:
    queue, register = parts
    held = hold_payroll(queue)
    done = release_held(queue, register, Config(), held.id, by="link:sender")
    assert held.id in delivered
    assert done.held.status == Status.RELEASED
    assert done.incident_id is not None
    incident = register.get(done.incident_id)
    assert incident.source == Source.HOLD_RELEASE
    assert incident.hold_id == held.id
    assert incident.people == 400
    assert "national insurance numbers" in incident.categories
    assert incident.recipients == held.envelope_to
    actions = [e.action for e in AuditLog(register.store).entries()]
    assert actions == ["hold.release", "incident.open"]


def test_a_release_reviewed_as_safe_opens_no_incident(parts: tuple[HoldQueue, Register]) -> None:
    queue, register = parts
    held = hold_payroll(queue)
    done = release_held(queue, register, Config(), held.id, by="officer", reviewed_safe=True)
    assert done.incident_id is None
    assert register.count() == 0
    entry = AuditLog(register.store).entries()[-1]
    assert entry.details["reviewed_safe"] is True


def test_an_undo_send_delay_is_not_against_advice(parts: tuple[HoldQueue, Register]) -> None:
    queue, register = parts
    held = hold_payroll(queue, Reason.DELAY)
    assert release_held(queue, register, Config(), held.id, by="officer").incident_id is None


def test_a_decided_message_cannot_be_released_or_cancelled_again(
    parts: tuple[HoldQueue, Register],
) -> None:
    queue, register = parts
    held = hold_payroll(queue)
    cancel_held(queue, register, held.id, by="officer", note="wrong file")
    with pytest.raises(LookupError):
        release_held(queue, register, Config(), held.id, by="officer")
    with pytest.raises(LookupError):
        cancel_held(queue, register, held.id, by="officer")
    assert [e.action for e in AuditLog(register.store).entries()] == ["hold.cancel"]


def test_threshold_follows_the_action_ranking() -> None:
    assert against_advice({"action": "block"})
    assert against_advice({"action": "hold"})
    assert not against_advice({"action": "fix"})
    assert against_advice({"action": "fix"}, Action.FIX)
    assert against_advice({"action": "garbled"})
