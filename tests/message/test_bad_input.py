"""Hostile and broken messages: each still gets a verdict, and what could not be read is said.

Everything goes through the public path, `parse_message` then `Engine().check`, because that is
what a relay runs; a crash anywhere on it would lose or block real mail.
"""

from __future__ import annotations

import base64
import io
import os
import tracemalloc
import zipfile

from hypothesis import given, settings
from hypothesis import strategies as st

from missend.detectors.base import Finding
from missend.engine import Engine
from missend.message import Limits, Message, parse_message
from missend.verdict import Verdict

HEAD = b"From: Ann Lee <ann@ours.example>\r\nTo: Bo Ma <bo@theirs.example>\r\nSubject: Files\r\n"


def with_attachment(
    filename: str, content_type: str, payload: bytes, body: bytes = b"See attached."
) -> bytes:
    return (
        HEAD + b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=BOUND\r\n\r\n"
        b"--BOUND\r\nContent-Type: text/plain\r\n\r\n" + body + b"\r\n"
        b"--BOUND\r\nContent-Type: " + content_type.encode() + b"\r\n"
        b'Content-Disposition: attachment; filename="' + filename.encode() + b'"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n"
        + base64.encodebytes(payload).replace(b"\n", b"\r\n")
        + b"--BOUND--\r\n"
    )


def text_part(charset: str, body: bytes) -> bytes:
    return HEAD + b"Content-Type: text/plain; charset=" + charset.encode() + b"\r\n\r\n" + body


def check(raw: bytes, limits: Limits | None = None) -> tuple[Message, Verdict]:
    message = parse_message(raw, limits=limits)
    return message, Engine().check(message)


def uninspectable(verdict: Verdict) -> list[Finding]:
    return [d.finding for d in verdict.findings if d.finding.detector == "uninspectable"]


def reason(verdict: Verdict) -> str:
    found = uninspectable(verdict)
    assert found, "expected a finding saying what could not be inspected"
    return " ".join(f.explanation for f in found)


def nested_multipart(depth: int) -> bytes:
    opening = b"".join(
        b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (i, i)
        for i in range(depth)
    )
    closing = b"".join(b"\r\n--b%d--" % i for i in reversed(range(depth)))
    return HEAD + opening + b"Content-Type: text/plain\r\n\r\nhello" + closing + b"\r\n"


# --- broken structure ----------------------------------------------------------------------


def test_missing_closing_boundary_is_reported_and_the_rest_still_read() -> None:
    raw = (
        HEAD + b"Content-Type: multipart/mixed; boundary=BB\r\n\r\n"
        b"--BB\r\nContent-Type: text/plain\r\n\r\nThe body survives.\r\n"
        b"--BB\r\nContent-Type: text/csv\r\nContent-Disposition: attachment; filename=list.csv\r\n\r\n"
        b"name,email\r\nAnn,ann@x.example\r\n"
    )
    message, verdict = check(raw)
    assert "The body survives." in message.body_text
    assert "ann@x.example" in message.attachments[0].text
    assert "malformed MIME (CloseBoundaryNotFound)" in reason(verdict)


def test_multipart_nested_past_the_part_limit_is_reported() -> None:
    message, verdict = check(nested_multipart(600))
    assert message.recipient_emails == ("bo@theirs.example",)
    assert "more than 500 MIME parts" in reason(verdict)


def test_multipart_nested_thousands_deep_keeps_its_headers() -> None:
    message, verdict = check(nested_multipart(3000))
    assert message.recipient_emails == ("bo@theirs.example",)
    assert message.subject == "Files"
    assert "could not be parsed (RecursionError)" in reason(verdict)


# --- character sets ------------------------------------------------------------------------


def test_mislabelled_charset_is_still_read_correctly() -> None:
    message, verdict = check(text_part("utf-8", "Café owner Müller".encode("cp1252")))
    assert message.body_text == "Café owner Müller"
    assert not uninspectable(verdict)


def test_unknown_charset_on_plain_ascii_is_harmless() -> None:
    message, verdict = check(text_part("x-klingon", b"Plain words only"))
    assert message.body_text == "Plain words only"
    assert not uninspectable(verdict)


def test_unknown_charset_with_unreadable_bytes_is_reported() -> None:
    message, verdict = check(text_part("x-klingon", "Привет Анна".encode("koi8-r")))
    assert message.body_text
    assert "unknown character set (x-klingon)" in reason(verdict)


def test_undecodable_bytes_are_reported() -> None:
    message, verdict = check(text_part("utf-8", b"Account \x81\x8d\x8f\x90\x9d ref"))
    assert "Account" in message.body_text
    assert "bytes that could not be decoded" in reason(verdict)


def test_binary_data_in_a_text_body_is_reported() -> None:
    _, verdict = check(text_part("us-ascii", bytes(range(256)) * 4))
    assert "holds binary data" in reason(verdict)


def test_raw_eight_bit_headers_still_give_recipients() -> None:
    raw = b"From: J\xc3\xb6rg <j@ours.example>\r\nTo: M\xfcller <m@theirs.example>\r\n\r\nhi\r\n"
    message, verdict = check(raw)
    assert message.recipient_emails == ("m@theirs.example",)
    assert verdict.recipients == 1


def test_raw_eight_bit_attachment_names_are_read_as_text() -> None:
    """Mail clients that do not encode file names send them as raw UTF-8 or Latin-1 bytes."""
    for written, expected in (
        (b"r\xc3\xa9sum\xc3\xa9.csv", "résumé.csv"),
        (b"\xe9t\xe9.csv", "été.csv"),
    ):
        raw = with_attachment("NAME", "text/csv", b"name,phone\nAnn,1\n").replace(b"NAME", written)
        message, verdict = check(raw)
        assert [a.filename for a in message.attachments] == [expected]
        assert verdict.to_dict()["recipients"] == 1


# --- unreadable attachments ----------------------------------------------------------------


def test_corrupt_pdf_is_reported_by_name() -> None:
    _, verdict = check(
        with_attachment("payslip.pdf", "application/pdf", b"%PDF-1.7\n" + os.urandom(2000))
    )
    text = reason(verdict)
    assert "attachment:payslip.pdf" in text
    assert "damaged PDF" in text


def test_corrupt_xlsx_is_reported_by_name() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("xl/workbook.xml", "<workbook><sheets>")
        zf.writestr("xl/worksheets/sheet1.xml", "<worksheet><sheetData><row><c><v>1</v>")
    _, verdict = check(with_attachment("staff.xlsx", "application/vnd.ms-excel", out.getvalue()))
    text = reason(verdict)
    assert "attachment:staff.xlsx" in text
    assert "damaged XML" in text


def test_truncated_xlsx_is_reported_by_name() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("xl/workbook.xml", "<workbook/>")
    _, verdict = check(
        with_attachment("staff.xlsx", "application/octet-stream", out.getvalue()[:-30])
    )
    assert "attachment:staff.xlsx: is damaged or incomplete" in reason(verdict)


def test_one_gigabyte_zip_bomb_is_refused_and_reported() -> None:
    out = io.BytesIO()
    chunk = bytes(1024 * 1024)
    with (
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf,
        zf.open("export.csv", "w", force_zip64=True) as member,
    ):
        for _ in range(1024):
            member.write(chunk)
    bomb = out.getvalue()
    assert len(bomb) < 8 * 1024 * 1024
    tracemalloc.start()
    try:
        message, verdict = check(with_attachment("export.zip", "application/zip", bomb))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "export.csv: unpacks to 1024 MB" in reason(verdict)
    assert "zip bomb" in reason(verdict)
    assert message.attachments[0].text == "export.csv\n"
    assert peak < 20 * len(bomb)


def test_lying_content_type_does_not_hide_a_readable_file() -> None:
    spreadsheet = io.BytesIO()
    with zipfile.ZipFile(spreadsheet, "w") as zf:
        zf.writestr("xl/workbook.xml", "<workbook/>")
        zf.writestr(
            "xl/worksheets/sheet1.xml",
            "<worksheet><sheetData>"
            + "".join(
                f'<row><c t="inlineStr"><is><t>person{i}@x.example</t></is></c></row>'
                for i in range(30)
            )
            + "</sheetData></worksheet>",
        )
    message, verdict = check(with_attachment("holiday.jpg", "image/jpeg", spreadsheet.getvalue()))
    attachment = message.attachments[0]
    assert "person7@x.example" in attachment.text
    assert attachment.records == 29
    assert not uninspectable(verdict)


def test_lying_content_type_on_junk_is_reported() -> None:
    _, verdict = check(with_attachment("scan.pdf", "application/pdf", os.urandom(4096)))
    assert "attachment:scan.pdf: is named as a PDF but is damaged or not a PDF" in reason(verdict)


# --- size ----------------------------------------------------------------------------------


def test_fifty_megabyte_message_gets_a_verdict_in_bounded_memory() -> None:
    raw = with_attachment("scan.pdf", "application/pdf", os.urandom(37 * 1024 * 1024))
    assert len(raw) > 50 * 1024 * 1024
    tracemalloc.start()
    try:
        message, verdict = check(raw)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert message.recipient_emails == ("bo@theirs.example",)
    assert "attachment:scan.pdf: too large to inspect" in reason(verdict)
    assert peak < 10 * len(raw), f"peak {peak / 1e6:.0f} MB for a {len(raw) / 1e6:.0f} MB message"


def test_message_over_the_size_limit_is_checked_on_headers_only() -> None:
    raw = with_attachment("data.csv", "text/csv", b"name\n" + b"Ann Lee\n" * 400_000)
    limits = Limits(max_message_bytes=1024 * 1024)
    message, verdict = check(raw, limits)
    assert message.recipient_emails == ("bo@theirs.example",)
    assert message.attachments == ()
    assert f"larger than {1024 * 1024} bytes; body not inspected" in reason(verdict)


# --- anything at all -----------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(
    body=st.binary(max_size=3000),
    content_type=st.sampled_from(
        [
            b"text/plain; charset=x-unknown",
            b"multipart/mixed; boundary=B",
            b"application/pdf",
            b"text/html",
        ]
    ),
)
def test_any_body_gets_a_verdict(body: bytes, content_type: bytes) -> None:
    raw = HEAD + b"Content-Type: " + content_type + b"\r\n\r\n" + body
    message, verdict = check(raw)
    assert message.recipient_emails == ("bo@theirs.example",)
    assert verdict.action is not None
