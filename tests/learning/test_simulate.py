"""Simulated slips: each recipe makes the mistake it is named after, from the sender's own history."""

from __future__ import annotations

import random

import pytest
from rapidfuzz.distance import Levenshtein

from missend.history.model import SenderHistory
from missend.learning.simulate import (
    HELD_OUT,
    OTHER_PROVIDERS,
    PERSONAL_DOMAINS,
    RECIPES,
    autocomplete,
    colleague,
    keyboard_typo,
    other_address,
    other_provider,
    random_contact,
    ranked_autocomplete,
    recent_contact,
    typo,
)
from missend.message.model import Address, Field, Recipient
from missend.orgs import Organisations
from missend.testing import days_ago, history, message

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


@pytest.mark.parametrize("name", sorted(RECIPES | HELD_OUT))
def test_recipes_do_not_apply_without_a_history_to_draw_from(name: str) -> None:
    recipe = (RECIPES | HELD_OUT)[name]
    slip = recipe(to("x@partner.example"), SenderHistory(ME), ORGS, random.Random(0))
    if slip is not None:
        assert name in ("typo", "other-address", "keyboard-typo", "other-provider")
        assert slip.wrong != "x@partner.example"
        assert slip.scenario == name


def test_a_picked_contact_arrives_with_the_name_the_address_book_holds() -> None:
    slip = autocomplete(to("john.smith@partner.example"), sam(), ORGS, random.Random(1))
    assert slip is not None
    assert [r.address.name for r in slip.recipients] == ["John Brown"]


def john_smith() -> tuple[Recipient, ...]:
    return (Recipient(Address("john.smith@partner.example", "John Smith"), Field.TO),)


def test_held_out_recipes_are_not_the_ones_trained_on() -> None:
    assert not set(HELD_OUT) & set(RECIPES)
    assert not set(OTHER_PROVIDERS) & set(PERSONAL_DOMAINS)


def test_a_keyboard_typo_hits_a_neighbouring_key_doubles_a_letter_or_drops_the_dot() -> None:
    h = sam()
    near = {"a": "qswxz", "d": "cefrsvwx", "k": "ijlmou", "e": "dfrsw", "l": "ikop", "r": "defgt"}
    meant = "ada.keller"
    seen = set()
    for seed in range(40):
        slip = keyboard_typo(to(f"{meant}@partner.example"), h, ORGS, random.Random(seed))
        assert slip is not None
        typed, _, domain = slip.wrong.partition("@")
        assert domain == "partner.example"
        assert slip.wrong not in h.contacts
        if typed == "adakeller":
            seen.add("dropped dot")
            continue
        if len(typed) == len(meant) + 1:
            assert typed in {meant[:i] + meant[i] + meant[i:] for i in range(len(meant))}
            seen.add("doubled")
            continue
        changed = [(a, b) for a, b in zip(meant, typed, strict=True) if a != b]
        assert len(changed) == 1
        key, hit = changed[0]
        assert hit in near[key]
        seen.add("neighbour")
    assert seen == {"dropped dot", "doubled", "neighbour"}


def test_ranked_autocomplete_picks_one_of_the_two_most_written_to_namesakes() -> None:
    sent = [
        *[message(ME, ["John Brown <john.brown@other.example>"])] * 5,
        *[message(ME, ["John Dale <john.dale@other.example>"])] * 3,
        message(ME, ["John Rare <john.rare@other.example>"]),
        message(ME, ["John Smith <john.smith@partner.example>"]),
    ]
    h = history(ME, sent)
    picked = {
        s.wrong
        for seed in range(20)
        if (s := ranked_autocomplete(john_smith(), h, ORGS, random.Random(seed)))
    }
    assert picked == {"john.brown@other.example", "john.dale@other.example"}


def test_other_provider_keeps_the_name_at_a_provider_the_trained_recipe_never_uses() -> None:
    for seed in range(10):
        slip = other_provider(john_smith(), sam(), ORGS, random.Random(seed))
        assert slip is not None
        assert slip.wrong.partition("@")[2] in OTHER_PROVIDERS
        assert "smith" in slip.wrong
        assert [r.address.name for r in slip.recipients] == ["John Smith"]


def test_recent_contact_adds_someone_written_to_lately() -> None:
    old = [message(ME, [f"old{i}@partner.example"], date=days_ago(400 - i)) for i in range(20)]
    new = [message(ME, [f"new{i}@partner.example"], date=days_ago(15 - i)) for i in range(15)]
    h = history(ME, old + new)
    for seed in range(20):
        slip = recent_contact(to("kim.lo@acme.example"), h, ORGS, random.Random(seed))
        assert slip is not None
        assert slip.wrong.startswith("new")
        assert slip.replaced is None
        assert "kim.lo@acme.example" in [r.email for r in slip.recipients]
