"""The relay's side of the SMTP conversation: what each command is answered, and when.

The client gets 250 for a message only once the next hop has taken it or it sits in the hold queue;
every other outcome is a 4xx (the client keeps the message and retries) or a 5xx (the client tells
the sender). The engine and the store are synchronous, so checking and queue writes run in a thread
pool and one slow message never stalls the other clients.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import timedelta
from typing import ParamSpec, TypeVar

from aiosmtpd.smtp import SMTP, Envelope, Session

from missend.gateway import Decision, Gateway, Outcome, reply_text
from missend.history.store import StoreError
from missend.hold.queue import Reason
from missend.smtp.learner import Learner
from missend.smtp.outbox import SOURCE, notify, settle
from missend.smtp.upstream import Delivery, Upstream, UpstreamError

log = logging.getLogger(__name__)
_P = ParamSpec("_P")
_T = TypeVar("_T")

# A CR or LF that is not part of CRLF. Servers disagree on where such a line ends, which is what
# SMTP smuggling (CVE-2023-51764) exploits: refusing them makes "checked" equal "delivered".
BARE_LINE_END = re.compile(rb"\r(?!\n)|(?<!\r)\n")
_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_DOMAIN = re.compile(rf"{_LABEL}(?:\.{_LABEL}){{0,126}}\.?|\[[A-Za-z0-9:.]{{1,60}}\]")

BARE_REPLY = "550 5.6.0 Lines must end with CRLF; a bare CR or LF is refused (RFC 5321 2.3.8)"
TOO_MANY = "452 4.5.3 Too many recipients; send the rest in another message"
BAD_ADDRESS = "553 5.1.3 Address refused: use a plain address like name@example.org"
INTERNAL = "451 4.3.0 missend could not process this message; please try again later"


def valid_address(address: str) -> bool:
    """A plain `local@domain` with no quoting, spaces, commas or controls.

    Envelope addresses end up in headers (notices, bounces) and in the next hop's commands; a strict
    form leaves nothing to inject, and quoted local parts are rare enough to refuse.
    """
    if len(address) > 254 or not address.isascii():
        return False
    local, at, domain = address.rpartition("@")
    return bool(at and _LOCAL.fullmatch(local) and _DOMAIN.fullmatch(domain))


def null_sender(mail_from: str | None) -> str:
    return "" if mail_from in (None, "", "<>") else str(mail_from)


@dataclass(slots=True)
class Clock:
    """Where a message's time went, for the one log line each message gets."""

    arrived: float = field(default_factory=time.perf_counter)
    started: float = 0.0
    checked: float = 0.0
    delivered: float = 0.0

    @property
    def queued_ms(self) -> float:
        return max(0.0, self.started - self.arrived) * 1000 if self.started else 0.0

    @property
    def check_ms(self) -> float:
        return max(0.0, self.checked - self.started) * 1000 if self.checked else 0.0

    @property
    def deliver_ms(self) -> float:
        return max(0.0, self.delivered - self.checked) * 1000 if self.delivered else 0.0


class RelayHandler:
    """aiosmtpd hooks: envelope checks at MAIL and RCPT, the decision and delivery at DATA."""

    def __init__(
        self,
        gateway: Gateway,
        upstream: Upstream,
        executor: Executor,
        *,
        hostname: str,
        secret: bytes | None = None,
        retry_in: timedelta = timedelta(minutes=1),
        learner: Learner | None = None,
    ) -> None:
        self.gateway = gateway
        self.config = gateway.config
        self.upstream = upstream
        self.executor = executor
        self.hostname = hostname
        self.secret = secret
        self.retry_in = retry_in
        self.learner = learner or Learner(gateway, self.run)

    async def run(self, fn: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs) -> _T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, functools.partial(fn, *args, **kwargs))

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address not in ("", "<>") and not valid_address(address):
            return BAD_ADDRESS
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 2.1.0 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if not valid_address(address):
            return BAD_ADDRESS
        if len(envelope.rcpt_tos) >= self.config.smtp.max_recipients:
            return TOO_MANY
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        if BARE_LINE_END.search(raw):
            log.warning("refused a message with bare CR or LF from %s", session.peer)
            return BARE_REPLY
        clock = Clock()
        try:
            reply = await self._data(
                raw, null_sender(envelope.mail_from), list(envelope.rcpt_tos), clock
            )
        except Exception:  # never an exception's name or text in the reply
            log.exception("relaying a message failed")
            reply = INTERNAL
        log.info(
            "%s: %d rcpt, %d bytes -> %s (queued %.1f ms, check %.1f ms, next hop %.1f ms)",
            session.peer[0] if session.peer else "?",
            len(envelope.rcpt_tos),
            len(raw),
            reply[:120],
            clock.queued_ms,
            clock.check_ms,
            clock.deliver_ms,
        )
        return reply

    async def handle_exception(self, error: Exception) -> str:
        log.error("SMTP session error: %s", type(error).__name__)
        return INTERNAL

    async def _data(self, raw: bytes, mail_from: str, rcpt_tos: list[str], clock: Clock) -> str:
        def decide() -> Decision:
            clock.started = time.perf_counter()
            try:
                return self.gateway.decide(raw, mail_from, rcpt_tos, source=SOURCE)
            finally:
                clock.checked = time.perf_counter()

        decision = await self.run(decide)
        if decision.outcome == Outcome.REJECT:
            return f"550 5.7.1 {reply_text(decision.reply)}"
        if decision.outcome == Outcome.TEMPFAIL:
            return f"451 4.3.0 {reply_text(decision.reply)}"
        if decision.outcome == Outcome.HOLD:
            await self._notify(decision)
            return f"250 2.0.0 {reply_text(decision.reply)}"
        reply = await self._deliver(decision, mail_from, rcpt_tos)
        clock.delivered = time.perf_counter()
        return reply

    async def _notify(self, decision: Decision) -> None:
        held = decision.held
        if held is None or held.reason != Reason.HOLD:
            return
        if not (self.secret and self.config.hold.notify_sender):
            return
        try:
            await self.run(notify, self.gateway.queue, held, self.config.hold, self.secret)
        except StoreError as exc:  # the message itself is safely held; only the notice is lost
            log.warning("could not queue the notice for %s: %s", held.id, exc)

    async def _deliver(self, decision: Decision, mail_from: str, rcpt_tos: list[str]) -> str:
        try:
            delivery = await self.upstream.send(mail_from, rcpt_tos, decision.data)
        except UpstreamError as exc:
            return exc.reply.line()
        if delivery.refused:
            try:
                await self._settle(decision, delivery, mail_from)
            except StoreError as exc:
                # Some recipients have it, the rest cannot be recorded: a retry of the whole
                # message (a duplicate for some) is better than a silent loss for the others.
                log.error("could not queue refused recipients: %s", exc)
                return "451 4.3.0 Partly delivered and the rest could not be queued; try again"
        if decision.message is not None:
            self.learner.add(decision.message)
        text = reply_text(f"2.0.0 Relayed: {delivery.reply.text}", 200)
        if delivery.refused:
            text = reply_text(
                f"2.0.0 Relayed to {len(delivery.accepted)}; "
                f"{len(delivery.refused)} recipient(s) queued for retry or bounced",
                200,
            )
        return f"250 {text}"

    async def _settle(self, decision: Decision, delivery: Delivery, mail_from: str) -> None:
        message = decision.message
        await self.run(
            settle,
            self.gateway.queue,
            delivery,
            data=decision.data,
            mail_from=mail_from,
            sender=message.sender.email if message and message.sender else mail_from,
            subject=message.subject if message else "",
            verdict=decision.verdict.to_dict() if decision.verdict else {},
            host=self.hostname,
            retry_in=self.retry_in,
        )

    async def drain(self) -> None:
        """Write pending history updates (at shutdown, and in tests)."""
        await self.learner.flush()
