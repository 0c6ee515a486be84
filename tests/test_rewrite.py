"""The fix rewrites only the address headers; every other byte of the message is kept."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from missend.message import parse_message
from missend.rewrite import RecipientChange, rewrite_recipients
from missend.testing import raw_message


def _split(raw: bytes) -> tuple[bytes, bytes]:
    idx = raw.find(b"\r\n\r\n") if b"\r\n\r\n" in raw else raw.find(b"\n\n")
    return raw[:idx], raw[idx:]


def _emails(raw: bytes, field: str) -> list[str]:
    m = parse_message(raw)
    return [r.email for r in m.recipients if r.field == field]


def test_moving_everyone_to_bcc_leaves_an_undisclosed_group_in_to() -> None:
    raw = raw_message("me@org.example", ["a@x.example", "b@y.example"], cc=["c@z.example"])
    out = rewrite_recipients(
        raw, RecipientChange(to_bcc=frozenset({"a@x.example", "b@y.example", "c@z.example"}))
    )
    assert b"To: undisclosed-recipients:;" in out
    assert _emails(out, "bcc") == ["a@x.example", "b@y.example", "c@z.example"]
    assert b"Cc:" not in out


def test_internal_colleague_stays_visible_when_outsiders_move() -> None:
    raw = raw_message("me@org.example", ["a@x.example"], cc=["boss@org.example", "b@y.example"])
    out = rewrite_recipients(raw, RecipientChange(to_bcc=frozenset({"a@x.example", "b@y.example"})))
    assert _emails(out, "cc") == ["boss@org.example"]
    assert b"To: undisclosed-recipients:;" in out


def test_transit_mode_removes_moved_recipients_from_the_headers_entirely() -> None:
    raw = raw_message("me@org.example", ["a@x.example", "b@y.example"])
    out = rewrite_recipients(
        raw, RecipientChange(to_bcc=frozenset({"a@x.example"})), bcc_header=False
    )
    assert b"a@x.example" not in out
    assert _emails(out, "to") == ["b@y.example"]


def test_replace_and_remove() -> None:
    raw = raw_message("me@org.example", ["tom@typo.example", "odd@x.example", "ok@y.example"])
    out = rewrite_recipients(
        raw,
        RecipientChange(
            remove=frozenset({"odd@x.example"}), replace={"tom@typo.example": "tom@right.example"}
        ),
    )
    assert _emails(out, "to") == ["tom@right.example", "ok@y.example"]


def test_lf_only_messages_keep_lf_line_endings() -> None:
    raw = b"From: me@org.example\nTo: a@x.example, b@y.example\nSubject: s\n\nbody\n"
    out = rewrite_recipients(raw, RecipientChange(to_bcc=frozenset({"a@x.example"})))
    assert b"\r" not in out
    assert out.endswith(b"\n\nbody\n")


def test_non_ascii_display_names_are_encoded() -> None:
    raw = raw_message("me@org.example", ["Jörg Müller <j@x.example>", "b@y.example"])
    out = rewrite_recipients(raw, RecipientChange(to_bcc=frozenset({"j@x.example"})))
    out.decode("ascii")
    assert parse_message(out).recipients[-1].address.name == "Jörg Müller"


local = st.from_regex(r"[a-z][a-z0-9]{0,8}", fullmatch=True)
domain = st.sampled_from(["x.example", "y.example", "gmail.com", "org.example"])
address = st.builds("{}@{}".format, local, domain)
names = st.sampled_from(["", "Ann Lee", "Reed, Tom", "Jörg Müller", 'Quote "Q" Person'])


@settings(max_examples=150, deadline=None)
@given(
    to=st.lists(st.tuples(names, address), max_size=12),
    cc=st.lists(st.tuples(names, address), max_size=12),
    data=st.data(),
    body=st.text(min_size=0, max_size=300),
    attach=st.binary(max_size=300),
)
def test_fix_never_loses_or_duplicates_a_recipient_and_keeps_every_other_byte(
    to: list[tuple[str, str]],
    cc: list[tuple[str, str]],
    data: st.DataObject,
    body: str,
    attach: bytes,
) -> None:
    def fmt(n, a):
        return f'"{n}" <{a}>'.replace('"Quote "Q" Person"', '"Quote \\"Q\\" Person"') if n else a

    raw = raw_message(
        "me@org.example",
        [fmt(n, a) for n, a in to],
        cc=[fmt(n, a) for n, a in cc],
        body=body or "x",
        attachments=[("data.bin", "application/octet-stream", attach)],
    )
    before = [r.email for r in parse_message(raw).recipients]
    move = frozenset(data.draw(st.lists(st.sampled_from(before), unique=True)) if before else [])
    out = rewrite_recipients(raw, RecipientChange(to_bcc=move))
    after = parse_message(out)
    assert sorted(r.email for r in after.recipients) == sorted(before)
    assert len(after.recipients) == len({r.email for r in after.recipients})
    assert {r.email for r in after.recipients if r.field == "bcc"} == set(move)
    assert not {r.email for r in after.visible} & move
    head_in, body_in = _split(raw)
    head_out, body_out = _split(out)
    assert body_out == body_in

    assert _other_fields(head_out) == _other_fields(head_in)


def _other_fields(head: bytes) -> list[bytes]:
    lines = [line for line in head.split(b"\n") if line and not line[:1].isspace()]
    return [line for line in lines if line.split(b":")[0].lower() not in (b"to", b"cc", b"bcc")]
