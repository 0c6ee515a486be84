"""Packets on the wire: framing that survives any split, and bounds a hostile peer cannot pass."""

from __future__ import annotations

import pytest

from missend.milter import protocol as p


def test_whole_packets_are_taken_and_a_partial_one_is_left_for_the_next_read() -> None:
    wire = p.packet(p.MAIL, b"<a@b.example>\0") + p.packet(p.ABORT) + p.packet(p.BODY, b"xyz")
    for cut in range(len(wire) + 1):
        first, used = p.split(wire[:cut])
        rest, more = p.split(wire[used:])
        assert used <= cut
        assert used + more == len(wire)
        assert first + rest == [(p.MAIL, b"<a@b.example>\0"), (p.ABORT, b""), (p.BODY, b"xyz")]


@pytest.mark.parametrize("size", [0, p.MAX_PACKET + 1, 2**32 - 1])
def test_a_length_that_no_mta_sends_is_a_protocol_error(size: int) -> None:
    with pytest.raises(p.ProtocolError):
        p.split(size.to_bytes(4, "big") + b"M")


def test_macros_name_their_command_and_lose_their_braces() -> None:
    assert p.macros(b"Ei\0QID1\0{auth_authen}\0alice\0") == (
        b"E",
        {"i": "QID1", "auth_authen": "alice"},
    )
    with pytest.raises(p.ProtocolError):
        p.macros(b"")


def test_a_multi_line_reply_is_written_as_smtp_continuation_lines() -> None:
    [(command, data)], _ = p.split(p.reply_code("550", "5.7.1", ["first", "second"]))
    assert command == p.REPLYCODE
    assert data == b"550-5.7.1 first\r\n550 5.7.1 second\0"


def test_header_changes_carry_the_occurrence_and_an_empty_value_deletes() -> None:
    [(command, data)], _ = p.split(p.change_header("Cc", 2, ""))
    assert command == p.CHGHEADER
    assert data == b"\0\0\0\2Cc\0\0"


def test_negotiation_keeps_only_what_the_mta_offers() -> None:
    offer = (6).to_bytes(4, "big") + (p.ADDHDRS).to_bytes(4, "big") + (p.NOHELO).to_bytes(4, "big")
    agreed, _ = p.negotiate(offer, p.ADDHDRS | p.CHGHDRS, p.NOHELO | p.NR_HDR, {})
    assert agreed == p.Options(6, p.ADDHDRS, p.NOHELO)
    assert agreed.answers(p.HEADER)
    assert not agreed.allows(p.CHGHDRS)
