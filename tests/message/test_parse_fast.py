from __future__ import annotations

import email.message

from hypothesis import given, settings
from hypothesis import strategies as st

from missend.message.parse import _PARSER, _charset, _parse

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


def test_charset_is_the_stdlib_answer_for_the_first_content_type() -> None:
    for header in (
        'text/plain; charset="UTF-8"',
        "text/plain; charset=iso-8859-1; format=flowed",
        "text/plain",
        "text/plain; charset*=us-ascii''utf-8",
        "text/plain; charset=\udce9",
        'text/plain; name="a;b"; charset=koi8-r',
        "",
    ):
        for raw in (
            f"Content-Type: {header}\nContent-Type: text/plain; charset=big5\n\nbody".encode(
                "ascii", "surrogateescape"
            ),
            b"Subject: none\n\nbody",
        ):
            msg = _PARSER.parsebytes(raw)
            assert _charset(msg) == msg.get_content_charset()
