"""The relay as a running service: listener, next-hop pool, thread pool and scheduler together."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import ssl
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

from aiosmtpd.smtp import SMTP

from missend.config import Config, ConfigError, listen_address
from missend.gateway import Gateway
from missend.history.store import Store
from missend.hold.queue import Held
from missend.smtp.auth import Authenticator, load_users
from missend.smtp.handler import RelayHandler
from missend.smtp.outbox import learnable
from missend.smtp.scheduler import Scheduler
from missend.smtp.upstream import Upstream

log = logging.getLogger(__name__)
DEFAULT_PORT = 10025


class RelaySMTP(SMTP):
    """aiosmtpd's protocol, but an idle client is told why it is dropped (RFC 5321 4.5.3.2)."""

    def _timeout_cb(self) -> None:
        writer = getattr(self, "_writer", None)
        if self.transport is not None and not self.transport.is_closing() and writer is not None:
            writer.write(f"421 4.4.2 {self.hostname} Error: timeout exceeded\r\n".encode())
        super()._timeout_cb()  # type: ignore[no-untyped-call]


def bind_address(value: str) -> tuple[str, int]:
    """`listen_address`, plus port 0: let the system pick a free port (tests, several nodes)."""
    host, sep, port = value.rpartition(":")
    if sep and port == "0":
        return listen_address(f"{host}:{DEFAULT_PORT}", DEFAULT_PORT)[0], 0
    return listen_address(value, DEFAULT_PORT)


def read_secret(path: str | None) -> bytes | None:
    if path is None:
        return None
    try:
        secret = Path(path).read_bytes().strip()
    except OSError as exc:
        raise ConfigError(f"hold.secret_file {path}: cannot read ({exc.strerror})") from exc
    if len(secret) < 16:
        raise ConfigError(f"hold.secret_file {path}: the secret must be at least 16 bytes")
    return secret


def tls_context(config: Config) -> ssl.SSLContext | None:
    cfg = config.smtp
    if not cfg.tls_cert or not cfg.tls_key:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(cfg.tls_cert, cfg.tls_key)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"smtp.tls_cert/tls_key cannot be loaded: {exc}") from exc
    return context


class Relay:
    """Everything one relay process runs. Construction checks the settings; `start` listens."""

    def __init__(
        self,
        config: Config,
        store: Store,
        *,
        history_ttl: float = 30.0,
        workers: int = 4,
        poll: float = 1.0,
        stale_after: float | None = None,
        retry: float = 60.0,
        learn_every: float = 2.0,
        upstream_tls: ssl.SSLContext | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.hostname = config.smtp.hostname or socket.getfqdn()
        self.tls = tls_context(config)
        if config.smtp.auth_file and self.tls is None:
            raise ConfigError("smtp.auth_file needs smtp.tls_cert: passwords only travel over TLS")
        self.auth = (
            Authenticator(load_users(config.smtp.auth_file)) if config.smtp.auth_file else None
        )
        self.secret = read_secret(config.hold.secret_file)
        if config.hold.notify_sender and self.secret is None:
            log.warning("hold.secret_file is not set: senders get no notice about held messages")
        self.listen = bind_address(config.smtp.listen)
        self.gateway = Gateway(config, store, history_ttl=history_ttl)
        self.executor = ThreadPoolExecutor(max(1, workers), thread_name_prefix="missend-relay")
        self.upstream = Upstream(
            config.upstream, local_hostname=self.hostname, tls_context=upstream_tls
        )
        self.handler = RelayHandler(
            self.gateway,
            self.upstream,
            self.executor,
            hostname=self.hostname,
            secret=self.secret,
            retry_in=timedelta(seconds=retry),
        )
        self.learner = self.handler.learner
        self.learner.interval = learn_every
        stale = stale_after if stale_after is not None else max(300.0, 3 * config.upstream.timeout)
        self.scheduler = Scheduler(
            self.gateway.queue,
            self.upstream,
            self.handler.run,
            host=self.hostname,
            node=f"{self.hostname}:{os.getpid()}",
            poll=poll,
            stale_after=timedelta(seconds=stale),
            backoff=timedelta(seconds=retry),
            learn=self.learn_released,
        )
        self._server: asyncio.Server | None = None
        self._tasks: list[asyncio.Task[None]] = []

    def learn_released(self, held: Held) -> None:
        """Delayed mail teaches the history when it finally leaves, like mail relayed at once."""
        message = learnable(held)
        if message is not None:
            self.learner.add(message)

    def protocol(self) -> SMTP:
        cfg = self.config.smtp
        return RelaySMTP(
            self.handler,
            data_size_limit=cfg.max_message_size,
            hostname=self.hostname,
            ident="missend relay",
            tls_context=self.tls,
            require_starttls=cfg.require_tls,
            timeout=cfg.timeout,
            auth_required=cfg.require_auth,
            auth_require_tls=True,
            authenticator=self.auth,
            loop=asyncio.get_running_loop(),
        )

    async def start(self) -> tuple[str, int]:
        """Listen and start the scheduler; returns the address actually bound (port 0 picks one)."""
        loop = asyncio.get_running_loop()
        host, port = self.listen
        self._server = await loop.create_server(self.protocol, host, port)
        self._tasks = [
            asyncio.create_task(self.scheduler.forever()),
            asyncio.create_task(self.learner.forever()),
        ]
        bound = self._server.sockets[0].getsockname()
        return str(bound[0]), int(bound[1])

    async def stop(self) -> None:
        """Stop taking mail, write pending history updates, close the next-hop connections."""
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(TimeoutError):  # Python 3.12+ waits for open sessions
                await asyncio.wait_for(self._server.wait_closed(), 10)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.handler.drain()
        await self.upstream.close()
        self.executor.shutdown(wait=True)


def serve(relay: Relay, ready: Callable[[str, int], None]) -> None:
    """Run until SIGTERM or SIGINT; `ready` is told the bound address once mail can flow."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        try:
            host, port = await relay.start()
            ready(host, port)
            await stop.wait()
        finally:
            await relay.stop()

    asyncio.run(main())
