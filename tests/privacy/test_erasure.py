"""`erase`: one person gone from every table, the register and the audit log kept with a pseudonym."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from missend.api.tokens import TokenStore
from missend.api.verdicts import VerdictRecords
from missend.audit.log import AuditLog
from missend.dashboard.accounts import Accounts
from missend.engine import Engine
from missend.history.schema import audit_log, held_messages, verdicts
from missend.history.store import Store
from missend.hold.queue import HoldQueue
from missend.message import parse_message
from missend.privacy.audit import AuditChainBroken
from missend.privacy.erasure import erase
from missend.privacy.pseudonym import AddressKeys
from missend.register import ActionKind, NewIncident, Register, Source
from missend.testing import raw_message

from .scan import text_hits

AS_TYPED = "Alice.Smith@Example.ORG"
ALICE = "alice.smith@example.org"
DAVE = "dave@corp.example"
ERIN = "erin@partner.example"
BOB = "bob@partner.example"
CHEAP = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
WHEN = datetime.now(UTC) - timedelta(days=3)


@dataclass
class World:
    incident: int
    others_held: str
    others_draft: str
    linked_verdict: str


def mail(sender: str, to: list[str], n: int, body: str = "Quarterly numbers attached.") -> bytes:
    return raw_message(
        sender,
        to,
        subject=f"Numbers {n}",
        body=body,
        date=WHEN + timedelta(minutes=n),
        message_id=f"<{n}@corp.example>",
        in_reply_to=f"<{n - 1}@corp.example>" if n > 1 else None,
    )


def populate(store: Store) -> World:
    """Alice everywhere missend can keep her: as sender, contact, co-recipient, thread member,
    held mail, drafts, verdicts, the register, the audit log, a token and a dashboard login."""
    sent = [
        mail(f"Alice Smith <{AS_TYPED}>", [BOB, ERIN], 1),
        mail(DAVE, [f"Alice Smith <{AS_TYPED}>", ERIN], 2),
        mail(DAVE, [ERIN, BOB], 3),
        mail(DAVE, [ALICE], 4),
    ]
    store.learn([parse_message(r) for r in sent])
    engine = Engine()
    queue = HoldQueue(store)
    verdict = {"action": "hold", "findings": [{"recipients": [ALICE]}]}
    queue.hold(sent[0], ALICE, [BOB], verdict, sender=ALICE, subject="from alice")
    to_her = queue.hold(sent[1], DAVE, [ALICE, ERIN], verdict, sender=DAVE, subject="to alice")
    queue.cancel(to_her.id, by="officer")
    mentions = raw_message(DAVE, [ERIN], subject="About Alice", body=f"Please ask {ALICE}.")
    others = queue.hold(mentions, DAVE, [ERIN], {"action": "hold"}, sender=DAVE)
    queue.cancel(others.id, by=f"dashboard:{ALICE} (officer)", note=f"asked by {AS_TYPED}")

    records = VerdictRecords(store)
    log = AuditLog(store)
    with log.transaction() as conn:
        draft_to_her = parse_message(sent[1])
        records.save(conn, engine.check(draft_to_her), sent[1], "to alice", None)
        mine = parse_message(sent[0])
        records.save(conn, engine.check(mine), sent[0], "hers", None)
        others_draft = records.save(
            conn, engine.check(parse_message(mentions)), mentions, "about", None
        )
        linked = records.save(conn, engine.check(mine), sent[0], "hers, reported", None)
    with log.transaction() as conn:
        records.decide(conn, linked, "sent", f"{ALICE} insisted", 1)
    with store.engine.begin() as conn:
        conn.execute(verdicts.update().where(verdicts.c.subject == "hers").values(decision="sent"))

    register = Register(store, log)
    incident = register.open(
        NewIncident(
            title="Numbers sent to the wrong Alice",
            source=Source.REPORT,
            aware_at=WHEN,
            description=f"Dave wrote to {AS_TYPED} instead of the finance team.",
            sender=DAVE,
            recipients=(ALICE, ERIN),
            affected=(ALICE,),
            people=2,
            records=2,
            reported_by=f"dashboard:{ALICE} (officer)",
        ),
        by=f"dashboard:{ALICE} (officer)",
    )
    register.add_action(
        incident.id,
        ActionKind.DELETION_REQUEST,
        by="dpo",
        recipient=ALICE,
        description=f"Asked {ALICE} to delete it",
    )
    log.record(f"cli:{ALICE}", "hold.cancel", others.id, {"asked_by": AS_TYPED, "n": 1})
    TokenStore(store, hasher=CHEAP).create("client", sender=AS_TYPED, label=f"{ALICE} laptop")
    Accounts(store, CHEAP).create(ALICE, "a long enough password", "officer", by="admin")
    return World(incident.id, others.id, others_draft, linked)


def test_nothing_is_left_of_the_address_in_any_table(store_url: str) -> None:
    with Store.open(store_url) as store:
        populate(store)
        assert text_hits(store_url, [ALICE, AS_TYPED])
        report = erase(store, AS_TYPED)
    assert text_hits(store_url, [ALICE, AS_TYPED]) == []
    assert report.remaining == {}
    assert report.history_rows > 0
    assert report.held_deleted == 2
    assert report.held_open_deleted == 1
    assert report.drafts_deleted == 1
    assert report.drafts_cleared == 1
    assert report.verdicts_deleted == 1
    assert report.incidents == 1
    assert report.tokens_revoked == 1
    assert report.users_disabled == 1
    assert report.held_content_mentions == 1


def test_the_register_keeps_the_incident_under_a_pseudonym(store_url: str) -> None:
    with Store.open(store_url) as store:
        world = populate(store)
        report = erase(store, AS_TYPED)
        incident = Register(store).get(world.incident)
        log = AuditLog(store)
        entries = log.entries(limit=1000)
        verification = log.verify()
    p = report.pseudonym
    assert p.endswith("@erased.invalid")
    assert incident.recipients == (p, ERIN)
    assert incident.affected == (p,)
    assert (incident.people, incident.records) == (2, 2)
    assert incident.description == f"Dave wrote to {p} instead of the finance team."
    assert incident.title == "Numbers sent to the wrong Alice"
    assert [a.recipient for a in incident.actions] == [p]
    assert verification.ok, verification.reason
    assert entries[-1].action == "privacy.erase"
    assert entries[-1].details["incident_ids"] == [world.incident]
    cancelled = next(e for e in entries if e.action == "hold.cancel")
    assert cancelled.actor == f"cli:{p}"
    assert cancelled.details == {"asked_by": p, "n": 1}


def test_other_peoples_data_stays(store_url: str) -> None:
    with Store.open(store_url) as store:
        world = populate(store)
        erase(store, ALICE)
        dave = store.snapshot(DAVE)
        queue = HoldQueue(store)
        others = queue.get(world.others_held)
        draft = VerdictRecords(store).get(world.others_draft)
        linked = VerdictRecords(store).get(world.linked_verdict)
        assert store.snapshot(ALICE).message_count == 0
    assert set(dave.contacts) == {ERIN, BOB}
    assert dave.together(ERIN, BOB) == 1
    assert all(ALICE not in ps for ps in dave.threads.values())
    assert others is not None
    assert others.note is not None
    assert ALICE not in others.note
    assert others.decided_by is not None
    assert others.decided_by.startswith("dashboard:erased-")
    assert draft is not None
    assert draft.raw is None
    assert linked is not None
    assert linked.incident_id == 1
    assert linked.sender.startswith("erased-")


def test_a_held_message_mentioning_only_a_longer_address_is_not_theirs(store_url: str) -> None:
    with Store.open(store_url) as store:
        queue = HoldQueue(store)
        kept = queue.hold(raw_message(DAVE, ["j" + ALICE]), DAVE, ["j" + ALICE], {}, sender=DAVE)
        report = erase(store, ALICE)
        assert queue.get(kept.id) is not None
    assert report.held_deleted == 0


def test_pseudonyms_are_stable_with_a_key_and_random_without(
    store_url: str, keys: AddressKeys
) -> None:
    with Store.open(store_url) as store:
        first = erase(store, ALICE).pseudonym
        second = erase(store, ALICE).pseudonym
    assert first != second
    with Store.open(store_url, keys=keys) as store:
        keyed = erase(store, ALICE).pseudonym
    assert keyed == keys.pseudonym(AS_TYPED) == erase_again(store_url, keys)


def erase_again(url: str, keys: AddressKeys) -> str:
    with Store.open(url, keys=keys) as store:
        return erase(store, ALICE).pseudonym


def test_a_tampered_audit_log_is_not_relinked(store_url: str) -> None:
    with Store.open(store_url) as store:
        log = AuditLog(store)
        log.record(f"cli:{ALICE}", "hold.cancel", "x")
        log.record("cli:someone", "hold.cancel", "y")
        with store.engine.begin() as conn:
            conn.execute(audit_log.update().where(audit_log.c.seq == 2).values(subject="changed"))
        with pytest.raises(AuditChainBroken, match="does not fit the chain"):
            erase(store, ALICE)
        assert log.entries()[0].actor == f"cli:{ALICE}"


def test_in_hashed_mode_the_hashed_history_is_erased(store_url: str, keys: AddressKeys) -> None:
    with Store.open(store_url, keys=keys) as store:
        store.learn(
            [parse_message(mail(DAVE, [ALICE, ERIN], 1)), parse_message(mail(ALICE, [BOB], 2))]
        )
        assert store.snapshot(DAVE, [ALICE]).contact(ALICE) is not None
        report = erase(store, ALICE)
        dave = store.snapshot(DAVE, [ALICE, ERIN])
        assert store.snapshot(ALICE, [BOB]).message_count == 0
    assert report.history_rows >= 2
    assert dave.contact(ALICE) is None
    assert dave.contact(ERIN) is not None
    assert text_hits(store_url, [keys.address(ALICE)]) == []


def test_held_rows_that_are_not_theirs_keep_their_envelope(store_url: str) -> None:
    with Store.open(store_url) as store:
        queue = HoldQueue(store)
        queue.hold(raw_message(DAVE, [ERIN]), DAVE, [ERIN], {}, sender=DAVE)
        erase(store, ALICE)
        with store.engine.connect() as conn:
            rows = conn.execute(select(held_messages.c.envelope_to)).all()
    assert [json.loads(r[0]) for r in rows] == [[ERIN]]
