"""The milter's callbacks driven as libmilter drives them, with a context that records the actions.

These cover what a real MTA cannot be made to do on demand (an engine that raises, a quarantine the
MTA refuses); `test_postfix.py` runs the same class inside Postfix.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import Milter  # type: ignore[import-untyped]
import pytest

from missend.config import Config, HoldConfig, MilterConfig
from missend.gateway import Gateway
from missend.history.store import Store
from missend.hold.queue import Status
from missend.message import parse_message
from missend.milter.filter import MissendMilter, Service, envelope_address
from missend.milter.headers import split_fields
from missend.milter.notice import Notices
from missend.policy import Policy
from missend.testing import raw_message

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "messages"
GOV = "team@agency.example.gov.uk"
CITIZENS = [f"citizen{i}@gmail.com" for i in range(40)]


class Context:
    """Stands in for libmilter's per-connection context and keeps every action asked of it."""

    def __init__(
        self, macros: dict[str, str] | None = None, refuse_quarantine: bool = False
    ) -> None:
        self.macros = macros or {"i": "4F2A1B3C9D"}
        self.refuse_quarantine = refuse_quarantine
        self.priv: Any = None
        self.reply: tuple[str, ...] | None = None
        self.actions: list[tuple[Any, ...]] = []

    def getpriv(self) -> Any:
        return self.priv

    def setpriv(self, priv: Any) -> None:
        self.priv = priv

    def getsymval(self, name: str) -> str | None:
        return self.macros.get(name)

    def setsymlist(self, stage: int, macros: bytes) -> None:
        self.actions.append(("symlist", stage, macros))

    def setreply(self, code: str, xcode: str, *lines: str) -> None:
        self.reply = (code, xcode, *lines)

    def addheader(self, name: str, value: str, index: int) -> None:
        self.actions.append(("add", name, value))

    def chgheader(self, name: str, index: int, value: str) -> None:
        self.actions.append(("change", name, index, value))

    def quarantine(self, reason: str) -> None:
        if self.refuse_quarantine:
            raise Milter.error("cannot quarantine")  # what pymilter raises when the MTA says no
        self.actions.append(("quarantine", reason))


def feed(milter: MissendMilter, raw: bytes, mail_from: str, rcpts: list[str], ctx: Context) -> int:
    """The callback sequence for one message; header values folded with bare LF, as Postfix sends."""
    milter._setctx(ctx)
    assert milter.envfrom_bytes(f"<{mail_from}>".encode()) == Milter.CONTINUE
    for rcpt in rcpts:
        assert milter.envrcpt_bytes(f"<{rcpt}>".encode()) == Milter.CONTINUE
    for name, value in split_fields(raw):
        assert milter.header_bytes(name, value.replace(b"\r\n", b"\n")) == Milter.CONTINUE
    body = raw.replace(b"\r\n", b"\n").split(b"\n\n", 1)[1].replace(b"\n", b"\r\n")
    assert milter.body(body) == Milter.CONTINUE
    return int(milter.eom())


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


def test_envelope_addresses_lose_their_brackets_and_the_null_sender_is_empty() -> None:
    assert envelope_address("<a@b.example>") == "a@b.example"
    assert envelope_address(" <> ") == ""
    assert envelope_address("a@b.example") == "a@b.example"


def test_the_mta_need_not_wait_for_an_answer_until_the_end_of_the_message(store: Store) -> None:
    milter = MissendMilter(service(store))
    milter._setctx(Context())
    offered = [Milter.CURR_ACTS, 0x1FFFFF, 0, 0]
    assert milter.negotiate(offered) == Milter.CONTINUE
    protocol = offered[1]
    for no_reply in (Milter.P_NR_MAIL, Milter.P_NR_RCPT, Milter.P_NR_HDR, Milter.P_NR_BODY):
        assert protocol & no_reply
    for skipped in (Milter.P_NOCONNECT, Milter.P_NOHELO, Milter.P_NOEOH, Milter.P_NODATA):
        assert protocol & skipped
    assert not protocol & Milter.P_NOHDRS
    assert not protocol & Milter.P_NOBODY


def test_the_mta_sends_no_macros_but_the_queue_id_at_the_end(store: Store) -> None:
    """Over TCP a macro packet before each command made the MTA wait for a delayed ACK."""
    milter = MissendMilter(service(store))
    ctx = Context()
    milter._setctx(ctx)
    assert milter.negotiate([Milter.CURR_ACTS, 0x1FFFFF, 0, 0]) == Milter.CONTINUE
    asked = {stage: macros for kind, stage, macros in ctx.actions if kind == "symlist"}
    assert asked == {Milter.M_ENVFROM: b"", Milter.M_ENVRCPT: b"", Milter.M_EOM: b"i"}


def test_exposed_recipients_are_removed_from_the_headers_and_the_envelope_is_left_alone(
    store: Store,
) -> None:
    raw = (EXAMPLES / "incident-240-eu-citizens-in-to.eml").read_bytes()
    rcpts = [r.email for r in parse_message(raw).recipients]
    ctx = Context()
    rc = feed(
        MissendMilter(service(store)), raw, "eu-settlement@migration.example.gov.uk", rcpts, ctx
    )
    assert rc == Milter.ACCEPT
    assert ("change", "To", 1, "undisclosed-recipients:;") in ctx.actions
    added = [a for a in ctx.actions if a[0] == "add"]
    assert added == [("add", "X-Missend-Verdict", "fix; risk=1.00; findings=exposed-recipients")]
    assert not any(a[0] in ("quarantine",) for a in ctx.actions)
    assert ctx.reply is None


def test_cc_recipients_moved_out_and_a_second_to_field_deleted(store: Store) -> None:
    half = len(CITIZENS) // 2
    raw = raw_message(GOV, CITIZENS[:half], cc=CITIZENS[half:])
    raw = raw.replace(b"\nSubject:", f"\nTo: {CITIZENS[0]}\nSubject:".encode(), 1)
    ctx = Context()
    assert feed(MissendMilter(service(store)), raw, GOV, CITIZENS, ctx) == Milter.ACCEPT
    changes = [a for a in ctx.actions if a[0] == "change" and a[1] in ("To", "Cc")]
    assert changes == [
        ("change", "To", 1, "undisclosed-recipients:;"),
        ("change", "To", 2, ""),
        ("change", "Cc", 1, ""),
    ]


def test_a_clean_message_only_gets_the_verdict_and_a_forged_verdict_is_deleted(
    store: Store,
) -> None:
    to = ["colleague@agency.example.gov.uk"]
    raw = b"X-Missend-Verdict: allow\r\nX-Missend-Verdict: allow\r\n" + raw_message(GOV, to)
    ctx = Context()
    assert feed(MissendMilter(service(store)), raw, GOV, to, ctx) == Milter.ACCEPT
    assert ctx.actions == [
        ("change", "X-Missend-Verdict", 2, ""),
        ("change", "X-Missend-Verdict", 1, ""),
        ("add", "X-Missend-Verdict", "allow; risk=0.00"),
    ]


def test_a_block_is_a_550_that_explains_the_finding_and_what_to_do(store: Store) -> None:
    ctx = Context()
    svc = service(store, actions={"exposed-recipients": {"high": "block"}})
    rc = feed(MissendMilter(svc), raw_message(GOV, CITIZENS), GOV, CITIZENS, ctx)
    assert rc == Milter.REJECT
    assert ctx.reply is not None
    code, xcode, *lines = ctx.reply
    assert (code, xcode) == ("550", "5.7.1")
    text = " ".join(lines)
    assert lines[0].startswith("Not sent:")
    assert "What to do:" in text
    assert all(line.isascii() and len(line) <= 200 and "%" not in line for line in lines)
    assert ctx.actions == []


def test_a_hold_quarantines_in_the_mta_and_records_the_mta_queue_id(store: Store) -> None:
    svc = service(store, actions={"exposed-recipients": {"high": "hold"}})
    ctx = Context({"i": "8C1D2E3F4A"})
    rc = feed(MissendMilter(svc), raw_message(GOV, CITIZENS), GOV, CITIZENS, ctx)
    assert rc == Milter.ACCEPT
    [held] = svc.gateway.queue.find()
    assert held.mta_queue_id == "8C1D2E3F4A"
    assert held.source == "milter"
    assert held.envelope_to == tuple(CITIZENS)
    assert ("quarantine", f"missend hold {held.id}") in ctx.actions
    assert (
        "add",
        "X-Missend-Verdict",
        "hold; risk=1.00; findings=exposed-recipients",
    ) in ctx.actions


def test_a_hold_the_mta_will_not_quarantine_is_withdrawn_and_tempfailed_even_when_failing_open(
    store: Store,
) -> None:
    svc = service(store, on_error="accept", actions={"exposed-recipients": {"high": "hold"}})
    ctx = Context(refuse_quarantine=True)
    rc = feed(MissendMilter(svc), raw_message(GOV, CITIZENS), GOV, CITIZENS, ctx)
    assert rc == Milter.TEMPFAIL
    assert ctx.reply is not None
    assert ctx.reply[0] == "451"
    [held] = svc.gateway.queue.find(status=None)
    assert held.status == Status.CANCELLED


class Exploding(Exception):
    pass


def explode(*args: object, **kwargs: object) -> object:
    raise Exploding("a detector fell over")


@pytest.mark.parametrize(
    ("on_error", "expected", "code"),
    [
        ("tempfail", Milter.TEMPFAIL, "451"),
        ("reject", Milter.REJECT, "550"),
        ("accept", Milter.ACCEPT, None),
    ],
)
def test_an_engine_error_gets_the_configured_answer(
    store: Store, monkeypatch: pytest.MonkeyPatch, on_error: str, expected: int, code: str | None
) -> None:
    svc = service(store, on_error=on_error)
    monkeypatch.setattr(svc.gateway.engine, "check", explode)
    ctx = Context()
    to = ["friend@example.org"]
    assert feed(MissendMilter(svc), raw_message(GOV, to), GOV, to, ctx) == expected
    if code is None:
        assert ctx.reply is None
        [(kind, name, value)] = ctx.actions
        assert (kind, name) == ("add", "X-Missend-Verdict")
        assert value.startswith("unchecked;")
    else:
        assert ctx.reply is not None
        assert ctx.reply[0] == code
        assert "could not check" in " ".join(ctx.reply[2:])


def test_an_error_inside_the_milter_itself_still_answers_per_the_configuration(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    svc = service(store)
    monkeypatch.setattr("missend.milter.filter.react", explode)
    ctx = Context()
    to = ["friend@example.org"]
    assert feed(MissendMilter(svc), raw_message(GOV, to), GOV, to, ctx) == Milter.TEMPFAIL
    assert ctx.reply is not None
    assert ctx.reply[:2] == ("451", "4.7.1")


def test_a_second_message_on_the_same_connection_starts_from_nothing(store: Store) -> None:
    svc = service(store, actions={"exposed-recipients": {"high": "block"}})
    milter = MissendMilter(svc)
    assert feed(milter, raw_message(GOV, CITIZENS), GOV, CITIZENS, Context()) == Milter.REJECT
    to = ["colleague@agency.example.gov.uk"]
    ctx = Context()
    assert feed(milter, raw_message(GOV, to), GOV, to, ctx) == Milter.ACCEPT
    assert ctx.actions == [("add", "X-Missend-Verdict", "allow; risk=0.00")]


def test_an_aborted_transaction_forgets_what_it_collected(store: Store) -> None:
    milter = MissendMilter(service(store))
    milter._setctx(Context())
    milter.envfrom_bytes(b"<a@b.example>")
    milter.envrcpt_bytes(b"<c@d.example>")
    milter.header_bytes("Subject", b"half")
    assert milter.abort() == Milter.CONTINUE
    assert (milter.mail_from, milter.recipients, milter.headers) == ("", [], [])


def test_a_held_message_sends_its_sender_a_notice_through_the_mta(
    store: Store, tmp_path: Path
) -> None:
    sendmail = tmp_path / "sendmail"
    sendmail.write_text(f'#!/bin/sh\necho "$@" > {tmp_path}/args\ncat > {tmp_path}/notice\n')
    sendmail.chmod(0o755)
    svc = service(store, actions={"exposed-recipients": {"high": "hold"}})
    hold = HoldConfig(notice_from="missend@agency.example.gov.uk")
    svc.notices = Notices(hold, b"a signing secret of 16+ bytes", str(sendmail)).start()
    feed(MissendMilter(svc), raw_message(GOV, CITIZENS), GOV, CITIZENS, Context())
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
