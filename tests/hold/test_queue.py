"""The hold queue: durable once `hold` returns, and exactly one release however many nodes try."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from threading import Barrier, Thread

import pytest

from missend.history.store import Store
from missend.hold.queue import HoldQueue, Reason, Status, now

VERDICT = {"action": "hold", "risk": 0.9, "findings": []}


@pytest.fixture
def queue(store_url: str) -> Iterator[HoldQueue]:
    with Store.open(store_url) as store:
        yield HoldQueue(store)


def test_a_held_message_is_readable_from_another_connection(
    store_url: str, queue: HoldQueue
) -> None:
    held = queue.hold(
        b"raw bytes", "a@x.example", ["b@y.example", "c@z.example"], VERDICT, subject="Hi"
    )
    with Store.open(store_url) as other:
        again = HoldQueue(other).get(held.id)
    assert again is not None
    assert again.raw == b"raw bytes"
    assert again.envelope_to == ("b@y.example", "c@z.example")
    assert again.status == Status.HELD
    assert again.verdict == VERDICT


def test_release_is_claimed_once(queue: HoldQueue) -> None:
    held = queue.hold(b"m", "a@x.example", ["b@y.example"], VERDICT)
    assert queue.claim(held.id, "officer") is not None
    assert queue.claim(held.id, "other officer") is None
    done = queue.released(held.id)
    assert done is not None
    assert done.status == Status.RELEASED
    assert done.decided_by == "officer"
    assert queue.cancel(held.id) is None


def test_concurrent_claims_let_exactly_one_win(queue: HoldQueue) -> None:
    held = queue.hold(b"m", "a@x.example", ["b@y.example"], VERDICT)
    barrier = Barrier(8)
    wins: list[bool] = []

    def race() -> None:
        barrier.wait()
        wins.append(queue.claim(held.id) is not None)

    threads = [Thread(target=race) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wins.count(True) == 1


def test_failed_release_goes_back_to_the_queue_with_the_error(queue: HoldQueue) -> None:
    held = queue.hold(b"m", "a@x.example", ["b@y.example"], VERDICT)
    queue.claim(held.id)
    back = queue.release_failed(held.id, "upstream said 451")
    assert back is not None
    assert back.status == Status.HELD
    assert back.attempts == 1
    assert back.last_error == "upstream said 451"


def test_delayed_messages_become_due_after_their_window(queue: HoldQueue) -> None:
    held = queue.hold(
        b"m",
        "a@x.example",
        ["b@y.example"],
        VERDICT,
        reason=Reason.DELAY,
        delay=timedelta(seconds=30),
    )
    assert queue.due() == []
    assert [h.id for h in queue.due(now() + timedelta(seconds=31))] == [held.id]
    assert queue.cancel(held.id, "sender") is not None
    assert queue.due(now() + timedelta(seconds=31)) == []


def test_listing_filters_by_status_and_sender(queue: HoldQueue) -> None:
    a = queue.hold(b"m", "a@x.example", ["b@y.example"], VERDICT)
    b = queue.hold(b"m", "c@x.example", ["b@y.example"], VERDICT)
    queue.cancel(b.id)
    assert [h.id for h in queue.find()] == [a.id]
    assert [h.id for h in queue.find(status=None, sender="c@x.example")] == [b.id]
    assert "raw" not in a.summary()


def test_purge_removes_only_decided_messages(queue: HoldQueue) -> None:
    keep = queue.hold(b"m", "a@x.example", ["b@y.example"], VERDICT)
    gone = queue.hold(b"m", "a@x.example", ["b@y.example"], VERDICT)
    queue.cancel(gone.id)
    assert queue.purge(now() + timedelta(seconds=1)) == 1
    assert queue.get(keep.id) is not None
    assert queue.get(gone.id) is None
