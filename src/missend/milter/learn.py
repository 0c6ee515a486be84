"""Learning from the mail the milter let through, off the MTA's clock.

Writing a sender's history takes longer than deciding, and the MTA is waiting at end of message; so
delivered messages go to a bounded queue and one thread learns them in batches. Losing one under
overload only makes a history a message shorter; blocking would slow every sender's mail.

Each write has a fixed cost (a transaction, reading back what it merges), so the learner lets a
batch gather for up to `linger` seconds. Cached histories are not dropped after learning: the next
check would reload the sender's whole history, and with every message learned, that is every
message. What is learned shows in checks once the cache's `history_ttl` has passed, as what
another node learns does.
"""

from __future__ import annotations

import logging
import queue
import threading
import time

from missend.gateway import Gateway
from missend.history.store import StoreError
from missend.message import Message

log = logging.getLogger(__name__)


class Learner:
    def __init__(
        self, gateway: Gateway, *, size: int = 2000, batch: int = 200, linger: float = 2.0
    ) -> None:
        self.gateway = gateway
        self.batch = batch
        self.linger = linger
        self._queue: queue.Queue[Message | None] = queue.Queue(size)
        self._thread = threading.Thread(target=self._run, name="missend-learn", daemon=True)
        self.dropped = 0
        self.learned = 0

    def start(self) -> Learner:
        self._thread.start()
        return self

    def submit(self, message: Message) -> None:
        if not self.gateway.config.learn.from_traffic or message.sender is None:
            return
        try:
            self._queue.put_nowait(message)
        except queue.Full:
            self.dropped += 1
            if self.dropped % 1000 == 1:
                log.warning("learning is behind; %d delivered message(s) not learned", self.dropped)

    def stop(self, timeout: float = 10.0) -> None:
        """Learn what is queued, then end the thread."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            stop = False
            deadline = time.monotonic() + self.linger
            while len(batch) < self.batch:
                try:
                    more = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                batch.append(more)
            self._learn(batch)
            if stop:
                return

    def _learn(self, batch: list[Message]) -> None:
        try:
            self.gateway.store.learn(batch)
        except StoreError as exc:
            log.warning("could not learn from %d delivered message(s): %s", len(batch), exc)
            return
        except Exception:  # a bad message must not end learning for everyone after it
            log.exception("learning from %d delivered message(s) failed", len(batch))
            return
        self.learned += len(batch)
