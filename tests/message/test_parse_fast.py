from __future__ import annotations

import email.message

from hypothesis import given, settings
from hypothesis import strategies as st

from missend.message.parse import (
    _PARSER,
    _charset,
    _content_type,
    _filename,
    _first_values,
    _parse,
)

_LINES = st.sampled_from(
    [
        "From: A <a@example.com>\n",
        "To: b@example.com,\r\n c@example.com\r\n",
        "Subject: caf\u00e9\n",
        " folded\n",
        "\tfolded\r\n",
        "Content-Type: text/plain; charset=utf-8\n",
        "Content-Type: text/html\n",
        "Content-Type: multipart/mixed; boundary=b\n",
        "Content-Type: message/rfc822\n",
        "Content-Transfer-Encoding: base64\n",
        "From sender@example.com Mon Jan  1 00:00:00 2024\n",
        "not a header\n",
        "X-Odd:\r",
        "\n",
        "\r\n",
        "\r",
        "--b\n",
        "body line\n",
        "Body: looks like a header\n",
        "",
    ]
)


def _shape(msg: email.message.Message) -> object:
    return (
        msg.get_unixfrom(),
        msg.raw_items() and list(msg.raw_items()),
        msg.get_payload() if not msg.is_multipart() else [_shape(p) for p in msg.get_payload()],
        [type(d).__name__ for d in msg.defects],
        msg.get_default_type(),
        msg.preamble,
        msg.epilogue,
    )


@settings(max_examples=1000, deadline=None)
@given(st.lists(_LINES, max_size=14), st.text("ab\r\n:", max_size=10))
def test_the_same_message_as_the_full_parse(lines: list[str], tail: str) -> None:
    raw = ("".join(lines) + tail).encode("utf-8")
    assert _shape(_parse(raw)) == _shape(_PARSER.parsebytes(raw))


_CONTENT_TYPES = (
    'text/plain; charset="UTF-8"',
    "text/plain; charset=iso-8859-1; format=flowed",
    "text/plain",
    "text/plain; charset*=us-ascii''utf-8",
    "text/plain; charset=\udce9",
    'text/plain; name="a;b"; charset=koi8-r',
    'application/pdf; name="r\udce9sum\udce9.pdf"',
    "TEXT/HTML",
    "nonsense",
    "",
)
_DISPOSITIONS = (
    None,
    "inline",
    "attachment",
    'attachment; filename="report.xlsx"',
    'attachment; filename="r\udce9sum\udce9.pdf"',
    "attachment; filename*=utf-8''na%C3%AFve.txt",
)


def _raw(ctype: str, disposition: str | None) -> bytes:
    lines = [f"Content-Type: {ctype}", "Content-Type: text/plain; charset=big5; name=x"]
    if disposition is not None:
        lines += [f"Content-Disposition: {disposition}", "Content-Disposition: inline"]
    return ("\n".join(lines) + "\n\nbody").encode("ascii", "surrogateescape")


def test_part_headers_read_as_the_stdlib_reads_the_first_of_each() -> None:
    for ctype in _CONTENT_TYPES:
        for disposition in _DISPOSITIONS:
            msg = _PARSER.parsebytes(_raw(ctype, disposition))
            ctype_value, disposition_value = _first_values(msg)
            assert _content_type(msg, ctype_value) == msg.get_content_type()
            assert _charset(msg, ctype_value) == msg.get_content_charset()
            stdlib_name = msg.get_filename()
            name = _filename(msg, ctype_value, disposition_value)
            assert (name != "") == bool(stdlib_name)


def test_a_part_without_content_type_has_its_default_type() -> None:
    digest = _PARSER.parsebytes(
        b"Content-Type: multipart/digest; boundary=b\n\n--b\n\nSubject: x\n\nhi\n--b--\n"
    )
    part = digest.get_payload()[0]
    ctype_value, _ = _first_values(part)
    assert ctype_value is None
    assert _content_type(part, ctype_value) == part.get_content_type() == "message/rfc822"
    plain = _PARSER.parsebytes(b"Subject: none\n\nbody")
    assert _content_type(plain, None) == "text/plain"
    assert _charset(plain, None) is None
