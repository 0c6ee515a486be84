"""Training the misdirect model from archives, and keeping it in (and loading it from) the store."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from missend.history.store import Store, StoreError

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from missend.learning.model import MisdirectModel

MODEL_NAME = "misdirect"


def train_from_archives(
    archives: Sequence[Path],
    workers: int = 2,
    seed: int = 0,
    progress: Callable[[], None] | None = None,
) -> MisdirectModel:
    """Replay each archive in date order and fit the model on simulated slips of its own mail."""
    from missend.learning.replay import replay_all, train  # noqa: PLC0415 - scikit-learn on demand

    replayed = replay_all(archives, 1.0, seed, workers, progress)
    if not any(r.train_x for r in replayed):
        raise ValueError(
            "too little mail to learn from: each sender needs at least 20 sent messages"
        )
    return train(replayed, seed)


def save(store: Store, model: MisdirectModel, metrics: dict[str, Any] | None = None) -> int:
    return store.save_model(
        MODEL_NAME, model.to_bytes(), metrics or {"thresholds": model.thresholds}
    )


def load(store: Store) -> MisdirectModel | None:
    """The newest model, or None (then the rules decide alone)."""
    found = store.load_model(MODEL_NAME)
    if found is None:
        return None
    # scikit-learn loads only when there is a model to use: relays without one start in a blink.
    from missend.learning.model import MisdirectModel, ModelError, StaleModel  # noqa: PLC0415

    try:
        return MisdirectModel.from_bytes(found[1])
    except StaleModel as exc:  # after an upgrade: mail keeps flowing on the rules until retrained
        log.warning("the stored misdirect model is not used (%s); run `missend learn` again", exc)
        return None
    except ModelError as exc:
        raise StoreError(f"the stored misdirect model cannot be used: {exc}") from exc


def models_for(store: Store | None) -> dict[str, Any]:
    """The trained model and the directory of the organisation's correspondents it reads."""
    if store is None:
        return {}
    model = load(store)
    if model is None:
        return {}
    from missend.learning.directory import DIRECTORY_NAME, Directory, PairCounts  # noqa: PLC0415

    keys = store.address_keys()
    pairs = PairCounts.of(store.directory_pairs())
    directory = Directory(store.directory_counts(), keys, pairs)
    return {MODEL_NAME: model, DIRECTORY_NAME: directory}
