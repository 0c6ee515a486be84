"""Bad input on the wire: each gets a clear SMTP reply, and the relay keeps serving afterwards.

SMTP smuggling (CVE-2023-51764): a client ends DATA with a non-standard sequence such as
`<LF>.<LF>` and follows it with a second transaction, hoping the relay and the next hop disagree
on where the first message ends. The relay refuses any bare CR or LF, so what it checked is exactly
what it delivers and a smuggled message is neither checked as part of another nor sent on.
"""

from __future__ import annotations

import smtplib
import socket
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from missend.config import Config, SmtpConfig
from missend.smtp.testing import SinkServer, crlf
from missend.testing import raw_message

GOV = "team@agency.example.gov.uk"
COLLEAGUE = "colleague@agency.example.gov.uk"
StartRelay = Callable[..., Any]


class Wire:
    """A hand-driven SMTP client that sends exactly the bytes it is given."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buffer = b""
        assert self.reply()[0] == 220

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def reply(self) -> tuple[int, str]:
        """The next (possibly multi-line) reply."""
        lines: list[bytes] = []
        while True:
            while b"\r\n" not in self.buffer:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise ConnectionError(f"closed after {lines!r}")
                self.buffer += chunk
            line, self.buffer = self.buffer.split(b"\r\n", 1)
            lines.append(line)
            if line[3:4] != b"-":
                return int(line[:3]), "\n".join(x[4:].decode() for x in lines)

    def command(self, line: str) -> tuple[int, str]:
        self.send(line.encode() + b"\r\n")
        return self.reply()

    def pending(self, wait: float = 0.5) -> bytes:
        """Whatever else the server says within `wait` seconds (nothing, for a correct relay)."""
        self.sock.settimeout(wait)
        try:
            extra = self.sock.recv(65536)
        except TimeoutError:
            extra = b""
        finally:
            self.sock.settimeout(10)
        return self.buffer + extra

    def close(self) -> None:
        self.sock.close()


def mail(sender: str, to: list[str], **kwargs: Any) -> bytes:
    return crlf(raw_message(sender, to, **kwargs))


def still_serving(port: int, sink: SinkServer) -> None:
    before = len(sink.messages)
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as c:
        assert c.sendmail(GOV, [COLLEAGUE], mail(GOV, [COLLEAGUE], subject="after")) == {}
    assert len(sink.messages) == before + 1


SMUGGLED = (
    b"MAIL FROM:<ceo@agency.example.gov.uk>{eol}RCPT TO:<victim@gmail.com>{eol}DATA{eol}"
    b"From: ceo@agency.example.gov.uk{eol}To: victim@gmail.com{eol}Subject: smuggled{eol}{eol}"
    b"Please pay the attached invoice.{eol}"
)


@pytest.mark.parametrize(
    "end_of_data",
    [b"\n.\n", b"\n.\r\n", b"\r\n.\n", b"\r.\r", b"\r.\r\n", b"\r\n.\r"],
    ids=["LF.LF", "LF.CRLF", "CRLF.LF", "CR.CR", "CR.CRLF", "CRLF.CR"],
)
def test_a_smuggled_second_message_is_neither_checked_nor_delivered(
    start_relay: StartRelay, sink: SinkServer, end_of_data: bytes
) -> None:
    relay = start_relay()
    checked: list[bytes] = []
    decide = relay.relay.gateway.decide
    relay.relay.gateway.decide = lambda raw, *a, **k: checked.append(raw) or decide(raw, *a, **k)
    wire = Wire(relay.port)
    assert wire.command("EHLO client.test")[0] == 250
    assert wire.command(f"MAIL FROM:<{GOV}>")[0] == 250
    assert wire.command(f"RCPT TO:<{COLLEAGUE}>")[0] == 250
    assert wire.command("DATA")[0] == 354
    first = mail(GOV, [COLLEAGUE], subject="Minutes")
    eol = end_of_data[-1:]
    smuggled = SMUGGLED.replace(b"{eol}", eol if eol == b"\n" else b"\r\n")
    wire.send(first.rstrip(b"\r\n") + end_of_data + smuggled + b"\r\n.\r\n")
    code, text = wire.reply()
    assert code == 550
    assert "bare CR or LF" in text
    assert wire.pending() == b""  # one reply: the smuggled commands were never run
    assert wire.command("QUIT")[0] == 221
    wire.close()
    assert checked == []
    assert sink.messages == []
    still_serving(relay.port, sink)
    assert all(b"smuggled" not in m.data for m in sink.messages)


def test_the_same_bytes_without_bare_line_ends_are_one_message_delivered_as_checked(
    start_relay: StartRelay, sink: SinkServer
) -> None:
    relay = start_relay()
    wire = Wire(relay.port)
    for line, code in (
        ("EHLO c", 250),
        (f"MAIL FROM:<{GOV}>", 250),
        (f"RCPT TO:<{COLLEAGUE}>", 250),
    ):
        assert wire.command(line)[0] == code
    assert wire.command("DATA")[0] == 354
    body = mail(GOV, [COLLEAGUE]) + b"..\r\n" + SMUGGLED.replace(b"{eol}", b"\r\n")
    wire.send(body + b".\r\n")
    assert wire.reply()[0] == 250
    wire.close()
    (got,) = sink.messages
    assert got.rcpt_tos == (COLLEAGUE,)
    assert got.data.endswith(
        mail(GOV, [COLLEAGUE]) + b".\r\n" + SMUGGLED.replace(b"{eol}", b"\r\n")
    )


def test_an_oversized_message_is_refused_with_552_whether_or_not_its_size_is_declared(
    start_relay: StartRelay, sink: SinkServer
) -> None:
    relay = start_relay(replace(Config(), smtp=SmtpConfig(max_message_size=20_000)))
    big = mail(GOV, [COLLEAGUE], body="x" * 70 + "\n" * 1 + ("y" * 70 + "\n") * 400)
    with (
        smtplib.SMTP("127.0.0.1", relay.port, timeout=10) as c,
        pytest.raises(smtplib.SMTPSenderRefused) as declared,
    ):
        c.sendmail(GOV, [COLLEAGUE], big)
    assert declared.value.smtp_code == 552
    wire = Wire(relay.port)
    for line in ("EHLO c", f"MAIL FROM:<{GOV}>", f"RCPT TO:<{COLLEAGUE}>", "DATA"):
        wire.command(line)
    wire.send(big + b".\r\n")
    code, text = wire.reply()
    assert code == 552
    assert "Too much mail data" in text
    wire.close()
    assert sink.messages == []
    still_serving(relay.port, sink)


@pytest.mark.parametrize(
    ("address", "code"),
    [
        ("victim@gmail.com,ceo@agency.example.gov.uk", 501),
        ("victim@gmail.com Bcc:ceo@agency.example.gov.uk", 501),
        ("victim@gmail.com\tBcc:x@y.example", 501),
        ("victim@gmail.com>\x0bBcc", 501),
        ('"victim\\"\\r\\nBcc: x"@gmail.com', 553),
        ('"ceo@agency.example.gov.uk"@gmail.com', 553),
        ('"two words"@gmail.com', 553),
        ("victim@gmail.com\x00", 553),
        ("victim", 553),
        ("@gmail.com", 553),
    ],
)
def test_envelope_addresses_that_could_inject_headers_are_refused(
    start_relay: StartRelay, sink: SinkServer, address: str, code: int
) -> None:
    relay = start_relay()
    wire = Wire(relay.port)
    wire.command("EHLO c")
    assert wire.command(f"MAIL FROM:<{address}>")[0] == code
    assert wire.command(f"MAIL FROM:<{GOV}>")[0] == 250
    rcpt_code, rcpt_text = wire.command(f"RCPT TO:<{address}>")
    assert rcpt_code == code
    if code == 553:
        assert "plain address" in rcpt_text or "malformed" in rcpt_text
    wire.close()
    still_serving(relay.port, sink)
    assert [m.rcpt_tos for m in sink.messages] == [(COLLEAGUE,)]


def test_the_null_sender_is_accepted_for_bounces(start_relay: StartRelay, sink: SinkServer) -> None:
    relay = start_relay()
    with smtplib.SMTP("127.0.0.1", relay.port, timeout=10) as c:
        c.sendmail("<>", [COLLEAGUE], mail("MAILER-DAEMON@agency.example.gov.uk", [COLLEAGUE]))
    assert sink.messages[0].mail_from == ""


MALFORMED = {
    "multipart without boundary": b"Content-Type: multipart/mixed\r\n\r\n--X\r\nhello\r\n",
    "broken base64": (
        b"Content-Type: application/pdf; name=a.pdf\r\nContent-Transfer-Encoding: base64\r\n"
        b"\r\n!!!!not base64@@@\r\n"
    ),
    "200 nested parts": b"".join(
        b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (i, i) for i in range(200)
    )
    + b"x\r\n",
    "a line that is not a header": b"this is not a header\r\n\r\nbody\r\n",
    "NUL and invalid UTF-8": b"Subject: a\x00b\r\n\r\nbo\x00dy\xff\xfe\r\n",
}


@pytest.mark.parametrize("name", list(MALFORMED))
def test_malformed_mime_is_answered_and_delivered_as_received(
    start_relay: StartRelay, sink: SinkServer, name: str
) -> None:
    relay = start_relay()
    raw = f"From: {GOV}\r\nTo: {COLLEAGUE}\r\n".encode() + MALFORMED[name]
    with smtplib.SMTP("127.0.0.1", relay.port, timeout=10) as c:
        assert c.sendmail(GOV, [COLLEAGUE], raw) == {}
    (got,) = sink.messages
    assert got.data.endswith(raw)
    assert got.data.startswith(b"X-Missend-Verdict: ")
    still_serving(relay.port, sink)


def test_thousands_of_recipients_are_capped_with_452_and_the_rest_delivered(
    start_relay: StartRelay, sink: SinkServer
) -> None:
    relay = start_relay()
    rcpts = [f"staff{i}@agency.example.gov.uk" for i in range(1500)]
    with smtplib.SMTP("127.0.0.1", relay.port, timeout=30) as c:
        refused = c.sendmail(GOV, rcpts, mail(GOV, [COLLEAGUE], subject="All staff"))
    assert len(refused) == 500
    assert {code for code, _ in refused.values()} == {452}
    assert set(refused) == set(rcpts[1000:])
    (got,) = sink.messages
    assert got.rcpt_tos == tuple(rcpts[:1000])


def test_a_silent_client_is_told_421_and_dropped_while_others_are_served(
    start_relay: StartRelay, sink: SinkServer
) -> None:
    relay = start_relay(replace(Config(), smtp=SmtpConfig(timeout=0.5)))
    idle = Wire(relay.port)
    idle.command("EHLO slow")
    slow = Wire(relay.port)
    for line in ("EHLO slow", f"MAIL FROM:<{GOV}>", f"RCPT TO:<{COLLEAGUE}>", "DATA"):
        slow.command(line)
    slow.send(b"Subject: trickle\r\n")
    with smtplib.SMTP("127.0.0.1", relay.port, timeout=10) as c:
        c.sendmail(GOV, [COLLEAGUE], mail(GOV, [COLLEAGUE]))
    time.sleep(0.8)
    for wire in (idle, slow):
        code, text = wire.reply()
        assert code == 421
        assert "timeout" in text
        assert wire.pending(0.2) == b"" or wire.sock.recv(1) == b""
        wire.close()
    assert len(sink.messages) == 1
    still_serving(relay.port, sink)


def test_an_overlong_line_and_non_ascii_commands_get_clear_errors(
    start_relay: StartRelay, sink: SinkServer
) -> None:
    relay = start_relay()
    wire = Wire(relay.port)
    wire.command("EHLO c")
    assert wire.command("MAIL FROM:<jörg@agency.example.gov.uk>")[0] == 500
    for line in (f"MAIL FROM:<{GOV}>", f"RCPT TO:<{COLLEAGUE}>", "DATA"):
        wire.command(line)
    wire.send(b"Subject: long\r\n\r\n" + b"z" * 5000 + b"\r\n.\r\n")
    code, text = wire.reply()
    assert code == 500
    assert "too long" in text
    wire.close()
    assert sink.messages == []
    still_serving(relay.port, sink)
