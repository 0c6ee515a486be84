"""Parsing: one message in, one immutable model out, whatever the bytes look like."""

from __future__ import annotations

from missend.message import Field, parse_message
from missend.message.addresses import normalize_email

RAW = (
    b"From: =?utf-8?q?J=C3=B6rg_M=C3=BCller?= <Joerg@Example.DE>\r\n"
    b"Sender: assistant@example.de\r\n"
    b"Reply-To: team@example.de\r\n"
    b'To: Panel: a@one.example, "Reed, Tom" <TOM@two.example>;, b@three.example\r\n'
    b"Cc: undisclosed-recipients:;, a@one.example, c@b\xc3\xbccher.example\r\n"
    b"Subject: =?iso-8859-1?q?Gr=FC=DFe?= aus\r\n  Berlin\r\n"
    b"Message-ID: <ID-1@example.de>\r\n"
    b"In-Reply-To: <parent@x.example>\r\n"
    b"References: <root@x.example> <parent@x.example>\r\n"
    b"Date: Mon, 2 Mar 2026 09:30:00 +0100\r\n"
    b"Content-Type: multipart/alternative; boundary=XX\r\n\r\n"
    b"--XX\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHallo Tom\r\n"
    b"--XX\r\nContent-Type: text/html\r\n\r\n<p>Hallo <b>Tom</b></p><script>x()</script>\r\n"
    b"--XX--\r\n"
)


def test_headers_are_decoded_and_addresses_normalised() -> None:
    m = parse_message(RAW)
    assert m.from_[0].name == "Jörg Müller"
    assert m.from_[0].email == "joerg@example.de"
    assert m.sender_header
    assert m.sender_header.email == "assistant@example.de"
    assert [a.email for a in m.reply_to] == ["team@example.de"]
    assert m.subject == "Grüße aus Berlin"
    assert m.message_id == "<id-1@example.de>"
    assert m.in_reply_to == ("<parent@x.example>",)
    assert m.thread_ids == ("<parent@x.example>", "<root@x.example>")
    assert m.date is not None
    assert m.date.utcoffset() is not None


def test_groups_are_flattened_and_duplicates_dropped_keeping_the_first_field() -> None:
    m = parse_message(RAW)
    emails = [(r.email, r.field) for r in m.recipients]
    assert emails == [
        ("a@one.example", Field.TO),
        ("tom@two.example", Field.TO),
        ("b@three.example", Field.TO),
        ("c@xn--bcher-kva.example", Field.CC),
    ]
    assert m.recipients[1].address.name == "Reed, Tom"


def test_envelope_recipients_missing_from_the_headers_are_the_bcc_set() -> None:
    m = parse_message(
        RAW, envelope_from="Bounce@Example.de", envelope_to=["a@one.example", "hidden@z.example"]
    )
    assert [r.email for r in m.hidden] == ["hidden@z.example"]
    assert m.hidden[0].field == Field.ENVELOPE
    assert m.sender
    assert m.sender.email == "bounce@example.de"


def test_body_text_comes_from_plain_and_html_without_scripts() -> None:
    m = parse_message(RAW)
    assert "Hallo Tom" in m.body_text
    assert "x()" not in m.body_text


def test_idn_domains_compare_equal_in_either_form() -> None:
    assert normalize_email("c@BÜCHER.example") == normalize_email("c@xn--bcher-kva.example")


def test_garbage_still_gives_a_message() -> None:
    m = parse_message(b"\x00\xff\xfe not a message at all \r\n\r\n\x80")
    assert m.recipients == ()


def test_truncated_multipart_is_a_defect_not_an_exception() -> None:
    raw = b"From: a@x.example\r\nTo: b@y.example\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nhal"
    m = parse_message(raw)
    assert any("malformed MIME" in d.reason for d in m.defects)


def test_headers_only_parse_skips_the_body() -> None:
    m = parse_message(RAW, headers_only=True)
    assert m.body_text == ""
    assert len(m.recipients) == 4


def test_a_forward_is_told_from_a_reply_by_its_subject() -> None:
    def says(subject: str) -> tuple[bool, bool]:
        m = parse_message(
            f"From: a@x.example\nTo: b@y.example\nSubject: {subject}\n\nhi\n".encode()
        )
        return m.subject_says_reply, m.subject_says_forward

    assert says("RE: Crane hire") == (True, False)
    assert says("FW: Crane hire") == (True, True)
    assert says("Fwd: Crane hire") == (True, True)
    assert says("WG: Angebot") == (True, True)
    assert says("Forwarding agents") == (False, False)
