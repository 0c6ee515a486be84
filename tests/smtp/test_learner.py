"""Learning from relayed mail: written in chunks, histories reloaded, never in the way of mail."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from missend import gateway as gateway_module
from missend.config import Config, LearnConfig
from missend.gateway import Gateway
from missend.history.store import Store
from missend.message import parse_message
from missend.smtp.learner import Learner
from missend.testing import raw_message

GOV = "team@agency.example.gov.uk"


async def in_thread(fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    return await asyncio.get_running_loop().run_in_executor(
        None, functools.partial(fn, *args, **kwargs)
    )


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    with Store.open(store_url) as s:
        yield s


def sent(i: int, sender: str = GOV) -> Any:
    return parse_message(
        raw_message(sender, [f"friend{i}@partner.example"], message_id=f"<m{i}@agency>")
    )


class Clock:
    """The gateway's monotonic clock, moved by the test: a slow store write must not count as
    the cache's time passing."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


def test_pending_messages_are_written_in_chunks_and_used_once_the_cache_expires(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    monkeypatch.setattr(gateway_module, "time", clock)
    gateway = Gateway(Config(), store, history_ttl=0.3)
    assert gateway.histories.get(GOV).message_count == 0
    learner = Learner(gateway, in_thread, batch=7, pause=0)
    for i in range(20):
        learner.add(sent(i))
    learner.add(sent(99, "other@agency.example.gov.uk"))
    assert learner.pending() == 21
    assert asyncio.run(learner.flush()) == 21
    assert learner.pending() == 0
    assert store.snapshot(GOV).message_count == 20
    assert gateway.histories.get(GOV).message_count == 0  # no reload on the message path
    clock.now += 0.35
    assert gateway.histories.get(GOV).message_count == 20


def test_nothing_is_learned_when_learning_from_traffic_is_off(store: Store) -> None:
    config = replace(Config(), learn=LearnConfig(from_traffic=False))
    learner = Learner(Gateway(config, store), in_thread)
    learner.add(sent(1))
    assert asyncio.run(learner.flush()) == 0
    assert store.snapshot(GOV).message_count == 0


def test_a_store_that_fails_while_learning_costs_the_history_not_the_relay(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'h.db'}")
    learner = Learner(Gateway(Config(), store), in_thread, pause=0)
    store.engine.dispose()
    (tmp_path / "h.db").unlink()
    (tmp_path / "h.db").mkdir()
    learner.add(sent(1))
    assert asyncio.run(learner.flush()) == 1  # attempted, logged, not raised
    store.close()
