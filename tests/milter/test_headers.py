"""Header fields as the MTA passes them, and the milter edits that apply a decided rewrite."""

from __future__ import annotations

from missend.milter.headers import (
    HeaderEdit,
    address_edits,
    milter_value,
    rebuild,
    split_fields,
    verdict_edits,
)
from missend.rewrite import RecipientChange, rewrite_recipients

RAW = (
    b"From: Team <team@agency.example>\r\n"
    b"To: Ann <ann@gmail.com>,\r\n Bob <bob@yahoo.co.uk>\r\n"
    b"Cc: carol@agency.example\r\n"
    b"Subject: Minutes\r\n"
    b"\r\n"
    b"Body line\r\n"
)


def test_a_message_rebuilt_from_the_mta_callbacks_is_the_message_sent() -> None:
    fields = [(name, value.replace(b"\r\n", b"\n")) for name, value in split_fields(RAW)]
    assert fields[1] == ("To", b"Ann <ann@gmail.com>,\n Bob <bob@yahoo.co.uk>")
    assert rebuild(fields, b"Body line\r\n") == RAW


def test_split_stops_at_the_body_and_skips_lines_that_are_not_fields() -> None:
    raw = b"Subject: a\r\nnot a field\r\nX-A: 1\r\n\r\nTo: body@text.example\r\n"
    assert split_fields(raw) == [("Subject", b"a"), ("X-A", b"1")]


def test_values_go_back_to_the_mta_folded_with_bare_line_feeds() -> None:
    assert milter_value(b"a,\r\n b") == "a,\n b"


def test_moving_recipients_out_of_to_changes_only_that_field() -> None:
    fields = split_fields(RAW)
    decided = rewrite_recipients(
        RAW, RecipientChange(to_bcc=frozenset({"ann@gmail.com"})), bcc_header=False
    )
    assert address_edits(fields, decided) == [HeaderEdit("To", 1, "Bob <bob@yahoo.co.uk>")]


def test_an_emptied_to_becomes_undisclosed_and_an_emptied_cc_is_deleted() -> None:
    everyone = frozenset({"ann@gmail.com", "bob@yahoo.co.uk", "carol@agency.example"})
    decided = rewrite_recipients(RAW, RecipientChange(to_bcc=everyone), bcc_header=False)
    assert address_edits(split_fields(RAW), decided) == [
        HeaderEdit("To", 1, "undisclosed-recipients:;"),
        HeaderEdit("Cc", 1, ""),
    ]


def test_a_message_without_to_gets_one_added() -> None:
    raw = b"From: a@agency.example\r\nCc: x@gmail.com, y@gmail.com\r\n\r\nHi\r\n"
    decided = rewrite_recipients(
        raw, RecipientChange(to_bcc=frozenset({"x@gmail.com", "y@gmail.com"})), bcc_header=False
    )
    assert address_edits(split_fields(raw), decided) == [
        HeaderEdit("To", 0, "undisclosed-recipients:;"),
        HeaderEdit("Cc", 1, ""),
    ]


def test_unchanged_headers_need_no_edit_however_they_were_folded() -> None:
    refolded = RAW.replace(b",\r\n Bob", b", Bob")
    assert address_edits(split_fields(RAW), refolded) == []


def test_deletions_run_from_the_last_occurrence_up() -> None:
    raw = b"To: a@gmail.com\r\nTo: b@gmail.com\r\nTo: c@gmail.com\r\n\r\n"
    decided = b"To: undisclosed-recipients:;\r\n\r\n"
    assert address_edits(split_fields(raw), decided) == [
        HeaderEdit("To", 1, "undisclosed-recipients:;"),
        HeaderEdit("To", 3, ""),
        HeaderEdit("To", 2, ""),
    ]


def test_the_verdict_header_replaces_every_one_the_client_wrote() -> None:
    fields = [("x-missend-verdict", b"allow"), ("Subject", b"s"), ("X-Missend-Verdict", b"x")]
    assert verdict_edits(fields, "warn; risk=0.40") == [
        HeaderEdit("X-Missend-Verdict", 2, ""),
        HeaderEdit("X-Missend-Verdict", 1, ""),
        HeaderEdit("X-Missend-Verdict", 0, "warn; risk=0.40"),
    ]
