"""Real SMTP parts for tests and benchmarks: a recording sink and an event loop in a thread.

Shipped with the package (like `missend.testing`) so code built on the relay can be tested the
same way: a real server on loopback, a real client, nothing mocked.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiosmtpd.smtp import SMTP, Envelope, Session

_T = TypeVar("_T")


class LoopThread:
    """An asyncio loop running in a daemon thread, driven from synchronous code."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def call(self, coro: Coroutine[Any, Any, _T], timeout: float = 30.0) -> _T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def _cancel_all(self) -> None:
        tasks = [t for t in asyncio.all_tasks(self.loop) if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def close(self) -> None:
        """Cancel what still runs (sessions of clients that vanished), then stop."""
        self.call(self._cancel_all())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


@dataclass(frozen=True, slots=True)
class Received:
    """One message as the sink got it; the null sender (`<>`) is the empty string."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes


@dataclass
class SinkHandler:
    """Accepts everything except the recipients in `refuse` (address -> SMTP reply)."""

    refuse: dict[str, str] = field(default_factory=dict)
    data_reply: str | None = None
    delay: float = 0.0
    """Seconds to wait before answering DATA, like a next hop that scans or writes to disk."""
    messages: list[Received] = field(default_factory=list)
    connections: int = 0

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.data_reply:
            return self.data_reply
        self.messages.append(
            Received(
                "" if envelope.mail_from in (None, "<>") else str(envelope.mail_from),
                tuple(envelope.rcpt_tos),
                bytes(envelope.original_content or b""),
            )
        )
        return f"250 OK queued as sink-{len(self.messages)}"


class SinkServer:
    """A next hop on loopback that records what it receives; can be stopped and started again."""

    def __init__(self, runner: LoopThread, handler: SinkHandler | None = None, **smtp: Any) -> None:
        """`smtp` goes to aiosmtpd's SMTP (e.g. tls_context, require_starttls)."""
        self.runner = runner
        self.handler = handler or SinkHandler()
        self.smtp = smtp
        self.port = 0
        self._server: asyncio.Server | None = None
        self._sessions: list[SMTP] = []

    def _protocol(self) -> SMTP:
        self.handler.connections += 1
        session = SMTP(self.handler, hostname="sink.test", loop=self.runner.loop, **self.smtp)
        self._sessions.append(session)
        return session

    async def _start(self) -> int:
        server = await self.runner.loop.create_server(self._protocol, "127.0.0.1", self.port)
        self._server = server
        return int(server.sockets[0].getsockname()[1])

    async def _stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        sessions, self._sessions = self._sessions, []
        for session in sessions:  # a stopped next hop drops its clients too
            if session.transport is not None:
                session.transport.close()
        if server is not None:
            await server.wait_closed()

    def start(self) -> int:
        """Listen (on the same port as before, after a stop); returns the port."""
        self.port = self.runner.call(self._start())
        return self.port

    def stop(self) -> None:
        self.runner.call(self._stop())

    @property
    def messages(self) -> list[Received]:
        return self.handler.messages


def crlf(raw: bytes) -> bytes:
    """What a mail client puts on the wire: every line ends in CRLF."""
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0, step: float = 0.05) -> bool:
    """Poll until `predicate` holds or `timeout` passes; the last answer is returned."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()
