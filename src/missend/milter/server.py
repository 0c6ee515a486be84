"""The milter as a running service: the socket, one event loop per process, and its helpers.

One thread serves every MTA connection: the checks are Python and take turns under one GIL
whatever the threading, so the loop reads whole packets as they arrive, answers the end of a
message with one write, and never hands the GIL between threads for a header line. Learning runs
in a child process at a lower priority; notices and housekeeping run beside the loop on threads.
The check runs on the loop, so a store that hangs holds every connection of the process until
`store.timeout` ends the statement (10 s by default: PostgreSQL's statement timeout, SQLite's busy
timeout); the MTA then gets the configured fail-open or tempfail. With `processes` > 1 the parent opens the socket and
forks that many workers, which accept from it in turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import stat
import threading
import time
from pathlib import Path

from missend.gateway import Gateway
from missend.milter import protocol as p
from missend.milter import release as _releaser  # noqa: F401  (registers the milter's releaser)
from missend.milter.housekeeping import Housekeeping
from missend.milter.learn import Learner
from missend.milter.listen import Listen
from missend.milter.notice import Notices
from missend.milter.session import Quit, Service, Session
from missend.milter.workers import SIGNALS, Supervisor

log = logging.getLogger(__name__)
SOCKET_MODE = 0o666
BACKLOG = 128
IDLE = 7210.0
"""Seconds a connection may sit between messages (libmilter's default): the MTA keeps it open for
the whole SMTP session, and closing it early would tempfail that session's next message."""
SWEEP = 1.0
QUICKACK: int | None = getattr(socket, "TCP_QUICKACK", None)


class AddressInUse(RuntimeError):
    pass


def open_socket(listen: Listen) -> socket.socket:
    """The listening socket; a unix socket is made connectable by the MTA's unprivileged user.

    A socket file nobody answers on is left over from a process that died, and is replaced; one
    that answers belongs to a running milter, and starting a second there is refused. Anything
    else at that path is not ours to delete.
    """
    if listen.family == "unix":
        path = Path(listen.path)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
        if path.is_symlink() or (path.exists() and not stat.S_ISSOCK(path.stat().st_mode)):
            raise AddressInUse(f"{path} exists and is not a socket; not replacing it")
        if path.exists():
            with socket.socket(socket.AF_UNIX) as probe:
                try:
                    probe.connect(str(path))
                except OSError:
                    path.unlink()
                else:
                    raise AddressInUse(f"another process is listening on {listen}")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o777 & ~SOCKET_MODE)
        try:
            sock.bind(str(path))
        finally:
            os.umask(old)
        os.chmod(path, SOCKET_MODE)
    else:
        family = socket.AF_INET6 if listen.family == "inet6" else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((listen.host, listen.port))
    sock.listen(BACKLOG)
    sock.setblocking(False)  # workers that lose the race for a connection go back to waiting
    return sock


class Connection(asyncio.Protocol):
    """One MTA connection: whole packets go to the session, its answers go back in one write.

    Over TCP, a command the MTA expects no answer to would leave its segment unacknowledged for
    the kernel's delayed-ACK time (40 ms on Linux), and the MTA's Nagle algorithm holds its next
    small write until that ACK: measured, 45 ms added to every message. So a read that gets no
    answer is acknowledged at once (TCP_QUICKACK, which Linux clears again after each ACK).
    asyncio already turns off Nagle's algorithm on the milter's side.
    """

    def __init__(self, listener: Listener) -> None:
        self.listener = listener
        self.session = Session(listener.service)
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.last = time.monotonic()
        self.tcp: socket.socket | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family != socket.AF_UNIX and QUICKACK is not None:
            self.tcp = sock
        self.listener.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.listener.connections.discard(self)
        self.buffer.clear()

    @property
    def busy(self) -> bool:
        """In the middle of a message: stopping now would turn it into a tempfail."""
        return self.session.in_message

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        self.last = time.monotonic()
        self.buffer += data
        answers = []
        try:
            packets, used = p.split(self.buffer)
            del self.buffer[:used]
            for command, payload in packets:
                answer = self.session.receive(command, payload)
                if answer:
                    answers.append(answer)
        except Quit:
            self._flush(answers)
            self.close()
            return
        except p.ProtocolError as exc:
            log.warning("closing an MTA connection that broke the milter protocol: %s", exc)
            self._flush(answers)
            self.close()
            return
        self._flush(answers)
        if self.listener.stopping and not self.busy:
            self.close()

    def _flush(self, answers: list[bytes]) -> None:
        if answers and self.transport is not None and not self.transport.is_closing():
            self.transport.write(b"".join(answers))
        elif self.tcp is not None and QUICKACK is not None:
            with contextlib.suppress(OSError):
                self.tcp.setsockopt(socket.IPPROTO_TCP, QUICKACK, 1)


class Listener:
    """One process's connections: accepts, times out the silent, and stops without cutting a
    message short when it can."""

    def __init__(self, service: Service, timeout: float) -> None:
        self.service = service
        self.timeout = timeout
        self.connections: set[Connection] = set()
        self.stopping = False

    def sweep(self) -> None:
        if self.service.learner is not None:
            self.service.learner.flush()
        now = time.monotonic()
        for connection in list(self.connections):
            limit = self.timeout if connection.busy else IDLE
            if limit > 0 and now - connection.last > limit:
                log.warning("closing an MTA connection silent for %.0f s", now - connection.last)
                connection.close()

    async def run(self, sock: socket.socket, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        if sock.family == socket.AF_UNIX:
            server = await loop.create_unix_server(lambda: Connection(self), sock=sock)
        else:
            server = await loop.create_server(lambda: Connection(self), sock=sock)
        async with server:
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), SWEEP)
                self.sweep()
            server.close()
            await self.drain()

    async def drain(self) -> None:
        """Close the idle connections now and the busy ones once their message is answered."""
        self.stopping = True
        deadline = time.monotonic() + max(self.timeout, 1.0)
        while self.connections and time.monotonic() < deadline:
            for connection in list(self.connections):
                if not connection.busy:
                    connection.close()
            await asyncio.sleep(0.05)
        for connection in list(self.connections):
            connection.close()
        await asyncio.sleep(0)


def serve(
    gateway: Gateway, listen: Listen, secret: bytes | None = None, processes: int = 1
) -> None:
    """Run until SIGTERM, SIGINT or SIGHUP; with `processes` > 1, that many share the socket."""
    config = gateway.config
    supervisor = Supervisor()
    if processes > 1:
        supervisor.install()
    sock = open_socket(listen)
    log.info(
        "missend milter listening on %s (on error: %s, %d process(es))",
        listen,
        config.milter.on_error,
        processes,
    )
    try:
        if processes <= 1:
            run_worker(gateway, sock, secret, releases=True)
            return
        gateway.store.engine.dispose()  # no pooled connection may cross a fork
        supervisor.run(
            processes, lambda index: run_worker(gateway, sock, secret, releases=index == 0)
        )
    finally:
        sock.close()
        if listen.family == "unix":
            with contextlib.suppress(OSError):
                os.unlink(listen.path)
        ignore_further_stops()


def ignore_further_stops() -> None:
    """Once the service has stopped, a repeated stop signal must not cut the exit short.

    Python gives its own handlers back to the default action while the interpreter shuts down,
    so a second SIGTERM from an impatient service manager would end the process by the signal
    (and say it failed) after everything was already flushed; an ignored signal stays ignored.
    """
    if threading.current_thread() is threading.main_thread():
        for signum in SIGNALS:
            signal.signal(signum, signal.SIG_IGN)


def run_worker(
    gateway: Gateway, sock: socket.socket, secret: bytes | None, *, releases: bool
) -> None:
    """One process's share: the event loop, the learner, notices, and (in one) housekeeping."""
    config = gateway.config
    learner = Learner(gateway, process=True).start() if config.learn.from_traffic else None
    notices = None
    if config.hold.notify_sender and secret is None:
        log.warning("hold.secret_file is not set: senders get no notice about held messages")
    elif config.hold.notify_sender and secret is not None:
        notices = Notices(config.hold, secret).start()
    service = Service(gateway, config.milter.on_error, learner, notices)
    upkeep = Housekeeping(gateway, config).start() if releases else None

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in SIGNALS:
            loop.add_signal_handler(signum, _stopping, signum, stop)
        await Listener(service, config.milter.timeout).run(sock, stop)

    try:
        asyncio.run(main())
    finally:
        if upkeep is not None:
            upkeep.stop()
        if learner is not None:
            learner.stop()
        if notices is not None:
            notices.stop()


def _stopping(signum: int, stop: asyncio.Event) -> None:
    if not stop.is_set():
        log.info("stopping on signal %d", signum)
    stop.set()
