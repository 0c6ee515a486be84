"""The scheduler sends delayed mail when due, retries with growing pauses, resumes what a crash left,
bounces what the next hop will never take, and leaves messages held for people alone."""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest

from missend.config import UpstreamConfig
from missend.history.store import Store
from missend.hold.queue import HoldQueue, Reason, Status
from missend.smtp.scheduler import Scheduler
from missend.smtp.testing import LoopThread, SinkServer
from missend.smtp.upstream import Upstream

RAW = b"From: a@x.example\r\nTo: b@y.example\r\nSubject: later\r\n\r\nHello\r\n"
VERDICT = {"action": "allow", "risk": 0.0, "findings": []}


async def in_thread(fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, functools.partial(fn, *args, **kwargs))


@pytest.fixture
def queue(store_url: str) -> Iterator[HoldQueue]:
    with Store.open(store_url) as store:
        yield HoldQueue(store)


@pytest.fixture
def scheduler(runner: LoopThread, sink: SinkServer) -> Iterator[Callable[..., Scheduler]]:
    """Schedulers sending to the sink; their connections are closed afterwards."""
    made: list[Scheduler] = []

    def make(queue: HoldQueue, **options: Any) -> Scheduler:
        upstream = Upstream(UpstreamConfig(host="127.0.0.1", port=sink.port, timeout=5))
        made.append(
            Scheduler(queue, upstream, in_thread, host="relay.test", node="test", **options)
        )
        return made[-1]

    yield make
    for sched in made:
        runner.call(sched.upstream.close())


def delayed(
    queue: HoldQueue, source: str = "smtp", rcpts: tuple[str, ...] = ("b@y.example",)
) -> str:
    held = queue.hold(
        RAW, "a@x.example", rcpts, VERDICT, reason=Reason.DELAY, delay=timedelta(0), source=source
    )
    return held.id


def test_due_mail_is_sent_once_and_marked_released(
    runner: LoopThread, sink: SinkServer, queue: HoldQueue, scheduler: Callable[..., Scheduler]
) -> None:
    hold_id = delayed(queue)
    later = queue.hold(
        RAW, "a@x.example", ["b@y.example"], VERDICT, reason=Reason.DELAY, delay=timedelta(hours=1)
    )
    sched = scheduler(queue)
    assert runner.call(sched.tick()) == 1
    assert runner.call(sched.tick()) == 0
    assert [m.data for m in sink.messages] == [RAW]
    assert queue.get(hold_id).status == Status.RELEASED
    assert queue.get(later.id).status == Status.DELAYED


def test_messages_held_for_review_or_taken_in_by_the_milter_are_left_alone(
    runner: LoopThread, sink: SinkServer, queue: HoldQueue, scheduler: Callable[..., Scheduler]
) -> None:
    review = queue.hold(RAW, "a@x.example", ["b@y.example"], VERDICT)
    milter = delayed(queue, source="milter")
    assert runner.call(scheduler(queue).tick()) == 0
    assert sink.messages == []
    assert queue.get(review.id).status == Status.HELD
    assert queue.get(milter).status == Status.DELAYED


def test_a_release_a_crash_left_unfinished_is_retried(
    runner: LoopThread, sink: SinkServer, queue: HoldQueue, scheduler: Callable[..., Scheduler]
) -> None:
    hold_id = delayed(queue)
    assert queue.claim(hold_id, "crashed node") is not None
    assert runner.call(scheduler(queue, stale_after=timedelta(minutes=5)).tick()) == 0
    time.sleep(0.05)
    assert runner.call(scheduler(queue, stale_after=timedelta(0)).tick()) == 1
    assert queue.get(hold_id).status == Status.RELEASED
    assert len(sink.messages) == 1


def test_a_temporary_failure_is_retried_after_a_pause(
    runner: LoopThread, sink: SinkServer, queue: HoldQueue, scheduler: Callable[..., Scheduler]
) -> None:
    hold_id = delayed(queue)
    sched = scheduler(queue, backoff=timedelta(seconds=0.5))
    sink.stop()
    assert runner.call(sched.tick()) == 0
    failed = queue.get(hold_id)
    assert failed.status == Status.DELAYED
    assert failed.attempts == 1
    assert "451" in (failed.last_error or "")
    sink.start()
    assert runner.call(sched.tick()) == 0  # still pausing
    assert sink.handler.connections == 0
    time.sleep(0.6)
    assert runner.call(sched.tick()) == 1
    assert len(sink.messages) == 1


def test_a_permanent_refusal_cancels_the_message_and_bounces_it_to_the_sender(
    runner: LoopThread, sink: SinkServer, queue: HoldQueue, scheduler: Callable[..., Scheduler]
) -> None:
    sink.handler.refuse = {"b@y.example": "550 5.1.1 unknown user"}
    hold_id = delayed(queue)
    sched = scheduler(queue)
    runner.call(sched.tick())
    gone = queue.get(hold_id)
    assert gone.status == Status.CANCELLED
    assert "refused" in (gone.note or "")
    assert runner.call(sched.tick()) == 1
    (bounce,) = sink.messages
    assert bounce.rcpt_tos == ("a@x.example",)
    assert bounce.mail_from == ""
    assert b"Status: 5.1.1" in bounce.data
    assert b"Subject: later" in bounce.data  # the original's headers come back to the sender


def test_mail_that_could_not_be_delivered_in_time_is_bounced(
    runner: LoopThread, sink: SinkServer, queue: HoldQueue, scheduler: Callable[..., Scheduler]
) -> None:
    hold_id = delayed(queue)
    sink.stop()
    runner.call(scheduler(queue, give_up_after=timedelta(0)).tick())
    assert queue.get(hold_id).status == Status.CANCELLED
    (bounce,) = [h for h in queue.find() if h.envelope_to == ("a@x.example",)]
    assert b"could not be delivered in time" in bounce.raw


def test_two_nodes_send_each_due_message_once(
    runner: LoopThread, sink: SinkServer, queue: HoldQueue, scheduler: Callable[..., Scheduler]
) -> None:
    ids = [delayed(queue, rcpts=(f"r{i}@y.example",)) for i in range(12)]
    first, second = scheduler(queue), scheduler(queue)

    async def both() -> list[int]:
        return list(await asyncio.gather(first.tick(), second.tick()))

    assert sum(runner.call(both())) == 12
    assert sorted(m.rcpt_tos[0] for m in sink.messages) == sorted(
        f"r{i}@y.example" for i in range(12)
    )
    assert all(queue.get(i).status == Status.RELEASED for i in ids)
