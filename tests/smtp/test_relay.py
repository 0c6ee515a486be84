"""The relay between a real client (smtplib) and a real next hop (the recording sink).

A client is answered 250 only once the sink has the message or the hold queue does; every other
outcome is a 4xx or 5xx the client can act on.
"""

from __future__ import annotations

import smtplib
from collections.abc import Callable
from dataclasses import replace
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest

from missend.config import Config, DelayConfig, HoldConfig, UpstreamConfig
from missend.history.store import Store
from missend.hold.queue import Reason, Status
from missend.hold.tokens import verify
from missend.message import parse_message
from missend.policy import Policy
from missend.smtp.testing import SinkServer, crlf, wait_for
from missend.testing import raw_message

GOV = "team@agency.example.gov.uk"
COLLEAGUE = "colleague@agency.example.gov.uk"
CITIZENS = [f"citizen{i}@gmail.com" for i in range(40)]
Example = Callable[[str], tuple[bytes, str, list[str]]]
StartRelay = Callable[..., Any]


def mail(sender: str, to: list[str], **kwargs: Any) -> bytes:
    return crlf(raw_message(sender, to, **kwargs))


def client(port: int) -> smtplib.SMTP:
    return smtplib.SMTP("127.0.0.1", port, timeout=30)


def send(port: int, mail_from: str, rcpts: list[str], raw: bytes) -> dict[str, tuple[int, bytes]]:
    with client(port) as c:
        return c.sendmail(mail_from, rcpts, raw)


def policy(detector: str, band: str, action: str) -> Config:
    return replace(Config(), policy=Policy.from_dict({"actions": {detector: {band: action}}}))


def test_the_240_recipient_sample_arrives_with_no_one_visible_and_every_envelope_recipient_intact(
    start_relay: StartRelay, sink: SinkServer, example: Example
) -> None:
    relay = start_relay()
    raw, sender, rcpts = example("incident-240-eu-citizens-in-to.eml")
    assert len(rcpts) == 240
    assert send(relay.port, sender, rcpts, raw) == {}
    assert len(sink.messages) == 1
    got = sink.messages[0]
    assert got.mail_from == sender
    assert got.rcpt_tos == tuple(rcpts)
    delivered = parse_message(got.data)
    assert delivered.visible == ()
    headers = message_from_bytes(got.data)
    assert "@" not in str(headers.get("To", "")) + str(headers.get("Cc", ""))
    assert headers["X-Missend-Verdict"].startswith("fix")
    assert headers["Subject"] == parse_message(raw).subject


def test_a_clean_message_is_delivered_as_checked_with_only_the_verdict_header_added(
    start_relay: StartRelay, sink: SinkServer
) -> None:
    relay = start_relay()
    raw = mail(GOV, [COLLEAGUE], body="Line one.\n.leading dot\n..two dots\n")
    send(relay.port, GOV, [COLLEAGUE], raw)
    (got,) = sink.messages
    assert got.data == b"X-Missend-Verdict: allow; risk=0.00\r\n" + raw
    assert got.rcpt_tos == (COLLEAGUE,)


def test_a_blocked_message_is_refused_with_the_explanation_and_goes_nowhere(
    start_relay: StartRelay, sink: SinkServer
) -> None:
    relay = start_relay(policy("exposed-recipients", "high", "block"))
    raw = mail(GOV, CITIZENS)
    with pytest.raises(smtplib.SMTPDataError) as refused:
        send(relay.port, GOV, CITIZENS, raw)
    assert refused.value.smtp_code == 550
    assert b"outside recipients can see each other" in refused.value.smtp_error
    assert sink.messages == []


def test_a_held_message_waits_in_the_queue_and_the_sender_gets_a_signed_notice(
    start_relay: StartRelay, sink: SinkServer, tmp_path: Path
) -> None:
    secret = tmp_path / "secret"
    secret.write_bytes(b"s" * 32)
    config = policy("exposed-recipients", "high", "hold")
    config = replace(
        config, hold=HoldConfig(secret_file=str(secret), notice_from="missend@agency.example")
    )
    relay = start_relay(config)
    raw = mail(GOV, CITIZENS, subject="Appointment letters")
    with client(relay.port) as c:
        c.ehlo()
        c.mail(GOV)
        for rcpt in CITIZENS:
            c.rcpt(rcpt)
        code, text = c.data(raw)
    assert code == 250
    hold_id = text.decode().split()[-1]
    held = relay.relay.gateway.queue.get(hold_id)
    assert held is not None
    assert held.status == Status.HELD
    assert held.envelope_to == tuple(CITIZENS)
    assert held.raw.endswith(raw)
    assert wait_for(lambda: len(sink.messages) == 1)
    notice = sink.messages[0]
    assert notice.rcpt_tos == (GOV,)
    assert notice.mail_from == ""
    parsed = message_from_bytes(notice.data)
    assert parsed["X-Missend-Hold"] == hold_id
    body = parsed.get_payload(decode=True)
    assert isinstance(body, bytes)
    assert b"will see the addresses of all 40 people" in body
    assert f"missend hold release {hold_id}".encode() in body
    assert all(rcpt not in notice.data.decode() for rcpt in CITIZENS[1:])


def test_upstream_down_is_a_temporary_failure_and_the_clients_retry_delivers(
    start_relay: StartRelay, sink: SinkServer
) -> None:
    relay = start_relay()
    raw = mail(GOV, [COLLEAGUE])
    send(relay.port, GOV, [COLLEAGUE], raw)
    sink.stop()
    with pytest.raises(smtplib.SMTPDataError) as deferred:
        send(relay.port, GOV, [COLLEAGUE], raw)
    assert deferred.value.smtp_code == 451
    assert len(sink.messages) == 1
    sink.start()
    assert send(relay.port, GOV, [COLLEAGUE], raw) == {}
    assert len(sink.messages) == 2


def test_a_next_hop_that_does_not_answer_in_time_is_a_temporary_failure(
    start_relay: StartRelay, sink: SinkServer
) -> None:
    sink.handler.delay = 1.5
    relay = start_relay(replace(Config(), upstream=UpstreamConfig(timeout=0.3)))
    with pytest.raises(smtplib.SMTPDataError) as deferred:
        send(relay.port, GOV, [COLLEAGUE], mail(GOV, [COLLEAGUE]))
    assert deferred.value.smtp_code == 451
    sink.handler.delay = 0
    assert send(relay.port, GOV, [COLLEAGUE], mail(GOV, [COLLEAGUE])) == {}


def test_an_upstream_refusal_for_every_recipient_is_passed_to_the_client(
    start_relay: StartRelay, sink: SinkServer
) -> None:
    sink.handler.refuse = {COLLEAGUE: "550 5.1.1 No such user here"}
    relay = start_relay()
    with pytest.raises(smtplib.SMTPDataError) as refused:
        send(relay.port, GOV, [COLLEAGUE], mail(GOV, [COLLEAGUE]))
    assert refused.value.smtp_code == 550
    assert b"5.1.1 No such user here" in refused.value.smtp_error
    assert sink.messages == []


def test_an_upstream_refusing_the_content_is_passed_to_the_client(
    start_relay: StartRelay, sink: SinkServer
) -> None:
    sink.handler.data_reply = "554 5.7.1 Spam\r\nBcc: injected"
    relay = start_relay()
    with pytest.raises(smtplib.SMTPDataError) as refused:
        send(relay.port, GOV, [COLLEAGUE], mail(GOV, [COLLEAGUE]))
    assert refused.value.smtp_code == 554
    assert b"\n" not in refused.value.smtp_error


def test_deferred_recipients_are_retried_and_refused_ones_are_bounced_to_the_sender(
    start_relay: StartRelay, sink: SinkServer
) -> None:
    gone, busy, fine = "gone@partner.example", "busy@partner.example", COLLEAGUE
    sink.handler.refuse = {gone: "550 5.1.1 No such user", busy: "450 4.2.1 Mailbox busy"}
    relay = start_relay(retry=0.3)
    raw = mail(GOV, [gone, busy, fine])
    assert send(relay.port, GOV, [gone, busy, fine], raw) == {}
    assert sink.messages[0].rcpt_tos == (fine,)
    assert wait_for(lambda: len(sink.messages) >= 2)
    bounce = next(m for m in sink.messages[1:] if m.rcpt_tos == (GOV,))
    report = message_from_bytes(bounce.data)
    assert report.get_content_type() == "multipart/report"
    assert bounce.mail_from == ""
    assert b"Final-Recipient: rfc822; gone@partner.example" in bounce.data
    assert b"Status: 5.1.1" in bounce.data
    assert b"Final-Recipient: rfc822; busy@partner.example" not in bounce.data
    del sink.handler.refuse[busy]
    assert wait_for(lambda: any(m.rcpt_tos == (busy,) for m in sink.messages))
    retried = next(m for m in sink.messages if m.rcpt_tos == (busy,))
    assert retried.data == sink.messages[0].data
    assert sum(busy in m.rcpt_tos for m in sink.messages) == 1


def test_undo_send_keeps_external_mail_back_until_its_delay_is_over(
    start_relay: StartRelay, sink: SinkServer
) -> None:
    relay = start_relay(replace(Config(), delay=DelayConfig(seconds=1)))
    send(relay.port, GOV, ["friend@gmail.com"], mail(GOV, ["friend@gmail.com"]))
    send(relay.port, GOV, [COLLEAGUE], mail(GOV, [COLLEAGUE]))
    assert [m.rcpt_tos for m in sink.messages] == [(COLLEAGUE,)]
    queue = relay.relay.gateway.queue
    (delayed,) = queue.find()
    assert delayed.reason == Reason.DELAY
    assert wait_for(lambda: len(sink.messages) == 2, timeout=5)
    assert sink.messages[1].rcpt_tos == ("friend@gmail.com",)
    # The sink has the message a moment before the scheduler records the release.
    assert wait_for(lambda: queue.get(delayed.id).status == Status.RELEASED)


def test_a_cancelled_undo_send_is_never_delivered(
    start_relay: StartRelay, sink: SinkServer
) -> None:
    relay = start_relay(replace(Config(), delay=DelayConfig(seconds=1)))
    send(relay.port, GOV, ["friend@gmail.com"], mail(GOV, ["friend@gmail.com"]))
    queue = relay.relay.gateway.queue
    (delayed,) = queue.find()
    assert queue.cancel(delayed.id, "sender") is not None
    assert not wait_for(lambda: len(sink.messages) > 0, timeout=1.5)


def test_a_store_that_is_down_defers_the_message(
    start_relay: StartRelay, sink: SinkServer, tmp_path: Path
) -> None:
    relay = start_relay()
    relay.relay.store.engine.dispose()
    (tmp_path / "relay0.db").unlink()
    (tmp_path / "relay0.db").mkdir()  # the database file can no longer be opened
    with pytest.raises(smtplib.SMTPDataError) as deferred:
        send(relay.port, GOV, [COLLEAGUE], mail(GOV, [COLLEAGUE]))
    assert deferred.value.smtp_code == 451
    assert b"try again" in deferred.value.smtp_error
    assert sink.messages == []


def test_every_relayed_message_teaches_the_senders_history(
    start_relay: StartRelay, sink: SinkServer, tmp_path: Path
) -> None:
    relay = start_relay()
    rcpts = ["partner@firm.example", COLLEAGUE]
    send(relay.port, GOV, rcpts, mail(GOV, rcpts, message_id="<m1@agency>"))
    relay.drain()
    with Store.open(f"sqlite:///{tmp_path / 'relay0.db'}") as store:
        history = store.snapshot(GOV)
    assert history.message_count == 1
    assert set(history.contacts) == set(rcpts)


def test_the_notice_link_tokens_name_the_held_message(
    start_relay: StartRelay, sink: SinkServer, tmp_path: Path
) -> None:
    secret = tmp_path / "secret"
    secret.write_bytes(b"k" * 32)
    config = policy("exposed-recipients", "high", "hold")
    config = replace(config, hold=HoldConfig(secret_file=str(secret), base_url="https://m.example"))
    relay = start_relay(config)
    send(relay.port, GOV, CITIZENS, mail(GOV, CITIZENS))
    assert wait_for(lambda: len(sink.messages) == 1)
    (held,) = relay.relay.gateway.queue.find()
    body = message_from_bytes(sink.messages[0].data).get_payload(decode=True)
    assert isinstance(body, bytes)
    token = body.decode().split("release?token=")[1].split()[0]
    assert verify(b"k" * 32, token, "release").hold_id == held.id


def test_the_notice_goes_to_the_envelope_sender_not_to_a_forged_from(
    start_relay: StartRelay, sink: SinkServer, tmp_path: Path
) -> None:
    secret = tmp_path / "secret"
    secret.write_bytes(b"k" * 32)
    config = policy("exposed-recipients", "high", "hold")
    relay = start_relay(replace(config, hold=HoldConfig(secret_file=str(secret))))
    forged = mail("ceo@agency.example.gov.uk", CITIZENS)
    send(relay.port, GOV, CITIZENS, forged)
    assert wait_for(lambda: len(sink.messages) == 1)
    assert sink.messages[0].rcpt_tos == (GOV,)
    assert message_from_bytes(sink.messages[0].data)["To"] == GOV
