"""Delivery to the next hop over a few kept-open connections.

A new connection per message costs a TCP handshake, EHLO, perhaps STARTTLS and AUTH: measured here,
a kept-open aiosmtplib connection relays about three times as many messages per second. Connections
are reused most-recently-first, so idle ones age out and are closed instead of going stale.

The transaction is driven command by command (not `sendmail`) to know which recipients the next hop
took: the relay answers its client from that, and only a connection that died before MAIL was
answered is retried on a fresh one, so a retry can never send a message twice.
"""

from __future__ import annotations

import asyncio
import logging
import re
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import aiosmtplib

from missend.config import UpstreamConfig

log = logging.getLogger(__name__)
_UNSAFE = re.compile(r"[^\x20-\x7e]")


def one_line(text: str, limit: int = 300) -> str:
    """Printable ASCII on one bounded line: all of another server's reply that is passed on."""
    return _UNSAFE.sub(" ", text)[:limit].strip()


@dataclass(frozen=True, slots=True)
class Reply:
    code: int
    text: str

    @property
    def temporary(self) -> bool:
        return 400 <= self.code < 500

    def line(self) -> str:
        """The reply as one safe SMTP response line."""
        return f"{self.code} {one_line(self.text) or 'upstream refused'}"


UNAVAILABLE = Reply(451, "4.4.1 The next mail server cannot be reached; please try again later")


@dataclass(frozen=True, slots=True)
class Delivery:
    """What the next hop took: the message went to `accepted`; `refused` did not get it."""

    accepted: tuple[str, ...]
    refused: dict[str, Reply] = field(default_factory=dict)
    reply: Reply = Reply(250, "OK")


class UpstreamError(Exception):
    """The next hop took the message for nobody; `reply` is what to tell the client."""

    def __init__(self, reply: Reply, stage: str) -> None:
        super().__init__(f"{stage}: {reply.code} {reply.text}")
        self.reply = reply
        self.stage = stage

    @property
    def temporary(self) -> bool:
        return self.reply.temporary


class _Stale(Exception):
    """A reused connection turned out to be closed before the transaction began."""


def _summary(refused: dict[str, Reply]) -> Reply:
    """One reply for a message no recipient took: temporary wins, so the client retries."""
    replies = list(refused.values())
    return next((r for r in replies if r.temporary), replies[0])


class Upstream:
    """A bounded pool of connections to one next hop."""

    def __init__(
        self,
        config: UpstreamConfig,
        *,
        local_hostname: str | None = None,
        idle_seconds: float = 20.0,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self.config = config
        self.local_hostname = local_hostname
        self.idle_seconds = idle_seconds
        self.tls_context = tls_context
        self._idle: list[tuple[float, aiosmtplib.SMTP]] = []
        self._slots: asyncio.Semaphore | None = None
        self.opened = 0

    def _client(self) -> aiosmtplib.SMTP:
        cfg = self.config
        return aiosmtplib.SMTP(
            hostname=cfg.host,
            port=cfg.port,
            username=cfg.username,
            password=cfg.password,
            local_hostname=self.local_hostname,
            timeout=cfg.timeout,
            start_tls=cfg.starttls,
            tls_context=self.tls_context if cfg.starttls else None,
        )

    async def _acquire(self) -> tuple[aiosmtplib.SMTP, bool]:
        stamp = time.monotonic()
        while self._idle:
            since, conn = self._idle.pop()
            if conn.is_connected and stamp - since < self.idle_seconds:
                return conn, True
            conn.close()
        conn = self._client()
        await conn.connect()
        self.opened += 1
        return conn, False

    def _give_back(self, conn: aiosmtplib.SMTP) -> None:
        if conn.is_connected:
            self._idle.append((time.monotonic(), conn))
        else:
            conn.close()

    async def send(self, mail_from: str, rcpt_tos: Sequence[str], data: bytes) -> Delivery:
        """Deliver to every recipient the next hop takes; raise UpstreamError if it takes none."""
        if self._slots is None:
            self._slots = asyncio.Semaphore(max(1, self.config.connections))
        async with self._slots:
            for attempt in range(2):
                try:
                    conn, reused = await self._acquire()
                except aiosmtplib.SMTPResponseException as exc:
                    log.error("the next hop refused the connection: %s %s", exc.code, exc.message)
                    raise UpstreamError(UNAVAILABLE, "connect") from exc
                except (aiosmtplib.SMTPException, OSError) as exc:
                    log.warning("cannot reach the next hop: %s", exc)
                    raise UpstreamError(UNAVAILABLE, "connect") from exc
                try:
                    delivery = await self._transaction(conn, mail_from, rcpt_tos, data)
                except _Stale as exc:
                    conn.close()
                    if reused and attempt == 0:
                        continue
                    raise UpstreamError(UNAVAILABLE, "mail") from exc
                except UpstreamError:
                    self._give_back(conn)
                    raise
                except (aiosmtplib.SMTPException, OSError) as exc:
                    conn.close()
                    log.warning("lost the next hop during a transaction: %s", exc)
                    raise UpstreamError(UNAVAILABLE, "transaction") from exc
                self._give_back(conn)
                return delivery
        raise AssertionError("unreachable")

    async def _reset(self, conn: aiosmtplib.SMTP) -> None:
        try:
            await conn.rset()
        except (aiosmtplib.SMTPException, OSError):
            conn.close()

    async def _transaction(
        self, conn: aiosmtplib.SMTP, mail_from: str, rcpt_tos: Sequence[str], data: bytes
    ) -> Delivery:
        options = []
        if conn.supports_extension("size"):
            options.append(f"SIZE={len(data)}")
        if conn.supports_extension("8bitmime") and not data.isascii():
            options.append("BODY=8BITMIME")
        try:
            await conn.mail(mail_from, options=options)
        except aiosmtplib.SMTPServerDisconnected as exc:
            raise _Stale from exc
        except aiosmtplib.SMTPSenderRefused as exc:
            await self._reset(conn)
            raise UpstreamError(Reply(exc.code, exc.message), "mail") from exc
        accepted: list[str] = []
        refused: dict[str, Reply] = {}
        for rcpt in rcpt_tos:
            try:
                await conn.rcpt(rcpt)
            except aiosmtplib.SMTPRecipientRefused as exc:
                if exc.code == 421:
                    raise aiosmtplib.SMTPServerDisconnected(exc.message) from exc
                refused[rcpt] = Reply(exc.code, exc.message)
            else:
                accepted.append(rcpt)
        if not accepted:
            await self._reset(conn)
            raise UpstreamError(_summary(refused), "rcpt")
        try:
            response = await conn.data(data)
        except aiosmtplib.SMTPDataError as exc:
            await self._reset(conn)
            raise UpstreamError(Reply(exc.code, exc.message), "data") from exc
        return Delivery(tuple(accepted), refused, Reply(response.code, response.message))

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for _, conn in idle:
            try:
                await asyncio.wait_for(conn.quit(), 2)
            except (aiosmtplib.SMTPException, OSError, TimeoutError):
                pass
            finally:
                conn.close()
