"""The pymilter callbacks: collect the envelope and the message, decide at end of message, act.

libmilter calls these from one thread per MTA connection. Everything up to the end of the message
only collects, and is marked no-reply where the MTA allows it, so the MTA streams the message
without waiting for an answer per header line; the one round trip that matters is at the end.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import Milter  # type: ignore[import-untyped]

from missend.gateway import Gateway
from missend.hold.queue import Held
from missend.milter import SOURCE
from missend.milter.headers import rebuild
from missend.milter.learn import Learner
from missend.milter.notice import Notices
from missend.milter.reaction import Reaction, Verb, failure, react

log = logging.getLogger(__name__)
UNCHECKED_REASON = "missend could not check this message; please try again later"


@dataclass
class Service:
    """What every connection shares: one gateway (engine, store, hold queue) and its settings."""

    gateway: Gateway
    on_error: str = "tempfail"
    learner: Learner | None = None
    notices: Notices | None = None


def envelope_address(value: str) -> str:
    """`<a@b>` as the MTA passes it, without brackets; the null sender `<>` is ""."""
    value = value.strip()
    if value.startswith("<") and value.endswith(">"):
        value = value[1:-1]
    return value.strip()


class MissendMilter(Milter.Base):  # type: ignore[misc]
    _protocol = 0

    def __init__(self, service: Service) -> None:
        self.service = service
        self._reset()

    def _reset(self) -> None:
        self.mail_from = ""
        self.recipients: list[str] = []
        self.headers: list[tuple[str, bytes]] = []
        self.chunks: list[bytes] = []
        self.queue_id: str | None = None

    def _remember_queue_id(self) -> None:
        queue_id = self.getsymval("i")
        if queue_id:
            self.queue_id = str(queue_id)

    def envfrom(self, mail_from: str, *params: str) -> int:
        self._reset()
        self.mail_from = envelope_address(mail_from)
        return int(Milter.CONTINUE)

    def envrcpt(self, to: str, *params: str) -> int:
        self.recipients.append(envelope_address(to))
        return int(Milter.CONTINUE)

    def header(self, name: str, value: bytes) -> int:
        self.headers.append((name, value))
        return int(Milter.CONTINUE)

    def body(self, chunk: bytes) -> int:
        self.chunks.append(chunk)
        return int(Milter.CONTINUE)

    def eom(self) -> int:
        self._remember_queue_id()
        started = time.perf_counter()
        held: Held | None = None
        try:
            decision = self.service.gateway.decide(
                rebuild(self.headers, b"".join(self.chunks)),
                self.mail_from,
                self.recipients,
                source=SOURCE,
                mta_queue_id=self.queue_id,
            )
            held = decision.held
            decided = time.perf_counter()
            reaction = react(decision, self.headers, self.service.on_error)
            code = self._apply(reaction)
        except Exception:  # whatever broke, the MTA gets the configured answer, never silence
            log.exception("%s: the milter failed on this message", self.queue_id or "-")
            if held is not None:  # checked and found risky: never let it through on a failed hold
                self._unhold(held)
                return self._fail("tempfail")
            return self._fail(self.service.on_error)
        log.info(
            "%s: %s from=<%s> nrcpt=%d %s (checked in %.1f ms, answered in %.1f ms)",
            self.queue_id or "-",
            decision.outcome,
            self.mail_from,
            len(self.recipients),
            decision.header or decision.reply,
            (decided - started) * 1000,
            (time.perf_counter() - decided) * 1000,
        )
        if reaction.learn is not None and self.service.learner is not None:
            self.service.learner.submit(reaction.learn)
        if held is not None and self.service.notices is not None:
            self.service.notices.submit(held)
        self._reset()
        return code

    def abort(self) -> int:
        self._reset()
        return int(Milter.CONTINUE)

    def _apply(self, reaction: Reaction) -> int:
        if reaction.verb == Verb.ACCEPT:
            for edit in reaction.edits:
                if edit.index == 0:
                    self.addheader(edit.name, edit.value)
                else:
                    self.chgheader(edit.name, edit.index, edit.value)
            if reaction.quarantine:
                self.quarantine(reaction.quarantine)
            return int(Milter.ACCEPT)
        if reaction.reply is not None:
            first, *more = reaction.reply.lines
            self.setreply(reaction.reply.code, reaction.reply.xcode, first, *more)
        return int(Milter.REJECT if reaction.verb == Verb.REJECT else Milter.TEMPFAIL)

    def _fail(self, on_error: str) -> int:
        try:
            return self._apply(failure(on_error, UNCHECKED_REASON, self.headers))
        except Exception:  # even the reply could not be set: the bare verdict still reaches the MTA
            log.exception("could not answer the MTA")
            return int(
                Milter.ACCEPT
                if on_error == "accept"
                else Milter.REJECT
                if on_error == "reject"
                else Milter.TEMPFAIL
            )
        finally:
            self._reset()

    def _unhold(self, held: Held) -> None:
        """The MTA will not keep this copy, so missend's record of it must not stay open either."""
        try:
            self.service.gateway.queue.cancel(held.id, "milter", "the MTA did not quarantine it")
        except Exception:
            log.exception("could not withdraw %s from the hold queue", held.id)


# pymilter's decorators are untyped, so they are applied here rather than above the methods: the
# collecting callbacks need no answer, and header values stay bytes (decoding is the parser's job).
# The MTA is asked for no macros at MAIL and RCPT and only the queue id at the end: over TCP a
# macro packet followed by its command is two small writes, and the second waited for the first's
# delayed ACK (measured: 45 ms added a message on loopback; about 2 ms without those macros).
for _name in ("envfrom", "envrcpt", "header", "body"):
    _method = getattr(MissendMilter, _name)
    if _name == "header":
        _method = Milter.decode("bytes")(_method)
    if _name in ("envfrom", "envrcpt"):
        _method = Milter.symlist()(_method)
    setattr(MissendMilter, _name, Milter.noreply(_method))
setattr(MissendMilter, "eom", Milter.symlist("i")(MissendMilter.eom))  # noqa: B010
