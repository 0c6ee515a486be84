"""A trained booster's trees as flat arrays, walked for every tree and row at once.

scikit-learn predicts one tree at a time from Python: with 200 trees per expert and five
experts, scoring the two or three recipients of one message cost over 5 ms, nearly all of it
per-tree overhead, in a check whose other work takes a tenth of a millisecond. Here every
tree's nodes sit in one set of arrays and each step down the trees is a few numpy operations
over all trees and rows together.

The arrays are read from the fitted estimator's predictors, which are not public API; `of`
therefore checks the result against the estimator's own `predict_proba` on the training rows
and returns None (the estimator is then used as is) if they differ by more than 1e-9.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import expit
from sklearn.ensemble import HistGradientBoostingClassifier

_CHECK_ROWS = 2000
_TOLERANCE = 1e-9
_BLOCK = 512


@dataclass(frozen=True)
class Forest:
    feature: np.ndarray
    threshold: np.ndarray
    missing_left: np.ndarray
    left: np.ndarray
    right: np.ndarray
    value: np.ndarray
    roots: np.ndarray
    depth: int
    baselines: np.ndarray
    """One per output: a stack of forests (one per expert) is walked as one."""
    starts: np.ndarray
    """Index in `roots` of each output's first tree."""

    @classmethod
    def of(cls, estimator: HistGradientBoostingClassifier, x: np.ndarray) -> Forest | None:
        """The estimator's trees, if they reproduce its probabilities on the rows `x`."""
        try:
            forest = cls._read(estimator)
        except (AttributeError, KeyError, TypeError, ValueError, IndexError):
            return None
        if forest is None:
            return None
        sample = x[:: max(1, len(x) // _CHECK_ROWS)]
        if len(sample):
            expected = estimator.predict_proba(sample)[:, 1]
            found = forest.probabilities(sample)[0]
            if not np.allclose(found, expected, rtol=0, atol=_TOLERANCE):
                return None
        return forest

    @classmethod
    def _read(cls, estimator: HistGradientBoostingClassifier) -> Forest | None:
        predictors: list[list[Any]] = estimator._predictors
        baseline = np.asarray(estimator._baseline_prediction, dtype=np.float64).ravel()
        if baseline.size != 1 or any(len(step) != 1 for step in predictors):
            return None  # not a binary classifier
        nodes = [step[0].nodes for step in predictors]
        if any(n["is_categorical"].any() for n in nodes):
            return None
        sizes = np.array([len(n) for n in nodes])
        offsets = np.concatenate(([0], np.cumsum(sizes)[:-1]))
        every = np.concatenate(nodes)
        shift = np.repeat(offsets, sizes)
        ids = np.arange(len(every))
        leaf = every["is_leaf"].astype(bool)
        left = np.where(leaf, ids, every["left"].astype(np.intp) + shift)
        right = np.where(leaf, ids, every["right"].astype(np.intp) + shift)
        return cls(
            feature=np.where(leaf, 0, every["feature_idx"]).astype(np.intp),
            threshold=every["num_threshold"].astype(np.float64),
            missing_left=every["missing_go_to_left"].astype(bool),
            left=left,
            right=right,
            value=np.where(leaf, every["value"], 0.0).astype(np.float64),
            roots=offsets.astype(np.intp),
            depth=int(every["depth"].max()),
            baselines=baseline,
            starts=np.zeros(1, dtype=np.intp),
        )

    @classmethod
    def stack(cls, forests: list[Forest]) -> Forest:
        """One forest whose outputs are those of `forests`, in order."""
        sizes = np.array([len(f.feature) for f in forests])
        shifts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
        trees = np.array([len(f.roots) for f in forests])
        return cls(
            feature=np.concatenate([f.feature for f in forests]),
            threshold=np.concatenate([f.threshold for f in forests]),
            missing_left=np.concatenate([f.missing_left for f in forests]),
            left=np.concatenate([f.left + s for f, s in zip(forests, shifts, strict=True)]),
            right=np.concatenate([f.right + s for f, s in zip(forests, shifts, strict=True)]),
            value=np.concatenate([f.value for f in forests]),
            roots=np.concatenate([f.roots + s for f, s in zip(forests, shifts, strict=True)]),
            depth=max(f.depth for f in forests),
            baselines=np.concatenate([f.baselines for f in forests]),
            starts=np.concatenate(([0], np.cumsum(trees)[:-1])).astype(np.intp),
        )

    def raw(self, x: np.ndarray) -> np.ndarray:
        """Each output's raw score (log-odds) for each row: shape (outputs, rows)."""
        x = np.asarray(x, dtype=np.float64)
        if len(x) == 0:
            return np.zeros((len(self.baselines), 0), dtype=np.float64)
        node = np.repeat(self.roots[:, None], len(x), axis=1)
        if np.isnan(x).any():
            rows = np.arange(len(x))[None, :]
            for _ in range(self.depth):
                v = x[rows, self.feature[node]]
                go_left = np.where(np.isnan(v), self.missing_left[node], v <= self.threshold[node])
                node = np.where(go_left, self.left[node], self.right[node])
        else:
            flat = x.ravel()
            base = (np.arange(len(x)) * x.shape[1])[None, :]
            children = self.children
            for step in range(self.depth):
                right = flat[base + self.feature[node]] > self.threshold[node]
                node = children[2 * node + right]
                if step % 4 == 3 and (self.left[node] == node).all():
                    break  # every walk is at its leaf (a leaf is its own child)
        sums = np.add.reduceat(self.value[node], self.starts, axis=0)
        return np.asarray(self.baselines[:, None] + sums, dtype=np.float64)

    @property
    def children(self) -> np.ndarray:
        """Left and right child of each node, interleaved: node n goes to 2n (left) or 2n+1."""
        found = self.__dict__.get("_children")
        if found is None:
            found = np.stack([self.left, self.right], axis=1).ravel()
            object.__setattr__(self, "_children", found)
        return found

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """Shape (outputs, rows), the positive class's probability of each output. Rows go in
        blocks so that a large batch walks in bounded memory (trees x block of node indices)."""
        if len(x) <= _BLOCK:
            return np.asarray(expit(self.raw(x)), dtype=np.float64)
        parts = [self.raw(x[i : i + _BLOCK]) for i in range(0, len(x), _BLOCK)]
        return np.asarray(expit(np.concatenate(parts, axis=1)), dtype=np.float64)
