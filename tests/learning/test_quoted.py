"""The quoted author: whose mail a reply answers, from the attribution line each mail client writes."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from missend.learning.quoted import Author, quoted_author


def test_outlook_header_block_gives_the_author_by_address_and_name() -> None:
    body = (
        "Fine by me.\n\n -----Original Message-----\n"
        'From: \t"Maria Hernandez" <Maria.Hernandez@lbb.example>@ENRON [mailto:IMCEANOTES-x@y.com]\n'
        "Sent:\tFriday, July 20, 2001 10:07 AM\nTo:\tHernandez, Juan\n"
    )
    author = quoted_author(body)
    assert author is not None
    assert "maria.hernandez@lbb.example" in author.addresses
    assert author.words == {"maria", "hernandez"}


def test_outlook_name_only_in_last_first_order() -> None:
    author = quoted_author("ok\n-----Original Message-----\nFrom: Scholtes, Diana  \nSent: x\n")
    assert author == Author(frozenset(), frozenset({"scholtes", "diana"}))


def test_lotus_notes_attribution_drops_the_organisation_path_and_time_stamp() -> None:
    author = quoted_author("Thanks\n\n\tKarina Prizont/ENRON@enronXgate on 05/30/2001 02:10 PM\n")
    assert author is not None
    assert author.words == {"karina", "prizont"}


def test_gmail_and_thunderbird_attributions() -> None:
    gmail = quoted_author(
        "Yes.\n\nOn Mon, Dec 7, 2026 at 10:00 AM Tom Reed <treed@partner.example> wrote:\n> hi\n"
    )
    assert gmail is not None
    assert "treed@partner.example" in gmail.addresses
    thunderbird = quoted_author("Yes.\n\nOn 07/12/2026 10:00, Tom Reed wrote:\n> hi\n")
    assert thunderbird is not None
    assert {"tom", "reed"} <= thunderbird.words


def test_the_first_quoted_message_is_the_one_answered() -> None:
    body = (
        "See below.\n> From: Ada Keller <ada@partner.example>\n> Sent: Monday\n"
        "> \n> > From: Tom Reed <treed@partner.example>\n"
    )
    author = quoted_author(body)
    assert author is not None
    assert author.addresses == {"ada@partner.example"}


def test_a_forwarded_by_line_names_who_passed_it_on_not_the_author() -> None:
    body = (
        "---------------------- Forwarded by Rick Buy/HOU/ECT on 02/08/2001 05:58 PM ------\n\n"
        '"Hoyt, Mont" <hoytm@law.example> on 12/12/2000 11:37:46 AM\n'
    )
    author = quoted_author(body)
    assert author is not None
    assert author.addresses == {"hoytm@law.example"}
    assert "rick" not in author.words


def test_a_sentence_that_holds_a_date_is_not_an_attribution() -> None:
    assert quoted_author("The meeting moved to the big room on 10/12/2000 10:00 as agreed.") is None
    assert quoted_author("No quote here at all.\nJust text.") is None


def test_match_is_full_for_the_address_and_partial_for_a_namesake() -> None:
    author = Author(frozenset({"sandra.h@crescent.example"}), frozenset({"sandra", "hernandez"}))
    assert author.match("sandra.h@crescent.example", ()) == 1.0
    assert author.match("sandra.hernandez@other.example", ("sandra", "hernandez")) == 1.0
    assert author.match("laura.hernandez@trw.example", ("laura", "hernandez")) == 0.5
    assert author.match("x@y.example", ()) == 0.0


@given(st.text(max_size=2000))
def test_any_text_gives_an_author_or_none_without_failing(body: str) -> None:
    author = quoted_author(body)
    assert author is None or author.addresses or author.words
