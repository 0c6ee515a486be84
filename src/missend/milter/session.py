"""One MTA connection's conversation: collect the envelope and the message, decide at its end, act.

Everything up to the end of the message only collects, and is negotiated as no-reply where the
MTA allows it, so the MTA streams the message without waiting for an answer per header line; the
one round trip that matters is at the end. The session knows nothing of sockets: it turns each
command into the bytes to answer, which keeps every outcome testable without an MTA.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from missend.gateway import Gateway
from missend.hold.queue import Held
from missend.milter import SOURCE
from missend.milter import protocol as p
from missend.milter.headers import rebuild
from missend.milter.learn import Learner
from missend.milter.notice import Notices
from missend.milter.reaction import Reaction, Verb, failure, react

log = logging.getLogger(__name__)
UNCHECKED_REASON = "missend could not check this message; please try again later"

ACTIONS = p.ADDHDRS | p.CHGHDRS | p.QUARANTINE_ACTION | p.SETSYMLIST
PROTOCOL = (
    p.NOCONNECT
    | p.NOHELO
    | p.NOEOH
    | p.NODATA
    | p.NOUNKNOWN
    | p.NR_MAIL
    | p.NR_RCPT
    | p.NR_HDR
    | p.NR_BODY
)
SYMBOLS: dict[bytes, tuple[str, ...]] = {p.MAIL: (), p.RCPT: (), p.BODYEOB: ("i",)}
"""Only the queue id, at the end. Over TCP a macro packet followed by its command is two small
writes, and the second waited for the first's delayed ACK (measured: 45 ms added a message)."""


@dataclass
class Service:
    """What every connection shares: one gateway (engine, store, hold queue) and its settings."""

    gateway: Gateway
    on_error: str = "tempfail"
    learner: Learner | None = None
    notices: Notices | None = None


class Quit(Exception):
    """The MTA ended the conversation."""


class NotAllowed(RuntimeError):
    """The decision needs an action the MTA did not offer at negotiation."""


def envelope_address(value: str) -> str:
    """`<a@b>` as the MTA passes it, without brackets; the null sender `<>` is ""."""
    value = value.strip()
    if value.startswith("<") and value.endswith(">"):
        value = value[1:-1]
    return value.strip()


_VERBS = {Verb.ACCEPT: p.ACCEPT, Verb.REJECT: p.REJECT, Verb.TEMPFAIL: p.TEMPFAIL}


class Session:
    def __init__(self, service: Service) -> None:
        self.service = service
        self.options: p.Options | None = None
        self.macros: dict[bytes, dict[str, str]] = {}
        self._reset()

    def _reset(self) -> None:
        """Forget the message, and the macros that came with it (only the end's are asked for)."""
        self.macros.clear()
        self.mail_from = ""
        self.recipients: list[str] = []
        self.headers: list[tuple[str, bytes]] = []
        self.chunks: list[bytes] = []
        self.in_message = False

    def receive(self, command: bytes, data: bytes) -> bytes:
        """The bytes to answer `command` with: empty where the MTA waits for no answer.

        Raises Quit when the MTA ends the conversation and ProtocolError when it breaks the protocol.
        """
        if command == p.OPTNEG:
            self.options, answer = p.negotiate(data, ACTIONS, PROTOCOL, SYMBOLS)
            return answer
        if self.options is None:
            raise p.ProtocolError(f"command {command!r} before option negotiation")
        if command == p.MACRO:
            stage, values = p.macros(data)
            self.macros[stage] = values
            return b""
        if command == p.MAIL:
            self._reset()
            self.in_message = True
            fields = p.strings(data)
            self.mail_from = envelope_address(
                fields[0].decode("utf-8", "replace") if fields else ""
            )
        elif command == p.RCPT:
            fields = p.strings(data)
            if fields:
                self.recipients.append(envelope_address(fields[0].decode("utf-8", "replace")))
        elif command == p.HEADER:
            name, _, value = data.partition(b"\0")
            self.headers.append((name.decode("ascii", "replace"), value.removesuffix(b"\0")))
        elif command == p.BODY:
            self.chunks.append(data)
        elif command == p.BODYEOB:
            if data:
                self.chunks.append(data)
            return self.end_of_message()
        elif command in (p.ABORT, p.QUIT_NC):
            self._reset()
            return b""
        elif command == p.QUIT:
            raise Quit
        elif command not in (p.CONNECT, p.HELO, p.DATA, p.EOH, p.UNKNOWN):
            raise p.ProtocolError(f"unknown command {command!r}")
        return p.packet(p.CONTINUE) if self.options.answers(command) else b""

    def end_of_message(self) -> bytes:
        queue_id = self.macros.get(p.BODYEOB, {}).get("i") or None
        started = time.perf_counter()
        held: Held | None = None
        try:
            decision = self.service.gateway.decide(
                rebuild(self.headers, b"".join(self.chunks)),
                self.mail_from,
                self.recipients,
                source=SOURCE,
                mta_queue_id=queue_id,
            )
            held = decision.held
            decided = time.perf_counter()
            reaction = react(decision, self.headers, self.service.on_error)
            answer = self.answer(reaction)
        except Exception:  # whatever broke, the MTA gets the configured answer, never silence
            log.exception("%s: the milter failed on this message", queue_id or "-")
            if held is not None:  # checked and found risky: never let it through on a failed hold
                self._unhold(held)
                return self._fail("tempfail")
            return self._fail(self.service.on_error)
        log.info(
            "%s: %s from=<%s> nrcpt=%d %s (checked in %.1f ms, answered in %.1f ms)",
            queue_id or "-",
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
        return answer

    def _require(self, action: int, what: str) -> None:
        if self.options is None or not self.options.allows(action):
            raise NotAllowed(f"the MTA does not let the milter {what}")

    def answer(self, reaction: Reaction) -> bytes:
        """The reaction as milter replies: the header edits and quarantine, then the verdict."""
        if reaction.verb != Verb.ACCEPT:
            if reaction.reply is not None:
                reply = reaction.reply
                return p.reply_code(reply.code, reply.xcode, reply.lines)
            return p.packet(_VERBS[reaction.verb])
        out = []
        for edit in reaction.edits:
            if edit.index == 0:
                self._require(p.ADDHDRS, "add header fields")
                out.append(p.add_header(edit.name, edit.value))
            else:
                self._require(p.CHGHDRS, "change header fields")
                out.append(p.change_header(edit.name, edit.index, edit.value))
        if reaction.quarantine:
            self._require(p.QUARANTINE_ACTION, "quarantine")
            out.append(p.quarantine(reaction.quarantine))
        out.append(p.packet(p.ACCEPT))
        return b"".join(out)

    def _fail(self, on_error: str) -> bytes:
        try:
            return self.answer(failure(on_error, UNCHECKED_REASON, self.headers))
        except Exception:  # the reply could not be built: the bare verdict still reaches the MTA
            log.exception("could not answer the MTA")
            verb = {"accept": Verb.ACCEPT, "reject": Verb.REJECT}.get(on_error, Verb.TEMPFAIL)
            return p.packet(_VERBS[verb])
        finally:
            self._reset()

    def _unhold(self, held: Held) -> None:
        """The MTA will not keep this copy, so missend's record of it must not stay open either."""
        try:
            self.service.gateway.queue.cancel(held.id, "milter", "the MTA did not quarantine it")
        except Exception:
            log.exception("could not withdraw %s from the hold queue", held.id)
