"""Learning from delivered mail off the MTA's clock."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from missend.config import Config, LearnConfig
from missend.gateway import Gateway
from missend.history.store import Store
from missend.milter.learn import Learner
from missend.testing import message

GOV = "team@agency.example.gov.uk"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(f"sqlite:///{tmp_path / 'l.db'}") as s:
        yield s


def test_delivered_messages_reach_the_senders_history_in_one_batch(store: Store) -> None:
    gateway = Gateway(Config(), store, history_ttl=0)
    learner = Learner(gateway, linger=30).start()
    for i in range(5):
        learner.submit(message(GOV, ["colleague@agency.example.gov.uk"], message_id=f"<l{i}@x>"))
    learner.stop()
    assert learner.learned == 5
    assert gateway.histories.get(GOV).message_count == 5


def test_a_cached_history_is_kept_until_its_time_is_up_not_reloaded_per_message(
    store: Store,
) -> None:
    gateway = Gateway(Config(), store, history_ttl=3600)
    assert gateway.histories.get(GOV).message_count == 0
    learner = Learner(gateway).start()
    learner.submit(message(GOV, ["colleague@agency.example.gov.uk"], message_id="<c@x>"))
    learner.stop()
    assert store.snapshot(GOV).message_count == 1
    assert gateway.histories.get(GOV).message_count == 0


def test_nothing_is_learned_when_learning_from_traffic_is_off(store: Store) -> None:
    config = replace(Config(), learn=LearnConfig(from_traffic=False))
    learner = Learner(Gateway(config, store)).start()
    learner.submit(message(GOV, ["colleague@agency.example.gov.uk"]))
    learner.stop()
    assert learner.learned == 0
    assert store.snapshot(GOV).message_count == 0


def test_a_full_queue_drops_rather_than_slows_the_mail(store: Store) -> None:
    learner = Learner(Gateway(Config(), store), size=2)
    for i in range(5):
        learner.submit(message(GOV, ["c@agency.example.gov.uk"], message_id=f"<d{i}@x>"))
    assert learner.dropped == 3
    learner.start().stop()
    assert learner.learned == 2


def test_a_learner_process_learns_with_its_own_connections_and_finishes_the_queue_on_stop(
    store: Store,
) -> None:
    gateway = Gateway(Config(), store, history_ttl=0)
    assert gateway.histories.get(GOV).message_count == 0, "the parent's pool holds a connection"
    learner = Learner(gateway, linger=30, process=True).start()
    for i in range(5):
        learner.submit(message(GOV, ["colleague@agency.example.gov.uk"], message_id=f"<p{i}@x>"))
    learner.stop()
    assert store.snapshot(GOV).message_count == 5
    assert gateway.histories.get(GOV).message_count == 5, "and it still works after the fork"


def test_a_learner_process_whose_parent_died_ends_on_its_own(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("missend.milter.learn.ORPHAN_CHECK", 0.1)
    learner = Learner(Gateway(Config(), store), process=True)
    learner._parent = -1  # as if the milter that forked it were gone
    learner.start()
    learner._worker.join(10)
    assert not learner._worker.is_alive()


def test_a_learner_process_gets_submitted_mail_in_batches_and_on_flush(store: Store) -> None:
    learner = Learner(Gateway(Config(), store), batch=3, linger=0, process=True)
    for i in range(2):
        learner.submit(message(GOV, ["colleague@agency.example.gov.uk"], message_id=f"<b{i}@x>"))
    assert learner._queue.empty(), "fewer than a batch wait for the next flush"
    learner.flush()
    learner.submit(message(GOV, ["colleague@agency.example.gov.uk"], message_id="<b2@x>"))
    learner.start().stop()
    assert store.snapshot(GOV).message_count == 3
