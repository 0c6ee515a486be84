"""Learning from relayed mail in the background, in chunks, without dropping cached histories.

`Gateway.learn` writes one message and drops the sender's cached history, so the next message from
an active sender reloads its whole history from the store while the client waits: measured with
10 busy senders, 9.4 ms of CPU per message against 1.1 ms for the check alone. Here what was
relayed is written every couple of seconds in small chunks with pauses between them, and cached
histories are left to expire after `history_ttl`: a node sees its own learning when it sees
another node's, as the milter does. Reloading the changed histories right after each write was
tried; at 100 messages/s it raised the relay's p99 by about 100 ms (benchmarks/README_relay.md).
A crash loses at most one interval of learning, never mail.
"""

from __future__ import annotations

import asyncio
import logging
import threading

from missend.gateway import Gateway
from missend.history.store import StoreError
from missend.message import Message
from missend.smtp.scheduler import Run

log = logging.getLogger(__name__)
MAX_PENDING = 50_000


class Learner:
    def __init__(
        self,
        gateway: Gateway,
        run: Run,
        *,
        interval: float = 2.0,
        batch: int = 50,
        pause: float = 0.01,
    ) -> None:
        self.gateway = gateway
        self.run = run
        self.interval = interval
        self.batch = batch
        self.pause = pause
        self._pending: list[Message] = []
        self._lock = threading.Lock()
        self._writing: asyncio.Lock | None = None

    @property
    def enabled(self) -> bool:
        return self.gateway.config.learn.from_traffic

    def add(self, message: Message) -> None:
        """Remember a delivered message; safe from any thread."""
        if not self.enabled or message.sender is None:
            return
        with self._lock:
            if len(self._pending) >= MAX_PENDING:  # the store cannot keep up: keep the newest
                del self._pending[: MAX_PENDING // 10]
                log.warning("learning is behind; dropped the oldest %d messages", MAX_PENDING // 10)
            self._pending.append(message)

    def pending(self) -> int:
        with self._lock:
            return len(self._pending)

    async def forever(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.flush()
            except Exception:  # learning must never stop the relay
                log.exception("learning from relayed mail failed")

    async def flush(self) -> int:
        """Write what is pending, in chunks with pauses; returns how many messages were written."""
        if self._writing is None:
            self._writing = asyncio.Lock()
        written = 0
        async with self._writing:
            while True:
                with self._lock:
                    todo, self._pending = self._pending[: self.batch], self._pending[self.batch :]
                if not todo:
                    return written
                await self.run(self._write, todo)
                written += len(todo)
                await asyncio.sleep(self.pause)

    def _write(self, messages: list[Message]) -> None:
        try:
            self.gateway.store.learn(messages)
        except StoreError as exc:  # the mail went out; only the history misses it
            log.warning("could not learn from %d relayed message(s): %s", len(messages), exc)
