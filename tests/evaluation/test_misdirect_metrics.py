"""The operating points: thresholds from clean mail, then who is caught and who is ranked first."""

from __future__ import annotations

import numpy as np
import pytest

from missend.evaluation.misdirect import held_out_points, operating_points
from missend.learning.features import FEATURES
from missend.learning.replay import Case


def case(
    scenario: str, scores: list[float], wrong: int = -1, quoted: bool = False
) -> tuple[Case, np.ndarray]:
    x = np.zeros((len(scores), len(FEATURES)), dtype=np.float32)
    x[:, FEATURES.index("quoted_author_known")] = float(quoted)
    return Case(scenario, x, wrong, np.zeros(len(scores), dtype=np.float32)), np.array(scores)


def test_thresholds_come_from_clean_messages_and_ties_are_not_ranked_first() -> None:
    clean = [case("clean", [i / 1000]) for i in range(1000)]
    slips = [
        case("typo", [0.1, 0.9999], wrong=1),  # caught and ranked first
        case("typo", [0.9999, 0.5], wrong=1),  # caught, but someone else ranks first
        case("colleague", [0.2, 0.3], wrong=1),  # not caught
        case("colleague", [0.9999, 0.9999], wrong=0),  # caught, tie: not ranked first
    ]
    cases, scores = zip(*(clean + slips), strict=True)
    points = operating_points(list(cases), list(scores))
    one = points["0.01"]
    assert one.clean_warned == pytest.approx(0.01, abs=0.002)
    assert one.flagged == pytest.approx(3 / 4)
    assert one.top1 == pytest.approx(1 / 4)
    assert one.by_scenario["typo"] == {"cases": 2, "flagged": 1.0, "top1": 0.5}
    assert one.by_scenario["colleague"]["top1"] == 0.0
    assert points["0.02"].clean_warned == pytest.approx(0.02, abs=0.002)


def test_a_lone_wrong_recipient_is_ranked_first_when_caught() -> None:
    clean = [case("clean", [i / 100]) for i in range(100)]
    cases, scores = zip(*([*clean, case("autocomplete", [0.999], wrong=0)]), strict=True)
    assert operating_points(list(cases), list(scores))["0.02"].top1 == 1.0


def test_slips_are_also_counted_apart_by_whether_the_message_quotes_whom_it_answers() -> None:
    clean = [case("clean", [i / 100]) for i in range(100)]
    slips = [
        case("autocomplete", [0.999], wrong=0, quoted=True),
        case("autocomplete", [0.999], wrong=0, quoted=True),
        case("autocomplete", [0.5], wrong=0),
        case("autocomplete", [0.999], wrong=0),
    ]
    cases, scores = zip(*(clean + slips), strict=True)
    split = operating_points(list(cases), list(scores))["0.02"].by_quoting["autocomplete"]
    assert split["quoted"] == {"cases": 2, "flagged": 1.0, "top1": 1.0}
    assert split["unquoted"] == {"cases": 2, "flagged": 0.5, "top1": 0.5}


def test_slips_on_a_recipient_the_sender_knew_are_counted_apart_from_those_on_someone_new() -> None:
    clean = [case("clean", [i / 100]) for i in range(100)]
    known, caught = case("typo", [0.999], wrong=0)
    new, missed = case("typo", [0.5], wrong=0)
    added = case("colleague", [0.999, 0.1], wrong=0)
    known.intended, new.intended = "known", "new"
    cases, scores = zip(*([*clean, (known, caught), (new, missed), added]), strict=True)
    split = operating_points(list(cases), list(scores))["0.02"].by_intended
    assert split == {
        "typo": {
            "known": {"cases": 1, "flagged": 1.0, "top1": 1.0},
            "new": {"cases": 1, "flagged": 0.0, "top1": 0.0},
        }
    }


def test_slips_from_recipes_never_trained_on_are_judged_at_the_clean_mails_thresholds() -> None:
    clean = [case("clean", [i / 1000]) for i in range(1000)]
    cases, scores = zip(*clean, strict=True)
    points = operating_points(list(cases), list(scores))
    unseen = [
        case("keyboard-typo", [0.1, 0.9995], wrong=1),
        case("keyboard-typo", [0.1, 0.985], wrong=1),
        case("recent-contact", [0.3, 0.2], wrong=1),
    ]
    held_cases, held_scores = zip(*unseen, strict=True)
    held = held_out_points(list(held_cases), list(held_scores), points)
    assert held["0.01"]["by_scenario"]["keyboard-typo"]["flagged"] == 0.5
    assert held["0.02"]["by_scenario"]["keyboard-typo"]["flagged"] == 1.0
    assert held["0.02"]["by_scenario"]["recent-contact"]["flagged"] == 0.0
    assert held["0.01"]["flagged"] == pytest.approx(1 / 3)
