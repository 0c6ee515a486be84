"""The misdirect evaluation: simulated slips in real mail, judged at the false-warning rate users see.

Each archive is replayed in date order (learn the first part, test the rest). The model is trained
on the learning parts only. For each operating point (0.5%, 1%, 2% of clean test messages warned)
we report the share of slipped messages flagged and the share where the wrong recipient is also
the top-scored one, for the model and for the rule-based detector side by side. Slips made by
recipes the model never trained on (`HELD_OUT`) are judged at the same thresholds, so a model that
learned our simulation rather than the mistakes shows it.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from missend.detectors.misdirected import MisdirectedSettings
from missend.learning.features import FEATURES
from missend.learning.model import RATES, MisdirectModel
from missend.learning.replay import Case, replay_all, train
from missend.policy import Bands

_QUOTED = FEATURES.index("quoted_author_known")
WARN_SEVERITY = Bands().low
BROADCAST = MisdirectedSettings().max_full_checks
"""Messages to more people are judged by the rules alone, as the detector does."""


@dataclass
class Operating:
    threshold: float
    clean_warned: float
    flagged: float
    top1: float
    by_scenario: dict[str, dict[str, float]]
    by_quoting: dict[str, dict[str, dict[str, float]]]
    """Per scenario, slips in messages that quote whose mail they answer and in those that
    quote no author: the weak spot is where nothing is quoted."""
    by_intended: dict[str, dict[str, dict[str, float]]]
    """Per scenario that replaces a recipient, slips on someone the sender had written to before
    ("known") and on someone new ("new"): a slip in a first message to someone looks like any
    first message, so history has little to judge it by."""


def _judge(cases: Sequence[Case], scores: Sequence[np.ndarray], threshold: float) -> Operating:
    clean_max = [
        s.max() if len(s) else 0.0 for c, s in zip(cases, scores, strict=True) if c.wrong < 0
    ]
    warned = float(np.mean([m >= threshold for m in clean_max])) if clean_max else 0.0
    per: dict[str, list[tuple[bool, bool]]] = defaultdict(list)
    quoting: dict[str, dict[str, list[tuple[bool, bool]]]] = defaultdict(lambda: defaultdict(list))
    intended: dict[str, dict[str, list[tuple[bool, bool]]]] = defaultdict(lambda: defaultdict(list))
    for case, s in zip(cases, scores, strict=True):
        if case.wrong < 0 or len(s) == 0:
            continue
        flagged = bool(s.max() >= threshold)
        top = flagged
        if len(s) > 1:
            others = np.delete(s, case.wrong)
            top = flagged and bool(s[case.wrong] > others.max())
        per[case.scenario].append((flagged, top))
        quoted = bool(case.features[case.wrong, _QUOTED] > 0)
        quoting[case.scenario]["quoted" if quoted else "unquoted"].append((flagged, top))
        if case.intended:
            intended[case.scenario][case.intended].append((flagged, top))
    every = [v for values in per.values() for v in values]
    return Operating(
        threshold=float(threshold),
        clean_warned=warned,
        flagged=float(np.mean([f for f, _ in every])) if every else 0.0,
        top1=float(np.mean([t for _, t in every])) if every else 0.0,
        by_scenario={name: _shares(v) for name, v in sorted(per.items())},
        by_quoting=_split(quoting),
        by_intended=_split(intended),
    )


def _split(
    groups: dict[str, dict[str, list[tuple[bool, bool]]]],
) -> dict[str, dict[str, dict[str, float]]]:
    return {
        name: {kind: _shares(v) for kind, v in sorted(kinds.items())}
        for name, kinds in sorted(groups.items())
    }


def _shares(v: list[tuple[bool, bool]]) -> dict[str, float]:
    return {
        "cases": len(v),
        "flagged": float(np.mean([f for f, _ in v])),
        "top1": float(np.mean([t for _, t in v])),
    }


def operating_points(cases: Sequence[Case], scores: Sequence[np.ndarray]) -> dict[str, Operating]:
    """Thresholds set so that the given share of clean test messages is warned."""
    clean_max = np.array(
        [s.max() if len(s) else 0.0 for c, s in zip(cases, scores, strict=True) if c.wrong < 0]
    )
    out: dict[str, Operating] = {}
    for rate in RATES:
        threshold = float(np.quantile(clean_max, 1.0 - float(rate))) if len(clean_max) else 1.0
        threshold = float(np.nextafter(threshold, np.inf))
        out[rate] = _judge(cases, scores, threshold)
    return out


def detector_scores(model: MisdirectModel, cases: Sequence[Case]) -> list[np.ndarray]:
    """What the detector reports for each case: the model's severity, or the rules' for the
    broadcasts it leaves to them. Scored in one batch (rows are independent), split per case."""
    if not cases:
        return []
    severity = np.vectorize(model.severity, otypes=[np.float64])
    every = severity(model.scores(np.concatenate([c.features for c in cases])))
    per_case = np.split(every, np.cumsum([len(c.features) for c in cases])[:-1])
    return [
        scores if len(c.features) <= BROADCAST else c.rule_scores.astype(np.float64)
        for c, scores in zip(cases, per_case, strict=True)
    ]


def held_out_points(
    cases: Sequence[Case], scores: Sequence[np.ndarray], points: dict[str, Operating]
) -> dict[str, dict[str, Any]]:
    """Slips from recipes never trained on, at the thresholds the clean test mail set."""
    out: dict[str, dict[str, Any]] = {}
    for rate, point in points.items():
        judged = _judge(cases, scores, point.threshold)
        out[rate] = {
            "flagged": judged.flagged,
            "top1": judged.top1,
            "by_scenario": judged.by_scenario,
            "by_quoting": judged.by_quoting,
            "by_intended": judged.by_intended,
        }
    return out


def evaluate(
    archives: Sequence[Path],
    train_fraction: float = 0.8,
    seed: int = 0,
    workers: int = 2,
    progress: Callable[[], None] | None = None,
) -> tuple[dict[str, Any], MisdirectModel]:
    replayed = replay_all(archives, train_fraction, seed, workers, progress)
    model = train(replayed, seed)
    cases = [c for r in replayed for c in r.cases]
    model_scores = detector_scores(model, cases)
    rule_scores = [c.rule_scores.astype(np.float64) for c in cases]
    learned = operating_points(cases, model_scores)
    rules = operating_points(cases, rule_scores)
    deployed = _judge(cases, model_scores, WARN_SEVERITY)
    held_out = [c for r in replayed for c in r.held_out]
    held_scores = detector_scores(model, held_out)
    report: dict[str, Any] = {
        "archives": len(replayed),
        "learned_messages": sum(r.learned for r in replayed),
        "test_messages": sum(r.tested for r in replayed),
        "simulated_missends": sum(1 for c in cases if c.wrong >= 0),
        "flagged_at": {k: v.flagged for k, v in learned.items()},
        "top1_at": {k: v.top1 for k, v in learned.items()},
        "model": {k: vars(v) for k, v in learned.items()},
        "rules": {
            "flagged_at": {k: v.flagged for k, v in rules.items()},
            "top1_at": {k: v.top1 for k, v in rules.items()},
            "detail": {k: vars(v) for k, v in rules.items()},
        },
        "deployed_threshold": vars(deployed),
        "held_out": held_out_points(held_out, held_scores, learned),
    }
    return report, model


def write_json(report: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(report, indent=2, sort_keys=True))
