"""What the milter does between messages: release delayed mail when due, and delete from Postfix
what was cancelled in missend.

Releases go through the same releaser as `missend hold release`. A cancel (`missend hold cancel`,
or a sender's cancel link) only changes missend's record, so the copy quarantined in Postfix's hold
queue is found by its queue id and deleted here; without this, Postfix would keep it for ever.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

from sqlalchemy import select

from missend.config import Config
from missend.gateway import Gateway
from missend.history.schema import held_messages as t
from missend.hold.queue import Held, Status, now
from missend.hold.release import release
from missend.milter import SOURCE
from missend.milter.release import ReleaseError, delete_from_postfix, postfix_hold_queue

log = logging.getLogger(__name__)
MAX_BACKOFF = timedelta(hours=1)


class Housekeeping:
    def __init__(
        self,
        gateway: Gateway,
        config: Config,
        *,
        poll: float = 1.0,
        sweep_every: float = 30.0,
        stale_after: timedelta = timedelta(minutes=5),
        backoff: timedelta = timedelta(seconds=30),
    ) -> None:
        self.gateway = gateway
        self.queue = gateway.queue
        self.config = config
        self.poll = poll
        self.sweep_every = sweep_every
        self.stale_after = stale_after
        self.backoff = backoff
        self._swept = 0.0
        self._warned = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="missend-upkeep", daemon=True)

    def start(self) -> Housekeeping:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(10)

    def _ready(self, held: Held) -> bool:
        if held.source != SOURCE:
            return False
        if held.attempts == 0:
            return True
        pause = min(self.backoff * (1 << min(held.attempts - 1, 16)), MAX_BACKOFF)
        return now() >= held.updated_at + pause

    def release_due(self) -> int:
        """Put back releases a crash left unfinished, release what is due; how many were sent."""
        for stale in self.queue.stale_releasing(self.stale_after):
            if stale.source == SOURCE:
                self.queue.requeue(stale.id)
        sent = 0
        for held in self.queue.due():
            if not self._ready(held):
                continue
            try:
                release(self.queue, self.config, held.id, by="missend-milter")
                sent += 1
            except LookupError:
                continue  # another node took it first
            except Exception as exc:
                log.warning("could not release delayed %s: %s", held.id, exc)
        return sent

    def sweep(self) -> list[str]:
        """Delete from Postfix's hold queue the messages cancelled in missend; their queue ids."""
        held = postfix_hold_queue()
        if not held:
            return []
        query = select(t.c.mta_queue_id).where(
            t.c.source == SOURCE,
            t.c.status == str(Status.CANCELLED),
            t.c.mta_queue_id.in_(sorted(held)),
        )
        with self.gateway.store.engine.connect() as conn:
            cancelled = [str(row[0]) for row in conn.execute(query)]
        deleted = []
        for queue_id in cancelled:
            try:
                delete_from_postfix(queue_id)
            except ReleaseError as exc:
                log.warning("could not delete cancelled %s from Postfix: %s", queue_id, exc)
                continue
            deleted.append(queue_id)
            log.info("%s: deleted from Postfix's hold queue (cancelled in missend)", queue_id)
        return deleted

    def tick(self) -> None:
        self.release_due()
        if time.monotonic() - self._swept < self.sweep_every:
            return
        self._swept = time.monotonic()
        try:
            self.sweep()
        except ReleaseError as exc:  # Postfix down, or on another host: said once, tried again
            if not self._warned:
                log.warning("cannot sweep Postfix's hold queue (will keep trying): %s", exc)
            self._warned = True
        else:
            self._warned = False

    def _run(self) -> None:
        while not self._stop.wait(self.poll):
            try:
                self.tick()
            except Exception:  # a store hiccup must not end the loop
                log.exception("milter housekeeping failed; trying again")
