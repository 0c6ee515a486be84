"""Replaying one person's sent mail in date order: training examples and test cases, never looking ahead.

For each message the sender's history holds only what was sent before it. Messages in the first
part (the learning part) yield training examples: the real recipients as negatives and a simulated
slip as the positive. Messages in the rest yield test cases: the clean message and one slipped
copy per recipe. After a message is used it is learned, as the relay learns from traffic.

The test slips are drawn from their own random stream, so a change to how training is simulated
(more slips, other recipes) leaves the test set as it was and results stay comparable.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from missend.detectors.base import CheckContext
from missend.detectors.misdirected import MisdirectedRecipient
from missend.history.archive import iter_archive
from missend.history.model import SenderHistory
from missend.history.store import message_key
from missend.learning.directory import DIRECTORY_NAME, Sent, Timeline
from missend.learning.features import feature_matrix
from missend.learning.model import MIN_MESSAGES, MisdirectModel, fit
from missend.learning.simulate import HELD_OUT, RECIPES, Recipe, Slip
from missend.message import Message, parse_message
from missend.message.model import Recipient
from missend.orgs import Organisations

WARM_UP = 20
_RULES = MisdirectedRecipient()
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class Case:
    """One message as checked: a feature row per recipient, and which one (if any) is wrong."""

    scenario: str
    features: np.ndarray
    wrong: int
    rule_scores: np.ndarray
    intended: str = ""
    """For a slip that replaced a real recipient: "known" if the sender had written to them
    before, "new" if not (history then holds little to compare the slip with); else ""."""


@dataclass
class Replayed:
    archive: str
    train_x: list[np.ndarray] = field(default_factory=list)
    train_y: list[np.ndarray] = field(default_factory=list)
    train_clean: list[bool] = field(default_factory=list)
    train_scenario: list[str] = field(default_factory=list)
    cases: list[Case] = field(default_factory=list)
    held_out: list[Case] = field(default_factory=list)
    """Slips of the test messages made by the `HELD_OUT` recipes, which training never uses;
    judged at the thresholds the clean test messages in `cases` set."""
    learned: int = 0
    tested: int = 0


def ordered(messages: Iterable[Message]) -> list[Message]:
    def key(m: Message) -> datetime:
        d = m.date
        if d is None:
            return _EPOCH
        return d if d.tzinfo else d.replace(tzinfo=UTC)

    return sorted(messages, key=key)


def load(path: Path) -> list[Message]:
    """The archive's messages in date order, each once. A copy kept in a second folder (Sent
    and an archive folder; Enron's three sent folders) would put a test message in its own
    history. It is skipped if its sender sent one with its Message-ID before (as `missend
    learn` skips it) or, since an export may give each copy its own, one with the same date,
    subject, text and recipients in the same fields (two forwards sent in one minute share
    all but the text)."""
    seen: set[object] = set()
    messages = []
    for _, raw in iter_archive(path):
        m = parse_message(raw)
        if not (m.sender and m.recipients):
            continue
        keys: list[object] = [(m.sender.email, message_key(m))]
        if m.date is not None:
            to = tuple(sorted((r.field.value, r.email) for r in m.recipients))
            text = hashlib.blake2b(
                " ".join(m.body_text.split()).encode("utf-8", "surrogatepass"), digest_size=16
            )
            keys.append((m.sender.email, m.date, to, m.subject, text.digest()))
        if not seen.intersection(keys):
            seen.update(keys)
            messages.append(m)
    return ordered(messages)


def features_for(
    ctx: CheckContext, recipients: tuple[Recipient, ...] | None = None
) -> tuple[tuple[Recipient, ...], np.ndarray, np.ndarray]:
    """Feature matrix and rule scores for the message, or for it with other recipients (a slip).

    Built through the detector's own rule pass and `feature_matrix`, as a live check is.
    """
    if recipients is not None:
        ctx = CheckContext(
            replace(ctx.message, recipients=recipients), ctx.history, ctx.orgs, ctx.models
        )
    scores: dict[str, float] = {}
    for finding in _RULES.rule_findings(ctx):
        for email, score in finding.scores.items():
            scores[email] = max(scores.get(email, 0.0), score)
    recipients, x = feature_matrix(ctx, ctx.recipients, scores)
    return recipients, x, np.array([scores.get(r.email, 0.0) for r in recipients], dtype=np.float32)


def replay(
    path: Path,
    train_fraction: float = 0.8,
    seed: int = 0,
    train_rate: float = 1.0,
    internal: Sequence[str] = (),
    timeline: Timeline | None = None,
) -> Replayed:
    """Replay one archive into training examples and test cases.

    `timeline` is the organisation's mail (every archive of the run), so each message is checked
    against what colleagues had written to by then, as a shared store would hold it.
    """
    rng = random.Random(f"{seed}:{path.name}")
    test_rng = random.Random(f"{seed}:{path.name}:test")
    held_rng = random.Random(f"{seed}:{path.name}:held-out")
    messages = load(path)
    cut = int(len(messages) * train_fraction)
    histories: dict[str, SenderHistory] = {}
    base = Organisations(internal)
    out = Replayed(path.name)
    for i, m in enumerate(messages):
        assert m.sender is not None
        sender = m.sender.email
        h = histories.get(sender)
        if h is None:
            h = histories[sender] = SenderHistory(sender)
        models = {DIRECTORY_NAME: timeline.at(m.date or _EPOCH, sender)} if timeline else None
        ctx = CheckContext(m, h, base, models)
        if h.message_count >= WARM_UP and ctx.recipients:
            if i < cut and rng.random() < train_rate:
                _train_examples(ctx, rng, out)
            elif i >= cut:
                _test_cases(ctx, test_rng, out)
                out.held_out.extend(_slipped(ctx, HELD_OUT, held_rng))
        h.observe(m)
        if i < cut:
            out.learned += 1
    return out


def _train_examples(ctx: CheckContext, rng: random.Random, out: Replayed) -> None:
    _, clean, _ = features_for(ctx)
    out.train_x.append(clean)
    out.train_y.append(np.zeros(len(clean), dtype=np.int8))
    out.train_clean.append(True)
    out.train_scenario.append("clean")
    for name in sorted(RECIPES):
        slip = RECIPES[name](ctx.recipients, ctx.history, ctx.orgs, rng)
        if slip is None:
            continue
        recipients, x, _ = features_for(ctx, slip.recipients)
        y = np.array([r.email == slip.wrong for r in recipients], dtype=np.int8)
        out.train_x.append(x)
        out.train_y.append(y)
        out.train_clean.append(False)
        out.train_scenario.append(name)


def _test_cases(ctx: CheckContext, rng: random.Random, out: Replayed) -> None:
    out.tested += 1
    _, clean, rule_scores = features_for(ctx)
    out.cases.append(Case("clean", clean, -1, rule_scores))
    out.cases.extend(_slipped(ctx, RECIPES, rng))


def _slipped(ctx: CheckContext, recipes: dict[str, Recipe], rng: random.Random) -> list[Case]:
    cases = []
    for name in sorted(recipes):
        slip: Slip | None = recipes[name](ctx.recipients, ctx.history, ctx.orgs, rng)
        if slip is None:
            continue
        recipients, x, rule_scores = features_for(ctx, slip.recipients)
        wrong = next(i for i, r in enumerate(recipients) if r.email == slip.wrong)
        intended = ""
        if slip.replaced is not None:
            intended = "known" if slip.replaced in ctx.history.contacts else "new"
        cases.append(Case(slip.scenario, x, wrong, rule_scores, intended))
    return cases


_TIMELINE: list[Timeline] = []


def _use_timeline(timeline: Timeline) -> None:
    _TIMELINE[:] = [timeline]


def _replay(args: tuple[Path, float, int]) -> Replayed:
    path, fraction, seed = args
    return replay(path, fraction, seed, timeline=_TIMELINE[0] if _TIMELINE else None)


def _sent(path: Path) -> list[Sent]:
    return [
        (m.date, m.sender.email, m.recipient_emails)
        for m in load(path)
        if m.sender is not None and m.date is not None
    ]


def replay_all(
    archives: Sequence[Path],
    train_fraction: float = 0.8,
    seed: int = 0,
    workers: int = 2,
    progress: Callable[[], None] | None = None,
) -> list[Replayed]:
    """Replay every archive; a first pass over them all gathers the organisation's timeline
    (who wrote to whom, when), which costs a second parse of each archive."""
    jobs = [(p, train_fraction, seed) for p in archives]
    out: list[Replayed] = []
    if workers <= 1:
        _use_timeline(Timeline.of(t for p in archives for t in _sent(p)))
        for job in jobs:
            out.append(_replay(job))
            if progress:
                progress()
        return out
    with ProcessPoolExecutor(workers) as pool:
        timeline = Timeline.of(t for sent in pool.map(_sent, archives) for t in sent)
    with ProcessPoolExecutor(workers, initializer=_use_timeline, initargs=(timeline,)) as pool:
        for result in pool.map(_replay, jobs):
            out.append(result)
            if progress:
                progress()
    return out


def train(
    replayed: Sequence[Replayed], seed: int = 0, min_messages: int = MIN_MESSAGES
) -> MisdirectModel:
    xs, ys, groups, scenario = [], [], [], []
    rows = (
        (x, y, s)
        for r in replayed
        for x, y, s in zip(r.train_x, r.train_y, r.train_scenario, strict=True)
    )
    for g, (x, y, s) in enumerate(rows):
        xs.append(x)
        ys.append(y)
        groups.append(np.full(len(x), g))
        scenario.append(np.full(len(x), s, dtype=object))
    return fit(
        np.concatenate(xs),
        np.concatenate(ys),
        np.concatenate(groups),
        np.concatenate(scenario),
        seed,
        min_messages,
    )
