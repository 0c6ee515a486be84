"""Simulated slips: each recipe makes the mistake it is named after, from the sender's own history."""

from __future__ import annotations

import random

import pytest
from rapidfuzz.distance import Levenshtein

from missend.history.model import SenderHistory
from missend.learning.simulate import (
    RECIPES,
    autocomplete,
    colleague,
    other_address,
    random_contact,
    typo,
)
from missend.message.model import Address, Field, Recipient
from missend.orgs import Organisations
from missend.testing import history, message

ME = "sam.hale@acme.example"
ORGS = Organisations(["acme.example"])


def sam() -> SenderHistory:
    sent = [
        message(ME, ["John Smith <john.smith@partner.example>", "ada.keller@partner.example"]),
        message(ME, ["John Brown <john.brown@other.example>"]),
        message(ME, ["pat.moss@acme.example", "lee.park@acme.example"]),
        message(ME, ["kim.lo@acme.example"]),
    ]
    return history(ME, sent * 2)


def to(*emails: str) -> tuple[Recipient, ...]:
    return tuple(Recipient(Address(e), Field.TO) for e in emails)


def test_autocomplete_picks_another_contact_with_the_same_first_name() -> None:
    slip = autocomplete(to("john.smith@partner.example"), sam(), ORGS, random.Random(1))
    assert slip is not None
    assert slip.wrong == "john.brown@other.example"
    assert slip.replaced == "john.smith@partner.example"
    assert [r.email for r in slip.recipients] == ["john.brown@other.example"]


def test_typo_is_one_edit_away_and_never_a_known_contact() -> None:
    h = sam()
    for seed in range(30):
        slip = typo(to("ada.keller@partner.example"), h, ORGS, random.Random(seed))
        assert slip is not None
        assert slip.wrong not in h.contacts
        assert 1 <= Levenshtein.distance(slip.wrong, "ada.keller@partner.example") <= 2


def test_other_address_is_the_same_name_at_a_personal_provider() -> None:
    slip = other_address(
        to("John Smith <john.smith@partner.example>"), sam(), ORGS, random.Random(3)
    )
    assert slip is not None
    assert ORGS.is_personal(slip.wrong)
    assert "smith" in slip.wrong


def test_colleague_is_internal_and_never_written_to_with_these_recipients() -> None:
    slip = colleague(to("pat.moss@acme.example"), sam(), ORGS, random.Random(0))
    assert slip is not None
    assert slip.wrong == "kim.lo@acme.example"
    assert len(slip.recipients) == 2


def test_random_contact_is_added_not_swapped() -> None:
    slip = random_contact(to("kim.lo@acme.example"), sam(), ORGS, random.Random(0))
    assert slip is not None
    assert "kim.lo@acme.example" in [r.email for r in slip.recipients]
    assert slip.replaced is None


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_recipes_do_not_apply_without_a_history_to_draw_from(name: str) -> None:
    slip = RECIPES[name](to("x@partner.example"), SenderHistory(ME), ORGS, random.Random(0))
    if slip is not None:
        assert name in ("typo", "other-address")
        assert slip.wrong != "x@partner.example"


def test_a_picked_contact_arrives_with_the_name_the_address_book_holds() -> None:
    slip = autocomplete(to("john.smith@partner.example"), sam(), ORGS, random.Random(1))
    assert slip is not None
    assert [r.address.name for r in slip.recipients] == ["John Brown"]
