"""Learning from the mail the milter let through, off the MTA's clock and out of its way.

Writing a sender's history takes longer than deciding, and the MTA is waiting at end of message; so
delivered messages go to a bounded queue and a learner takes them in batches. Losing one under
overload only makes a history a message shorter; blocking would slow every sender's mail.

The service runs the learner as a child process at a lower priority (`process=True`): in the same
process it took the GIL from the event loop for a batch at a time, and every MTA connection
waited (measured: a third of the milter's busy time was the learner). Mail flow now wins the CPU
when there is not enough for both, and the learner catches up when the flow eases.

Each write has a fixed cost (a transaction, reading back what it merges), so the learner lets a
batch gather for up to `linger` seconds. Cached histories are not dropped after learning: the next
check would reload the sender's whole history, and with every message learned, that is every
message. What is learned shows in checks once the cache's `history_ttl` has passed, as what
another node learns does.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import queue
import signal
import threading
import time
from typing import Any

from missend.gateway import Gateway
from missend.history.store import StoreError
from missend.message import Message

log = logging.getLogger(__name__)
NICE = 10
"""How much lower the learner process runs than the milter."""
ORPHAN_CHECK = 5.0


class Learner:
    def __init__(
        self,
        gateway: Gateway,
        *,
        size: int = 2000,
        batch: int = 200,
        linger: float = 2.0,
        process: bool = False,
    ) -> None:
        self.gateway = gateway
        self.batch = batch
        self.linger = linger
        self.dropped = 0
        self.learned = 0
        self._parent = os.getpid()
        self._pending: list[Message] = []
        self._queue: Any
        self._worker: threading.Thread | multiprocessing.process.BaseProcess
        if process:
            forked = multiprocessing.get_context("fork")
            self._queue = forked.Queue(max(1, size // batch))
            self._worker = forked.Process(target=self._serve, name="missend-learn", daemon=True)
        else:
            self._queue = queue.Queue(size)
            self._worker = threading.Thread(target=self._run, name="missend-learn", daemon=True)

    def start(self) -> Learner:
        self._worker.start()
        return self

    def submit(self, message: Message) -> None:
        if not self.gateway.config.learn.from_traffic or message.sender is None:
            return
        if isinstance(self._worker, threading.Thread):
            self._put(message, 1)
            return
        self._pending.append(message)
        if len(self._pending) >= self.batch:
            self.flush()

    def flush(self) -> None:
        """Hand what was submitted to the learner process, as one item: a message at a time, the
        queue's feeder thread would take the GIL from the event loop for every message."""
        if self._pending:
            pending, self._pending = self._pending, []
            self._put(pending, len(pending))

    def _put(self, item: Message | list[Message], count: int) -> None:
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            self.dropped += count
            if self.dropped % 1000 < count:
                log.warning("learning is behind; %d delivered message(s) not learned", self.dropped)

    def stop(self, timeout: float = 10.0) -> None:
        """Learn what is queued, then end the thread or process."""
        if not self._worker.is_alive():
            return
        self.flush()
        self._queue.put(None)
        self._worker.join(timeout)
        if isinstance(self._worker, multiprocessing.process.BaseProcess):
            if self._worker.is_alive():
                log.warning("the learner did not finish in %.0f s; stopping it", timeout)
                self._worker.terminate()
                self._worker.join(timeout)
            self._queue.close()

    def _serve(self) -> None:
        """The learner process: below the milter's priority, its own store connections, and
        deaf to the stop signals meant for the milter, which ends it through the queue."""
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(signum, signal.SIG_IGN)
        with contextlib.suppress(OSError):
            os.nice(NICE)
        # the parent's pooled connections stay the parent's
        self.gateway.store.engine.dispose(close=False)
        self._run()

    def _next(self, timeout: float | None) -> list[Message] | None:
        """The next messages; None to stop, which is also what a parent that died leaves."""
        while True:
            wait = ORPHAN_CHECK if timeout is None else min(timeout, ORPHAN_CHECK)
            try:
                item: Message | list[Message] | None = self._queue.get(timeout=wait)
                return item if item is None or isinstance(item, list) else [item]
            except queue.Empty:
                if os.getpid() != self._parent and os.getppid() != self._parent:
                    return None
                if timeout is not None:
                    timeout -= wait
                    if timeout <= 0:
                        raise

    def _run(self) -> None:
        while True:
            first = self._next(None)
            if first is None:
                return
            batch = first
            stop = False
            deadline = time.monotonic() + self.linger
            while len(batch) < self.batch:
                try:
                    more = self._next(max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                batch.extend(more)
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
