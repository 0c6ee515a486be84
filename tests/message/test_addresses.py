from __future__ import annotations

from email.utils import getaddresses

from hypothesis import given, settings
from hypothesis import strategies as st

from missend.message.addresses import _plain_pairs, parse_addresses

_ATOM = st.text("aZ9._%+-=?!#'~é", min_size=1, max_size=6)
_NAME = st.text("Ab .'_-9=?é\t", max_size=14)
_PAD = st.sampled_from(["", " ", "  ", "\t", "\r\n ", "\n\t"])


@st.composite
def _mailbox(draw: st.DrawFn) -> str:
    addr = f"{draw(_ATOM)}@{draw(_ATOM)}"
    if draw(st.booleans()):
        addr = f"{draw(_NAME)}{draw(_PAD)}<{addr}>"
    return f"{draw(_PAD)}{addr}{draw(_PAD)}"


_PLAINISH = st.lists(st.lists(_mailbox(), min_size=1, max_size=4).map(",".join), max_size=3)
_ANYTHING = st.lists(st.text("ab@.<>,\"'() :;=?_-\\\t\n\r[]\xa0é", max_size=30), max_size=3)


@settings(max_examples=500, deadline=None)
@given(st.one_of(_PLAINISH, _ANYTHING))
def test_plain_reading_is_the_stdlib_reading_or_none(values: list[str]) -> None:
    present = [v for v in values if v]
    pairs = _plain_pairs(present)
    if pairs is not None:
        assert pairs == getaddresses(present)


def test_ordinary_headers_take_the_plain_reading() -> None:
    values = [
        "Casework Team <casework@agency.example.gov.uk>, j.smith@partner.example.com",
        "=?utf-8?q?J=C3=B6rg?= M. <jorg@example.de>,\r\n\tAnn <ann@example.org>",
        "k..allen@enron.com, Phillip K Allen <.k.allen.@enron.com>",
    ]
    assert _plain_pairs(values) is not None
    assert _plain_pairs(values) == getaddresses(values)


def test_quotes_comments_and_groups_go_to_the_stdlib_parser() -> None:
    for value in (
        '"Smith, J" <j@example.com>',
        "j@example.com (Jo)",
        "team: a@example.com, b@example.com;",
        "a@example.com,",
        "<@route:a@example.com>",
    ):
        assert _plain_pairs([value]) is None
    assert [a.email for a in parse_addresses(['"Smith, J" <J@Example.com>'])] == ["j@example.com"]
