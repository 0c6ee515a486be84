"""The flat forest: a booster's trees walked all at once give exactly the booster's probabilities."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier

from missend.learning.forest import Forest


def _fitted(seed: int, missing: bool = False) -> tuple[HistGradientBoostingClassifier, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(3000, 6))
    y = ((x[:, 0] + x[:, 1] * x[:, 2] + rng.normal(scale=0.5, size=3000)) > 0.3).astype(int)
    if missing:
        x[rng.random(x.shape) < 0.1] = np.nan
    model = HistGradientBoostingClassifier(max_iter=60, max_leaf_nodes=31, random_state=seed)
    return model.fit(x, y), x


@pytest.mark.parametrize("missing", [False, True])
def test_the_forest_reproduces_the_boosters_probabilities(missing: bool) -> None:
    model, x = _fitted(1, missing)
    forest = Forest.of(model, x)
    assert forest is not None
    fresh = np.random.default_rng(9).normal(size=(700, 6)) * 2
    if missing:
        fresh[::5, 2] = np.nan
    expected = model.predict_proba(fresh)[:, 1]
    np.testing.assert_allclose(forest.probabilities(fresh)[0], expected, rtol=0, atol=1e-12)


def test_a_stack_walks_several_boosters_as_one() -> None:
    (a, xa), (b, _) = _fitted(2), _fitted(3)
    fa, fb = Forest.of(a, xa), Forest.of(b, xa)
    assert fa is not None
    assert fb is not None
    rows = xa[:50]
    both = Forest.stack([fa, fb]).probabilities(rows)
    assert both.shape == (2, 50)
    np.testing.assert_allclose(both[0], a.predict_proba(rows)[:, 1], rtol=0, atol=1e-12)
    np.testing.assert_allclose(both[1], b.predict_proba(rows)[:, 1], rtol=0, atol=1e-12)


def test_a_large_batch_is_walked_in_blocks_with_the_same_result() -> None:
    model, x = _fitted(4)
    forest = Forest.of(model, x)
    assert forest is not None
    np.testing.assert_allclose(
        forest.probabilities(x)[0], model.predict_proba(x)[:, 1], rtol=0, atol=1e-12
    )
    assert forest.probabilities(x[:0]).shape == (1, 0)


def test_a_booster_it_cannot_read_is_left_to_scikit_learn() -> None:
    rng = np.random.default_rng(6)
    x = rng.normal(size=(600, 3))
    three_classes = HistGradientBoostingClassifier(max_iter=10).fit(x, rng.integers(0, 3, 600))
    assert Forest.of(three_classes, x) is None
    model, x = _fitted(5)
    del model._predictors
    assert Forest.of(model, x) is None
