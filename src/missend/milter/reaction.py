"""The gateway's decision said in milter actions: which reply, which header edits, quarantine or not.

Kept apart from the protocol so every outcome can be checked without an MTA; `session` only
carries the reaction out.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from missend.gateway import Decision, Outcome, reply_text
from missend.message import Message
from missend.milter.headers import HeaderEdit, address_edits, verdict_edits
from missend.verdict import Action

LINE = 200
"""Characters per reply line: well under SMTP's 512-octet line and the MTAs' reply limits."""
MAX_LINES = 8
UNCHECKED = "unchecked"


class Verb(StrEnum):
    ACCEPT = "accept"
    REJECT = "reject"
    TEMPFAIL = "tempfail"


@dataclass(frozen=True, slots=True)
class Reply:
    code: str
    xcode: str
    lines: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Reaction:
    verb: Verb
    reply: Reply | None = None
    edits: tuple[HeaderEdit, ...] = ()
    quarantine: str | None = None
    learn: Message | None = None
    """Delivered mail the sender's history should learn from, once the MTA has taken it."""


def _lines(*texts: str) -> tuple[str, ...]:
    """Reply text as every MTA takes it: printable ASCII, bounded lines, no '%'.

    Sendmail's libmilter refuses a reply with a lone '%' (a format character to it), so it is spelled out.
    """
    out: list[str] = []
    for text in texts:
        clean = reply_text(text.replace("%", " percent"), limit=LINE * MAX_LINES)
        out.extend(textwrap.wrap(clean, LINE) if clean else [])
    return tuple(out[:MAX_LINES]) or ("refused",)


def rejection(decision: Decision) -> Reply:
    """550 with the decision's reason, then what the sender can do, in the words of the finding."""
    texts = [decision.reply]
    verdict = decision.verdict
    top = None
    if verdict is not None:
        top = next((d.finding for d in verdict.findings if d.action == Action.BLOCK), None)
    if top is not None:
        texts.append(top.explanation)
        if top.fix is not None and top.fix.description:
            texts.append(f"What to do: {top.fix.description}")
    return Reply("550", "5.7.1", _lines(*texts))


def failure(on_error: str, reason: str, received: Sequence[tuple[str, bytes]] = ()) -> Reaction:
    """What to do when the message could not be checked: the configured fail-closed or fail-open.

    Mail let through unchecked says so in its verdict header, so it can be found afterwards.
    """
    if on_error == "accept":
        header = f"{UNCHECKED}; {reply_text(reason, 120)}"
        return Reaction(Verb.ACCEPT, edits=tuple(verdict_edits(received, header)))
    if on_error == "reject":
        return Reaction(Verb.REJECT, Reply("550", "5.7.1", _lines(reason)))
    return Reaction(Verb.TEMPFAIL, Reply("451", "4.7.1", _lines(reason)))


def react(
    decision: Decision, received: Sequence[tuple[str, bytes]], on_error: str = "tempfail"
) -> Reaction:
    """The milter's answer to a decision about the message whose header fields were `received`."""
    if decision.outcome == Outcome.TEMPFAIL:
        return failure(on_error, decision.reply, received)
    if decision.outcome == Outcome.REJECT:
        return Reaction(Verb.REJECT, rejection(decision))
    edits = verdict_edits(received, decision.header)
    if decision.data:
        edits = address_edits(received, decision.data) + edits
    if decision.outcome == Outcome.HOLD:
        held = decision.held
        reason = f"missend {held.reason if held else 'hold'} {held.id if held else ''}".strip()
        return Reaction(Verb.ACCEPT, edits=tuple(edits), quarantine=reason)
    return Reaction(Verb.ACCEPT, edits=tuple(edits), learn=decision.message)
