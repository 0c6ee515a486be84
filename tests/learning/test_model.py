"""The misdirect model: trained on simulated slips of the sender's own mail, it scores slips
above ordinary recipients, and a check through the store makes the harness's decision."""

from __future__ import annotations

import mailbox
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from missend.detectors.base import CheckContext
from missend.engine import Engine
from missend.history.model import SenderHistory
from missend.history.store import Store
from missend.learning import replay as replay_module
from missend.learning.directory import DIRECTORY_NAME, Timeline
from missend.learning.features import FEATURES
from missend.learning.model import Expert, MisdirectModel, ModelError, plausible
from missend.learning.replay import features_for, load, replay, train
from missend.learning.simulate import HELD_OUT
from missend.learning.store import load as load_model
from missend.learning.store import models_for, save
from missend.message import parse_message
from missend.testing import raw_message, synthetic_archive

SENDER = "pat.lowe@org.example"
COLLEAGUE = "lee.park@org.example"


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("mail") / "pat.mbox"
    box = mailbox.mbox(path)
    for raw in synthetic_archive(SENDER, messages=1200, seed=3):
        box.add(mailbox.mboxMessage(raw))
    box.flush()
    box.close()
    return path


@pytest.fixture(scope="module")
def trained(archive: Path) -> tuple[MisdirectModel, object]:
    replayed = replay(archive, train_fraction=0.8, seed=1)
    return train([replayed], seed=1, min_messages=200), replayed


def test_slips_score_above_the_real_recipients(trained) -> None:  # type: ignore[no-untyped-def]
    model, replayed = trained
    wrong, right = [], []
    for case in replayed.cases:
        scores = model.scores(case.features)
        if case.wrong >= 0:
            wrong.append(scores[case.wrong])
            right.extend(np.delete(scores, case.wrong))
    assert np.median(wrong) > np.quantile(right, 0.9)


def test_a_check_scores_through_the_flat_forest_exactly_as_the_experts_would(trained) -> None:  # type: ignore[no-untyped-def]
    model, replayed = trained
    assert model.walk is not None
    without = MisdirectModel.from_bytes(model.to_bytes())
    without.walk = None
    for case in replayed.cases[:200]:
        scores, kinds = model.judge(case.features)
        np.testing.assert_allclose(scores, without.scores(case.features), rtol=0, atol=1e-12)
        assert kinds == without.explain(case.features)


def test_thresholds_warn_about_the_asked_share_of_clean_messages(trained) -> None:  # type: ignore[no-untyped-def]
    model, replayed = trained
    clean = [model.scores(c.features).max() for c in replayed.cases if c.wrong < 0]
    warned = np.mean(np.array(clean) >= model.thresholds["0.02"])
    assert warned < 0.08
    assert model.thresholds["0.005"] >= model.thresholds["0.01"] >= model.thresholds["0.02"]


def test_model_bytes_round_trip_and_tampering_is_caught(trained) -> None:  # type: ignore[no-untyped-def]
    model, _ = trained
    data = model.to_bytes()
    again = MisdirectModel.from_bytes(data)
    x = np.zeros((2, len(model.features)), dtype=np.float32)
    assert np.allclose(again.scores(x), model.scores(x))
    with pytest.raises(ModelError, match="digest"):
        MisdirectModel.from_bytes(data[:-10] + b"0123456789")
    with pytest.raises(ModelError):
        MisdirectModel.from_bytes(b"not a model")


def _expert(clean_maxima: list[float]) -> Expert:
    return Expert(estimator=None, clean_maxima=np.sort(np.array(clean_maxima)))  # type: ignore[arg-type]


def test_a_tail_is_the_share_of_clean_messages_scoring_as_high_at_each_clean_score() -> None:
    expert = _expert([0.1, 0.2, 0.4, 0.8])
    assert expert.tails_of(np.array([0.05, 0.1, 0.2, 0.4, 0.8])).tolist() == pytest.approx(
        [1.0, 1.0, 4 / 5, 3 / 5, 2 / 5]
    )


def test_between_two_clean_scores_the_tail_falls_steadily_so_a_higher_score_never_ties() -> None:
    expert = _expert([0.1, 0.2, 0.4, 0.8])
    p = np.linspace(0.41, 0.79, 50)
    tails = expert.tails_of(p)
    assert (np.diff(tails) < 0).all()
    assert tails.min() > 2 / 5
    assert tails.max() < 3 / 5


def test_beyond_the_highest_clean_score_the_tail_keeps_shrinking() -> None:
    expert = _expert([0.1, 0.2, 0.4, 0.8])
    tails = expert.tails_of(np.array([0.81, 0.9, 0.99, 0.999999]))
    assert (np.diff(tails) < 0).all()
    assert tails[0] <= 1 / 5


def test_tied_clean_scores_and_no_clean_scores_give_a_tail_not_an_error() -> None:
    tied = _expert([0.3, 0.3, 0.3])
    assert tied.tails_of(np.array([0.3, 0.2])).tolist() == pytest.approx([1.0, 1.0])
    assert tied.tails_of(np.array([0.5]))[0] < 1 / 4
    assert _expert([]).tails_of(np.array([0.5])).tolist() == [1.0]


def test_too_little_mail_trains_no_model(archive: Path) -> None:
    replayed = replay(archive, train_fraction=0.8, seed=1)
    with pytest.raises(ValueError, match="too little mail"):
        train([replayed], seed=1, min_messages=10**6)


def test_a_check_through_the_store_makes_the_harness_decision(
    trained,
    archive: Path,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    """Production path: learn the mail before a test message into the store, load the saved model,
    check the message through the engine; the detector warns exactly when the harness would."""
    model, _ = trained
    messages = load(archive)
    cut = int(len(messages) * 0.8)
    target = messages[cut + 5]
    colleague = [
        parse_message(
            raw_message(
                COLLEAGUE,
                ["kai.hart21@org.example", *(r.email for r in target.recipients[:1])],
                subject="Rota",
                date=datetime(2020, 1, 1, tzinfo=UTC) + timedelta(days=i),
            )
        )
        for i in range(5)
    ]
    with Store.open(f"sqlite:///{tmp_path / 'h.db'}") as store:
        store.learn(messages[: cut + 5])
        store.learn(colleague)
        save(store, model)
        loaded = load_model(store)
        assert loaded is not None
        engine = Engine(models=models_for(store))
        assert engine.models["misdirect"].thresholds == loaded.thresholds
        history = store.snapshot(SENDER)
        slipped = parse_message(
            bytes(
                target.__class__
                and b"From: "
                + SENDER.encode()
                + b"\r\nTo: "
                + b", ".join(r.email.encode() for r in target.recipients)
                + b", kai.hart21@org.example\r\nSubject: "
                + target.subject.encode()
                + b"\r\nDate: Mon, 1 Jun 2026 10:00:00 +0000\r\n\r\n"
                + target.body_text.encode()
            )
        )
        verdict = engine.check(slipped, history)
    reference = SenderHistory(SENDER)
    for m in messages[: cut + 5]:
        reference.observe(m)
    assert slipped.date is not None
    timeline = Timeline.of(
        (m.date, m.sender.email, m.recipient_emails)
        for m in [*messages[: cut + 5], *colleague]
        if m.date is not None and m.sender is not None
    )
    ctx = CheckContext(
        slipped, reference, engine.orgs, {DIRECTORY_NAME: timeline.at(slipped.date, SENDER)}
    )
    recipients, x, _ = features_for(ctx)
    live = CheckContext(slipped, history, engine.orgs, engine.models)
    _, live_x, _ = features_for(live)
    assert np.array_equal(x, live_x)
    added = recipients.index(next(r for r in recipients if r.email == "kai.hart21@org.example"))
    assert x[added, FEATURES.index("org_senders_log")] > 0
    assert x[added, FEATURES.index("org_together_log")] > 0
    harness = {
        r.email: model.severity(float(s)) for r, s in zip(recipients, model.scores(x), strict=True)
    }
    detector = {
        email: score
        for d in verdict.findings
        if d.finding.detector == "misdirected-recipient"
        for email, score in d.finding.scores.items()
    }
    for email, severity in harness.items():
        if severity >= 0.2:
            assert detector[email] == pytest.approx(severity)
        else:
            assert email not in detector


def test_a_frequent_contact_is_scored_when_a_namesake_fits_the_message_better() -> None:
    row = np.zeros((1, len(FEATURES)), dtype=np.float32)
    col = {name: i for i, name in enumerate(FEATURES)}
    row[0, col["log_count"]] = np.log1p(20)
    assert not plausible(row)[0]
    for gap in ("confusable_author_gap", "confusable_content_gap", "confusable_named_gap"):
        rivalled = row.copy()
        rivalled[0, col[gap]] = 0.5
        assert plausible(rivalled)[0], gap


def test_a_slip_that_replaced_a_recipient_says_whether_the_sender_knew_them(trained) -> None:  # type: ignore[no-untyped-def]
    _, replayed = trained
    lookalike = FEATURES.index("lookalike_distance")
    by_scenario: dict[str, set[str]] = {}
    for case in replayed.cases:
        by_scenario.setdefault(case.scenario, set()).add(case.intended)
        if case.scenario == "typo" and case.intended == "known":
            assert case.features[case.wrong, lookalike] <= 2  # a slip (or a swap) away from them
    assert by_scenario["clean"] == by_scenario["colleague"] == by_scenario["random-contact"] == {""}
    assert by_scenario["typo"] == {"known", "new"}
    assert by_scenario["other-address"] <= {"known", "new"}


def test_test_messages_are_also_slipped_by_the_held_out_recipes_without_changing_the_others(
    trained,  # type: ignore[no-untyped-def]
    archive: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, replayed = trained
    assert {c.scenario for c in replayed.held_out} == set(HELD_OUT)
    assert all(c.wrong >= 0 for c in replayed.held_out)
    monkeypatch.setattr(replay_module, "HELD_OUT", {})
    without = replay(archive, train_fraction=0.8, seed=1)
    assert without.held_out == []
    assert [(c.scenario, c.wrong, c.features.tobytes()) for c in without.cases] == [
        (c.scenario, c.wrong, c.features.tobytes()) for c in replayed.cases
    ]
