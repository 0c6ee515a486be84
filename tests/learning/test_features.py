"""Misdirect features: each measures one way a recipient does or does not fit the sender's normal."""

from __future__ import annotations

import numpy as np
import pytest

from missend.detectors.base import CheckContext
from missend.learning.features import FEATURES, Mentions, feature_matrix
from missend.message.model import Message
from missend.orgs import Organisations
from missend.testing import history, message

ME = "sam.hale@acme.example"
ORGS = Organisations(["acme.example"])
COL = {name: i for i, name in enumerate(FEATURES)}


def sam() -> list[Message]:
    return [
        message(ME, ["Tom Reed <treed@partner.example>"], subject="Quarterly volumes"),
        message(ME, ["kim.lo@acme.example", "treed@partner.example"], subject="Pipeline capacity"),
        message(ME, ["ada.keller@partner.example"], subject="Contract renewal terms"),
    ] * 2


def features(draft: Message) -> dict[str, dict[str, float]]:
    ctx = CheckContext(draft, history(ME, sam()), ORGS)
    recipients, x = feature_matrix(ctx, ctx.recipients, {})
    assert x.shape == (len(recipients), len(FEATURES))
    return {r.email: {n: float(x[i, j]) for n, j in COL.items()} for i, r in enumerate(recipients)}


def test_a_recipient_greeted_in_the_text_is_named_and_an_added_one_is_not() -> None:
    draft = message(
        ME,
        ["Tom Reed <treed@partner.example>", "ada.keller@partner.example"],
        body="Hi Tom,\n\nThe volumes you asked for.\n",
    )
    f = features(draft)
    assert f["treed@partner.example"]["named_in_text"] == 0.5
    assert f["ada.keller@partner.example"]["named_in_text"] == 0.0
    assert f["ada.keller@partner.example"]["others_named_frac"] == 0.5


def test_an_address_quoted_in_the_thread_counts_as_named() -> None:
    m = Mentions.of("Re: volumes", "> From: treed@partner.example\n> Sent: Monday")
    assert m.named("treed@partner.example", ()) == 1.0
    assert m.named("someone@partner.example", ("someone",)) == 0.0


def test_a_recipient_who_got_earlier_mail_on_the_same_subject_is_in_its_topic() -> None:
    draft = message(
        ME, ["treed@partner.example", "ada.keller@partner.example"], subject="RE: Quarterly volumes"
    )
    f = features(draft)
    assert f["treed@partner.example"]["in_topic"] == 1.0
    assert f["ada.keller@partner.example"]["in_topic"] == 0.0
    assert f["treed@partner.example"]["subject_says_reply"] == 1.0
    assert f["treed@partner.example"]["topic_known"] == 1.0


def test_a_short_subject_is_no_topic() -> None:
    assert message(ME, ["a@b.example"], subject="Re: hi").topic == ""
    assert message(ME, ["a@b.example"], subject="Fwd: RE: Pipeline capacity").topic == (
        "topic:pipeline capacity"
    )


def test_a_domain_one_letter_from_a_known_one_is_a_lookalike() -> None:
    f = features(message(ME, ["new.person@partnr.example", "new.other@elsewhere.example"]))
    assert f["new.person@partnr.example"]["domain_lookalike_distance"] == 1.0
    assert f["new.person@partnr.example"]["domain_lookalike_strength_log"] > 0
    assert f["new.other@elsewhere.example"]["domain_lookalike_distance"] == 4.0


def test_a_typo_of_a_contact_written_to_once_is_still_a_lookalike() -> None:
    sent = [message(ME, ["once.only@partner.example"]), *sam()]
    ctx = CheckContext(message(ME, ["once.onyl@partner.example"]), history(ME, sent), ORGS)
    _, x = feature_matrix(ctx, ctx.recipients, {})
    assert x[0, COL["lookalike_distance"]] == 2.0


def test_a_private_address_made_of_a_contacts_name_is_recognised() -> None:
    f = features(message(ME, ["tom.reed@gmail.com", "t.reed7@gmail.com", "tim.west@gmail.com"]))
    assert f["tom.reed@gmail.com"]["name_local_other_domain"] == 1.0
    assert f["t.reed7@gmail.com"]["name_local_other_domain"] == 1.0
    assert f["tim.west@gmail.com"]["name_local_other_domain"] == 0.0


def test_features_are_finite_for_a_message_with_no_text_and_no_history() -> None:
    ctx = CheckContext(message(ME, ["x@y.example"], subject="", body=""), history(ME, []), ORGS)
    _, x = feature_matrix(ctx, ctx.recipients, {})
    assert np.isfinite(x).all()


def test_a_namesake_who_fits_the_other_recipients_better_shows_as_a_rival() -> None:
    sent = [
        message(ME, ["John Smith <john.smith@partner.example>", "kim.lo@acme.example"]),
        message(ME, ["John Brown <john.brown@other.example>"]),
    ] * 3
    draft = message(ME, ["John Brown <john.brown@other.example>", "kim.lo@acme.example"])
    ctx = CheckContext(draft, history(ME, sent), ORGS)
    recipients, x = feature_matrix(ctx, ctx.recipients, {})
    brown = [r.email for r in recipients].index("john.brown@other.example")
    assert x[brown, COL["confusables_log"]] > 0
    assert x[brown, COL["confusable_fits_gap"]] == 1.0
    alone = CheckContext(
        message(ME, ["John Smith <john.smith@partner.example>"]), ctx.history, ORGS
    )
    _, y = feature_matrix(alone, alone.recipients, {})
    assert y[0, COL["confusable_fits_gap"]] == 0.0


def test_an_address_one_letter_off_one_the_text_quotes_is_near_it() -> None:
    m = Mentions.of("RE: offer", "-----Original Message-----\nFrom: dana.wells@newco.example\n")
    assert m.nearest_address("dana.wels@newco.example") == 1.0
    assert m.nearest_address("dana.wells@newco.example") == 4.0
    assert Mentions.of("x", "no addresses here").nearest_address("a@b.example") == 4.0


def _hernandez_reply(
    *to: str, author: str = '"Sandra Hernandez" <sandra.h@crescent.example>'
) -> dict[str, dict[str, float]]:
    sent = [
        message(ME, ["Sandra Hernandez <sandra.h@crescent.example>"], subject="Flights home"),
        message(ME, ["Laura Hernandez <laura.hernandez@trw.example>"], subject="Dental forms"),
    ] * 3
    body = (
        "Call me tonight.\n -----Original Message-----\n"
        f"From: \t{author}\nSent:\tWednesday, June 13, 2001 9:45 AM\nTo:\tLaura Hernandez\n"
    )
    draft = message(ME, list(to), subject="RE: Question", body=body)
    ctx = CheckContext(draft, history(ME, sent), ORGS)
    recipients, x = feature_matrix(ctx, ctx.recipients, {})
    return {r.email: {n: float(x[i, j]) for n, j in COL.items()} for i, r in enumerate(recipients)}


def test_a_reply_sent_to_the_namesake_of_whoever_wrote_shows_the_rival_answered() -> None:
    f = _hernandez_reply("Laura Hernandez <laura.hernandez@trw.example>")[
        "laura.hernandez@trw.example"
    ]
    assert f["quoted_author_known"] == 1.0
    assert f["quoted_author_match"] == 0.5
    assert f["confusable_author_gap"] == 0.5


def test_a_reply_to_whoever_wrote_matches_them_fully() -> None:
    f = _hernandez_reply("Sandra Hernandez <sandra.h@crescent.example>")[
        "sandra.h@crescent.example"
    ]
    assert f["quoted_author_match"] == 1.0
    assert f["confusable_author_gap"] <= 0.0


def test_the_senders_own_quoted_mail_names_no_author() -> None:
    author = f"Sam Hale <{ME}>"
    f = _hernandez_reply("Laura Hernandez <laura.hernandez@trw.example>", author=author)
    assert f["laura.hernandez@trw.example"]["quoted_author_known"] == 0.0
    assert f["laura.hernandez@trw.example"]["confusable_author_gap"] == 0.0


def test_a_sender_who_keeps_meeting_new_people_shows_more_novelty_than_one_with_a_fixed_circle() -> (
    None
):
    steady = [message(ME, ["kim.lo@acme.example", "treed@partner.example"])] * 6
    roving = [message(ME, [f"guest{i}@partner.example", f"host{i}@acme.example"]) for i in range(6)]
    draft = message(ME, ["kim.lo@acme.example"])

    def novelty(sent: list[Message]) -> tuple[float, float]:
        ctx = CheckContext(draft, history(ME, sent), ORGS)
        _, x = feature_matrix(ctx, ctx.recipients, {})
        return float(x[0, COL["sender_pair_novelty"]]), float(x[0, COL["sender_contact_novelty"]])

    assert novelty(steady) == (0.0, 0.0)
    assert novelty(roving) == (1.0, 1.0)
    assert novelty([*steady, *roving[:2]]) == pytest.approx((2 / 3, 4 / 6))
