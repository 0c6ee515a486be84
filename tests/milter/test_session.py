"""The milter's conversation driven packet by packet as an MTA drives it, without an MTA.

These cover what a real MTA cannot be made to do on demand (an engine that raises, an MTA that will
not quarantine); `test_postfix.py` runs the same sessions inside Postfix.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from missend.config import Config, HoldConfig, MilterConfig
from missend.gateway import Gateway
from missend.history.store import Store
from missend.hold.queue import Status
from missend.message import parse_message
from missend.milter import protocol as p
from missend.milter.notice import Notices
from missend.milter.session import Quit, Service, Session, envelope_address
from missend.policy import Policy
from missend.testing import raw_message

from . import mta

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "messages"
GOV = "team@agency.example.gov.uk"
CITIZENS = [f"citizen{i}@gmail.com" for i in range(40)]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(f"sqlite:///{tmp_path / 'm.db'}") as s:
        yield s


def service(
    store: Store, *, on_error: str = "tempfail", actions: dict[str, Any] | None = None
) -> Service:
    policy = Policy.from_dict({"actions": actions}) if actions else Policy()
    config = Config(policy=policy, milter=MilterConfig(on_error=on_error))
    return Service(Gateway(config, store), on_error)


def negotiated(svc: Service, **offer: int) -> Session:
    session = Session(svc)
    session.receive(p.OPTNEG, mta.offer(**offer)[5:])
    return session


def feed(session: Session, raw: bytes, mail_from: str, rcpts: list[str], **kw: str) -> bytes:
    """One message; every answer before the end of the message must be empty."""
    answers = [
        session.receive(c, d) for c, d in mta.replies(mta.message(raw, mail_from, rcpts, **kw))
    ]
    assert answers[:-1] == [b""] * (len(answers) - 1)
    return answers[-1]


def test_envelope_addresses_lose_their_brackets_and_the_null_sender_is_empty() -> None:
    assert envelope_address("<a@b.example>") == "a@b.example"
    assert envelope_address(" <> ") == ""
    assert envelope_address("a@b.example") == "a@b.example"


def test_the_mta_need_not_wait_for_an_answer_until_the_end_of_the_message(store: Store) -> None:
    version, actions, steps, _ = mta.options(
        Session(service(store)).receive(p.OPTNEG, mta.offer()[5:])
    )
    assert version == 6
    for no_reply in (p.NR_MAIL, p.NR_RCPT, p.NR_HDR, p.NR_BODY):
        assert steps & no_reply
    for skipped in (p.NOCONNECT, p.NOHELO, p.NOEOH, p.NODATA):
        assert steps & skipped
    assert not steps & (p.NOHDRS | p.NOBODY | p.NOMAIL | p.NORCPT)
    assert actions == p.ADDHDRS | p.CHGHDRS | p.QUARANTINE_ACTION | p.SETSYMLIST


def test_an_mta_that_cannot_skip_answers_gets_a_continue_for_every_command(store: Store) -> None:
    session = negotiated(service(store), version=2, actions=0x3F, steps=0x7F)
    to = ["colleague@agency.example.gov.uk"]
    packets = mta.replies(mta.message(raw_message(GOV, to), GOV, to))
    answers = [session.receive(c, d) for c, d in packets]
    for (command, _), answer in zip(packets[:-1], answers[:-1], strict=True):
        expected = b"" if command == p.MACRO else p.packet(p.CONTINUE)
        assert answer == expected, command
    assert mta.verdict(answers[-1])[0] == p.ACCEPT
    assert session.receive(p.HELO, b"client.example\0") == p.packet(p.CONTINUE)


def test_the_mta_sends_no_macros_but_the_queue_id_at_the_end(store: Store) -> None:
    """Over TCP a macro packet before each command made the MTA wait for a delayed ACK."""
    *_, asked = mta.options(Session(service(store)).receive(p.OPTNEG, mta.offer()[5:]))
    assert asked == {2: b"", 3: b"", 5: b"i"}
    *_, without = mta.options(
        Session(service(store)).receive(p.OPTNEG, mta.offer(actions=0xFF)[5:])
    )
    assert without == {}, "an MTA that does not offer symbol lists is not sent any"


def test_exposed_recipients_are_removed_from_the_headers_and_the_envelope_is_left_alone(
    store: Store,
) -> None:
    raw = (EXAMPLES / "incident-240-eu-citizens-in-to.eml").read_bytes()
    rcpts = [r.email for r in parse_message(raw).recipients]
    answer = feed(negotiated(service(store)), raw, "eu-settlement@migration.example.gov.uk", rcpts)
    assert mta.verdict(answer) == (p.ACCEPT, "")
    done = mta.edits(answer)
    assert ("change", "To", "1", "undisclosed-recipients:;") in done
    added = [a for a in done if a[0] == "add"]
    assert added == [("add", "X-Missend-Verdict", "fix; risk=1.00; findings=exposed-recipients")]
    assert not any(a[0] == "quarantine" for a in done)


def test_cc_recipients_moved_out_and_a_second_to_field_deleted(store: Store) -> None:
    half = len(CITIZENS) // 2
    raw = raw_message(GOV, CITIZENS[:half], cc=CITIZENS[half:])
    raw = raw.replace(b"\nSubject:", f"\nTo: {CITIZENS[0]}\nSubject:".encode(), 1)
    answer = feed(negotiated(service(store)), raw, GOV, CITIZENS)
    changes = [a for a in mta.edits(answer) if a[0] == "change" and a[1] in ("To", "Cc")]
    assert changes == [
        ("change", "To", "1", "undisclosed-recipients:;"),
        ("change", "To", "2", ""),
        ("change", "Cc", "1", ""),
    ]


def test_a_clean_message_only_gets_the_verdict_and_a_forged_verdict_is_deleted(
    store: Store,
) -> None:
    to = ["colleague@agency.example.gov.uk"]
    raw = b"X-Missend-Verdict: allow\r\nX-Missend-Verdict: allow\r\n" + raw_message(GOV, to)
    answer = feed(negotiated(service(store)), raw, GOV, to)
    assert mta.edits(answer) == [
        ("change", "X-Missend-Verdict", "2", ""),
        ("change", "X-Missend-Verdict", "1", ""),
        ("add", "X-Missend-Verdict", "allow; risk=0.00"),
    ]
    assert mta.verdict(answer) == (p.ACCEPT, "")


def test_a_block_is_a_550_that_explains_the_finding_and_what_to_do(store: Store) -> None:
    svc = service(store, actions={"exposed-recipients": {"high": "block"}})
    answer = feed(negotiated(svc), raw_message(GOV, CITIZENS), GOV, CITIZENS)
    assert len(mta.replies(answer)) == 1, "a refusal changes nothing in the message"
    command, text = mta.verdict(answer)
    assert command == p.REPLYCODE
    lines = text.split("\r\n")
    assert lines[0].startswith("550-5.7.1 Not sent:")
    assert all(line.startswith("550-5.7.1 ") for line in lines[:-1])
    assert lines[-1].startswith("550 5.7.1 ")
    assert "What to do:" in text
    assert all(line.isascii() and len(line) <= 210 and "%" not in line for line in lines)


def test_a_hold_quarantines_in_the_mta_and_records_the_mta_queue_id(store: Store) -> None:
    svc = service(store, actions={"exposed-recipients": {"high": "hold"}})
    answer = feed(negotiated(svc), raw_message(GOV, CITIZENS), GOV, CITIZENS, queue_id="8C1D2E3F4A")
    assert mta.verdict(answer) == (p.ACCEPT, "")
    [held] = svc.gateway.queue.find()
    assert held.mta_queue_id == "8C1D2E3F4A"
    assert held.source == "milter"
    assert held.envelope_to == tuple(CITIZENS)
    done = mta.edits(answer)
    assert ("quarantine", f"missend hold {held.id}") in done
    assert ("add", "X-Missend-Verdict", "hold; risk=1.00; findings=exposed-recipients") in done


def test_a_hold_the_mta_will_not_quarantine_is_withdrawn_and_tempfailed_even_when_failing_open(
    store: Store,
) -> None:
    svc = service(store, on_error="accept", actions={"exposed-recipients": {"high": "hold"}})
    session = negotiated(svc, actions=mta.ALL_ACTIONS & ~p.QUARANTINE_ACTION)
    answer = feed(session, raw_message(GOV, CITIZENS), GOV, CITIZENS)
    command, text = mta.verdict(answer)
    assert command == p.REPLYCODE
    assert text.startswith("451 4.7.1 ")
    assert mta.edits(answer) == []
    [held] = svc.gateway.queue.find(status=None)
    assert held.status == Status.CANCELLED


class Exploding(Exception):
    pass


def explode(*args: object, **kwargs: object) -> object:
    raise Exploding("a detector fell over")


@pytest.mark.parametrize(
    ("on_error", "expected"), [("tempfail", "451 4.7.1 "), ("reject", "550 5.7.1 "), ("accept", "")]
)
def test_an_engine_error_gets_the_configured_answer(
    store: Store, monkeypatch: pytest.MonkeyPatch, on_error: str, expected: str
) -> None:
    svc = service(store, on_error=on_error)
    monkeypatch.setattr(svc.gateway.engine, "check", explode)
    to = ["friend@example.org"]
    answer = feed(negotiated(svc), raw_message(GOV, to), GOV, to)
    command, text = mta.verdict(answer)
    if not expected:
        assert command == p.ACCEPT
        [(kind, name, value)] = mta.edits(answer)
        assert (kind, name) == ("add", "X-Missend-Verdict")
        assert value.startswith("unchecked;")
    else:
        assert command == p.REPLYCODE
        assert text.startswith(expected)
        assert "could not check" in text


def test_an_error_inside_the_milter_itself_still_answers_per_the_configuration(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    svc = service(store)
    monkeypatch.setattr("missend.milter.session.react", explode)
    to = ["friend@example.org"]
    command, text = mta.verdict(feed(negotiated(svc), raw_message(GOV, to), GOV, to))
    assert command == p.REPLYCODE
    assert text.startswith("451 4.7.1 ")


def test_fail_open_on_an_mta_that_allows_no_header_edits_still_lets_the_mail_through(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    svc = service(store, on_error="accept")
    monkeypatch.setattr(svc.gateway.engine, "check", explode)
    session = negotiated(svc, actions=0)
    to = ["friend@example.org"]
    assert feed(session, raw_message(GOV, to), GOV, to) == p.packet(p.ACCEPT)


def test_a_second_message_on_the_same_connection_starts_from_nothing(store: Store) -> None:
    svc = service(store, actions={"exposed-recipients": {"high": "block"}})
    session = negotiated(svc)
    first = feed(session, raw_message(GOV, CITIZENS), GOV, CITIZENS)
    assert mta.verdict(first)[1].startswith("550")
    to = ["colleague@agency.example.gov.uk"]
    second = feed(session, raw_message(GOV, to), GOV, to)
    assert mta.edits(second) == [("add", "X-Missend-Verdict", "allow; risk=0.00")]


def test_an_aborted_transaction_forgets_what_it_collected(store: Store) -> None:
    session = negotiated(service(store))
    session.receive(p.MAIL, b"<a@b.example>\0")
    session.receive(p.RCPT, b"<c@d.example>\0")
    session.receive(p.HEADER, b"Subject\0half\0")
    assert session.in_message
    assert session.receive(p.ABORT, b"") == b""
    assert (session.mail_from, session.recipients, session.headers) == ("", [], [])
    assert not session.in_message


def test_commands_out_of_protocol_are_refused_and_quit_ends_the_session(store: Store) -> None:
    with pytest.raises(p.ProtocolError, match="before option negotiation"):
        Session(service(store)).receive(p.MAIL, b"<a@b.example>\0")
    session = negotiated(service(store))
    with pytest.raises(p.ProtocolError, match="unknown command"):
        session.receive(b"Z", b"")
    with pytest.raises(p.ProtocolError, match="version"):
        Session(service(store)).receive(p.OPTNEG, mta.offer(version=1)[5:])
    with pytest.raises(p.ProtocolError):
        Session(service(store)).receive(p.OPTNEG, b"\0\0\0\6")
    with pytest.raises(Quit):
        session.receive(p.QUIT, b"")


def test_a_held_message_sends_its_sender_a_notice_through_the_mta(
    store: Store, tmp_path: Path
) -> None:
    sendmail = tmp_path / "sendmail"
    sendmail.write_text(f'#!/bin/sh\necho "$@" > {tmp_path}/args\ncat > {tmp_path}/notice\n')
    sendmail.chmod(0o755)
    svc = service(store, actions={"exposed-recipients": {"high": "hold"}})
    hold = HoldConfig(notice_from="missend@agency.example.gov.uk")
    svc.notices = Notices(hold, b"a signing secret of 16+ bytes", str(sendmail)).start()
    feed(negotiated(svc), raw_message(GOV, CITIZENS), GOV, CITIZENS)
    svc.notices.stop()
    [held] = svc.gateway.queue.find()
    assert svc.notices.sent == 1
    assert (tmp_path / "args").read_text().split() == [
        "-i",
        "-f",
        "missend@agency.example.gov.uk",
        "--",
        GOV,
    ]
    notice = (tmp_path / "notice").read_text()
    assert f"X-Missend-Hold: {held.id}" in notice
    assert "To: team@agency.example.gov.uk" in notice
