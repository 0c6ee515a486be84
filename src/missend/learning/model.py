"""The misdirect model: one expert per kind of slip, each judged by how rare its score is in clean mail.

A single classifier trained on every kind of slip at once learns that "new recipient" is suspect,
because many slips produce one; but a quarter of ordinary mail has a new recipient, so it cannot
warn rarely. Instead each expert (typo, namesake, other address, colleague, random contact) is a
gradient-boosted classifier of its slips against clean mail, and its score is turned into a tail
probability: the share of held-out clean messages that score as high. A recipient's score is
1 minus the smallest tail over the experts, so a warning means "this looks like a typical slip of
some kind, as rarely as ordinary mail does". Thresholds are set on held-out clean messages so
that 0.5%, 1% or 2% of ordinary mail is warned.
"""

from __future__ import annotations

import hashlib
import io
import pickle
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from threadpoolctl import threadpool_limits

from missend.lazy import lazy
from missend.learning.features import FEATURES
from missend.learning.forest import Forest

RATES = ("0.005", "0.01", "0.02")
MIN_MESSAGES = 1000
"""Below this many training messages a model would be noise; the rules then decide alone."""
_MAGIC = b"missend-model-4\n"


_WALK_ROWS = 1000
"""Up to this many rows the flat forest is faster; scikit-learn's own loop is faster for bulk."""


class ModelError(ValueError):
    """A model file that is corrupt, tampered with, or for other features."""


class StaleModel(ModelError):
    """A model from another version of missend: usable again once retrained, not a fault."""


@dataclass
class Expert:
    estimator: HistGradientBoostingClassifier
    clean_maxima: np.ndarray
    """Sorted per-message maximum scores of held-out clean messages."""

    def tails(self, x: np.ndarray) -> np.ndarray:
        return self.tails_of(self.estimator.predict_proba(x)[:, 1])

    def tails_of(self, probabilities: np.ndarray) -> np.ndarray:
        """Share of clean messages scoring at least this high, interpolated in log-odds
        between neighbouring clean scores; beyond the highest it keeps shrinking with the
        log-odds margin, so extreme cases still rank apart.

        A plain count is a step: with a few thousand clean messages, every score between two
        of them gets the same tail, and a slip scoring far above an ordinary message but below
        the next clean one tied with it, so a threshold set at the ordinary one missed both."""
        logits = self.clean_logits
        n = len(logits)
        if not n:
            return np.ones(len(probabilities), dtype=np.float64)
        x = _logit(probabilities)
        below = np.searchsorted(logits, x, side="left")
        lo = logits[np.maximum(below - 1, 0)]
        hi = logits[np.minimum(below, n - 1)]
        between = np.clip((x - lo) / np.maximum(hi - lo, 1e-12), 0.0, 1.0)
        tails = (n - below + 1 + np.where(below > 0, 1.0 - between, 0.0)) / (n + 1)
        beyond = below == n
        if beyond.any():
            tails = np.where(beyond, np.exp(-np.maximum(x - logits[-1], 0.0)) / (n + 1), tails)
        return np.asarray(tails, dtype=np.float64)

    @lazy
    def clean_logits(self) -> np.ndarray:
        return _logit(self.clean_maxima)


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-9, 1 - 1e-9)
    return np.asarray(np.log(p / (1 - p)))


@dataclass
class MisdirectModel:
    experts: dict[str, Expert]
    thresholds: dict[str, float]
    features: tuple[str, ...] = FEATURES
    trained_on: int = 0
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    walk: Forest | None = None
    """Every expert's trees as one forest (in sorted expert order), for fast scoring; None
    when it could not be built exactly, and the experts' own estimators are used."""

    def judge(self, x: np.ndarray) -> tuple[np.ndarray, list[str]]:
        """Each row's score, and the kind of slip it most resembles ("" where it resembles none)."""
        scores = np.zeros(len(x), dtype=np.float64)
        kinds = [""] * len(x)
        rows = np.flatnonzero(plausible(x))
        if len(rows) == 0 or not self.experts:
            return scores, kinds
        names = sorted(self.experts)
        tails = self._tails(names, x[rows])
        scores[rows] = 1.0 - tails.min(axis=0)
        for row, best in zip(rows, tails.argmin(axis=0), strict=True):
            kinds[row] = names[best]
        return scores, kinds

    def scores(self, x: np.ndarray) -> np.ndarray:
        return self.judge(x)[0]

    def explain(self, x: np.ndarray) -> list[str]:
        return self.judge(x)[1]

    def _tails(self, names: list[str], x: np.ndarray) -> np.ndarray:
        if self.walk is not None and len(x) <= _WALK_ROWS:
            probabilities = self.walk.probabilities(x)
            return np.stack(
                [self.experts[n].tails_of(p) for n, p in zip(names, probabilities, strict=True)]
            )
        _single_threaded()
        return np.stack([self.experts[n].tails(x) for n in names])

    def severity(self, score: float) -> float:
        """0.3 (the policy's lowest warning band) exactly at the 1%-warned threshold."""
        t = self.thresholds["0.01"]
        if score >= t:
            return float(min(1.0, 0.3 + 0.7 * (score - t) / max(1e-9, 1.0 - t)))
        return float(0.3 * score / max(t, 1e-9))

    def to_bytes(self) -> bytes:
        body = pickle.dumps(self, protocol=pickle.HIGHEST_PROTOCOL)
        return _MAGIC + hashlib.sha256(body).hexdigest().encode() + b"\n" + body

    @classmethod
    def from_bytes(cls, data: bytes) -> MisdirectModel:
        """Models come only from the organisation's own store; the digest catches corruption."""
        stream = io.BytesIO(data)
        if stream.readline() != _MAGIC:
            raise StaleModel("it is not a missend model of this version")
        digest = stream.readline().strip().decode("ascii", "replace")
        body = stream.read()
        if hashlib.sha256(body).hexdigest() != digest:
            raise ModelError("model digest does not match its content")
        model = pickle.loads(body)
        if not isinstance(model, cls) or model.features != FEATURES:
            raise StaleModel("it was trained for other features")
        return model


_LIMITED: list[object] = []


def _single_threaded() -> None:
    """Scoring is a handful of rows per message: OpenMP worker threads cost far more than they
    save, and on a loaded machine their spin-waits made one prediction take tens of milliseconds.
    Set once per process (training after this in the same process is single-threaded too)."""
    if not _LIMITED:
        _LIMITED.append(threadpool_limits(1, user_api="openmp"))


_COL = {name: i for i, name in enumerate(FEATURES)}


_RIVAL_GAPS = [
    _COL[name]
    for name in (
        "confusable_fits_gap",
        "confusable_content_gap",
        "confusable_topic_gap",
        "confusable_named_gap",
        "confusable_author_gap",
    )
]


def plausible(x: np.ndarray) -> np.ndarray:
    """Rows that could be a slip at all. A frequent contact who has been written to with every
    other recipient, whom no rule suspects and whom no namesake in the address book fits the
    message better, is scored 0 without asking the experts: that is most recipients of ordinary
    mail, and it keeps a check fast. A frequent contact picked instead of a namesake is the
    autocomplete slip, so a rival that fits better always sends the row to the experts."""
    if len(x) == 0:
        return np.zeros(0, dtype=bool)
    frequent = x[:, _COL["log_count"]] >= np.log1p(3)
    with_all = (x[:, _COL["has_others"]] == 0) | (x[:, _COL["linked_others_frac"]] >= 1.0)
    on_topic = (x[:, _COL["has_others"]] == 1) | (x[:, _COL["content_gap"]] <= 0.0)
    quiet = x[:, _COL["rule_severity"]] == 0
    unrivalled = (x[:, _RIVAL_GAPS] <= 0.0).all(axis=1)
    return np.asarray(~(frequent & with_all & on_topic & quiet & unrivalled), dtype=bool)


def _group_maxima(scores: np.ndarray, groups: np.ndarray) -> np.ndarray:
    order = np.argsort(groups, kind="stable")
    bounds = np.flatnonzero(np.diff(groups[order])) + 1
    return (
        np.array([part.max() for part in np.split(scores[order], bounds)])
        if len(scores)
        else np.zeros(0)
    )


def thresholds_for(clean_message_scores: np.ndarray) -> dict[str, float]:
    """Scores above which the given share of clean messages would be warned."""
    if len(clean_message_scores) == 0:
        return dict.fromkeys(RATES, 1.0)
    return {rate: float(np.quantile(clean_message_scores, 1.0 - float(rate))) for rate in RATES}


FOLDS = 3


def _estimator(seed: int) -> HistGradientBoostingClassifier:
    """Leaves of at least 80 rows and a stronger L2 penalty: trained on ten Enron senders'
    mail (about 3,000 messages), looser trees fitted chance patterns and flagged 3 to 5 points
    fewer slips at 1% warned (three sets of ten); on all 90 senders it makes no difference.
    The tree count is kept, as every check walks every tree."""
    return HistGradientBoostingClassifier(
        max_iter=200,
        learning_rate=0.08,
        max_leaf_nodes=31,
        min_samples_leaf=80,
        l2_regularization=5.0,
        random_state=seed,
    )


def fit(
    x: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray,
    scenario: np.ndarray,
    seed: int = 0,
    min_messages: int = MIN_MESSAGES,
) -> MisdirectModel:
    """Train one expert per kind of slip; calibrate each on every clean message, cross-fitted.

    `groups` numbers each row's message; `scenario` names each row's message ("clean" or the
    recipe that made the slip). The messages are cut into folds; each clean message is scored
    by an expert trained without its fold, so the tails (and the thresholds of the combined
    score) rest on all the clean mail, never on a message the scoring expert learned from.
    A held-out fifth would leave a 1% threshold resting on a few dozen messages.
    """
    unique = np.unique(groups)
    if len(unique) < min_messages:
        raise ValueError(
            f"too little mail to learn from ({len(unique)} usable messages; {min_messages} needed)"
        )
    rng = np.random.default_rng(seed)
    fold_of = dict(zip(unique.tolist(), rng.integers(0, FOLDS, len(unique)).tolist(), strict=True))
    fold = np.array([fold_of[g] for g in groups.tolist()], dtype=np.int64)
    clean = scenario == "clean"
    experts: dict[str, Expert] = {}
    out_of_fold: dict[str, np.ndarray] = {}
    with threadpool_limits(1, user_api="openmp"):
        # Multi-threaded boosting on a shared machine spent most of its time spin-waiting.
        for name in sorted(set(scenario[~clean].tolist())):
            rows = clean | (scenario == name)
            if y[rows].sum() < 20:
                continue
            oof = np.zeros(len(x), dtype=np.float64)
            for k in range(FOLDS):
                train_rows = rows & (fold != k)
                probe = clean & (fold == k)
                if not probe.any() or y[train_rows].sum() == 0:
                    continue
                estimator = _estimator(seed).fit(x[train_rows], y[train_rows])
                oof[probe] = estimator.predict_proba(x[probe])[:, 1]
            final = _estimator(seed).fit(x[rows], y[rows])
            maxima = _group_maxima(oof[clean], groups[clean])
            experts[name] = Expert(final, np.sort(maxima))
            out_of_fold[name] = oof
    model = MisdirectModel(experts, dict.fromkeys(RATES, 1.0), trained_on=len(x))
    forests = [Forest.of(experts[n].estimator, x) for n in sorted(experts)]
    if forests and all(f is not None for f in forests):
        model.walk = Forest.stack([f for f in forests if f is not None])
    if experts:
        gate = plausible(x) & clean
        tails = np.stack([experts[n].tails_of(out_of_fold[n][gate]) for n in experts])
        combined = np.zeros(len(x), dtype=np.float64)
        combined[gate] = 1.0 - tails.min(axis=0)
        model.thresholds = thresholds_for(_group_maxima(combined[clean], groups[clean]))
    return model
