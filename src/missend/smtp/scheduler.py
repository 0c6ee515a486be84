"""The relay's background work: send delayed mail when due, and pick up releases a crash left half-done.

Every node sharing a store runs one; the hold queue's compare-and-set claim means each message is
sent by exactly one of them. A release that fails for a temporary reason is tried again with a
growing pause; one the next hop refuses for good, or that has waited too long, goes back to the
sender as a bounce.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import ParamSpec, Protocol, TypeVar

from missend.hold.queue import Held, HoldQueue, now
from missend.smtp.outbox import SOURCE, bounce_later, settle
from missend.smtp.upstream import Upstream, UpstreamError

log = logging.getLogger(__name__)
_P = ParamSpec("_P")
_T = TypeVar("_T")


class Run(Protocol):
    """Runs a blocking call (store, engine) off the event loop."""

    async def __call__(
        self, fn: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs
    ) -> _T: ...


MAX_BACKOFF = timedelta(hours=1)


class Scheduler:
    def __init__(
        self,
        queue: HoldQueue,
        upstream: Upstream,
        run: Run,
        *,
        host: str,
        node: str,
        poll: float = 1.0,
        stale_after: timedelta = timedelta(minutes=5),
        backoff: timedelta = timedelta(seconds=30),
        give_up_after: timedelta = timedelta(days=5),
        batch: int = 64,
        learn: Callable[[Held], None] | None = None,
    ) -> None:
        self.queue = queue
        self.upstream = upstream
        self.run = run
        self.host = host
        self.node = node
        self.poll = poll
        self.stale_after = stale_after
        self.backoff = backoff
        self.give_up_after = give_up_after
        self.batch = batch
        self.learn = learn

    async def forever(self) -> None:
        while True:
            try:
                await self.tick()
            except Exception:  # a store hiccup must not end the loop
                log.exception("the release scheduler failed; trying again")
            await asyncio.sleep(self.poll)

    def ready(self, held: Held) -> bool:
        """Due, and past the pause that follows each failed attempt."""
        if held.attempts == 0:
            return True
        pause = min(self.backoff * (1 << min(held.attempts - 1, 16)), MAX_BACKOFF)
        return now() >= held.updated_at + pause

    async def tick(self) -> int:
        """One round: requeue stale releases, send what is due. Returns how many were sent."""
        for stale in await self.run(self.queue.stale_releasing, self.stale_after):
            if stale.source == SOURCE:
                log.warning("retrying %s: its release was left unfinished", stale.id)
                await self.run(self.queue.requeue, stale.id)
        due = [h for h in await self.run(self.queue.due) if h.source == SOURCE and self.ready(h)]
        sent: list[bool] = await asyncio.gather(*(self.release(h) for h in due[: self.batch]))
        return sum(sent)

    async def release(self, held: Held) -> bool:
        claimed = await self.run(self.queue.claim, held.id, self.node)
        if claimed is None:
            return False
        try:
            delivery = await self.upstream.send(
                claimed.envelope_from, claimed.envelope_to, claimed.raw
            )
        except UpstreamError as exc:
            await self._failed(claimed, exc)
            return False
        if delivery.refused:
            await self.run(
                settle,
                self.queue,
                delivery,
                data=claimed.raw,
                mail_from=claimed.envelope_from,
                sender=claimed.sender,
                subject=claimed.subject,
                verdict=claimed.verdict,
                host=self.host,
                retry_in=self.backoff,
            )
        await self.run(self.queue.released, claimed.id)
        if self.learn is not None:
            await self.run(self.learn, claimed)
        return True

    async def _failed(self, held: Held, exc: UpstreamError) -> None:
        await self.run(self.queue.release_failed, held.id, str(exc))
        expired = now() - held.created_at > self.give_up_after
        if exc.temporary and not expired:
            return
        why = (
            "it could not be delivered in time"
            if exc.temporary
            else "the next mail server refused it"
        )
        note = f"given up: {why} ({exc.reply.code})"
        if await self.run(self.queue.cancel, held.id, self.node, note) is None:
            return
        log.warning("%s: %s", held.id, note)
        failed = dict.fromkeys(held.envelope_to, exc.reply)
        await self.run(
            bounce_later, self.queue, held.raw, held.envelope_from, failed, host=self.host, why=why
        )
